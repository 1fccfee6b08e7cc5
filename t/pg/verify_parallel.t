#!/usr/bin/perl
#
# verify_parallel.t: verify() checks the logs in a parallel worker while
# it checks the rows; the results must be exactly those of checking
# everything in the backend (govledger.verify_parallel = off), clean or
# damaged, including damage made by the same, uncommitted transaction.

use strict;
use warnings;

use Test::More;
use GovTest;

sub verify_both
{
	my ($setup) = @_;
	my $out = GovTest::psql(<<"SQL");
BEGIN;
CREATE TABLE vp_t (id int PRIMARY KEY, v text, at timestamptz DEFAULT '2026-01-01Z');
SELECT govledger.create_log('vp-log');
SELECT govledger.protect('vp_t', 'vp-log');
INSERT INTO vp_t (id, v) SELECT g, 'value ' || g FROM generate_series(1, 3000) g;
SELECT govledger.seal('vp-log');
$setup
SET LOCAL client_min_messages = debug1;
SELECT 'P|' || coalesce(ledger::text, '') || '|' || check_name || '|' || ok || '|' || checked || '|' || failed || '|' || coalesce(first_failure, '')
  FROM govledger.verify('vp_t');
SET LOCAL client_min_messages = notice;
SET LOCAL govledger.verify_parallel = off;
SELECT 'S|' || coalesce(ledger::text, '') || '|' || check_name || '|' || ok || '|' || checked || '|' || failed || '|' || coalesce(first_failure, '')
  FROM govledger.verify('vp_t');
ROLLBACK;
SQL
	my @p = map { s/^P\|//r } grep { /^P\|/ } split /\n/, $out;
	my @s = map { s/^S\|//r } grep { /^S\|/ } split /\n/, $out;
	my $workers = () = $out =~ /the logs were checked by a parallel worker/g;
	return (\@p, \@s, $workers, $out);
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

# no worker to be had: the backend checks the logs itself, same results
my $serial = GovTest::psql(q{SET max_parallel_workers = 0; SET client_min_messages = debug1;
	SELECT count(*) FROM govledger.verify() WHERE NOT ok});
unlike($serial, qr/parallel worker/, 'without parallel workers verify runs in the backend');
like($serial, qr/^0$/m, 'and finds nothing wrong in the shared test database');

done_testing();
