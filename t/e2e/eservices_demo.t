#!/usr/bin/perl
#
# The demo data of `make run` (sql/90_demo.sql) loads into a database of
# its own, gives realistic report figures (the online share rising over the
# year), keeps the agencies' private keys out of the database, leaves every
# ledger verifiable, and its printed walk-through works: with the demo
# tokens the citizen applies, the officer approves and the licence is found
# at the public endpoint.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use File::Basename qw(dirname);
use Cwd qw(abs_path);
use GovTest;
use GovNginx;

plan(skip_all => 'PostgreSQL environment (PGHOST) missing') unless $ENV{PGHOST};

my $root = $ENV{GOVLEDGER_ROOT} || abs_path(dirname(__FILE__) . '/../..');
my $db = "eservices_demo_$$";
my $psql = ($ENV{GOVLEDGER_PGBIN} || '/usr/lib/postgresql/15/bin') . '/psql';
my $var = ($ENV{GOVLEDGER_TMP} || '/tmp') . "/eservices-demo-$$";
mkdir($var) or die "$var: $!";

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
	local $ENV{GOVLEDGER_ROOT} = $root;
	system($psql, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $db, '-v', "var_dir=$var",
		   '-f', $f) == 0
		or BAIL_OUT("loading $f failed");
}
my $have_sig = dbq("SELECT to_regprocedure('govledger.verify_signature(text,bytea,bytea,bytea)') IS NOT NULL") eq 't';

# the data ----------------------------------------------------------------------
is(dbq('SELECT count(*) FROM app.person_data'), 2500, '2,500 citizens');
is(dbq('SELECT count(*) FROM app.company_data'), 1000, '1,000 companies');
is(dbq('SELECT count(*) FROM app.company_data WHERE uscc_review'), 3, 'three pilot codes flagged for review');
cmp_ok(dbq('SELECT count(*) FROM app.application'), '>', 15000, 'a year of applications');
is(dbq(q{SELECT count(DISTINCT (submitted_at AT TIME ZONE 'Asia/Shanghai')::date) FROM app.application}),
	365, '... on every day of the last year');
my ($first, $last) = split(/\|/, dbq(q{
	SELECT (SELECT online_share FROM report.online_share ORDER BY month OFFSET 1 LIMIT 1),
		   (SELECT online_share FROM report.online_share ORDER BY month DESC OFFSET 1 LIMIT 1)}));
cmp_ok($first, '<', 0.5, "the online share starts low ($first)");
cmp_ok($last, '>', 0.75, "... and ends high ($last)");
is(dbq(q{SELECT count(*) FROM report.processing_time WHERE NOT (p50_hours < p90_hours)}), 0,
	'processing time p50 below p90 every month');
cmp_ok(dbq(q{SELECT min(visits) FROM (SELECT day, sum(visits) AS visits FROM report.counter_visits_per_day
			 WHERE extract(isodow FROM day) < 6 GROUP BY day) d}), '>', 0,
	'counter visits on every working day');
SKIP: {
	skip 'govledger.verify_signature is not installed: the demo has no attestations', 3 unless $have_sig;
	cmp_ok(dbq('SELECT count(*) FROM app.attestation'), '>', 3500, 'signed attestations');
	cmp_ok(dbq('SELECT count(*) FROM app.revocation'), '>', 0, 'some revoked');
	cmp_ok(dbq('SELECT min(rate) FROM report.auto_verification_rate'), '>', 0.8,
		'most applications are verified automatically');
}
is(dbq(q{SELECT count(*) FROM app.agency_key WHERE length(public_key) <> 32}), 0,
	'agency keys in the database are 32-byte public keys');
is(dbq(q{SELECT count(*) FROM app.attestation_payload WHERE payload LIKE '%PRIVATE KEY%'}), 0,
	'no private key in any payload');
ok(-f "$var/demo/keys/PSB-110000.pem" && !((stat("$var/demo/keys"))[2] & 077),
	'the private keys are files in a directory only their owner can enter');
is(dbq('SELECT count(*) FROM govledger.verify() WHERE NOT ok'), 0, 'govledger.verify finds no damage');

# the walk-through ------------------------------------------------------------------
ok(-s "$var/banner.txt", 'the banner for make run is written');
my $banner = do { local (@ARGV, $/) = ("$var/banner.txt"); <> };
my %tok;
open(my $tf, '<', "$var/demo/jwt/tokens.env") or die "tokens.env: $!";
while (<$tf>) { chomp; my ($k, $v) = split(/=/, $_, 2); $tok{$k} = $v; }
close($tf);
is(scalar(grep { /_TOKEN$/ } keys %tok), 6, 'six demo tokens');

SKIP: {
	skip 'GOVLEDGER_NGX_MODULE not built', 8 unless GovNginx::has_module();
	my ($body) = $banner =~ /-d '(\{"service"[^']+)'/;
	ok($body, 'the banner shows the application to submit');

	my $t = GovNginx->new(workers => 1);
	system('cp', "$var/demo/jwt/jwt-ed25519.pub.pem", $t->prefix . '/jwt.pub') == 0 or die;
	chmod(0644, $t->prefix . '/jwt.pub');
	(my $conf = <<'CONF') =~ s/%%DB%%/$db/g;
    govledger_database "host=%%PGHOST%% port=%%PGPORT%% dbname=%%DB%% user=govledger_gateway";
    govledger_jwt_key file=%%PREFIX%%/jwt.pub alg=EdDSA kid=demo;
    server {
        listen 127.0.0.1:%%PORT%%;
        include %%ROUTES%%;
    }
CONF
	$conf =~ s/%%ROUTES%%/$root\/sql\/nginx\/eservices_routes.conf/;
	$t->run($conf);
	my $r = $t->post('/api/applications', token => $tok{CITIZEN_TOKEN}, body => $body);
	is($r->{status}, 200, "the demo citizen applies with the banner's request")
		or diag($r->{content});
	my $app = eval { decode_json($r->{content}) } || {};
	is($app->{status}, $have_sig ? 'verified' : 'needs_review',
		'... and the application is ' . ($have_sig ? 'verified automatically' : 'in review (no attestations)'));
	$r = $t->get('/api/officer/queue', token => $tok{OFFICER_TOKEN});
	my $queue = eval { decode_json($r->{content}) } || [];
	ok((grep { $_->{reference} eq ($app->{reference} // '') } @$queue),
		'the demo officer finds it in the queue');
	$r = $t->post("/api/officer/applications/$app->{reference}/decision", token => $tok{OFFICER_TOKEN},
		body => '{"outcome":"approve","reason":"identity and company attested"}');
	my $lno = (eval { decode_json($r->{content}) } || {})->{licence_no};
	ok($lno, 'the demo officer approves and the licence is issued');
	$r = $t->post("/api/officer/applications/$app->{reference}/decision", token => $tok{OFFICER_OTHER_TOKEN},
		body => '{"outcome":"reject","reason":"x"}');
	is($r->{status}, 404, 'an officer of another district cannot decide it');
	$r = $t->get("/public/licences/$lno");
	is((eval { decode_json($r->{content}) } || {})->{status}, 'valid', 'anyone finds the licence valid');
	$t->stop;
}

done_testing();
