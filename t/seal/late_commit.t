#!/usr/bin/perl
#
# late_commit.t
#   An entry whose transaction takes its entry id, then waits while later
#   entries commit and get sealed, and only then commits, is still sealed
#   (after them, exactly once).  Sealing never selects entries by id range.
#
# Copyright (c) 2026, govledger contributors

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use GovTest;

my $log = "late-$$";
my $tbl = "seal_late_$$";

GovTest::psql(qq{SELECT govledger.create_log('$log')});
GovTest::psql(qq{CREATE TABLE $tbl (id int PRIMARY KEY, who text);
	SELECT govledger.protect('$tbl', '$log')});

# session A: takes its entry id first, commits last
my $pid = fork() // die "fork: $!";
if ($pid == 0) {
    GovTest::psql(qq{BEGIN; INSERT INTO $tbl VALUES (1, 'late'); SELECT pg_sleep(3); COMMIT;});
    exit 0;
}
# wait until A's row exists (uncommitted) so its entry id is taken
my $waited = 0;
until (GovTest::psql(qq{SELECT count(*) FROM govledger.unsealed u JOIN govledger.log l USING (log_id) WHERE l.name = '$log'}, allow_error => 1) ne '0'
       || GovTest::psql(qq{SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3)%' AND state = 'active'}) ne '0') {
    select(undef, undef, undef, 0.05);
    last if ++$waited > 100;
}
select(undef, undef, undef, 0.3);

# meanwhile: later entries commit and are sealed
GovTest::psql(qq{INSERT INTO $tbl SELECT g, 'early' FROM generate_series(2, 6) g});
my $size = GovTest::psql(qq{SELECT govledger.seal('$log')});
is($size, 5, 'the five later entries are sealed while the first is uncommitted');
is(GovTest::psql(qq{SELECT count(*) FROM $tbl}), 5, 'the late row is not visible yet');

waitpid($pid, 0);
is($? >> 8, 0, 'the late transaction committed');
my $late = GovTest::psql(qq{SELECT ledger_entry_id FROM $tbl WHERE id = 1});
my $min_early = GovTest::psql(qq{SELECT min(ledger_entry_id) FROM $tbl WHERE id > 1});
cmp_ok($late, '<', $min_early, 'the late entry took its id before the others');

# sealed by the next seal (or already by the background sealer)
my $sealed = GovTest::psql(qq{SELECT govledger.await_sealed('$tbl', $late, '5 seconds')});
if ($sealed ne 't') {
    GovTest::psql(qq{SELECT govledger.seal('$log')});
}
is(GovTest::psql(qq{SELECT govledger.seal('$log')}), 6, 'after it commits the tree has all six entries');
is(GovTest::psql(qq{SELECT leaf_index FROM govledger.leaf WHERE entry_id = $late}), 5,
   'the late entry is the sixth leaf, after the entries sealed before it committed');
is(GovTest::psql(qq{SELECT count(*) FROM govledger.leaf l JOIN $tbl t ON t.ledger_entry_id = l.entry_id}), 6,
   'every row is sealed');
is(GovTest::psql(qq{SELECT count(DISTINCT entry_id) = count(*) FROM govledger.leaf l JOIN govledger.log g USING (log_id) WHERE g.name = '$log'}), 't',
   'nothing is sealed twice');
is(GovTest::psql(qq{SELECT govledger.verify_receipt(govledger.receipt('$tbl', $late), govledger.verifier_key('$log'))}), 't',
   'the late entry has a valid receipt');
is(GovTest::psql(qq{SELECT bool_and(ok) FROM govledger.verify('$tbl')}), 't', 'verify() is clean');

done_testing();
