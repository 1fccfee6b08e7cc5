#!/usr/bin/perl
#
# sealcheck_order.t
#   verify() pairs each sealed entry (govledger.entry_sealed) with its
#   leaf (govledger.leaf) in one pass over both heaps, which the sealer
#   writes in the same order; a damaged or moved row waits for its
#   partner without stopping the pass.  When the heaps are far out of
#   step (here: entry_sealed rewritten in reverse order, 210 000
#   entries, so that over 100 000 rows would wait) it pairs them in
#   entry id order instead, by an index scan and a sort.  Both ways must
#   give the same results, clean or damaged.
#
# Copyright (c) 2026, govledger contributors

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use GovTest;

my $db = "sealcheck_order_$$";
GovTest::psql("CREATE DATABASE $db", db => 'postgres');
GovTest::psql('CREATE EXTENSION govledger CASCADE', db => $db);
# the dead rows of the rolled-back reorderings below stay where they are:
# autovacuum would change the heap's layout (and size) between cases
GovTest::psql('ALTER TABLE govledger.entry_sealed SET (autovacuum_enabled = off)', db => $db);
GovTest::psql(q{SELECT govledger.create_log('so-log');
	CREATE TABLE so_t (id int PRIMARY KEY, v text);
	SELECT govledger.protect('so_t', 'so-log');
	INSERT INTO so_t SELECT g, 'row ' || g FROM generate_series(1, 210000) g;
	SELECT govledger.seal('so-log')}, db => $db);

my $reverse = q{
CREATE TEMP TABLE so_entries AS SELECT * FROM govledger.entry_sealed ORDER BY entry_id DESC;
DELETE FROM govledger.entry_sealed;
INSERT INTO govledger.entry_sealed SELECT * FROM so_entries;
};

