#!/usr/bin/perl
#
# The connection pool under faults, against a private PostgreSQL cluster:
# client aborts mid-query, a full wait queue and its timeout, age recycling,
# a backend killed while idle, PostgreSQL stopped (503 + Retry-After within
# the connect timeout) and started again (200 without reloading nginx).
# Also: the master runs as root, workers as the unprivileged user.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use POSIX ();
use GovTest;
use GovNginx;

GovNginx->plan_or_skip;

my $pg = GovTest::new_cluster(preload => '', db => 'ngx_pool', extensions => []);

$pg->psql(<<'SQL');
CREATE OR REPLACE FUNCTION public.pid() RETURNS jsonb
    LANGUAGE sql AS $$ SELECT to_jsonb(pg_backend_pid()) $$;
CREATE OR REPLACE FUNCTION public.nap(s text) RETURNS jsonb
    LANGUAGE sql AS $$ SELECT to_jsonb(pg_sleep(s::float8)::text) $$;
CREATE TABLE IF NOT EXISTS public.hits (n int);
CREATE OR REPLACE FUNCTION public.hit_and_nap(s text) RETURNS jsonb
    LANGUAGE sql AS $$ INSERT INTO public.hits VALUES (1);
    SELECT to_jsonb(pg_sleep(s::float8)::text) $$;
SQL

my $conn = $pg->conninfo(db => 'ngx_pool');
my $t = GovNginx->new(workers => 1);
$t->run(<<"CONF");
    govledger_database "$conn"
                       connections=2 queue=2 queue_timeout=700ms
                       connect_timeout=2s max_age=3s backoff_max=500ms;
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /pid { govledger_call public.pid; }
        location = /nap { govledger_timeout 10s; govledger_call public.nap \$arg_s; }
        location = /hit { govledger_methods POST; govledger_call public.hit_and_nap \$arg_s; }
        location = /status { govledger_status; }
    }
CONF

# workers run unprivileged
my @workers = $t->worker_pids;
ok(@workers, 'worker running');
sub proc_uid
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/status") or return -1;
	while (<$fh>) { return $1 if /^Uid:\s+\d+\s+(\d+)/ }
	return -1;
}
if ($> == 0)
{
	is(scalar getpwuid(proc_uid($workers[0])), $ENV{GOVLEDGER_RUNAS} || 'govledger',
		'worker runs as the unprivileged user');
	is(proc_uid($t->master_pid), 0, 'master runs as root');
}

is($t->get('/pid')->{status}, 200, 'first call: 200');

# a client that goes away mid-query
sub send_and_drop
{
	my ($path, $after) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port) or die;
	print $s "GET $path HTTP/1.1\r\nHost: x\r\n\r\n";
	sleep($after);
	close($s);
}

my $lost0 = $t->metrics->{'govledger_db_connections_lost_total'} // 0;
send_and_drop('/nap?s=1.5', 0.3) for 1 .. 2;
my $r = $t->get('/pid');
is($r->{status}, 503, 'both connections still busy for the aborted clients: 503');
# and one that leaves while waiting in the queue
send_and_drop('/pid', 0.2);
is($t->metrics->{'govledger_pool_waiting{worker="' . $workers[0] . '"}'} // 0, 0,
	'a client that left the queue is no longer waiting');
sleep(1.5);
$r = $t->get('/pid');
is($r->{status}, 200, 'after the aborted queries finished: 200');
is($pg->psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'ngx_pool' "
	. "AND state LIKE 'idle in transaction%'"), 0, 'no connection left in a transaction');
is($t->metrics->{'govledger_db_connections_lost_total'} // 0, $lost0,
	'aborts did not cost connections');

# a write whose client left is still committed (the pipeline completes)
$pg->psql('TRUNCATE public.hits');
{
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port) or die;
	print $s "POST /hit?s=0.5 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
	sleep(0.1);
	close($s);
	sleep(1);
	is($pg->psql('SELECT count(*) FROM public.hits'), 1, 'aborted write committed once');
}

