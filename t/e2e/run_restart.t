#!/usr/bin/perl
#
# run_restart.t: `make run` (scripts/govledger-run start) run again on a
# running stack keeps PostgreSQL running, unless the extension library was
# replaced since the server started: the library is preloaded, so a server
# left running would go on with the old one.  A database whose govledger
# schema differs from this build's is refused with what to do.  On the
# socket, root and govledger log in as postgres and nginx's workers only as
# the gateway; TCP needs the password in var/pgpass; also on a stack an
# earlier build left trusting everyone.
# A private instance (its own var directory and ports), stopped at the end.

use strict;
use warnings;

use Test::More;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use Digest::SHA;
use HTTP::Tiny;
use GovTest;

my $root = abs_path(dirname(__FILE__) . '/../..');
# the stack's var directory is the temporary directory itself, where t/run
# finds and stops what a killed test left running
my $var = GovTest::tempdir_runas('run-restart');
$ENV{GOVLEDGER_VAR} = $var;
$ENV{GOVLEDGER_PG_PORT} = GovTest::free_port();
do { $ENV{GOVLEDGER_HTTP_PORT} = GovTest::free_port() }
	while $ENV{GOVLEDGER_HTTP_PORT} == $ENV{GOVLEDGER_PG_PORT};

# scripts/govledger-run CMD: exit code and output
sub run
{
	my ($cmd) = @_;
	my $out = `perl $root/scripts/govledger-run $cmd 2>&1`;

	return ($? >> 8, $out);
}

sub postmaster_pid
{
	open(my $fh, '<', "$var/pg/data/postmaster.pid") or return 0;
	my $pid = <$fh>;
	chomp $pid;
	return $pid;
}

sub checkpoint_status
{
	return HTTP::Tiny->new(timeout => 10)
		->get("http://127.0.0.1:$ENV{GOVLEDGER_HTTP_PORT}/public/checkpoint")->{status};
}

END { local $?; run('stop') if $ENV{GOVLEDGER_VAR}; }

# the digest of the installed library, as scripts/govledger-run records it
sub installed_digest
{
	my $dir = `${\($ENV{PG_CONFIG} // "$GovTest::PGBIN/pg_config")} --pkglibdir`;

	chomp $dir;
	open(my $fh, '<:raw', "$dir/govledger.so") or die "$dir/govledger.so: $!";
	return Digest::SHA->new(1)->addfile($fh)->hexdigest;
}

sub recorded_digest
{
	open(my $fh, '<', "$var/pg/library.sha1") or return '';
	my $d = <$fh> // '';
	chomp $d;
	return $d;
}

my ($rc, $out) = run('start');
is($rc, 0, 'first start') or diag($out);
my $pid = postmaster_pid();
ok($pid > 0, "PostgreSQL is running (pid $pid)");
is(checkpoint_status(), 200, 'the gateway answers');
is(recorded_digest(), installed_digest(), 'the digest of the installed library is recorded');

($rc, $out) = run('start');
is($rc, 0, 'second start') or diag($out);
unlike($out, qr/restarting/, 'the same library: PostgreSQL is left running');
is(postmaster_pid(), $pid, 'same postmaster');

# what `make install` of a rebuilt library leaves: a digest that differs
# from the one the server started with
open(my $fh, '>', "$var/pg/library.sha1") or die "$var/pg/library.sha1: $!";
print $fh "0" x 40, "\n";
close($fh);
($rc, $out) = run('start');
is($rc, 0, 'start after the library changed') or diag($out);
like($out, qr/govledger\.so has changed since PostgreSQL started: restarting it/, 'says why it restarts');
isnt(postmaster_pid(), $pid, 'PostgreSQL was restarted');
is(checkpoint_status(), 200, 'and the gateway answers through the restarted server');
is(recorded_digest(), installed_digest(), 'and the digest it started with is recorded');

($rc, $out) = run('start');
unlike($out, qr/restarting/, 'the next start leaves it running again');

# who may connect: the socket's directory admits govledger, root and
# nginx's workers, whose user logs in only as the gateway's role; over TCP
# only with the password in var/pgpass
sub tcp_select
{
	my ($passfile) = @_;
	local $ENV{PGPASSFILE} = $passfile;
	local $ENV{PGPASSWORD};
	delete $ENV{PGPASSWORD};
	my $out = `$GovTest::PGBIN/psql -X -w -At -h 127.0.0.1 -p $ENV{GOVLEDGER_PG_PORT} -U postgres -d govledger -c 'SELECT 42' 2>&1`;
	return ($? >> 8, $out);
}

