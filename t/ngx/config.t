#!/usr/bin/perl
#
# nginx -t refuses every malformed govledger directive with a message that
# names it, and never prints the connection string (it may hold a password).

use strict;
use warnings;

use Test::More;
use GovTest;
use GovNginx;

plan(skip_all => 'GOVLEDGER_NGX_MODULE not built') unless GovNginx::has_module();

my $t = GovNginx->new;
my $p = $t->prefix;

system("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $p/rsa.key 2>/dev/null");
system("openssl pkey -in $p/rsa.key -pubout -out $p/rsa.pub 2>/dev/null");
system("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out $p/small.key 2>/dev/null");
system("openssl pkey -in $p/small.key -pubout -out $p/small.pub 2>/dev/null");
system("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $p/ec.key 2>/dev/null");
system("openssl pkey -in $p/ec.key -pubout -out $p/ec.pub 2>/dev/null");
$t->write_file('short.secret', 'x' x 16);
$t->write_file('long.secret', 'x' x 64);
$t->write_file('bad.jwks', '{"keys": [');
$t->write_file('dup.jwks', '{"keys": [], "keys": []}');
$t->write_file('nokty.jwks', '{"keys": [{"kid": "a"}]}');
$t->write_file('rsanoalg.jwks', '{"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}');
$t->write_file('badec.jwks',
	'{"keys": [{"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}]}');

my $db = 'govledger_database "host=/nonexistent dbname=x password=s3cret";';

sub conf
{
	my ($http, $loc) = @_;
	return "$http\n    server {\n        listen 127.0.0.1:%%PORT%%;\n"
		. "        location / {\n$loc\n        }\n    }\n";
}

my ($ok, $out) = $t->test_conf(conf($db, 'govledger_call api.f $arg_a $request_body;'));
ok($ok, 'a valid configuration passes nginx -t') or diag($out);

($ok, $out) = $t->test_conf(conf("$db\n    govledger_jwt_key file=$p/rsa.pub alg=PS256;\n"
	. "    govledger_jwt_key file=$p/ec.pub kid=e1;\n"
	. "    govledger_jwt_key file=$p/long.secret alg=HS512;",
	'govledger_auth jwt; govledger_call api.f;'));
ok($ok, 'keys of several types pass') or diag($out);

($ok, $out) = $t->test_conf(conf('govledger_database "host=db.example.invalid,/run/x,::1,10.0.0.1 dbname=x";', ''));
ok($ok, 'host names are allowed') or diag($out);
like($out, qr/\[warn\].*"govledger_database": host "db\.example\.invalid" is a name/,
	'with a warning for the name');
unlike($out, qr/host "(\/run\/x|::1|10\.0\.0\.1)"/, 'no warning for sockets and addresses');

