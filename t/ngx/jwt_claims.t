#!/usr/bin/perl
#
# JWT claims at the gateway: exp required, nbf/iss/aud with leeway, the role
# claim, the anonymous role, claims reaching PostgreSQL as
# request.jwt.claims (row-level security lets each subject see only its own
# rows), $govledger_jwt_claim_NAME variables, JWKS files with several keys
# selected by kid, and the cache of verified tokens.  Tokens are signed by
# the openssl command line.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use GovTest;
use GovNginx;

GovNginx->plan_or_skip;

GovTest::psql(<<'SQL');
DROP SCHEMA IF EXISTS ngx_jwtc CASCADE;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ngx_jwtc_citizen') THEN
        CREATE ROLE ngx_jwtc_citizen NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ngx_jwtc_anon') THEN
        CREATE ROLE ngx_jwtc_anon NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ngx_jwtc_gateway') THEN
        CREATE ROLE ngx_jwtc_gateway LOGIN NOINHERIT;
    END IF;
END $$;
GRANT ngx_jwtc_citizen, ngx_jwtc_anon TO ngx_jwtc_gateway;
CREATE SCHEMA ngx_jwtc;
GRANT USAGE ON SCHEMA ngx_jwtc TO ngx_jwtc_citizen, ngx_jwtc_anon, ngx_jwtc_gateway;
CREATE TABLE ngx_jwtc.doc (owner text NOT NULL, body text NOT NULL);
INSERT INTO ngx_jwtc.doc VALUES ('alice', 'a1'), ('alice', 'a2'), ('bob', 'b1');
ALTER TABLE ngx_jwtc.doc ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON ngx_jwtc.doc TO ngx_jwtc_citizen
    USING (owner = current_setting('request.jwt.claims', true)::jsonb ->> 'sub');
GRANT SELECT ON ngx_jwtc.doc TO ngx_jwtc_citizen;
CREATE FUNCTION ngx_jwtc.my_docs() RETURNS jsonb LANGUAGE sql AS $$
    SELECT coalesce(jsonb_agg(body ORDER BY body), '[]') FROM ngx_jwtc.doc $$;
CREATE FUNCTION ngx_jwtc.whoami() RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('role', current_user,
        'claims', current_setting('request.jwt.claims', true)) $$;
