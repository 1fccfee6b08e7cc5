#!/usr/bin/perl
#
# Requests pipelined behind a busy connection's transaction: when every
# connection is busy, a call is sent behind the one running instead of
# waiting for it.  Each request must still get its own answer: with
# calls that fail in between (the request behind a failed transaction is
# sent again after the ROLLBACK), with clients that leave while their
# request waits in a pipeline, with the backend killed or stopped under
# both; never for GET calls, nor behind a call running for a while.
# pipeline=off turns it off.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);
use GovTest;
use GovNginx;

GovNginx->plan_or_skip;

my $pg = GovTest::new_cluster(preload => '', db => 'ngx_pipe', extensions => []);

$pg->psql(<<'SQL');
CREATE TABLE public.done (s text PRIMARY KEY);
CREATE OR REPLACE FUNCTION public.echo(s text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(0.02);
    IF s LIKE 'fail%' THEN
        RAISE EXCEPTION 'refused %', s USING ERRCODE = '22023';
    END IF;
    INSERT INTO public.done VALUES (s);
    RETURN jsonb_build_object('s', s);
END $$;
CREATE TABLE public.parent (id int PRIMARY KEY);
CREATE TABLE public.child (s text PRIMARY KEY, parent int
    REFERENCES public.parent DEFERRABLE INITIALLY DEFERRED);
-- 'late…' fails only at COMMIT (a deferred foreign key), which ends the
-- transaction: what was sent behind it ran, and must not run again
CREATE OR REPLACE FUNCTION public.late(s text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(0.02);
    INSERT INTO public.child VALUES (s, CASE WHEN s LIKE 'late%' THEN 1 END);
    RETURN jsonb_build_object('s', s);
END $$;
CREATE OR REPLACE FUNCTION public.peek(s text) RETURNS jsonb
    LANGUAGE sql STABLE AS $$ SELECT jsonb_build_object('s', s) FROM pg_sleep(0.02) $$;
CREATE OR REPLACE FUNCTION public.nap(s text) RETURNS jsonb
    LANGUAGE sql AS $$ SELECT to_jsonb(pg_sleep(s::float8)::text) $$;
SQL

my $conn = $pg->conninfo(db => 'ngx_pipe');
my $t = GovNginx->new(workers => 1);
$t->run(<<"CONF");
    govledger_database "$conn" connections=2 queue=100 queue_timeout=30s pipeline=1s;
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /echo { govledger_methods POST; govledger_call public.echo \$arg_s; }
        location = /late { govledger_methods POST; govledger_call public.late \$arg_s; }
        location = /peek { govledger_call public.peek \$arg_s; }
        location = /stuck { govledger_methods POST; govledger_timeout 2s;
                            govledger_call public.nap \$arg_s; }
        location = /nap { govledger_methods POST; govledger_timeout 10s;
                          govledger_call public.nap \$arg_s; }
        location = /status { govledger_status; }
    }
CONF

# Send POST $path?s=NAME for every name at once, each on its own
# connection; close those listed in %$drop right after sending, then run
# $during, if any.  Returns name => [status, body] for the others.
sub concurrent
{
	my ($path, $names, $drop, $during, $method) = @_;
	$method //= 'POST';
	my (%sock, %buf, %res);
	for my $n (@$names)
	{
		my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port) or die "connect: $!";
		print $s "$method $path?s=$n HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		if ($drop && $drop->{$n}) { close($s); next; }
		$sock{$n} = $s;
		$buf{$n} = '';
	}
	$during->() if $during;
	my $sel = IO::Select->new(values %sock);
	my %name_of = map { (fileno($sock{$_}) => $_) } keys %sock;
	my $deadline = time + 30;
	while ($sel->count && time < $deadline)
	{
		for my $s ($sel->can_read(1))
		{
			my $n = $name_of{fileno($s)};
			my $got = sysread($s, my $chunk, 65536);
			if ($got)
			{
				$buf{$n} .= $chunk;
				next;
			}
			$sel->remove($s);
			close($s);
			my ($status) = $buf{$n} =~ m{^HTTP/1\.1 (\d+)};
			my ($head, $body) = split /\r\n\r\n/, $buf{$n}, 2;
			$res{$n} = [$status // 0, $body // '', $head // ''];
		}
	}
	return \%res;
}

sub metric { return $t->metrics->{$_[0]} // 0 }

# Pass when $check->(status, body, name) holds for the response to every
# one of @$names; show the first ones that fail otherwise.
sub all_answered
{
	my ($res, $names, $check, $label) = @_;
	my @bad = grep { !$res->{$_} || !$check->($res->{$_}[0], $res->{$_}[1], $_) } @$names;
	is(scalar(@bad), 0, $label)
		or diag(explain({ map { ($_ => $res->{$_}) } @bad[0 .. ($#bad < 4 ? $#bad : 4)] }));
}

# a 200 whose body carries the request's own name
sub own_result { my ($st, $body, $n) = @_; return $st == 200 && $body =~ /"\Q$n\E"/; }

# 40 requests on 2 connections: most are pipelined, each gets its answer
my @names = map { "r$_" } 1 .. 40;
my $res = concurrent('/echo', \@names);
all_answered($res, \@names, sub { $_[0] == 200 && $_[1] =~ /"s"\s*:\s*"\Q$_[2]\E"/ },
             'all 40 answered 200, each with its own request\'s result');
my $pipelined = metric('govledger_db_pipelined_total');
ok($pipelined > 0, "requests were pipelined ($pipelined)");
is($pg->psql("SELECT count(*) FROM public.done WHERE s LIKE 'r%'"), 40, 'each call ran once');

# every other call fails: a request pipelined behind a failed transaction
# began in it and did nothing; it is sent again and answered for itself
my $retries0 = metric('govledger_db_pipeline_retries_total');
@names = map { ($_ % 2 ? "fail$_" : "ok$_") } 1 .. 60;
$res = concurrent('/echo', \@names);
my @ok = grep { /^ok/ } @names;
my @fail = grep { /^fail/ } @names;
all_answered($res, \@ok, \&own_result,
             'every call that succeeds is answered 200 with its own result');
all_answered($res, \@fail, sub { $_[0] == 400 && $_[1] =~ /refused \Q$_[2]\E\b/ },
             'every call that fails is answered 400 with its own error');
is($pg->psql("SELECT count(*) FROM public.done WHERE s LIKE 'ok%'"), scalar(@ok),
   'each succeeding call committed once');
is($pg->psql("SELECT count(*) FROM public.done WHERE s LIKE 'fail%'"), 0,
   'no failing call left anything');
my $retries = metric('govledger_db_pipeline_retries_total') - $retries0;
ok($retries > 0, "requests behind failed transactions were sent again ($retries)");

# transactions that fail at COMMIT: the one behind ran on its own and is
# answered once (a second run would break the primary key)
@names = map { ($_ % 2 ? "late$_" : "fine$_") } 1 .. 40;
$res = concurrent('/late', \@names);
my @fine = grep { /^fine/ } @names;
my @late = grep { /^late/ } @names;
all_answered($res, \@fine, \&own_result, 'calls behind a failed COMMIT are answered 200, once');
all_answered($res, \@late, sub { $_[0] >= 400 && $_[0] < 500 },
             'calls failing at COMMIT are answered 4xx');
is($pg->psql("SELECT count(*) FROM public.child"), scalar(@fine),
   'only the succeeding calls committed');

# GET calls (read-only, rows streamed) are never pipelined
my $before_get = metric('govledger_db_pipelined_total');
@names = map { "get$_" } 1 .. 20;
$res = concurrent('/peek', \@names, undef, undef, 'GET');
all_answered($res, \@names, \&own_result, 'GET calls are answered');
is(metric('govledger_db_pipelined_total'), $before_get, 'GET calls are never pipelined');

# nothing goes behind a call that has been running for longer than
# pipeline= (1s here): with both connections 1.5 s into 3 s calls, a new
# call waits for a connection of its own
concurrent('/nap', ['0.1', '0.10']);     # /nap prepared on both connections
my $before_slow = metric('govledger_db_pipelined_total');
$res = concurrent('/nap', ['3', '3.0'], undef, sub {
	sleep(1.5);
	my $r = concurrent('/echo', ['behind_slow']);
	is($r->{behind_slow}[0], 200, 'a call arriving during two long ones is answered');
});
is(metric('govledger_db_pipelined_total'), $before_slow, 'and was not pipelined behind them');

# clients that leave while their requests wait in a pipeline
my %drop = map { ("gone$_" => 1) } grep { $_ % 3 == 0 } 1 .. 30;
@names = map { $_ % 3 == 0 ? "gone$_" : "stay$_" } 1 .. 30;
$res = concurrent('/echo', \@names, \%drop);
my @stay = grep { /^stay/ } @names;
all_answered($res, \@stay, \&own_result, 'requests whose neighbours left are answered');
sleep(0.5);
is($pg->psql("SELECT count(*) FROM public.done WHERE s LIKE 'stay%'"), scalar(@stay),
   'their calls committed once each');
my $after = concurrent('/echo', ['after1', 'after2', 'after3']);
all_answered($after, ['after1', 'after2', 'after3'], sub { $_[0] == 200 }, 'the pool serves on afterwards');

# the backends killed with two transactions in each pipeline: the
# running calls get 503, the ones pipelined behind them 502 (sent, so
# their outcome is unknown), and the pool reconnects
concurrent('/nap', ['0.2', '0.20']);     # prepared on both connections
my $pipelined0 = metric('govledger_db_pipelined_total');
my @naps = ('2', '2.0', '2.00', '2.000');
$res = concurrent('/nap', \@naps, undef, sub {
	sleep(0.5);
	$pg->psql(q{SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	             WHERE datname = 'ngx_pipe' AND pid <> pg_backend_pid()});
});
my @killed = sort map { $res->{$_} ? $res->{$_}[0] : 0 } @naps;
is("@killed", '502 502 503 503',
   'killed backends: the running calls 503, the pipelined ones 502 (outcome unknown)')
	or diag(explain($res));
is(metric('govledger_db_pipelined_total') - $pipelined0, 2, 'two of them were pipelined');
$after = concurrent('/echo', ['again1', 'again2']);
all_answered($after, ['again1', 'again2'], sub { $_[0] == 200 }, 'the pool reconnects');

# a backend that stops answering: the call it runs times out (504 after
# govledger_timeout + 2 s) and
# the one pipelined behind it, already sent, is answered 502 "outcome
# unknown", without Retry-After (the server may still run it)
concurrent('/stuck', ['0.01', '0.010']);     # prepared on both connections
my $stopped;
END { kill 'CONT', split / /, $stopped if $stopped; }
my @stuck = ('1.5', '1.50', '1.500', '1.5000');
$res = concurrent('/stuck', \@stuck, undef, sub {
	# wait until both connections run their first nap, then stop them
	for (1 .. 40)
	{
		sleep(0.05);
		$stopped = $pg->psql(q{SELECT string_agg(pid::text, ' ') FROM pg_stat_activity
		                        WHERE datname = 'ngx_pipe' AND pid <> pg_backend_pid()
		                          AND state = 'active' AND query LIKE '%nap%'});
		last if ($stopped // '') =~ /^\d+ \d+$/;
	}
	kill 'STOP', split / /, $stopped;
});
kill 'CONT', split / /, $stopped if $stopped;
my @codes = sort map { $res->{$_} ? $res->{$_}[0] : 0 } @stuck;
is("@codes", '502 502 504 504', 'stuck backends: the running calls 504, the pipelined ones 502')
	or diag(explain($res));
ok(!grep({ $res->{$_} && $res->{$_}[0] == 502 && $res->{$_}[2] =~ /^Retry-After:/mi } @stuck),
   'a 502 carries no Retry-After');
$after = concurrent('/echo', ['resumed1', 'resumed2']);
all_answered($after, ['resumed1', 'resumed2'], sub { $_[0] == 200 }, 'the pool serves on after the stall');

$t->stop;

# pipeline=off: every request waits for a connection of its own
my ($ok, $out) = $t->test_conf(qq{govledger_database "$conn" pipeline=maybe;});
ok(!$ok && $out =~ /invalid parameter "pipeline=maybe" in "govledger_database"/,
   'nginx -t refuses a bad pipeline= value, naming the directive') or diag($out);
my $u = GovNginx->new(workers => 1);
$t = $u;
$u->run(<<"CONF");
    govledger_database "$conn" connections=2 queue=100 queue_timeout=30s pipeline=off;
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /echo { govledger_methods POST; govledger_call public.echo \$arg_s; }
        location = /status { govledger_status; }
    }
CONF
@names = map { "off$_" } 1 .. 20;
$res = concurrent('/echo', \@names);
all_answered($res, \@names, \&own_result, 'pipeline=off: all answered');
is(metric('govledger_db_pipelined_total'), 0, 'pipeline=off: nothing pipelined');
$u->stop;
done_testing();
