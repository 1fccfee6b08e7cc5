#!/usr/bin/perl
#
# Random and mutated input: tokens (bit flips, truncations, spliced
# segments, random base64url, huge headers), request bodies (random bytes,
# mutated JSON, deep nesting) and arguments.  Every answer is a refusal or a
# result, never a crash; run it under the sanitizers (make test-ngx-asan).

use strict;
use warnings;

use Test::More;
use JSON::PP;
use GovTest;
use GovNginx;

GovNginx->plan_or_skip;

my $seed = $ENV{GOVLEDGER_FUZZ_SEED} // time();
srand($seed);
note("seed $seed");
my $rounds = $ENV{GOVLEDGER_FUZZ_ROUNDS} // 400;

GovTest::psql(<<'SQL');
DROP SCHEMA IF EXISTS ngx_fuzz CASCADE;
CREATE SCHEMA ngx_fuzz;
CREATE FUNCTION ngx_fuzz.echo(doc jsonb, a text) RETURNS jsonb
    LANGUAGE sql AS $$ SELECT jsonb_build_object('doc', doc, 'a', a) $$;
SQL

my $t = GovNginx->new;
my $p = $t->prefix;
my $secret = 's' x 32;
$t->write_file('hs.secret', $secret);
system("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $p/ec.key 2>/dev/null");
system("openssl pkey -in $p/ec.key -pubout -out $p/ec.pub");

$t->run(<<'CONF');
    govledger_database "host=%%PGHOST%% port=%%PGPORT%% dbname=%%PGDATABASE%% user=postgres";
    large_client_header_buffers 4 32k;
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /hs {
            govledger_auth jwt;
            govledger_jwt_key file=%%PREFIX%%/hs.secret alg=HS256;
            govledger_methods POST;
            govledger_call ngx_fuzz.echo $request_body $arg_a;
        }
        location = /es {
            govledger_auth jwt;
            govledger_jwt_key file=%%PREFIX%%/ec.pub;
            govledger_call ngx_fuzz.echo $request_body $arg_a;
        }
        location = /open {
            govledger_methods POST;
            govledger_call ngx_fuzz.echo $request_body $arg_a;
        }
    }
CONF