CREATE FUNCTION ngx_jwtc.two(a text, b text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_array(a, b) $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ngx_jwtc
    TO ngx_jwtc_citizen, ngx_jwtc_anon, ngx_jwtc_gateway;
SQL

my $t = GovNginx->new;
my $p = $t->prefix;

sub ossl
{
	my $out = `openssl @_ 2>&1`;
	die "openssl @_: $out" if $?;
	return $out;
}

sub slurp
{
	my ($f) = @_;
	open(my $fh, '<', $f) or die "$f: $!";
	binmode($fh);
	local $/;
	return scalar <$fh>;
}

my $secret = join('', map { chr(int(rand(256))) } 1 .. 32);
$t->write_file('hs.secret', $secret);

ossl("genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $p/rsa.key");
ossl("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $p/ec.key");
ossl("genpkey -algorithm ED25519 -out $p/ed.key");
ossl("pkey -in $p/ec.key -pubout -outform DER -out $p/ec.der");
ossl("pkey -in $p/ed.key -pubout -outform DER -out $p/ed.der");
my ($mod) = ossl("rsa -in $p/rsa.key -noout -modulus") =~ /Modulus=([0-9A-F]+)/;

my $ecpt = substr(slurp("$p/ec.der"), -64);
my $jwks = {
	keys => [
		{ kty => 'RSA', kid => 'r1', alg => 'RS256', use => 'sig',
		  n => GovNginx::b64url(pack('H*', $mod)), e => 'AQAB' },
		{ kty => 'EC', kid => 'e1', crv => 'P-256',
		  x => GovNginx::b64url(substr($ecpt, 0, 32)),
		  y => GovNginx::b64url(substr($ecpt, 32)) },
		{ kty => 'oct', kid => 'h1', alg => 'HS256',
		  k => GovNginx::b64url($secret) },
		{ kty => 'OKP', kid => 'd1', crv => 'Ed25519',
		  x => GovNginx::b64url(substr(slurp("$p/ed.der"), -32)) },
		{ kty => 'EC', kid => 'enc', use => 'enc', crv => 'P-256',
		  x => GovNginx::b64url(substr($ecpt, 0, 32)),
		  y => GovNginx::b64url(substr($ecpt, 32)) },
	] };
$t->write_file('keys.jwks', encode_json($jwks));

sub der_to_raw
{
	my ($der) = @_;
	my @b = unpack('C*', $der);
	my ($i, @out) = (2);
	for (1 .. 2)
	{
		my $len = $b[$i + 1];
		my @v = @b[$i + 2 .. $i + 1 + $len];
		shift @v while @v > 32 && $v[0] == 0;
		unshift @v, 0 while @v < 32;
		push @out, @v;
		$i += 2 + $len;
	}
	return pack('C*', @out);
}

# sign with openssl: kind hs (the shared secret), rs, es or ed
sub mint
{
	my ($kind, $claims, %hdr) = @_;
	my %alg = (hs => 'HS256', rs => 'RS256', es => 'ES256', ed => 'EdDSA');
	my $input = GovNginx::b64url(encode_json({ alg => $alg{$kind}, %hdr })) . '.'
		. GovNginx::b64url(encode_json($claims));
	my $in = $t->write_file('in', $input);
	if ($kind eq 'hs')
	{
		my $hex = unpack('H*', $secret);
		ossl("dgst -sha256 -mac HMAC -macopt hexkey:$hex -binary -out $p/sig $in");
	}
	elsif ($kind eq 'rs')
	{
		ossl("dgst -sha256 -sign $p/rsa.key -out $p/sig $in");
	}
	elsif ($kind eq 'es')
	{
		ossl("dgst -sha256 -sign $p/ec.key -out $p/sig $in");
		$t->write_file('sig', der_to_raw(slurp("$p/sig")));
	}
	else
	{
		ossl("pkeyutl -sign -inkey $p/ed.key -rawin -in $in -out $p/sig");
	}
	return "$input." . GovNginx::b64url(slurp("$p/sig"));
}

$t->run(<<'CONF');
    govledger_database "host=%%PGHOST%% port=%%PGPORT%% dbname=%%PGDATABASE%% user=ngx_jwtc_gateway";
    govledger_jwt_key file=%%PREFIX%%/hs.secret alg=HS256;
    govledger_jwt_leeway 10s;
    server {
        listen 127.0.0.1:%%PORT%%;
        govledger_auth jwt;

        location = /docs { govledger_call ngx_jwtc.my_docs; }
        location = /whoami { govledger_call ngx_jwtc.whoami; }
        location = /iss {
            govledger_jwt_issuer https://idp.example;
            govledger_call ngx_jwtc.whoami;
        }
        location = /aud {
            govledger_jwt_audience api other;
            govledger_call ngx_jwtc.whoami;
        }
        location = /appclaim {
            govledger_jwt_role_claim app_role;
            govledger_call ngx_jwtc.whoami;
        }
        location = /strict {
            govledger_jwt_leeway 0;
            govledger_call ngx_jwtc.whoami;
        }
        location = /claims {
            govledger_call ngx_jwtc.two $govledger_jwt_claim_sub $govledger_jwt_claim_n;
        }
        location = /public {
            govledger_anonymous_role ngx_jwtc_anon;
            govledger_call ngx_jwtc.whoami;
        }
        location = /open {
            govledger_auth off;
            govledger_anonymous_role ngx_jwtc_anon;
            govledger_call ngx_jwtc.whoami;
        }
        location = /jwks {
            govledger_jwt_key jwks=%%PREFIX%%/keys.jwks;
            govledger_call ngx_jwtc.whoami;
        }
        location = /status { govledger_auth off; govledger_status; }
    }
CONF

my $now = time();
my %c = (role => 'ngx_jwtc_citizen', exp => $now + 300);

# row-level security from request.jwt.claims
is($t->get('/docs', token => mint('hs', { %c, sub => 'alice' }))->{content},
	'["a1", "a2"]', 'alice sees only her rows');
is($t->get('/docs', token => mint('hs', { %c, sub => 'bob' }))->{content},
	'["b1"]', 'bob sees only his rows');
is($t->get('/docs', token => mint('hs', { %c, sub => 'carol' }))->{content},
	'[]', 'carol sees nothing');
my $who = GovNginx->json($t->get('/whoami', token => mint('hs', { %c, sub => 'alice' })));
is($who->{role}, 'ngx_jwtc_citizen', 'role from the role claim');
is(decode_json($who->{claims})->{sub}, 'alice', 'claims reach request.jwt.claims');

# role problems
my $r = $t->get('/whoami', token => mint('hs', { %c, role => 'postgres', sub => 'x' }));
is($r->{status}, 403, 'a role the gateway may not become: 403');
is((GovNginx->json($r) // {})->{code}, 'GL403', 'GL403, not the database\'s message');
$r = $t->get('/whoami', token => mint('hs', { %c, role => 'no_such_role_x', sub => 'x' }));
is($r->{status}, 403, 'a role that does not exist: 403');
is_deeply(GovNginx->json($r), { code => 'GL403', message => 'the authenticated role may not be used',
								details => undef, hint => undef },
		  'GL403 with a message that names nothing of the database');
like($t->error_log, qr/the database refused role "no_such_role_x"/, 'the refusal is logged');
is($t->get('/whoami', token => mint('hs', { %c, sub => 'alice' }))->{status}, 200,
   'the connection serves on after a refused role');
$r = $t->get('/whoami', token => mint('hs', { exp => $now + 300, sub => 'x' }));
is(GovNginx->json($r)->{role}, 'ngx_jwtc_gateway', 'no role claim, no anonymous role: login role');
$r = $t->get('/appclaim', token => mint('hs', { exp => $now + 300, app_role => 'ngx_jwtc_citizen' }));
is(GovNginx->json($r)->{role}, 'ngx_jwtc_citizen', 'govledger_jwt_role_claim');
$r = $t->get('/whoami', token => mint('hs', { %c, role => 5 }));
is($r->{status}, 401, 'non-string role claim: 401');
$r = $t->get('/whoami', token => mint('hs', { %c, role => 'none', sub => 'x' }));
is($r->{status}, 401, 'role claim "none" (which would reset to the login role): 401');

# exp, nbf and leeway (10s; /strict has 0)
is($t->get('/whoami', token => mint('hs', { %c, exp => $now - 5 }))->{status}, 200,
	'expired 5s ago, within leeway: 200');
$r = $t->get('/whoami', token => mint('hs', { %c, exp => $now - 30 }));
is($r->{status}, 401, 'expired 30s ago: 401');
like($r->{headers}{'www-authenticate'}, qr/error="invalid_token".*expired/, 'invalid_token, expired');
is($t->get('/strict', token => mint('hs', { %c, exp => $now - 2 }))->{status}, 401,
	'leeway 0: expired 2s ago: 401');
is($t->get('/whoami', token => mint('hs', { %c, nbf => $now + 5 }))->{status}, 200,
	'nbf 5s ahead, within leeway: 200');
is($t->get('/whoami', token => mint('hs', { %c, nbf => $now + 60 }))->{status}, 401,
	'nbf 60s ahead: 401');
is($t->get('/strict', token => mint('hs', { %c, nbf => $now + 3 }))->{status}, 401,
	'leeway 0: nbf 3s ahead: 401');
$r = $t->get('/whoami', token => mint('hs', { role => $c{role} }));
is($r->{status}, 401, 'no exp: 401');
like($r->{headers}{'www-authenticate'}, qr/error="invalid_token", error_description="token has no exp claim"/,
	 'no exp: said so, not "expired"');
is($t->get('/whoami', token => mint('hs', { %c, exp => "$c{exp}" }))->{status}, 401,
	'exp as a string: 401');
is($t->get('/whoami', token => mint('hs', { %c, nbf => 'soon' }))->{status}, 401,
	'nbf as a string: 401');

# issuer and audience
is($t->get('/iss', token => mint('hs', { %c, iss => 'https://idp.example' }))->{status}, 200,
	'issuer matches: 200');
is($t->get('/iss', token => mint('hs', { %c, iss => 'https://evil.example' }))->{status}, 401,
	'wrong issuer: 401');
is($t->get('/iss', token => mint('hs', { %c }))->{status}, 401, 'no issuer: 401');
is($t->get('/aud', token => mint('hs', { %c, aud => 'api' }))->{status}, 200, 'aud string: 200');
is($t->get('/aud', token => mint('hs', { %c, aud => ['x', 'other'] }))->{status}, 200,
	'aud array: 200');
is($t->get('/aud', token => mint('hs', { %c, aud => 'nope' }))->{status}, 401, 'wrong aud: 401');
is($t->get('/aud', token => mint('hs', { %c, aud => ['x'] }))->{status}, 401,
	'aud array without ours: 401');
is($t->get('/aud', token => mint('hs', { %c }))->{status}, 401, 'no aud: 401');

# claim variables
is($t->get('/claims', token => mint('hs', { %c, sub => "o'neil", n => 42 }))->{content},
	q{["o'neil", "42"]}, '$govledger_jwt_claim_NAME variables');
is($t->get('/claims', token => mint('hs', { %c }))->{content}, '[null, null]',
	'absent claims are NULL');

# anonymous role
$r = $t->get('/public');
is(GovNginx->json($r)->{role}, 'ngx_jwtc_anon', 'no token at a public location: anonymous role');
is($t->get('/public', token => 'x.y.z')->{status}, 401, 'a bad token is not downgraded');
is(GovNginx->json($t->get('/open'))->{role}, 'ngx_jwtc_anon', 'auth off: anonymous role');
$r = $t->get('/whoami');
is($r->{status}, 401, 'no token: 401');
is($r->{headers}{'www-authenticate'}, 'Bearer realm="govledger"', 'WWW-Authenticate');
is($t->get('/whoami', headers => { Authorization => 'Basic eDp5' })->{status}, 401,
	'Basic credentials: 401');

# JWKS with several keys, selected by kid
for my $k (['rs', 'r1'], ['es', 'e1'], ['hs', 'h1'], ['ed', 'd1'])
{
	is($t->get('/jwks', token => mint($k->[0], { %c }, kid => $k->[1]))->{status}, 200,
		"JWKS key $k->[1]");
}
is($t->get('/jwks', token => mint('es', { %c }, kid => 'r1'))->{status}, 401,
	'ES256 token naming the RSA key: 401');
is($t->get('/jwks', token => mint('rs', { %c }, kid => 'e1'))->{status}, 401,
	'RS256 token naming the EC key: 401');
is($t->get('/jwks', token => mint('es', { %c }, kid => 'zz'))->{status}, 401, 'unknown kid: 401');
is($t->get('/jwks', token => mint('es', { %c }, kid => 'enc'))->{status}, 401,
	'encryption key not used: 401');
is($t->get('/jwks', token => mint('es', { %c }))->{status}, 200,
	'no kid: the keys of its algorithm are tried');
is($t->get('/jwks', token => mint('hs', { %c }, kid => '../hs.secret'))->{status}, 401,
	'path kid: 401');

# the cache of verified tokens
my $m0 = $t->metrics->{'govledger_jwt_cache_hits_total'} // 0;
my $tok = mint('hs', { %c, sub => 'alice' });
$t->get('/docs', token => $tok) for 1 .. 3;
my $m1 = $t->metrics->{'govledger_jwt_cache_hits_total'} // 0;
ok($m1 - $m0 >= 2, 'repeated token served from the cache');
my $short = mint('hs', { %c, exp => time() + 2 });
is($t->get('/strict', token => $short)->{status}, 200, 'short-lived token: 200');
sleep(3);
is($t->get('/strict', token => $short)->{status}, 401, 'cached token expires: 401');

my $m = $t->metrics;
ok(($m->{'govledger_auth_failures_total{reason="expired"}'} // 0) >= 3, 'expired counted');
ok(($m->{'govledger_auth_failures_total{reason="audience"}'} // 0) >= 3, 'audience counted');
ok(($m->{'govledger_auth_failures_total{reason="missing"}'} // 0) >= 2, 'missing counted');
ok(($m->{'govledger_http_requests_total{status="401"}'} // 0) > 10, '401 counted');

$t->stop;
done_testing();
