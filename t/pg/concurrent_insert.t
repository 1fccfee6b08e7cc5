#!/usr/bin/perl
#
# concurrent_insert.t: several sessions insert into the same ledger tables
# at once, one row per transaction and in multi-row transactions, with and
# without a gateway subject.  Every row must get its own entry, no session
# may see an error or a deadlock, and verify must find nothing wrong.

use strict;
use warnings;

use Test::More;
use GovTest;

my $sessions = 8;
my $per_session = 150;
my $tmp = $ENV{GOVLEDGER_TMP} or die "GOVLEDGER_TMP is not set (run through t/run)\n";
my $psql = "$ENV{GOVLEDGER_PGBIN}/psql";

GovTest::psql(q{
	CREATE TABLE conc_a (id bigserial PRIMARY KEY, session int, n int, note text, at timestamptz DEFAULT now());
	CREATE TABLE conc_b (session int, n int, payload jsonb);
	SELECT govledger.protect('conc_a');
	SELECT govledger.protect('conc_b');
});

# one script per session: single-row transactions into conc_a, a few
# multi-row transactions into both tables, half of them with a subject
my @pids;
for my $s (1 .. $sessions)
{
	my $file = "$tmp/conc_$s.sql";
	open(my $fh, '>', $file) or die "$file: $!";
	print $fh "\\set ON_ERROR_STOP 1\n";
	print $fh "SELECT set_config('request.jwt.claims', '{\"sub\":\"session-$s\"}', false);\n"
		if $s % 2 == 0;
	for my $n (1 .. $per_session)
	{
		print $fh "INSERT INTO conc_a (session, n, note) VALUES ($s, $n, 'row $n of session $s');\n";
		if ($n % 50 == 0)
		{
			print $fh "BEGIN;\n",
				"INSERT INTO conc_b SELECT $s, g, jsonb_build_object('g', g, 's', $s) FROM generate_series(1, 10) g;\n",
				"INSERT INTO conc_a (session, n, note) SELECT $s, -g, 'bulk' FROM generate_series(1, 5) g;\n",
				"COMMIT;\n";
		}
	}
	close($fh);
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		open(STDOUT, '>', "$tmp/conc_$s.out");
		open(STDERR, '>', "$tmp/conc_$s.err");
		exec($psql, '-X', '-q', '-f', $file) or exit 127;
	}
	push @pids, $pid;
}

my $failed = 0;
for my $pid (@pids)
{
	waitpid($pid, 0);
	$failed++ if $? != 0;
}
is($failed, 0, "all $sessions sessions finished without error");

my $errors = '';
for my $s (1 .. $sessions)
{
	open(my $fh, '<', "$tmp/conc_$s.err") or next;
	local $/;
	$errors .= <$fh> // '';
}
is($errors, '', 'no session printed an error (no deadlock, no unique violation)');

my $rows_a = $sessions * ($per_session + 5 * int($per_session / 50));
my $rows_b = $sessions * 10 * int($per_session / 50);
is(GovTest::psql('SELECT count(*) FROM conc_a'), $rows_a, "conc_a has all $rows_a rows");
is(GovTest::psql('SELECT count(*) FROM conc_b'), $rows_b, "conc_b has all $rows_b rows");
is(GovTest::psql(q{
	SELECT count(DISTINCT ledger_entry_id) FROM (
		SELECT ledger_entry_id FROM conc_a UNION ALL SELECT ledger_entry_id FROM conc_b) s}),
	$rows_a + $rows_b, 'every row has its own entry id');
is(GovTest::psql(q{
	SELECT count(*) FROM govledger.entry e
	  JOIN govledger.ledger l USING (ledger_id)
	 WHERE l.relid IN ('conc_a'::regclass, 'conc_b'::regclass)}),
	$rows_a + $rows_b, 'one entry per row, none left over');
is(GovTest::psql(q{
	SELECT count(*) FROM (
		SELECT ledger_entry_id < lag(ledger_entry_id) OVER (PARTITION BY session ORDER BY id) AS backwards
		  FROM conc_a) s
	 WHERE backwards}),
	0, 'entry ids increase within each session');
is(GovTest::psql(q{
	SELECT count(*) FROM conc_a a JOIN govledger.entry e ON e.entry_id = a.ledger_entry_id
	 WHERE e.subject IS DISTINCT FROM CASE WHEN a.session % 2 = 0 THEN 'session-' || a.session END}),
	0, 'each entry carries its own session\'s subject');
is(GovTest::psql(q{
	SELECT string_agg(check_name || ': ' || coalesce(first_failure, 'failed'), '; ')
	  FROM govledger.verify() v
	 WHERE v.ledger IN ('conc_a'::regclass, 'conc_b'::regclass) AND NOT v.ok}),
	'', 'verify finds nothing wrong');
is(GovTest::psql(q{
	SELECT sum(checked) FROM govledger.verify('conc_a') WHERE check_name = 'row_hash'}),
	$rows_a, 'verify recomputed every row of conc_a');

GovTest::psql(q{
	SELECT govledger.drop_ledger('conc_a', 'end of concurrency test');
	SELECT govledger.drop_ledger('conc_b', 'end of concurrency test');
});
done_testing();
