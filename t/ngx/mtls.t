#!/usr/bin/perl
#
# mTLS: a verified client certificate is mapped to a database role by its
# subject DN or its SHA-1 fingerprint (govledger_mtls_role); unmapped,
# unverified or missing certificates get 403.  Certificates are made with
# the openssl command line, requests sent with curl.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use GovTest;
use GovNginx;

GovNginx->plan_or_skip;

GovTest::psql(<<'SQL');
DROP SCHEMA IF EXISTS ngx_mtls CASCADE;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ngx_mtls_agency_a') THEN
        CREATE ROLE ngx_mtls_agency_a NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ngx_mtls_agency_b') THEN
        CREATE ROLE ngx_mtls_agency_b NOLOGIN;
    END IF;
END $$;
CREATE SCHEMA ngx_mtls;
GRANT USAGE ON SCHEMA ngx_mtls TO ngx_mtls_agency_a, ngx_mtls_agency_b;
CREATE FUNCTION ngx_mtls.whoami() RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('role', current_user,
        'claims', current_setting('request.jwt.claims', true)::jsonb) $$;
SQL

my $t = GovNginx->new;
my $p = $t->prefix;

sub ossl
{
	my $out = `openssl @_ 2>&1`;
	die "openssl @_: $out" if $?;
	return $out;
}

sub cert
{
	my ($name, $subj, $ca) = @_;
	ossl("req -new -newkey rsa:2048 -nodes -keyout $p/$name.key -out $p/$name.csr "
		. "-subj '$subj'");
	ossl("x509 -req -in $p/$name.csr -CA $p/$ca.crt -CAkey $p/$ca.key "
		. "-CAcreateserial -days 2 -out $p/$name.crt");
}

for my $ca ('ca', 'rogue')
{
	ossl("req -x509 -new -newkey rsa:2048 -nodes -keyout $p/$ca.key -out $p/$ca.crt "
		. "-days 2 -subj '/CN=$ca test root'");
}
cert('server', '/CN=127.0.0.1', 'ca');
cert('a', '/O=Gov/CN=agency-a', 'ca');
cert('b', '/O=Gov/CN=agency-b', 'ca');
cert('c', '/O=Gov/CN=agency-c', 'ca');
cert('evil', '/O=Gov/CN=agency-a', 'rogue');
chmod(0644, glob("$p/*.key"));

my ($fp) = ossl("x509 -in $p/b.crt -noout -fingerprint -sha1") =~ /=([0-9A-F:]+)/;
$fp =~ s/://g;

$t->run(<<"CONF");
    govledger_database "host=%%PGHOST%% port=%%PGPORT%% dbname=%%PGDATABASE%% user=postgres";
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        ssl_certificate $p/server.crt;
        ssl_certificate_key $p/server.key;
        ssl_client_certificate $p/ca.crt;
        ssl_verify_client optional_no_ca;

        location = /whoami {
            govledger_auth mtls;
            govledger_mtls_role "subject=CN=agency-a,O=Gov" ngx_mtls_agency_a;
            govledger_mtls_role fingerprint=$fp ngx_mtls_agency_b;
            govledger_call ngx_mtls.whoami;
        }
    }
CONF

my $port = $t->port;

sub curl
{
	my ($who) = @_;
	my $c = $who ? "--cert $p/$who.crt --key $p/$who.key" : '';
	my $out = `curl -s -w '\\n%{http_code}' --cacert $p/ca.crt $c https://127.0.0.1:$port/whoami`;
	my ($body, $code) = $out =~ /^(.*)\n(\d+)$/s;
	return ($code // 0, $body // '');
}

my ($code, $body) = curl('a');
is($code, 200, 'agency-a by subject: 200');
my $doc = eval { decode_json($body) } // {};
is($doc->{role}, 'ngx_mtls_agency_a', 'role from the subject');
is($doc->{claims}{sub}, 'CN=agency-a,O=Gov', 'subject in request.jwt.claims');
is($doc->{claims}{role}, 'ngx_mtls_agency_a', 'role in request.jwt.claims');

($code, $body) = curl('b');
is($code, 200, 'agency-b by fingerprint: 200');
$doc = eval { decode_json($body) } // {};
is($doc->{role}, 'ngx_mtls_agency_b', 'role from the fingerprint');
is(lc $doc->{claims}{x5t}, lc $fp, 'fingerprint in the claims');

($code, $body) = curl('c');
is($code, 403, 'verified but unmapped certificate: 403');
is((eval { decode_json($body) } // {})->{code}, 'GL403', 'GL403');

($code) = curl('evil');
is($code, 403, 'same subject from another CA (verify FAILED): 403');

($code) = curl(undef);
is($code, 403, 'no client certificate: 403');

$t->stop;
done_testing();
