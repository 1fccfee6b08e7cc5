#!/usr/bin/perl
#
# crash.t
#   kill -9 of the postmaster while the background sealer (every 5 ms) and
#   explicit seal() calls run under insert load from several clients; after
#   each restart the log verifies clean and every committed row is sealed
#   exactly once.  Repeated GOVLEDGER_CRASH_ROUNDS times (default 10; the
#   soak target raises it).  Runs on a private cluster.
#
# Copyright (c) 2026, govledger contributors

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use GovTest;
use POSIX qw(WNOHANG);

my $rounds = $ENV{GOVLEDGER_CRASH_ROUNDS} || 10;
my $pg = GovTest::new_cluster(conf => ["govledger.seal_interval = 5", "max_worker_processes = 16"]);
my $dir = $pg->dir;

$pg->psql(q{CREATE TABLE crash_t (id bigserial PRIMARY KEY, v text, n int);
	SELECT govledger.protect('crash_t')});

open(my $fh, '>', "$dir/insert.sql") or die;
print $fh "INSERT INTO crash_t (v, n) VALUES (md5(random()::text), (random() * 1000)::int);\n";
close $fh;
open($fh, '>', "$dir/seal.sql") or die;
print $fh "SELECT govledger.seal();\n";
close $fh;
chmod 0644, "$dir/insert.sql", "$dir/seal.sql";

sub load {
    my ($script, $clients) = @_;
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open(STDOUT, '>', '/dev/null');
        open(STDERR, '>', '/dev/null');
        exec("$GovTest::PGBIN/pgbench", '-n', '-h', $pg->host, '-p', $pg->port, '-U', 'postgres',
             '-c', $clients, '-T', '60', '-f', "$dir/$script", $pg->dbname);
        exit 127;
    }
    return $pid;
}

# the load clients end once their server is gone; one that does not within
# 30 s is killed and reported
sub reap {
    my @left = @_;
    for (1 .. 600) {
        @left = grep { waitpid($_, WNOHANG) == 0 } @left;
        last unless @left;
        select(undef, undef, undef, 0.05);
    }
    diag("pgbench @left still running 30 s after the crash; killed") if @left;
    kill('KILL', @left);
    waitpid($_, 0) for @left;
    return !@left;
}

for my $round (1 .. $rounds) {
    my @pids = (load('insert.sql', 4), load('seal.sql', 1));
    select(undef, undef, undef, 0.4 + rand(0.8));
    $pg->kill9;
    reap(@pids);
    $pg->start;

    my $size = $pg->psql(q{SELECT govledger.seal()});
    my $rows = $pg->psql(q{SELECT count(*) FROM crash_t});
    my $sealed = $pg->psql(q{SELECT count(*) FROM crash_t t JOIN govledger.leaf l ON l.entry_id = t.ledger_entry_id});
    cmp_ok($rows, '>', 0, "round $round: rows were inserted before the crash ($rows)");
    is($sealed, $rows, "round $round: every committed row is sealed");
    is($pg->psql(q{SELECT count(*) - count(DISTINCT entry_id) FROM govledger.leaf}), 0,
       "round $round: nothing is sealed twice");
    is($pg->psql(q{SELECT count(*) FROM govledger.unsealed}), 0, "round $round: the queue is empty");
    my $bad = $pg->psql(q{SET client_min_messages = warning; SELECT string_agg(coalesce(ledger::text, '') || ' ' || check_name || ': ' || first_failure, '; ')
		FROM govledger.verify() WHERE NOT ok});
    is($bad, '', "round $round: verify() is clean (tree size $size)");
}

done_testing();
