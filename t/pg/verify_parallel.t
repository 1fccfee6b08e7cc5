#!/usr/bin/perl
#
# verify_parallel.t: verify() checks the logs in a parallel worker, which
# then shares the row checks with the backend; the results must be
# exactly those of checking everything in the backend
# (govledger.verify_parallel = off), clean or damaged, including damage
# made by the same, uncommitted transaction.

use strict;
use warnings;

use Test::More;
use GovTest;

my $tables = <<'SQL';
CREATE TABLE vp_t (id int PRIMARY KEY, v text, at timestamptz DEFAULT '2026-01-01Z', doc jsonb);
CREATE TABLE vp_u (id int PRIMARY KEY, v text);
SELECT govledger.create_log('vp-log');
SELECT govledger.protect('vp_t', 'vp-log');
SELECT govledger.protect('vp_u', 'vp-log');
INSERT INTO vp_t (id, v, doc)
SELECT g, 'value ' || g, d
  FROM generate_series(1, :rows) g,
       LATERAL (SELECT jsonb_object_agg('k' || i, g * 1.5 / i) d FROM generate_series(1, 48) i) j;
INSERT INTO vp_u (id, v) SELECT g, 'other ' || g FROM generate_series(1, :rows / 2) g;
SELECT govledger.seal('vp-log');
SQL