# The log checks of so-log after $damage, in a transaction rolled back;
# with $reorder, entry_sealed is rewritten in reverse order first.  Returns
# the check lines and whether the entry id order pairing was used.
sub log_checks
{
	my ($damage, $reorder, $before) = @_;
	my $out = GovTest::psql(<<"SQL", db => $db);
BEGIN;
SET LOCAL session_replication_role = replica;
@{[ $reorder ? $reverse : '' ]}
$damage
@{[ $before // '' ]}
SET LOCAL session_replication_role = origin;
SET LOCAL client_min_messages = debug1;
SELECT 'C|' || check_name || '|' || ok || '|' || checked || '|' || failed || '|' || coalesce(first_failure, '')
  FROM govledger.verify('so_t') WHERE ledger IS NULL ORDER BY check_name;
ROLLBACK;
SQL
	my @checks = map { s/^C\|//r } grep { /^C\|/ } split /\n/, $out;
	my $ordered = $out =~ /log so-log: sealed entries and leaves paired in entry id order/ ? 1 : 0;
	return (\@checks, $ordered, $out);
}

# [ name, damage, paired in one pass when the heaps are in step?,
#   what the failed checks must say ]
my $x = q{(SELECT entry_id FROM govledger.leaf WHERE leaf_index = 300)};
my @cases = (
	[ 'clean', '', 1, undef ],
	[ 'a leaf removed', q{DELETE FROM govledger.leaf WHERE leaf_index = 70000;}, 1,
	  qr/so-log\.sealed\|false\|.*is neither sealed nor queued/ ],
	[ 'an entry removed', q{DELETE FROM govledger.entry_sealed
		WHERE entry_id = (SELECT entry_id FROM govledger.leaf WHERE leaf_index = 900);}, 1,
	  qr/so-log\.leaves\|false\|.*leaf 900 names entry \d+, which does not exist/ ],
	[ 'a stored entry leaf altered', q{UPDATE govledger.entry_sealed SET leaf_hash = sha256('x')
		WHERE entry_id = (SELECT entry_id FROM govledger.leaf WHERE leaf_index = 5000);}, 1,
	  qr/so-log\.leaves\|false\|.*leaf 5000 \(entry \d+\): its hash differs/ ],
	[ 'an entry pointed at another leaf', q{UPDATE govledger.entry_sealed SET leaf_index = 41
		WHERE entry_id = (SELECT entry_id FROM govledger.leaf WHERE leaf_index = 42);}, 1,
	  qr/so-log\.leaves\|false\|.*leaf 42 holds entry \d+, which records leaf 41 as its own/ ],
	[ 'a leaf naming the entry of another', qq{UPDATE govledger.leaf SET entry_id = $x WHERE leaf_index = 301;}, 1,
	  qr/so-log\.leaves\|false\|\d+\|1\|leaf 301 \(entry \d+\): its hash differs.*\n.*so-log\.sealed\|false\|\d+\|1\|entry \d+ is neither sealed nor queued/s ],
	[ 'an entry recording the second of its two leaves', qq{CREATE TEMP TABLE so_x AS SELECT $x AS id;
		UPDATE govledger.leaf SET entry_id = (SELECT id FROM so_x) WHERE leaf_index = 301;
		UPDATE govledger.entry_sealed SET leaf_index = 301 WHERE entry_id = (SELECT id FROM so_x);}, 1,
	  qr/so-log\.leaves\|false\|\d+\|2\|leaf 300 holds entry \d+, which records leaf 301 as its own/ ],
	[ 'two leaves of one entry met long before it', q{UPDATE govledger.leaf
		SET entry_id = (SELECT entry_id FROM govledger.leaf WHERE leaf_index = 209000)
		WHERE leaf_index IN (300, 301);}, 0,
	  qr/so-log\.leaves\|false\|\d+\|2\|leaf 300 \(entry \d+\): its hash differs.*\n.*so-log\.sealed\|false\|\d+\|2\|entry \d+ is neither sealed nor queued/s ],
);
for my $c (@cases)
{
	my ($name, $damage, $one_pass, $expect) = @$c;
	my ($heap, $h_ordered, $h_out) = log_checks($damage, 0);
	my ($sorted, $s_ordered, $s_out) = log_checks($damage, 1);

	is($h_ordered, $one_pass ? 0 : 1, "$name: heaps in step, " .
	   ($one_pass ? 'paired in one pass' : 'two leaves waiting for one entry: paired in entry id order'))
		or diag($h_out);
	is($s_ordered, 1, "$name: heaps out of step, paired in entry id order") or diag($s_out);
	is_deeply($sorted, $heap, "$name: the same results both ways") or diag("$h_out\n$s_out");
	my $bad = join("\n", grep { /\|false\|/ } @$heap);
	if (!defined $expect) { is($bad, '', "$name: every log check passes") or diag($h_out); }
	else { like($bad, $expect, "$name: named") or diag($h_out); }
}

# A scan of a table larger than a quarter of shared_buffers may start where
# another scan of it is (synchronize_seqscans).  A scan of the reordered
# entry_sealed that stopped two thirds of the way in must not make verify's
# pass start there, where the two heaps would be in step again.
my $midway = q{SELECT 'S|' || (pg_relation_size('govledger.entry_sealed') / 8192 >
		(SELECT setting::bigint FROM pg_settings WHERE name = 'shared_buffers') / 4);
	SELECT count(*) FROM (SELECT 1 FROM govledger.entry_sealed LIMIT 140000) s;};
for my $round (1 .. 2)
{
	my ($checks, $ordered, $out) = log_checks('', 1, $midway);
	like($out, qr/^S\|(t|true)$/m, "round $round: entry_sealed is large enough for synchronized scans");
	is($ordered, 1, "round $round: a scan stopped midway: heaps still out of step, paired in entry id order")
		or diag($out);
	is(join("\n", grep { /\|false\|/ } @$checks), '', "round $round: every log check passes")
		or diag($out);
}

GovTest::psql("DROP DATABASE $db WITH (FORCE)", db => 'postgres');
done_testing();
