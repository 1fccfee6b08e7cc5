#!/usr/bin/perl
#
# sealer_stats.t
#   The background sealer reports the rows it writes and deletes to the
#   statistics system, as a backend does: pg_stat_all_tables counts its
#   leaves, sealed entries and queue deletions, and autovacuum and
#   autoanalyze of those tables, which go by these counts, see them.
#   Idle, it does not scan the queue: a commit that queued entries wakes
#   it, and it looks at the queue every govledger.seal_idle_interval
#   anyway, for rows written otherwise.
#
# Copyright (c) 2026, govledger contributors

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use GovTest;

my $db = "sealer_stats_$$";
my $rows = 5000;

GovTest::psql("CREATE DATABASE $db", db => 'postgres');
GovTest::psql('CREATE EXTENSION govledger CASCADE', db => $db);
GovTest::psql(qq{SELECT govledger.create_log('st-log');
	CREATE TABLE st_t (id int PRIMARY KEY, v text);
	SELECT govledger.protect('st_t', 'st-log');
	INSERT INTO st_t SELECT g, 'row ' || g FROM generate_series(1, $rows) g}, db => $db);

# sealed by the background sealer alone (no govledger.seal() here)
my $left;
for (1 .. 300)
{
	$left = GovTest::psql('SELECT count(*) FROM govledger.unsealed', db => $db);
	last if $left eq '0';
	select(undef, undef, undef, 0.1);
}
is($left, '0', 'the background sealer sealed every entry');
# the rows and protect()'s own entry (govledger.ddl_event)
my $n = $rows + 1;
is(GovTest::psql('SELECT count(*) FROM govledger.leaf', db => $db), $n, "$n leaves");

# its counts reach pg_stat_all_tables within a few seconds
my $stats = q{SELECT string_agg(relname || '=' || n_tup_ins || '/' || n_tup_del, ' ' ORDER BY relname)
	FROM pg_stat_all_tables WHERE schemaname = 'govledger' AND relname IN ('leaf', 'entry_sealed', 'unsealed')};
my $want = "entry_sealed=$n/0 leaf=$n/0 unsealed=$n/$n";
my $got;
for (1 .. 100)
{
	$got = GovTest::psql($stats, db => $db);
	last if $got eq $want;
	select(undef, undef, undef, 0.1);
}
is($got, $want, 'rows inserted and deleted by the sealer are counted (inserted/deleted)');
# the count autoanalyze goes by (or autoanalyze has just run on them)
is(GovTest::psql(qq{SELECT n_mod_since_analyze = $n OR last_autoanalyze IS NOT NULL
	FROM pg_stat_all_tables WHERE relid = 'govledger.leaf'::regclass}, db => $db), 't',
	'n_mod_since_analyze of govledger.leaf counts the new rows');

# Idle: no queue scans while nothing is committed.  With the periodic
# round an hour away, only the wake-up of a commit can seal anything.
sub idle_interval
{
	my ($value) = @_;

	GovTest::psql("ALTER SYSTEM " . (defined $value ? "SET govledger.seal_idle_interval = '$value'"
									 : 'RESET govledger.seal_idle_interval'),
				  db => 'postgres', allow_error => !defined $value);
	GovTest::psql('SELECT pg_reload_conf()', db => 'postgres', allow_error => !defined $value);
}
idle_interval('1h');
END
{
	local $?;
	idle_interval(undef);
	GovTest::psql("DROP DATABASE IF EXISTS $db WITH (FORCE)", db => 'postgres', allow_error => 1);
}
my $scans = q{SELECT seq_scan FROM pg_stat_all_tables WHERE relid = 'govledger.unsealed'::regclass};
sleep 2;		# the reload reached the sealer, its statistics flushed
my $before = GovTest::psql($scans, db => $db);
sleep 4;
my $idle = GovTest::psql($scans, db => $db) - $before;
cmp_ok($idle, '<=', 2, "idle for 4 s, the sealer scanned the queue $idle times (every round would be 160)");

# a commit wakes it: each row is sealed without waiting for the periodic round
for my $i (1 .. 3)
{
	my $id = GovTest::psql(qq{INSERT INTO st_t VALUES ($rows + $i, 'late') RETURNING ledger_entry_id}, db => $db);
	is(GovTest::psql(qq{SELECT govledger.await_sealed('st_t', $id, '30 seconds')}, db => $db), 't',
	   "row inserted while idle ($i): sealed once committed");
}

# a queue row written otherwise (not through a ledger insert) waits for the periodic round
idle_interval('200ms');
sleep 1;
GovTest::psql(q{INSERT INTO govledger.unsealed (entry_id, log_id, leaf_hash, ledger_id, recorded_at, db_role)
	SELECT nextval('govledger.entry_id_seq'), log_id, sha256('by hand'), ledger_id, now(), 'postgres'
	  FROM govledger.ledger WHERE relid = 'st_t'::regclass}, db => $db);
my $state;
for (1 .. 100)
{
	$state = GovTest::psql(q{SELECT count(*) FROM govledger.unsealed}, db => $db);
	last if $state eq '0';
	select(undef, undef, undef, 0.1);
}
is($state, '0', 'a queue row written by hand is taken by the periodic round');

GovTest::psql("DROP DATABASE $db WITH (FORCE)", db => 'postgres');
done_testing();
