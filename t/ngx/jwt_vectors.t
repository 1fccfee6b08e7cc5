#!/usr/bin/perl
#
# JWS verification over HTTP: every valid token of the RFC 7515 / RFC 8037
# vectors accepted, every must_reject (and strict_reject_recommended) token
# refused with 401, each with the key the vector names; then tokens minted
# by the openssl command line for every supported algorithm, and the same
# tokens tampered with.  The vectors carry old or no claims, so their
# locations verify signatures only (govledger_jwt_claims off).

use strict;
use warnings;

use Test::More;
use JSON::PP;
use MIME::Base64;
use GovTest;
use GovNginx;

GovNginx->plan_or_skip;

my $root = $ENV{GOVLEDGER_ROOT};
my ($vfile) = grep { -f } ("$root/t/fixtures/vectors/jws-rfc7515.json",
	'/work/shared/vectors/jws-rfc7515.json',
	($ENV{GOVLEDGER_VECTORS} // '') . '/jws-rfc7515.json');
plan(skip_all => 'jws-rfc7515.json not found') unless $vfile;

my $vectors = do {
	open(my $fh, '<', $vfile) or die "$vfile: $!";
	local $/;
	decode_json(<$fh>);
};

GovTest::psql(<<'SQL');
DROP SCHEMA IF EXISTS ngx_jwtv CASCADE;
CREATE SCHEMA ngx_jwtv;
CREATE FUNCTION ngx_jwtv.ok() RETURNS jsonb LANGUAGE sql AS $$ SELECT '"ok"'::jsonb $$;
SQL

my $t = GovNginx->new;
my $p = $t->prefix;

sub run_openssl
{
	my (@cmd) = @_;
	my $out = `openssl @cmd 2>&1`;
	die "openssl @cmd: $out" if $?;
	return $out;
}

sub slurp
{
	my ($f) = @_;
	open(my $fh, '<', $f) or die "$f: $!";
	binmode($fh);
	local $/;
	my $d = <$fh>;
	close($fh);
	return $d;
}

# keys of the vectors, one location each
my (%loc, $locations);
for my $v (@{ $vectors->{valid} })
{
	my $id = $v->{id};
	(my $name = lc $id) =~ s/[^a-z0-9]+/-/g;
	my $keyfile;
	if ($v->{alg} =~ /^HS/)
	{
		$keyfile = $t->write_file("$name.key", pack('H*', $v->{key_hex}));
		$keyfile .= " alg=$v->{alg}";
	}
	else
	{
		$keyfile = $t->write_file("$name.pem", $v->{public_key_pem});
		$keyfile .= " alg=$v->{alg}" if $v->{alg} =~ /^(RS|PS)/;
	}
	$loc{$id} = "/v/$name";
	$locations .= <<"EOF";
        location = /v/$name {
            govledger_auth jwt;
            govledger_jwt_key file=$keyfile;
            govledger_jwt_claims off;
            govledger_call ngx_jwtv.ok;
        }
EOF
}

# keys made here with openssl, one per algorithm
my %gen = (
	HS256 => ['hmac', 32], HS384 => ['hmac', 48], HS512 => ['hmac', 64],
	RS256 => ['rsa', 'sha256'], RS384 => ['rsa', 'sha384'],
	RS512 => ['rsa', 'sha512'], PS256 => ['pss', 'sha256'],
	ES256 => ['ec', 'P-256', 'sha256', 32], ES384 => ['ec', 'P-384', 'sha384', 48],
	EdDSA => ['ed25519']);

run_openssl("genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $p/rsa.key");
run_openssl("pkey -in $p/rsa.key -pubout -out $p/rsa.pub");
run_openssl("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $p/ec256.key");
run_openssl("pkey -in $p/ec256.key -pubout -out $p/ec256.pub");
run_openssl("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out $p/ec384.key");
run_openssl("pkey -in $p/ec384.key -pubout -out $p/ec384.pub");
run_openssl("genpkey -algorithm ED25519 -out $p/ed.key");
run_openssl("pkey -in $p/ed.key -pubout -out $p/ed.pub");

my %hmac;
for my $alg (qw(HS256 HS384 HS512))
{
	$hmac{$alg} = join('', map { chr(int(rand(256))) } 1 .. $gen{$alg}[1]);
	$t->write_file(lc($alg) . '.secret', $hmac{$alg});
}

my %pub = (RS256 => 'rsa.pub alg=RS256', RS384 => 'rsa.pub alg=RS384',
	RS512 => 'rsa.pub alg=RS512', PS256 => 'rsa.pub alg=PS256',
	ES256 => 'ec256.pub', ES384 => 'ec384.pub', EdDSA => 'ed.pub',
	HS256 => 'hs256.secret alg=HS256', HS384 => 'hs384.secret alg=HS384',
	HS512 => 'hs512.secret alg=HS512');

for my $alg (sort keys %pub)
{
	$locations .= <<"EOF";
        location = /g/$alg {
            govledger_auth jwt;
            govledger_jwt_key file=$p/$pub{$alg};
            govledger_call ngx_jwtv.ok;
        }
EOF
}

$t->run(<<"EOF");
    govledger_database "host=%%PGHOST%% port=%%PGPORT%% dbname=%%PGDATABASE%% user=postgres";
    server {
        listen 127.0.0.1:%%PORT%%;
$locations
        location = /status { govledger_status; }
    }
EOF

# the published vectors
for my $v (@{ $vectors->{valid} })
{
	my $r = $t->get($loc{ $v->{id} }, token => $v->{compact});
	is($r->{status}, 200, "valid vector $v->{id} accepted");
}

for my $v (@{ $vectors->{must_reject} }, @{ $vectors->{strict_reject_recommended} })
{
	my $where = $loc{ $v->{verify_with_key_of} };
	if ($v->{compact} =~ /[\r\n]/)
	{
		# not expressible as one header line: nginx itself refuses it
		my $resp = $t->raw("GET $where HTTP/1.0\r\nHost: x\r\n"
			. "Authorization: Bearer $v->{compact}\r\n\r\n");
		like($resp, qr{^HTTP/1\.\d (400|401) }, "must reject $v->{id}");
		unlike($resp, qr/"ok"/, "$v->{id}: no result");
		next;
	}
	my $r = $t->http('GET', $where, headers => { Authorization => "Bearer $v->{compact}" });
	is($r->{status}, 401, "must reject $v->{id}");
	like($r->{headers}{'www-authenticate'} // '', qr/^Bearer realm="govledger"/,
		"$v->{id}: WWW-Authenticate");
}

# tokens from the openssl command line
sub der_to_raw
{
	my ($der, $n) = @_;
	my @b = unpack('C*', $der);
	my $i = 2;
	$i++ if $b[1] & 0x80;
	my @ints;
	for (1 .. 2)
	{
		die "bad DER" unless $b[$i] == 0x02;
		my $len = $b[$i + 1];
		my @v = @b[$i + 2 .. $i + 1 + $len];
		shift @v while @v > $n && $v[0] == 0;
		unshift @v, 0 while @v < $n;
		push @ints, @v;
		$i += 2 + $len;
	}
	return pack('C*', @ints);
}

sub mint
{
	my ($alg, $claims, %opt) = @_;
	my $hdr = { alg => $alg, typ => 'JWT', %{ $opt{header} // {} } };
	my $input = GovNginx::b64url(encode_json($hdr)) . '.'
		. GovNginx::b64url(encode_json($claims));
	my $in = $t->write_file('sign.in', $input);
	my $g = $gen{$alg};
	my $sig;
	if ($g->[0] eq 'hmac')
	{
		my $hex = unpack('H*', $hmac{$alg});
		(my $md = lc $alg) =~ s/hs/sha/;
		run_openssl("dgst -$md -mac HMAC -macopt hexkey:$hex -binary -out $p/sign.out $in");
		$sig = slurp("$p/sign.out");
	}
	elsif ($g->[0] eq 'rsa')
	{
		run_openssl("dgst -$g->[1] -sign $p/rsa.key -out $p/sign.out $in");
		$sig = slurp("$p/sign.out");
	}
	elsif ($g->[0] eq 'pss')
	{
		run_openssl("dgst -$g->[1] -sigopt rsa_padding_mode:pss "
			. "-sigopt rsa_pss_saltlen:digest -sign $p/rsa.key -out $p/sign.out $in");
		$sig = slurp("$p/sign.out");
	}
	elsif ($g->[0] eq 'ec')
	{
		my $key = $g->[1] eq 'P-256' ? 'ec256.key' : 'ec384.key';
		run_openssl("dgst -$g->[2] -sign $p/$key -out $p/sign.out $in");
		$sig = der_to_raw(slurp("$p/sign.out"), $g->[3]);
	}
	else
	{
		run_openssl("pkeyutl -sign -inkey $p/ed.key -rawin -in $in -out $p/sign.out");
		$sig = slurp("$p/sign.out");
	}
	return "$input." . GovNginx::b64url($sig);
}

my $exp = time() + 600;
for my $alg (sort keys %gen)
{
	my $tok = mint($alg, { sub => "s-$alg", exp => $exp });
	is($t->get("/g/$alg", token => $tok)->{status}, 200, "openssl $alg token accepted");

	# flip one bit of the signature
	my ($h, $pl, $s) = split /\./, $tok;
	(my $b = $s) =~ tr/-_/+\//;
	$b .= '=' x ((4 - length($b) % 4) % 4);
	my $raw = decode_base64($b);
	substr($raw, 0, 1) = chr(ord(substr($raw, 0, 1)) ^ 1);
	is($t->get("/g/$alg", token => "$h.$pl." . GovNginx::b64url($raw))->{status}, 401,
		"$alg: flipped signature bit refused");

	# claims changed after signing
	my $pl2 = GovNginx::b64url(encode_json({ sub => "admin", exp => $exp }));
	is($t->get("/g/$alg", token => "$h.$pl2.$s")->{status}, 401,
		"$alg: changed payload refused");

	# the same token at a location pinned to another algorithm
	my $other = $alg eq 'HS256' ? 'RS256' : 'HS256';
	is($t->get("/g/$other", token => $tok)->{status}, 401,
		"$alg token at the $other location refused");

	# a token without exp
	my $noexp = mint($alg, { sub => 'x' });
	is($t->get("/g/$alg", token => $noexp)->{status}, 401, "$alg: no exp refused");
}

# alg none and HS256 keyed with the public key (algorithm confusion)
{
	my $input = GovNginx::b64url('{"alg":"none"}') . '.'
		. GovNginx::b64url(encode_json({ sub => 'x', exp => $exp }));
	is($t->get('/g/RS256', token => "$input.")->{status}, 401, 'alg none refused');
	my $pem = slurp("$p/rsa.pub");
	my $hin = GovNginx::b64url('{"alg":"HS256"}') . '.'
		. GovNginx::b64url(encode_json({ sub => 'x', exp => $exp }));
	my $f = $t->write_file('conf.in', $hin);
	my $hex = unpack('H*', $pem);
	run_openssl("dgst -sha256 -mac HMAC -macopt hexkey:$hex -binary -out $p/sign.out $f");
	is($t->get('/g/RS256', token => "$hin." . GovNginx::b64url(slurp("$p/sign.out")))->{status},
		401, 'HS256 keyed with the RSA public key refused');
}

my $m = $t->metrics;
ok(($m->{'govledger_auth_failures_total{reason="signature"}'} // 0) > 0,
	'auth failures counted by reason');
ok(($m->{'govledger_auth_failures_total{reason="malformed"}'} // 0) > 0,
	'malformed tokens counted');

$t->stop;
done_testing();
