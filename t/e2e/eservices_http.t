#!/usr/bin/perl
#
# The business-licence journey over HTTP, through nginx with the govledger
# module, against the e-services schema in a database of its own (so the
# committed rows do not meet the pgTAP tests): agencies attest, the
# art-gallery owner applies in the app, the attestations are verified
# automatically, an officer approves, the licence is issued and a third
# party checks it at the public endpoint and offline with govledger-verify.
# Then the rejection paths (forged signature, invalid USCC, another
# citizen's application, an officer of another district, erasure) and
# malformed input to every endpoint: a clear 4xx and nothing written.
#
# Parts that need what the extension does not offer yet
# (govledger.verify_signature, receipts) are skipped with the reason.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use File::Basename qw(dirname);
use Cwd qw(abs_path);
use GovTest;
use GovNginx;

GovNginx->plan_or_skip;

my $root = $ENV{GOVLEDGER_ROOT} || abs_path(dirname(__FILE__) . '/../..');
my $db = "eservices_e2e_$$";
my $psql = ($ENV{GOVLEDGER_PGBIN} || '/usr/lib/postgresql/15/bin') . '/psql';

# a database of our own with the extension and the schema, as make run has it
GovTest::psql("CREATE DATABASE $db");
END { system($psql, '-X', '-q', '-d', 'postgres', '-c', "DROP DATABASE IF EXISTS $db WITH (FORCE)") if $db; }

sub dbq
{
	my ($sql) = @_;
	open(my $fh, '-|', $psql, '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', $db,
		 '-c', $sql) or die "psql: $!";
	local $/;
	my $res = <$fh> // '';
	close($fh) or die "psql failed on: $sql\n";
	$res =~ s/\s+\z//;
	return $res;
}

dbq('CREATE EXTENSION govledger');
for my $f (sort glob("$root/sql/[0-9]*.sql"))
{
	next if $f =~ m{/9\d_[^/]*demo[^/]*\.sql$};
	system($psql, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $db, '-f', $f) == 0
		or BAIL_OUT("loading $f failed");
}