sub hs_token
{
	my ($claims, $hdr) = @_;
	my $in = GovNginx::b64url($hdr // '{"alg":"HS256"}') . '.' . GovNginx::b64url($claims);
	my $f = $t->write_file('in', $in);
	my $hex = unpack('H*', $secret);
	my $sig = `openssl dgst -sha256 -mac HMAC -macopt hexkey:$hex -binary $f`;
	return "$in." . GovNginx::b64url($sig);
}

my $good = hs_token(encode_json({ exp => time() + 600, sub => 'f' }));
is($t->post('/hs', token => $good, body => '{}')->{status}, 200, 'good token: 200');

my @b64 = ('A' .. 'Z', 'a' .. 'z', '0' .. '9', '-', '_');
sub rnd_b64 { join('', map { $b64[rand @b64] } 1 .. $_[0]) }
sub rnd_bytes { join('', map { chr(int(rand(256))) } 1 .. $_[0]) }

sub mutate
{
	my ($s) = @_;
	my $k = int(rand(6));
	my $i = int(rand(length($s) || 1));
	return substr($s, 0, $i) if $k == 0;
	return substr($s, 0, $i) . rnd_b64(1) . substr($s, $i + 1) if $k == 1;
	return substr($s, 0, $i) . '.' . substr($s, $i) if $k == 2;
	return $s . rnd_b64(int(rand(8))) if $k == 3;
	my @seg = split /\./, $s, -1;
	return join('.', map { rand() < 0.5 ? rnd_b64(int(rand(40))) : $_ } @seg) if $k == 4;
	return rnd_b64(int(rand(200))) . '.' . rnd_b64(int(rand(200))) . '.' . rnd_b64(int(rand(90)));
}

# odd but well-formed headers and payloads, correctly signed
my @headers = ('{"alg":"HS256","crit":[]}', '{"alg":"HS256","kid":null}',
	'{"alg":"HS256","kid":""}', '{"alg":["HS256"]}', '[]', '"x"', '{"alg":"HS256","alg":"none"}',
	'{"alg":"HS256","kid":"' . ('k' x 5000) . '"}', '{}', 'null', "{\"alg\":\"HS256\"\x00}");
my @payloads = ('[]', '1', '"s"', '{"exp":"1e999"}', '{"exp":1e999}', '{"exp":-1}',
	'{"exp":9999999999999999999999}', '{"exp":' . (time() + 60) . ',"role":{}}',
	'{"exp":' . (time() + 60) . ',"role":"' . ('r' x 100) . '"}',
	'{"exp":' . (time() + 60) . ',"exp":1}', '{' . ('"a":{' x 3000) . ('}' x 3000) . '}',
	'{"exp":' . (time() + 60) . ',"aud":[[],{},1]}', "\xff\xfe");

my ($bad, $ok) = (0, 0);
for my $h (@headers)
{
	my $s = $t->post('/hs', token => hs_token('{"exp":' . (time() + 60) . '}', $h), body => '{}')->{status};
	$bad++ unless $s == 401 || $s == 400;
}
for my $pl (@payloads)
{
	my $s = $t->post('/hs', token => hs_token($pl), body => '{}')->{status};
	$bad++ unless $s == 401 || $s == 400 || $s == 200 || $s == 403;
}
is($bad, 0, 'signed odd headers and payloads: refused cleanly');

$bad = 0;
my %seen;
for (1 .. $rounds)
{
	my $tok = mutate($good);
	my $r = $t->post('/hs', token => $tok, body => '{}');
	$seen{ $r->{status} }++;
	$bad++ if $r->{status} == 200 && $tok ne $good;
	$bad++ if $r->{status} >= 500;
	$r = $t->get('/es', token => mutate($good));
	$seen{ $r->{status} }++;
	$bad++ if $r->{status} != 401 && $r->{status} != 400;
}
is($bad, 0, "$rounds mutated tokens: none accepted, no server error");
note(join(', ', map { "$_: $seen{$_}" } sort keys %seen));

my $big = 'A' x 6000;
is($t->get('/es', token => "$big.$big.$big")->{status}, 401, 'oversized token: 401');

$bad = 0;
my @docs = ('{"a":[1,2,{"b":null}],"c":"\u00e9"}', '[1e308,-0,0.1]', '"str"', 'true');
# an answer echoes the body, which may nest arrays thousands deep: deeper
# than JSON::PP's default limit of 512, but valid JSON
my $deep_json = JSON::PP->new->max_depth(1 << 20);
for (1 .. $rounds)
{
	my $k = int(rand(4));
	my $body = $k == 0 ? rnd_bytes(int(rand(300)))
		: $k == 1 ? mutate($docs[rand @docs])
		: $k == 2 ? ('[' x int(rand(5000))) . (']' x int(rand(5000)))
		: $docs[rand @docs];
	my $arg = join('', map { sprintf('%%%02X', int(rand(256))) } 1 .. int(rand(20)));
	my $r = $t->post("/open?a=$arg", body => $body);
	my $ok = ($r->{status} == 200 && eval { $deep_json->decode($r->{content}); 1 })
		|| $r->{status} == 400;
	next if $ok;
	$bad++;
	diag("status $r->{status} for a=$arg, body of " . length($body) . ' bytes starting '
		 . substr($body, 0, 60) =~ s/[^ -~]/./gr . ": " . substr($r->{content} // '', 0, 300));
}
is($bad, 0, "$rounds random bodies and arguments: 200 or 400 only") or diag("seed $seed");

is($t->post('/hs', token => $good, body => '{}')->{status}, 200, 'still serving');

$t->stop;
done_testing();