# Verify $opt{target} ('vp_t', or NULL for every ledger) in one
# transaction (one snapshot: the sealer may be at work) that runs $setup
# and is rolled back, once with the parallel
# worker and once without.  The ledgers are created in that transaction
# too, unless $opt{db} names a database where they already are.  Returns
# both results, how many times the logs were checked by a worker, psql's
# output and how many rows the worker checked.
sub verify_both
{
	my ($setup, %opt) = @_;
	my $target = $opt{target} || "'vp_t'";
	my $create = $opt{db} ? '' : $tables =~ s/:rows/3000/gr;
	my $out = GovTest::psql(<<"SQL", $opt{db} ? (db => $opt{db}) : ());
BEGIN ISOLATION LEVEL REPEATABLE READ;
$create
$setup
SET LOCAL client_min_messages = debug1;
SELECT 'P|' || coalesce(ledger::text, '') || '|' || check_name || '|' || ok || '|' || checked || '|' || failed || '|' || coalesce(first_failure, '')
  FROM govledger.verify($target);
SET LOCAL client_min_messages = notice;
SET LOCAL govledger.verify_parallel = off;
SELECT 'S|' || coalesce(ledger::text, '') || '|' || check_name || '|' || ok || '|' || checked || '|' || failed || '|' || coalesce(first_failure, '')
  FROM govledger.verify($target);
ROLLBACK;
SQL
	my @p = map { s/^P\|//r } grep { /^P\|/ } split /\n/, $out;
	my @s = map { s/^S\|//r } grep { /^S\|/ } split /\n/, $out;
	my $workers = () = $out =~ /the logs were checked by a parallel worker/g;
	my $worker_rows = 0;
	$worker_rows += $1 while $out =~ /the parallel worker checked (\d+) of/g;
	return (\@p, \@s, $workers, $out, $worker_rows);
}

my ($p, $s, $workers, $out) = verify_both('');
ok(@$s >= 9, 'serial verify returned every check') or diag($out);
is($workers, 1, 'the logs were checked by a parallel worker') or diag($out);
is_deeply($p, $s, 'clean log: parallel and serial results are the same');
ok(!grep({ !/\|true\|/ } @$p), 'clean log: every check passes');

($p, $s, $workers, $out) = verify_both(<<'SQL');
SET LOCAL session_replication_role = replica;
UPDATE vp_t SET v = 'forged' WHERE id = 7;
DELETE FROM vp_t WHERE id = 11;
UPDATE govledger.leaf SET leaf_hash = sha256('forged')
 WHERE log_id = (SELECT log_id FROM govledger.log WHERE name = 'vp-log') AND leaf_index = 1500;
UPDATE govledger.subtree SET hash = sha256('forged')
 WHERE log_id = (SELECT log_id FROM govledger.log WHERE name = 'vp-log') AND level = 4 AND idx = 20;
SET LOCAL session_replication_role = origin;
SQL
is($workers, 1, 'damaged log: checked by a parallel worker') or diag($out);
is_deeply($p, $s, 'damaged log: parallel and serial results are the same');
my %bad = map { (split /\|/)[1] => 1 } grep { /\|false\|/ } @$p;
ok($bad{row_hash}, 'the changed row is found') or diag(join("\n", @$p));
ok($bad{entry_row}, 'the deleted row is found') or diag(join("\n", @$p));
ok($bad{'vp-log.leaves'} || $bad{'vp-log.sealed'}, 'the forged leaf is found') or diag(join("\n", @$p));
ok($bad{'vp-log.tree'}, 'the forged subtree is found') or diag(join("\n", @$p));

# a log whose public key is not registered (yet, or any more): the worker
# checks the checkpoints with the key file's key and registers nothing
($p, $s, $workers, $out) = verify_both(<<'SQL');
SET LOCAL session_replication_role = replica;
UPDATE govledger.log SET public_key = NULL WHERE name = 'vp-log';
SET LOCAL session_replication_role = origin;
SQL
is($workers, 1, 'unregistered key: checked by a parallel worker') or diag($out);
is_deeply($p, $s, 'unregistered key: parallel and serial results are the same');
ok(!grep({ !/\|true\|/ } @$p), 'unregistered key: the checkpoints verify with the key file') or diag($out);

# Tables large enough for the worker to take a share of their rows (it
# joins in once the log is checked), committed in a database of their
# own, then damaged here and there.  The failure reported first is that
# of the first row in the table, or of the lowest entry id for leaf
# mismatches, whoever met it.  How many rows the worker gets depends on
# timing; with parallel_leader_participation off the leader leaves them
# all to it, as in a parallel plan.  The results must agree every time.
GovTest::psql('CREATE DATABASE vp_big', db => 'postgres');
GovTest::psql('CREATE EXTENSION govledger CASCADE', db => 'vp_big');
GovTest::psql($tables =~ s/:rows/60000/gr, db => 'vp_big');
my $scattered = <<'SQL';
SELECT 'E|' || id || '|' || ledger_entry_id FROM vp_t WHERE id IN (7, 18000, 100);
SELECT 'E|u' || id || '|' || ledger_entry_id FROM vp_u WHERE id = 5;
SET LOCAL session_replication_role = replica;
UPDATE vp_t SET v = 'forged' WHERE id IN (7, 25001, 45000, 59990);
DELETE FROM vp_t WHERE id IN (11, 36000);
UPDATE vp_t SET ledger_entry_id = ledger_entry_id + 100000000 WHERE id IN (100, 48000);
UPDATE govledger.entry_sealed SET leaf_hash = sha256('forged')
 WHERE entry_id IN (SELECT ledger_entry_id FROM vp_t WHERE id IN (18000, 51000));
UPDATE vp_u SET v = 'forged' WHERE id IN (5, 29000);
SET LOCAL session_replication_role = origin;
INSERT INTO vp_t (id, v) SELECT g, 'queued ' || g FROM generate_series(60001, 60500) g;
SQL
($p, $s, $workers, $out) = verify_both($scattered, db => 'vp_big', target => 'NULL');
is_deeply($p, $s, 'scattered damage, all ledgers: parallel and serial results are the same')
	or diag($out);
my ($p_shared, $s_shared, $w_shared, $out_shared, $shared) =
	verify_both("$scattered\nSET LOCAL parallel_leader_participation = off;\n",
				db => 'vp_big', target => 'NULL');
is($w_shared, 1, 'leader not participating: the logs were checked by a parallel worker')
	or diag($out_shared);
is_deeply($p_shared, $s_shared, 'leader not participating: parallel and serial results are the same')
	or diag($out_shared);
my %share = $out_shared =~ /ledger (\S+): the parallel worker checked (\d+ of \d+) rows/g;
is_deeply([ @share{qw(public.vp_t public.vp_u)} ], [ '60498 of 60498', '30000 of 30000' ],
		  "leader not participating: the parallel worker checked every row ($shared)")
	or diag($out_shared);
my %row = map { my @f = split /\|/; ("$f[0]|$f[1]" => $_) } @$p;
my %entry = $out =~ /^E\|(\w+)\|(\d+)$/mg;
my ($e7, $e18000, $eu5) = @entry{qw(7 18000 u5)};
like($row{'vp_t|row_hash'}, qr/\|false\|60496\|4\|entry $e7: row changed since insert/,
	 'four changed rows of vp_t, the lowest entry reported') or diag(join("\n", @$p));
like($row{'vp_t|entry_leaf'}, qr/\|false\|60496\|2\|entry $e18000: stored leaf altered/,
	 'two altered stored leaves, the lowest entry reported') or diag(join("\n", @$p));
my $moved = $entry{100} + 100000000;
like($row{'vp_t|row_entry'}, qr/\|false\|60498\|2\|row with ledger_entry_id $moved has no entry/,
	 'two rows without an entry, the first in the table reported') or diag(join("\n", @$p));
like($row{'vp_t|entry_row'}, qr/\|false\|60500\|4\|/, 'two deleted rows and two rows moved off their entries')
	or diag(join("\n", @$p));
like($row{'vp_u|row_hash'}, qr/\|false\|30000\|2\|entry $eu5: row changed/,
	 'two changed rows of vp_u') or diag(join("\n", @$p));
# progress notices, from the backend's own row checks and, when it leaves
# them to the worker, from the worker's count while it waits
for my $lp (qw(on off))
{
	my $progress = GovTest::psql(<<"SQL", db => 'vp_big');
SET govledger.verify_progress_interval = 0;
SET parallel_leader_participation = $lp;
SET client_min_messages = debug1;
SELECT 'N|' || count(*) FROM govledger.verify('vp_t') WHERE NOT ok;
SQL
	my @counts = $progress =~ /NOTICE:  verify: ledger public\.vp_t: (\d+) rows checked/g;
	ok(@counts > 0 && $progress =~ /the logs were checked by a parallel worker/,
	   "parallel_leader_participation $lp: progress notices for the rows (@counts[0 .. ($#counts < 3 ? $#counts : 3)] ...)")
		or diag($progress);
	like($progress, qr/^N\|0$/m, "parallel_leader_participation $lp: the committed tables verify");
}
GovTest::psql('DROP DATABASE vp_big WITH (FORCE)', db => 'postgres');

# no worker to be had: the backend checks the logs itself, same results
my $serial = GovTest::psql(q{SET max_parallel_workers = 0; SET client_min_messages = debug1;
	SELECT count(*) FROM govledger.verify() WHERE NOT ok});
unlike($serial, qr/parallel worker/, 'without parallel workers verify runs in the backend');
like($serial, qr/^0$/m, 'and finds nothing wrong in the shared test database');

done_testing();