# the fixture (committed), and its signed bodies
my %body;
{
	open(my $fh, '-|', $psql, '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', $db,
		 '-c', 'BEGIN', '-f', "$root/t/e2e/fixtures/eservices_fixture.sql",
		 '-c', "SELECT 'FX' || E'\\t' || name || E'\\t' || body FROM fx_signed",
		 '-c', 'COMMIT') or die "psql: $!";
	while (<$fh>)
	{
		chomp;
		my ($tag, $name, $b) = split(/\t/, $_, 3);
		$body{$name} = $b if $tag eq 'FX';
	}
	close($fh) or BAIL_OUT('loading the fixture failed');
}
my $have_sig = dbq("SELECT to_regprocedure('govledger.verify_signature(text,bytea,bytea,bytea)') IS NOT NULL") eq 't';
my $have_receipts = dbq("SELECT to_regprocedure('govledger.receipt(regclass,bigint)') IS NOT NULL
	AND to_regprocedure('govledger.seal(text)') IS NOT NULL") eq 't';

# tokens: EdDSA, minted with openssl
my $t = GovNginx->new(workers => 1);
my $p = $t->prefix;
system("openssl genpkey -algorithm ED25519 -out $p/jwt.key 2>/dev/null") == 0 or die;
system("openssl pkey -in $p/jwt.key -pubout -out $p/jwt.pub 2>/dev/null") == 0 or die;
system('chmod', '644', "$p/jwt.pub");

sub token
{
	my (%claims) = @_;
	my $input = GovNginx::b64url(encode_json({ alg => 'EdDSA', typ => 'JWT' })) . '.'
		. GovNginx::b64url(encode_json({ exp => time() + 600, %claims }));
	my $in = $t->write_file('jwt.in', $input);
	system("openssl pkeyutl -sign -inkey $p/jwt.key -rawin -in $in -out $p/jwt.sig") == 0 or die;
	open(my $fh, '<', "$p/jwt.sig") or die;
	binmode($fh);
	local $/;
	return "$input." . GovNginx::b64url(scalar <$fh>);
}

my %tok = (
	wang    => token(sub => 'citizen-wang', role => 'citizen'),
	li      => token(sub => 'citizen-li', role => 'citizen'),
	chen    => token(sub => 'officer-chen', role => 'officer', district => '110105'),
	sun     => token(sub => 'officer-sun', role => 'officer', district => '110108'),
	psb     => token(sub => 'psb-gw', role => 'agency', agency => 'PSB-110105'),
	samr    => token(sub => 'samr-gw', role => 'agency', agency => 'SAMR-110105'),
	reporter => token(sub => 'bi', role => 'reporter'),
);

# the routes of sql/nginx/eservices_routes.conf, the file a make-run
# configuration includes
(my $conf = <<'CONF') =~ s/%%DB%%/$db/g;
    govledger_database "host=%%PGHOST%% port=%%PGPORT%% dbname=%%DB%% user=govledger_gateway";
    govledger_jwt_key file=%%PREFIX%%/jwt.pub alg=EdDSA;
    server {
        listen 127.0.0.1:%%PORT%%;
        include %%ROUTES%%;
    }
CONF
$conf =~ s/%%ROUTES%%/$root\/sql\/nginx\/eservices_routes.conf/;
$t->run($conf);

sub call
{
	my ($method, $path, $who, $body) = @_;
	my %o;
	$o{token} = $tok{$who} if $who;
	if (defined $body)
	{
		$o{body} = $body;
	}
	my $r = $t->http($method, $path, %o);
	my $j = eval { decode_json($r->{content}) };
	return ($r->{status}, $j, $r);
}

sub entries { dbq('SELECT count(*) FROM govledger.entry') }

my ($st, $j, $r);

# agencies attest -----------------------------------------------------------
SKIP: {
	skip 'govledger.verify_signature is not installed: attestations cannot be checked', 4
		unless $have_sig;
	($st) = call('POST', '/api/attestations', 'psb', $body{id_wang});
	is($st, 200, "POST /api/attestations: the bureau attests the owner's identity");
	($st) = call('POST', '/api/attestations', 'samr', $body{co_gallery});
	is($st, 200, '... the regulator attests his company');
	my $before = entries();
	($st, $j) = call('POST', '/api/attestations', 'samr', $body{co_zhao_forged});
	is($st, 400, 'a forged agency signature: 400');
	is(entries(), $before, '... and nothing was written');
}

# without attestations the company is put into the register directly
dbq(q{SELECT app.register_company('91110000600037341L', 'Sanlitun gallery', NULL,
	(SELECT person_id FROM app.person_data WHERE id_number = '11010519491231002X'))})
	unless $have_sig;

# the owner applies in the app ------------------------------------------------
my $apply = encode_json({ service => 'art_gallery_licence', district => '110105',
	id_number => '11010519491231002X', company_code => '91110000600037341L',
	materials => [{ name => 'lease', sha256 => 'ab' x 32, media_type => 'application/pdf' }] });
($st, $j) = call('POST', '/api/applications', 'wang', $apply);
is($st, 200, "POST /api/applications: the owner applies") or diag((call("POST", "/api/applications", "wang", $apply))[2]->{content});
my $ref = $j->{reference};
like($ref // '', qr/^A[0-9A-F]{16}$/, '... and gets a reference');
is($j->{status}, $have_sig ? 'verified' : 'needs_review',
	$have_sig ? 'identity and company were verified automatically'
			  : 'without attestations the application goes to review');
SKIP: {
	skip 'no attestations without govledger.verify_signature', 1 unless $have_sig;
	is(scalar(grep { $_->{satisfied} && $_->{attestation_id} } @{ $j->{verification} }), 2,
		'each requirement names the attestation that met it');
}
($st, $j) = call('GET', '/api/applications', 'wang');
is($st, 200, 'GET /api/applications');
is(scalar(@$j), 1, '... lists his application');
($st, $j) = call('GET', "/api/applications/$ref", 'wang');
is($j->{reference}, $ref, 'GET /api/applications/{ref}: his application');

# nobody else sees it ------------------------------------------------------------
($st, $j) = call('GET', "/api/applications/$ref", 'li');
is($st, 404, 'another citizen gets 404');
unlike($r = (call('GET', "/api/applications/$ref", 'li'))[2]->{content}, qr/11010519491231002X|$ref/,
	'... and learns nothing');
($st) = call('POST', "/api/officer/applications/$ref/open", 'sun');
is($st, 404, 'an officer of another district cannot open it');
($st) = call('POST', "/api/officer/applications/$ref/decision", 'sun',
	'{"outcome": "approve", "reason": "x"}');
is($st, 404, '... nor decide it');
($st) = call('GET', '/api/applications', undef);
is($st, 401, 'no token: 401');
($st, $j) = call('GET', '/api/officer/queue', 'wang');
is($st, 403, 'a citizen on an officer route: 403');
is(ref $j eq 'HASH' && $j->{hint}, "The token's role citizen may not make this call.",
   '... with a hint naming the role refused');
($st, $j) = call('GET', '/api/applications', 'chen');
ok($st == 403 && ref $j eq 'HASH' && $j->{hint} eq "The token's role officer may not make this call.",
   'an officer on a citizen route: 403, the hint naming the role') or diag(encode_json($j // {}));

# the district's officer decides -------------------------------------------------
($st, $j) = call('GET', '/api/officer/queue', 'chen');
is($j->[0]{reference}, $ref, 'GET /api/officer/queue: it is in the queue');
($st, $j) = call('POST', "/api/officer/applications/$ref/open", 'chen');
is($j->{applicant}{id_number}, '11010519491231002X', 'POST .../open shows the applicant');
($st, $j) = call('POST', "/api/officer/applications/$ref/decision", 'chen',
	'{"outcome": "approve", "reason": "identity and company attested"}');
is($st, 200, 'POST .../decision approves');
my $lno = $j->{licence_no};
like($lno // '', qr/^L110105-\d{4}-\d{8}$/, '... and issues the licence');
($st) = call('POST', "/api/officer/applications/$ref/decision", 'chen',
	'{"outcome": "reject", "reason": "again"}');
is($st, 409, 'a second decision: 409');

($st, $j) = call('GET', "/api/applications/$ref", 'wang');
is_deeply([map { $_->{status} } @{ $j->{history} }],
	[qw(submitted), $have_sig ? 'verified' : 'needs_review', qw(approved issued)],
	'the owner sees the status history');
($st, $j) = call('GET', '/api/me/access-log', 'wang');
is($j->[0]{official}, 'officer-chen', 'GET /api/me/access-log names the officer who read his data');

# anyone checks the licence ----------------------------------------------------
($st, $j) = call('GET', "/public/licences/$lno", undef);
is($st, 200, 'GET /public/licences/{no} needs no token');
is($j->{status}, 'valid', '... the licence is valid');
is($j->{licence}{company}{uscc}, '91110000600037341L', '... and names the company');
($st) = call('GET', '/public/licences/L110105-2026-99999999', undef);
is($st, 404, 'an unknown licence: 404');

SKIP: {
	skip 'govledger.receipt/seal are not installed yet', 7 unless $have_receipts;
	dbq("SELECT govledger.seal('main')");
	($st, $j) = call('GET', "/public/licences/$lno", undef);
	ok($j->{receipt}, 'after sealing the public check carries a receipt');
	($st, $j) = call('GET', '/public/checkpoint', undef);
	is($st, 200, 'GET /public/checkpoint needs no token');
	like($j->{checkpoint} // '', qr/\n\d+\n/, '... and gives a signed checkpoint with its tree size');
	my ($size) = ($j->{checkpoint} // '') =~ /\n(\d+)\n/;
	($st, $j) = call('GET', '/public/consistency?old=1&new=' . ($size // 1), undef);
	is($st, 200, 'GET /public/consistency gives a consistency proof');
	is($j->{new_size}, $size, '... up to the requested size');
	($st, $j) = call('GET', "/public/licences/$lno", undef);
	skip 'govledger-verify is not built', 2 unless -x ($ENV{GOVLEDGER_VERIFY} // '');
	my $rf = $t->write_file('receipt.json', encode_json($j->{receipt}));
	my $kf = $t->write_file('log.key', $j->{log_key});
	is(system($ENV{GOVLEDGER_VERIFY}, '--quiet', '--key-file', $kf, $rf), 0,
		'govledger-verify checks the licence receipt offline');
	my $bad = $j->{receipt};
	$bad->{canonical} =~ s/L110105/L110108/ if defined $bad->{canonical};
	my $bf = $t->write_file('receipt-bad.json', encode_json($bad));
	isnt(system("$ENV{GOVLEDGER_VERIFY} --quiet --key-file $kf $bf 2>/dev/null"), 0,
		'... and refuses a receipt whose licence was altered');
}

# malformed input to every endpoint: 4xx, nothing written -------------------------
my $before = entries();
my $apps_before = dbq('SELECT count(*) FROM app.application');
for my $case (
	['POST', '/api/applications', 'wang', 'not json', 400, 'submit: not JSON'],
	['POST', '/api/applications', 'wang', '[]', 400, 'submit: not an object'],
	['POST', '/api/applications', 'wang', '{"service": "art_gallery_licence"}', 400, 'submit: fields missing'],
	['POST', '/api/applications', 'wang', encode_json({ service => 'art_gallery_licence',
		district => '110105', id_number => '11010519491231002X',
		company_code => '91110000600037341N' }), 400, 'submit: invalid USCC'],
	['POST', '/api/applications', 'wang', encode_json({ service => 'art_gallery_licence',
		district => '110105', id_number => '11010519491231002X', materials => 'x' }), 400,
		'submit: materials not a list'],
	['POST', '/api/applications', 'wang', '{"service": "art_gallery_licence", "district": "110105", "id_number": "11010519491231002X", "extra": 1}',
		400, 'submit: unknown field'],
	['POST', '/api/attestations', 'psb', '{}', 400, 'attest: empty object'],
	['POST', '/api/attestations', 'psb', '{"key_id": "k1", "payload": "{", "signature": "AAAA"}', 400, 'attest: payload not JSON'],
	['POST', '/api/attestations', 'psb', '{"key_id": "k1", "payload": "{}", "signature": "***"}', 400, 'attest: signature not base64'],
	['POST', '/api/revocations', 'samr', '{"payload": 5}', 400, 'revoke: payload not a string'],
	['POST', "/api/officer/applications/$ref/decision", 'chen', '{"outcome": "approve"}', 400, 'decide: reason missing'],
	['POST', "/api/officer/applications/$ref/decision", 'chen', 'x', 400, 'decide: not JSON'],
	['POST', '/api/officer/erasures', 'chen', '{"id_number": "123"}', 400, 'erase: bad body'],
	['GET', '/public/licences/NOT-A-LICENCE', undef, undef, 400, 'licence: malformed number'],
	['GET', '/public/consistency?old=abc', undef, undef, 400, 'consistency: not a number'],
	['GET', '/api/reports/no_such_view.csv', 'reporter', undef, 404, 'report: unknown view'],
	['GET', '/api/revocations', 'samr', undef, 405, 'revocations: wrong method'],
	['POST', '/api/officer/queue', 'chen', '{}', 405, 'queue: wrong method'],
)
{
	my ($m, $path, $who, $b, $want, $name) = @$case;
	($st, $j) = call($m, $path, $who, $b);
	is($st, $want, "$name: $want");
	ok(!$j || (defined $j->{message} && length $j->{message}), "$name: a message says why")
		if $want == 400;
}
is(entries(), $before, 'the refused requests wrote no ledger entry');
is(dbq('SELECT count(*) FROM app.application'), $apps_before, '... and no application');

# erasure ---------------------------------------------------------------------------
($st) = call('POST', '/api/officer/erasures', 'chen',
	'{"id_number": "11010519491231002X", "reason": "request of the data subject"}');
is($st, 200, 'POST /api/officer/erasures carries out an erasure');
($st) = call('GET', '/api/me', 'wang');
is($st, 404, "the erased citizen's data is gone");
($st, $j) = call('GET', "/public/licences/$lno", undef);
is($j->{status}, 'valid', 'the licence still checks out');
is(dbq("SELECT bool_and(ok) FROM govledger.verify()"), 't', 'govledger.verify finds no damage');

# reports ---------------------------------------------------------------------------
($st, $j, $r) = call('GET', '/api/reports/online_share.csv', 'reporter');
is($st, 200, 'GET /api/reports/online_share.csv for the reporter');
is($r->{headers}{'content-type'}, 'text/csv; charset=utf-8', '... as CSV');
my @csv = split /\n/, $r->{content};
is($csv[0], 'month,online,counter,total,online_share', '... a header line first');
my $expected_rows = dbq('SELECT count(*) FROM report.online_share');
is(scalar(@csv) - 1, $expected_rows, '... then one line a row of the view');
ok(!grep({ !/^[^,]*(,[^,]*){4}$/ } @csv[1 .. $#csv]), '... each with the five columns');
($st) = call('GET', '/api/reports/online_share.csv', 'wang');
is($st, 403, '... not for a citizen');

# any other path: a JSON 404, with a token or without ----------------------
for my $case (['GET', '/nope', undef], ['GET', '/public/licences/LICENCE_NO', undef],
			  ['GET', '/index.html', undef], ['GET', '/logo.gif', 'wang'],
			  ['POST', '/api/nope', 'wang'], ['GET', '/api/applications/x/y', 'chen'])
{
	my ($m, $path, $who) = @$case;
	($st, $j, $r) = call($m, $path, $who);
	ok($st == 404 && ref $j eq 'HASH' && $j->{code} eq 'GL404'
	   && $r->{headers}{'content-type'} eq 'application/json',
	   "$m $path" . ($who ? " with a token" : '') . ': 404 GL404 as JSON')
		or diag("$st $r->{content}");
}

# a body over client_max_body_size (1 MB): nginx refuses it, as JSON too
$before = entries();
($st, $j, $r) = call('POST', '/api/applications', 'wang', '{"service":"' . ('x' x (3 * 1024 * 1024)) . '"}');
ok($st == 413 && ref $j eq 'HASH' && $j->{code} eq 'GL413'
   && $r->{headers}{'content-type'} eq 'application/json',
   'a 3 MB body: 413 GL413 as JSON') or diag("$st " . substr($r->{content}, 0, 300));
is(entries(), $before, '... and nothing was written');
($st, $j) = call('GET', '/.govledger/413', 'wang');
is($st, 404, 'the 413 answer is not a route of its own');

$t->stop;
done_testing();
