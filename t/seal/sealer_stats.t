#!/usr/bin/perl
#
# sealer_stats.t
#   The background sealer reports the rows it writes and deletes to the
#   statistics system, as a backend does: pg_stat_all_tables counts its
#   leaves, sealed entries and queue deletions, and autovacuum and
#   autoanalyze of those tables, which go by these counts, see them.
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
# (or autoanalyze, which they trigger, has just run)
is(GovTest::psql(qq{SELECT n_mod_since_analyze = $n OR last_autoanalyze IS NOT NULL
	FROM pg_stat_all_tables WHERE relid = 'govledger.leaf'::regclass}, db => $db), 't',
	'autoanalyze of govledger.leaf sees its new rows');

GovTest::psql("DROP DATABASE $db WITH (FORCE)", db => 'postgres');
done_testing();