my @cases = (
	[conf('', 'govledger_call api.f;'),
	 qr/"govledger_call" requires "govledger_database"/, 'call without database'],
	[conf($db, 'govledger_call f;'),
	 qr/"govledger_call" needs a schema-qualified function name/, 'unqualified function'],
	[conf($db, 'govledger_call "api.f(1);drop";'),
	 qr/invalid function name .* in "govledger_call"/, 'function name with SQL'],
	[conf($db, 'govledger_call api.f; govledger_call api.g;'),
	 qr/"govledger_call" for these methods is duplicate/, 'duplicate govledger_call'],
	[conf($db, 'govledger_call GET api.f; govledger_call GET|POST api.g;'),
	 qr/"govledger_call" for these methods is duplicate/, 'two calls for GET'],
	[conf($db, 'govledger_call FETCH api.f;'),
	 qr/invalid method "FETCH" in "govledger_call"/, 'bad method in govledger_call'],
	[conf($db, 'govledger_call api.f; govledger_timeout 30d;'),
	 qr/"govledger_timeout" must be at most 2147483647ms/,
	 'govledger_timeout beyond what statement_timeout takes'],
	[conf("$db\n$db", ''), qr/"govledger_database" directive is duplicate/,
	 'duplicate govledger_database'],
	[conf('govledger_database "host=x nosuchkeyword=1 password=s3cret";', ''),
	 qr/invalid connection string in "govledger_database"/, 'bad conninfo'],
	[conf('govledger_database "host=x" connections=0;', ''),
	 qr/invalid parameter "connections=0" in "govledger_database"/, 'connections=0'],
	[conf('govledger_database "host=x" queue_timeout=soon;', ''),
	 qr/invalid parameter "queue_timeout=soon"/, 'bad queue_timeout'],
	[conf('govledger_database "host=x" pool=3;', ''),
	 qr/invalid parameter "pool=3" in "govledger_database"/, 'unknown parameter'],
	[conf($db, 'govledger_auth maybe;'),
	 qr/invalid value "maybe" in "govledger_auth"/, 'bad govledger_auth'],
	[conf($db, 'govledger_auth jwt; govledger_call api.f;'),
	 qr/"govledger_auth jwt" requires "govledger_jwt_key"/, 'jwt without key'],
	[conf($db, 'govledger_auth mtls;'),
	 qr/"govledger_auth mtls" requires "govledger_mtls_role"/, 'mtls without roles'],
	[conf($db, "govledger_jwt_key file=$p/missing.pem alg=RS256;"),
	 qr/"govledger_jwt_key" cannot open/, 'missing key file'],
	[conf($db, "govledger_jwt_key file=$p/rsa.pub;"),
	 qr/"govledger_jwt_key": an RSA key needs "alg=/, 'RSA key without alg'],
	[conf($db, "govledger_jwt_key file=$p/rsa.pub alg=ES256;"),
	 qr/"govledger_jwt_key": the key does not fit the algorithm/, 'RSA key, ES256'],
	[conf($db, "govledger_jwt_key file=$p/ec.pub alg=HS256;"),
	 qr/"govledger_jwt_key": ".*ec.pub" is a PEM file, not an HMAC secret/,
	 'public key file as HMAC secret'],
	[conf($db, "govledger_jwt_key file=$p/ec.pub alg=RS256;"),
	 qr/the key does not fit the algorithm/, 'EC key, RS256'],
	[conf($db, "govledger_jwt_key file=$p/small.pub alg=RS256;"),
	 qr/RSA key shorter than 2048 bits/, 'RSA 1024'],
	[conf($db, "govledger_jwt_key file=$p/short.secret alg=HS256;"),
	 qr/HS256 secret shorter than the hash output/, 'short HMAC secret'],
	[conf($db, "govledger_jwt_key file=$p/long.secret;"),
	 qr/holds no PEM public key or certificate/, 'secret without alg'],
	[conf($db, "govledger_jwt_key file=$p/rsa.pub alg=none;"),
	 qr/unsupported algorithm "alg=none" in "govledger_jwt_key"/, 'alg none'],
	[conf($db, "govledger_jwt_key file=$p/rsa.pub alg=rs256;"),
	 qr/unsupported algorithm "alg=rs256"/, 'alg names are case-sensitive'],
	[conf($db, "govledger_jwt_key file=$p/rsa.pub jwks=$p/bad.jwks alg=RS256;"),
	 qr/"govledger_jwt_key" needs exactly one of "file=" or "jwks="/, 'file and jwks'],
	[conf($db, "govledger_jwt_key key=$p/rsa.pub;"),
	 qr/invalid parameter "key=.*" in "govledger_jwt_key"/, 'unknown parameter'],
	[conf($db, "govledger_jwt_key jwks=$p/bad.jwks;"),
	 qr/"govledger_jwt_key" cannot read JWKS/, 'JWKS syntax error'],
	[conf($db, "govledger_jwt_key jwks=$p/dup.jwks;"),
	 qr/"govledger_jwt_key" cannot read JWKS/, 'JWKS duplicate member'],
	[conf($db, "govledger_jwt_key jwks=$p/nokty.jwks;"),
	 qr/has no "kty"/, 'JWK without kty'],
	[conf($db, "govledger_jwt_key jwks=$p/rsanoalg.jwks;"),
	 qr/"govledger_jwt_key": (an RSA key needs|key 0 .* is not a valid)/, 'JWK RSA without alg'],
	[conf($db, "govledger_jwt_key jwks=$p/badec.jwks;"),
	 qr/is not a valid EC public key/, 'JWK EC with bad coordinates'],
	[conf($db, 'govledger_methods GET FETCH;'),
	 qr/invalid method "FETCH" in "govledger_methods"/, 'bad method'],
	[conf($db, 'govledger_mtls_role cn=x role;'),
	 qr/invalid match "cn=x" in "govledger_mtls_role"/, 'bad mTLS match'],
	[conf($db, 'govledger_mtls_role fingerprint=abc role;'),
	 qr/invalid match "fingerprint=abc"/, 'short fingerprint'],
	[conf($db, 'govledger_anonymous_role "";'),
	 qr/invalid role name/, 'empty anonymous role'],
	[conf($db, 'govledger_jwt_leeway forever;'),
	 qr/"govledger_jwt_leeway" directive invalid value/, 'bad leeway'],
	[conf($db, 'govledger_timeout 1x;'),
	 qr/"govledger_timeout" directive invalid value/, 'bad timeout'],
	[conf($db, 'govledger_jwt_audience;'),
	 qr/invalid number of arguments in "govledger_jwt_audience"/, 'audience without value'],
	[conf($db, 'govledger_status on;'),
	 qr/invalid number of arguments in "govledger_status"/, 'status with argument'],
);

for my $c (@cases)
{
	($ok, $out) = $t->test_conf($c->[0]);
	ok(!$ok, "nginx -t fails: $c->[2]");
	like($out, $c->[1], "message: $c->[2]");
	unlike($out, qr/s3cret/, "no password in the output: $c->[2]");
}

done_testing();