# queue full and queue timeout: 2 connections, 2 places in the queue
my @kids;
my $out = "$ENV{GOVLEDGER_TMP}/pool-out-$$";
mkdir $out;
for my $i (1 .. 6)
{
	my $pid = fork();
	if ($pid == 0)
	{
		my $x = $t->get('/nap?s=1.2');
		open(my $fh, '>', "$out/$i");
		print $fh "$x->{status} " . ($x->{headers}{'retry-after'} // '-') . "\n";
		close($fh);
		POSIX::_exit(0);
	}
	push @kids, $pid;
	sleep(0.05);
}
waitpid($_, 0) for @kids;
my %st;
for my $i (1 .. 6)
{
	open(my $fh, '<', "$out/$i") or next;
	my $l = <$fh>;
	my ($s, $ra) = split ' ', $l;
	$st{$s}++;
	ok($ra ne '-', 'Retry-After on 503') if $s == 503;
}
is($st{200}, 2, 'two requests served');
is($st{503}, 4, 'two refused (queue full), two timed out in the queue');
my $m = $t->metrics;
ok(($m->{'govledger_queue_rejections_total{reason="full"}'} // 0) >= 1, 'queue full counted');
ok(($m->{'govledger_queue_rejections_total{reason="timeout"}'} // 0) >= 1, 'queue timeout counted');

# age recycling (max_age=3s)
my $pid1 = $t->get('/pid')->{content};
sleep(3.2);
$t->get('/pid');
my $pid2 = $t->get('/pid')->{content};
isnt($pid2, $pid1, 'an old connection is replaced');
ok(($t->metrics->{'govledger_db_connections_recycled_total'} // 0) >= 1, 'recycling counted');

# an idle backend killed: the EOF is noticed, the next call works
$pid1 = $t->get('/pid')->{content};
$pg->psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
	. "WHERE datname = 'ngx_pool' AND pid <> pg_backend_pid()");
sleep(0.5);
$r = $t->get('/pid');
is($r->{status}, 200, 'after the backend was terminated: 200');
isnt($r->{content}, $pid1, 'on a new backend');
ok(($t->metrics->{'govledger_db_connections_lost_total'} // 0) > $lost0,
	'closed idle connection noticed');

# PostgreSQL stopped
$pg->stop('immediate');
my $t0 = time();
$r = $t->get('/pid');
my $dt = time() - $t0;
is($r->{status}, 503, 'PostgreSQL down: 503');
ok($dt < 2.5, sprintf('within the connect timeout (%.2fs)', $dt));
ok(defined $r->{headers}{'retry-after'}, 'Retry-After');
is((GovNginx->json($r) // {})->{code}, 'GL503', 'GL503');
unlike($r->{content}, qr/sock|socket|ngx_pool|127\.0\.0\.1/, 'no connection details leak');
for (1 .. 3) { is($t->get('/pid')->{status}, 503, 'still down: 503') }

# started again: recovers without a reload
$pg->start;
my $ok = 0;
for (1 .. 40)
{
	$r = $t->get('/pid');
	if ($r->{status} == 200) { $ok = 1; last }
	sleep(0.25);
}
ok($ok, 'PostgreSQL back: 200 without reloading nginx');
ok(($t->metrics->{'govledger_db_reconnects_total'} // 0) >= 1, 'reconnect counted');
is($t->get('/nap?s=0')->{status}, 200, 'pool healthy');

# killed while a query runs
my $pid = fork();
if ($pid == 0)
{
	my $x = $t->get('/nap?s=3');
	POSIX::_exit($x->{status} == 503 ? 0 : 1);
}
sleep(0.5);
$pg->kill9;
waitpid($pid, 0);
is($?, 0, 'server crash mid-query: 503');
$pg->start;
$ok = 0;
for (1 .. 40)
{
	if ($t->get('/pid')->{status} == 200) { $ok = 1; last }
	sleep(0.25);
}
ok($ok, 'after a crash: 200 again');

# a write call whose backend dies without a word (kill -9) after the
# whole pipeline was sent: it may have committed, so it is answered 502
# "outcome unknown" without Retry-After, never 503 (a retry could commit
# it twice)
$pid = fork();
if ($pid == 0)
{
	my $x = $t->post('/hit?s=3');
	my $code = (GovNginx->json($x) // {})->{code} // '';
	POSIX::_exit($x->{status} == 502 && $code eq 'GL502' && !defined $x->{headers}{'retry-after'} ? 0 : 1);
}
my $victim = '';
for (1 .. 40)
{
	sleep(0.1);
	$victim = $pg->psql(q{SELECT pid FROM pg_stat_activity
	                       WHERE datname = 'ngx_pool' AND query LIKE '%hit_and_nap%'
	                         AND pid <> pg_backend_pid()}) // '';
	last if $victim =~ /^\d+$/;
}
ok($victim =~ /^\d+$/, 'the write call is running');
kill 'KILL', $victim if $victim =~ /^\d+$/;
waitpid($pid, 0);
is($?, 0, 'write call cut off by a backend killed without a word: 502 GL502, no Retry-After');
$ok = 0;
for (1 .. 120)
{
	if ($t->get('/pid')->{status} == 200) { $ok = 1; last }
	sleep(0.25);
}
ok($ok, 'after the crash recovery: 200 again');

$t->stop;

# several hosts: the first refuses, libpq moves to another socket during
# the connect, which the module must follow
my $t3 = GovNginx->new(workers => 1);
my $pgport = $pg->port;
$t3->run(<<"CONF");
    govledger_database "host=127.0.0.1,127.0.0.1 port=1,$pgport dbname=ngx_pool user=postgres sslmode=disable"
                       connections=2;
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /pid { govledger_call public.pid; }
    }
CONF
is($t3->get('/pid')->{status}, 200, 'second host after a refused first one: 200');
is($t3->get('/pid')->{status}, 200, 'and again');
$t3->stop;

$pg->stop;

# a server that accepts TCP connections and never answers: our own
# connect timer must end the attempt (libpq ignores connect_timeout there)
my $mute = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	Listen => 16, ReuseAddr => 1) or die "listen: $!";
my $mport = $mute->sockport;
my $t2 = GovNginx->new(workers => 1);
$t2->run(<<"CONF");
    govledger_database "host=127.0.0.1 port=$mport dbname=x user=x sslmode=disable"
                       connections=1 connect_timeout=1s queue_timeout=5s;
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /pid { govledger_call public.pid; }
    }
CONF
$t0 = time();
$r = $t2->get('/pid');
$dt = time() - $t0;
is($r->{status}, 503, 'silent server: 503');
ok($dt >= 0.9 && $dt < 2.5, sprintf('after the connect timeout of 1s (%.2fs)', $dt));
like($t2->error_log, qr/connecting to the database timed out/, 'timeout logged');
$t2->stop;
close($mute);

done_testing();
