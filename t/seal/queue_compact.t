#!/usr/bin/perl
#
# queue_compact.t
#   A backlog (here one transaction of 300 000 rows) leaves the queue
#   table govledger.unsealed with thousands of pages that every seal
#   would scan although they are empty once sealed.  The background
#   sealer rewrites the queue when it is that bloated, while other
#   sessions keep inserting; afterwards the queue is small again, every
#   committed row is sealed exactly once, and verify() is clean.
#
# Copyright (c) 2026, govledger contributors

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use GovTest;
use Time::HiRes qw(sleep time);

my $pg = GovTest::new_cluster();
my $dir = $pg->dir;

$pg->psql(q{CREATE TABLE qc_t (id bigserial PRIMARY KEY, v text);
	SELECT govledger.protect('qc_t')});
# measured in the inserting transaction, before the sealer can see a row
my $pages = $pg->psql(q{INSERT INTO qc_t (v) SELECT 'backlog row ' || g FROM generate_series(1, 300000) g;
	SELECT pg_relation_size('govledger.unsealed') / 8192});
cmp_ok($pages, '>', 3000, "the backlog took $pages pages of the queue");

# inserts go on while the sealer drains and compacts the queue
open(my $fh, '>', "$dir/insert.sql") or die;
print $fh "INSERT INTO qc_t (v) VALUES (md5(random()::text));\n";
close $fh;
chmod 0644, "$dir/insert.sql";
my $pid = fork() // die "fork: $!";
if ($pid == 0) {
	open(STDOUT, '>', '/dev/null');
	open(STDERR, '>', '/dev/null');
	exec("$GovTest::PGBIN/pgbench", '-n', '-h', $pg->host, '-p', $pg->port, '-U', 'postgres',
		 '-c', 4, '-T', 6, '-f', "$dir/insert.sql", $pg->dbname);
	exit 127;
}
waitpid($pid, 0);
is($? >> 8, 0, 'the inserting sessions saw no error');

my $after;
my $deadline = time() + 60;
while (time() < $deadline) {
	$after = $pg->psql(q{SELECT pg_relation_size('govledger.unsealed') / 8192});
	last if $after < $pages / 3;
	sleep(0.5);
}
cmp_ok($after, '<', $pages / 3, "the sealer compacted the queue ($pages pages before, $after after)");
like(GovTest::Cluster::_tail($pg->logfile), qr/compacted the queue after a backlog/,
	'the sealer logged the compaction');

$pg->psql(q{SELECT govledger.seal()});
my $rows = $pg->psql(q{SELECT count(*) FROM qc_t});
cmp_ok($rows, '>', 300000, "rows inserted during the compaction were kept ($rows in all)");
is($pg->psql(q{SELECT count(*) FROM qc_t t JOIN govledger.leaf l ON l.entry_id = t.ledger_entry_id}),
	$rows, 'every committed row is sealed');
is($pg->psql(q{SELECT count(*) - count(DISTINCT entry_id) FROM govledger.leaf}), 0,
	'nothing is sealed twice');
is($pg->psql(q{SET client_min_messages = warning; SELECT string_agg(check_name || ': ' || first_failure, '; ') FROM govledger.verify() WHERE NOT ok}),
	'', 'verify() is clean');

done_testing();
