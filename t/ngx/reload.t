#!/usr/bin/perl
#
# Reload (SIGHUP): new keys take effect, the token cache starts empty in the
# new workers, metrics survive, requests keep working; graceful stop.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use GovTest;
use GovNginx;

GovNginx->plan_or_skip;

GovTest::psql(<<'SQL');
DROP SCHEMA IF EXISTS ngx_reload CASCADE;
CREATE SCHEMA ngx_reload;
CREATE FUNCTION ngx_reload.ok() RETURNS jsonb LANGUAGE sql AS $$ SELECT '"ok"'::jsonb $$;
SQL

my $t = GovNginx->new(workers => 2);
my $p = $t->prefix;
$t->write_file('one.secret', 'a' x 32);
$t->write_file('two.secret', 'b' x 32);

sub mint
{
	my ($secret) = @_;
	my $in = GovNginx::b64url('{"alg":"HS256"}') . '.'
		. GovNginx::b64url(encode_json({ exp => time() + 300, sub => 'r' }));
	my $f = $t->write_file('in', $in);
	my $hex = unpack('H*', $secret);
	my $sig = `openssl dgst -sha256 -mac HMAC -macopt hexkey:$hex -binary $f`;
	return "$in." . GovNginx::b64url($sig);
}

sub conf
{
	my ($key) = @_;
	return <<"CONF";
    govledger_database "host=%%PGHOST%% port=%%PGPORT%% dbname=%%PGDATABASE%% user=postgres";
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /ok {
            govledger_auth jwt;
            govledger_jwt_key file=$p/$key alg=HS256;
            govledger_call ngx_reload.ok;
        }
        location = /status { govledger_status; }
    }
CONF
}

$t->run(conf('one.secret'));
my ($one, $two) = (mint('a' x 32), mint('b' x 32));
is($t->get('/ok', token => $one)->{status}, 200, 'key one: 200') for 1 .. 3;
is($t->get('/ok', token => $two)->{status}, 401, 'key two: 401');
# a request is counted as it is logged, after its response has gone: a
# count may lag the client by a moment
my $before;
for (1 .. 50)
{
	$before = $t->metrics->{'govledger_http_requests_total{status="200"}'} // 0;
	last if $before >= 3;
	select(undef, undef, undef, 0.1);
}

$t->reload(conf('two.secret'));
is($t->get('/ok', token => $one)->{status}, 401, 'after reload, cached key-one token: 401');
is($t->get('/ok', token => $two)->{status}, 200, 'after reload, key two: 200');
my $after;
for (1 .. 50)
{
	$after = $t->metrics->{'govledger_http_requests_total{status="200"}'};
	last if $after > $before;
	select(undef, undef, undef, 0.1);
}
ok($after > $before, "counters survive the reload ($before -> $after)");

$t->reload;
is($t->get('/ok', token => $two)->{status}, 200, 'second reload: 200');

$t->stop;
done_testing();