my @st = stat("$var/pg/sock");
is(sprintf('%o', $st[2] & 07777), '750', 'the socket directory is mode 0750');
is(scalar(getpwuid($st[4])) . ':' . scalar(getgrgid($st[5])), "$GovTest::RUNAS:govledger-web",
   "... owned by $GovTest::RUNAS, group govledger-web (nginx's workers)");

# on the socket the operating system user decides the role
sub socket_select_as
{
	my ($os_user, $role) = @_;
	# from /, since the user may not be allowed into the checkout
	my $out = `cd / && runuser -u $os_user -- $GovTest::PGBIN/psql -X -w -At -h $var/pg/sock -p $ENV{GOVLEDGER_PG_PORT} -U $role -d govledger -c 'SELECT 42' 2>&1`;
	return ($? >> 8, $out);
}
my ($sock_rc, $sock_out) = socket_select_as('govledger-web', 'govledger_gateway');
is($sock_out, "42\n", "nginx's workers' user logs in as govledger_gateway") or diag($sock_out);
($sock_rc, $sock_out) = socket_select_as('govledger-web', 'postgres');
isnt($sock_rc, 0, '... but not as postgres');
like($sock_out, qr/Peer authentication failed/, '... refused by peer authentication') or diag($sock_out);
($sock_rc, $sock_out) = socket_select_as('nobody', 'postgres');
like($sock_out, qr/Permission denied/, 'any other user cannot reach the socket') or diag($sock_out);
is(sprintf('%o', (stat("$var/pgpass"))[2] & 07777), '600', 'var/pgpass is mode 0600');
my ($tcp_rc, $tcp_out) = tcp_select("$var/no-such-pgpass");
isnt($tcp_rc, 0, 'over TCP without a password: refused');
like($tcp_out, qr/password/, '... asking for a password') or diag($tcp_out);
($tcp_rc, $tcp_out) = tcp_select("$var/pgpass");
is($tcp_out, "42\n", 'over TCP with var/pgpass: connected') or diag($tcp_out);

# a stack made by an earlier build trusted every connection: the next
# start restricts it, without a restart
open(my $hba, '>', "$var/pg/data/pg_hba.conf") or die "pg_hba.conf: $!";
print $hba "local all all trust\nhost all all 127.0.0.1/32 trust\n";
close($hba);
system("$GovTest::PGBIN/psql -X -q -At -h $var/pg/sock -p $ENV{GOVLEDGER_PG_PORT} -U postgres -d postgres -c 'SELECT pg_reload_conf()' >/dev/null");
chmod(0755, "$var/pg/sock");
($tcp_rc, $tcp_out) = tcp_select("$var/no-such-pgpass");
is($tcp_out, "42\n", 'an older stack, simulated: TCP without a password');
$pid = postmaster_pid();
($rc, $out) = run('start');
is($rc, 0, 'start on the older stack') or diag($out);
($tcp_rc, $tcp_out) = tcp_select("$var/no-such-pgpass");
isnt($tcp_rc, 0, '... restricts TCP to the password again');
is(sprintf('%o', (stat("$var/pg/sock"))[2] & 07777), '750', '... and the socket directory to 0750');
($sock_rc, $sock_out) = socket_select_as('govledger-web', 'postgres');
isnt($sock_rc, 0, "... and nginx's workers' user to the gateway's role");
is(postmaster_pid(), $pid, '... without restarting PostgreSQL');
($tcp_rc, $tcp_out) = tcp_select("$var/pgpass");
is($tcp_out, "42\n", '... and the password in var/pgpass still works');

# a database made by an earlier build, whose schema differs from this one's
# (the extension's version did not change): refused, saying what to do
my $psql = "$GovTest::PGBIN/psql -X -q -At -h $var/pg/sock -p $ENV{GOVLEDGER_PG_PORT} -U postgres -d govledger";
is(scalar(`$psql -c 'ALTER TABLE govledger.entry_sealed DROP COLUMN leaf_index' 2>&1`), '',
   'an older schema, simulated');
($rc, $out) = run('start');
isnt($rc, 0, 'start refuses a database of another schema');
like($out, qr/created by an earlier build of govledger, whose schema differs\n  missing from it:\n    column entry_sealed\.leaf_index bigint\n/,
	 'naming what differs');
like($out, qr/make distclean && make run/, 'and what to do');

done_testing();
