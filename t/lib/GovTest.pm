# GovTest: shared helpers for govledger's Perl tests and scripts.
#
# It knows how to run a command as the unprivileged user that owns
# PostgreSQL (PostgreSQL refuses to run as root), how to create, start, stop
# and kill a private PostgreSQL 15 cluster in a directory that user can
# reach, and how to run SQL against the cluster t/run set up.  Only core
# Perl modules are used.

package GovTest;

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(WNOHANG);

our %CLUSTER_LOGS;			# of the clusters this test started
our $RUNAS = $ENV{GOVLEDGER_RUNAS} || 'govledger';
our $PGBIN = $ENV{GOVLEDGER_PGBIN} || '/usr/lib/postgresql/15/bin';
our $ROOT  = $ENV{GOVLEDGER_ROOT}
	|| abs_path(dirname(__FILE__) . '/../..');

# (comm, state, ppid) of a process from /proc/PID/stat; () once it is gone.
sub proc_stat
{
	my ($pid) = @_;

	open(my $fh, '<', "/proc/$pid/stat") or return ();
	my $line = <$fh> // '';
	close($fh);
	return $line =~ /^\d+ \((.*)\) (\S) (\d+) / ? ($1, $2, $3) : ();
}

sub all_pids
{
	return sort { $a <=> $b } map { m{^/proc/(\d+)/stat$} ? $1 : () }
		glob('/proc/[0-9]*/stat');
}

# The processes whose parent is $ppid (and whose name is $comm, if given).
sub child_pids
{
	my ($ppid, $comm) = @_;

	return grep {
		my @s = proc_stat($_);
		@s && $s[2] == $ppid && (!defined $comm || $s[0] eq $comm)
	} all_pids();
}

# Whether a process exists (a zombie too); its state letter (R, S, T,
# Z, ...), '' when it is gone; whether it still runs.
sub pid_exists
{
	my ($pid) = @_;

	return -e "/proc/$pid/stat";
}

sub pid_state
{
	my ($pid) = @_;

	return (proc_stat($pid))[1] // '';
}

sub pid_running
{
	my ($pid) = @_;

	return pid_state($pid) !~ /^[ZX]?$/;
}

# What runs now, for the diagnostics of a test that is stopped.
sub process_table
{
	my $out = '';

	for my $pid (all_pids())
	{
		my ($comm, $state, $ppid) = proc_stat($pid) or next;
		my $cmd = '';
		if (open(my $c, '<', "/proc/$pid/cmdline"))
		{
			local $/;
			$cmd = <$c> // '';
			close($c);
			$cmd =~ s/\0+$//;
			$cmd =~ s/\0/ /g;
		}
		next unless length $cmd;	# kernel threads
		my $wchan = '';
		if (open(my $w, '<', "/proc/$pid/wchan"))
		{
			$wchan = <$w> // '';
			close($w);
		}
		$out .= sprintf("%7d %7d %s %-20s %s\n", $pid, $ppid, $state,
						substr($wchan, 0, 20), substr($cmd, 0, 160));
	}
	return $out;
}

# A test stopped by the runner's time limit (SIGTERM) says what was
# running, then exits so that END blocks stop its servers.  Processes it
# forked (which get the signal too) just end: the servers are not theirs.
my $owner_pid = $$;
$SIG{TERM} = sub {
	POSIX::_exit(124) if $$ != $owner_pid;
	$SIG{TERM} = 'DEFAULT';
	print STDERR "# stopped by SIGTERM (time limit?); processes:\n";
	print STDERR map { "#   $_\n" } split(/\n/, process_table());
	for my $log (sort keys %CLUSTER_LOGS)
	{
		print STDERR "# end of $log:\n";
		print STDERR map { "#   $_\n" } split(/\n/, GovTest::Cluster::_tail($log));
	}
	exit(124);
};

# Run a command (list form) as $RUNAS.  Returns the exit status.
sub run_as
{
	my @cmd = @_;

	my @run = $> == 0
		? ('runuser', '-u', $RUNAS, '--', @cmd)
		: ('sudo', '-n', '-u', $RUNAS, '--', @cmd);

	# from /, since the user may not be allowed into the current directory
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		chdir('/');
		exec(@run) or POSIX::_exit(127);
	}
	waitpid($pid, 0);
	return $?;
}

# Run a command as root (directly, or through sudo for a sudo user).
sub run_root
{
	my @cmd = @_;

	return system(@cmd) if $> == 0;
	return system('sudo', '-n', @cmd);
}

# Make a directory owned by $RUNAS, reachable (not necessarily readable) by
# others, so that PostgreSQL and nginx workers can use what is inside.
sub make_runas_dir
{
	my ($dir, $mode) = @_;

	$mode //= 0755;
	make_path($dir) unless -d $dir;
	run_root('chown', "$RUNAS:", $dir) == 0
		or die "cannot chown $dir to $RUNAS\n";
	chmod($mode, $dir) or run_root('chmod', sprintf('%o', $mode), $dir);
	return $dir;
}

# A TCP port on 127.0.0.1 that nothing listens on right now.  Ports are
# taken from a high range that no packaged service uses by default.
sub free_port
{
	for (1 .. 200)
	{
		my $port = 20000 + int(rand(20000));
		my $probe = IO::Socket::INET->new(
			LocalAddr => '127.0.0.1',
			LocalPort => $port,
			Proto     => 'tcp',
			ReuseAddr => 0);
		next unless $probe;
		close($probe);
		next if -e "/tmp/.s.PGSQL.$port";
		return $port;
	}
	die "no free port found\n";
}

# A fresh temporary directory named PREFIX-<six random characters>, owned
# by $RUNAS, below $GOVLEDGER_TMP when set.
sub tempdir_runas
{
	my ($prefix) = @_;
	my $base = $ENV{GOVLEDGER_TMP} || '/tmp';
	# File::Temp replaces the X's with random characters
	my $dir = tempdir(($prefix || 'govledger') . '-XXXXXX',
					  DIR => $base, CLEANUP => 0);

	return make_runas_dir($dir, 0755);
}

# psql against the cluster t/run prepared (PG* environment).  Returns the
# trimmed output (always a scalar); dies with psql's message on error
# unless allow_error => 1 is given, in which case it returns undef and, with
# error => \$msg, stores the message.
sub psql
{
	my ($sql, %opt) = @_;

	return _psql_cmd([], $sql, %opt);
}

sub _psql_cmd
{
	my ($conn, $sql, %opt) = @_;
	my @cmd = ("$PGBIN/psql", '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
			   @$conn);
	push @cmd, '-d', $opt{db} if $opt{db};
	push @cmd, '-F', $opt{sep} if defined $opt{sep};

	my $pid = open(my $out, '-|') // die "fork: $!";
	if ($pid == 0)
	{
		open(STDERR, '>&', \*STDOUT);
		exec(@cmd, '-c', $sql) or die "exec psql: $!";
	}
	my $text = do { local $/; <$out> };
	close($out);
	my $rc = $?;
	$text //= '';
	if ($rc != 0)
	{
		die "psql failed: $text" unless $opt{allow_error};
		${ $opt{error} } = $text if ref $opt{error};
		return undef;
	}
	$text =~ s/\s+\z//;
	return $text;
}

# Run a code block with standard output sent to /dev/null; returns its value.
sub quietly
{
	my ($code) = @_;

	open(my $saved, '>&', \*STDOUT) or die "dup: $!";
	open(STDOUT, '>', '/dev/null') or die "/dev/null: $!";
	my $rv = eval { $code->() };
	my $err = $@;
	open(STDOUT, '>&', $saved) or die "dup: $!";
	die $err if $err;
	return $rv;
}

# Create a private PostgreSQL cluster.  Options:
#   dir      directory to create it in (default: a fresh temp dir)
#   port     TCP port (default: free_port())
#   preload  shared_preload_libraries value (default 'govledger')
#   conf     extra postgresql.conf lines (array ref)
#   db       database to create with the govledger extension (default
#            'govledger_test'; undef to skip)
#   extensions  extensions to create in db (default ['govledger'])
sub new_cluster
{
	my (%opt) = @_;

	return GovTest::Cluster->new(%opt);
}


package GovTest::Cluster;

use strict;
use warnings;

use File::Path qw(make_path remove_tree);

sub new
{
	my ($class, %opt) = @_;
	my $self = bless {}, $class;

	$self->{dir} = $opt{dir} || GovTest::tempdir_runas('pgcluster');
	$self->{port} = $opt{port} || GovTest::free_port();
	$self->{preload} = exists $opt{preload} ? $opt{preload} : 'govledger';
	$self->{conf} = $opt{conf} || [];
	$self->{db} = exists $opt{db} ? $opt{db} : 'govledger_test';
	$self->{extensions} = $opt{extensions} || ['govledger'];
	$self->{data} = "$self->{dir}/data";
	$self->{sock} = "$self->{dir}/sock";
	$self->{keys} = $opt{key_dir} || "$self->{dir}/keys";
	$self->{log} = "$self->{dir}/postgresql.log";
	$self->{keep} = $opt{keep};
	$GovTest::CLUSTER_LOGS{ $self->{log} } = 1;

	$self->init unless -f "$self->{data}/PG_VERSION";
	$self->start unless $opt{no_start};
	$self->create_db if $self->{db} && !$opt{no_start};
	return $self;
}

sub dir  { $_[0]{dir} }
sub port { $_[0]{port} }
sub host { $_[0]{sock} }
sub data { $_[0]{data} }
sub key_dir { $_[0]{keys} }
sub logfile { $_[0]{log} }
sub dbname { $_[0]{db} }

# libpq connection string for this cluster.
sub conninfo
{
	my ($self, %o) = @_;
	my $db = $o{db} || $self->{db} || 'postgres';
	my $user = $o{user} || 'postgres';

	return "host=$self->{sock} port=$self->{port} dbname=$db user=$user";
}

sub init
{
	my ($self) = @_;

	GovTest::make_runas_dir($self->{dir}, 0755);
	GovTest::make_runas_dir($self->{sock}, 0755);
	GovTest::make_runas_dir($self->{keys}, 0700);
	GovTest::quietly(sub { GovTest::run_as("$GovTest::PGBIN/initdb", '-D', $self->{data},
					'-U', 'postgres', '--auth=trust', '-E', 'UTF8',
					'--locale=C.UTF-8', '--no-sync') }) == 0
		or die "initdb failed in $self->{data}\n";

	my @conf = (
		"port = $self->{port}",
		"listen_addresses = '127.0.0.1'",
		"unix_socket_directories = '$self->{sock}'",
		"max_connections = 200",
		# a sealer per database, the launcher, verify()'s parallel worker
		"max_worker_processes = 16",
		"shared_buffers = 256MB",
		"fsync = on",
		"logging_collector = off",
		"log_line_prefix = '%m [%p] %q%u@%d '",
		"lc_messages = 'C'",
		"timezone = 'UTC'",
	);
	push @conf, "shared_preload_libraries = '$self->{preload}'"
		if $self->{preload};
	push @conf, "govledger.key_dir = '$self->{keys}'"
		if ($self->{preload} || '') =~ /govledger/;
	push @conf, @{ $self->{conf} };

	my $conf = "$self->{data}/postgresql.auto.conf";
	_append_as($conf, join('', map { "$_\n" } @conf))
		or die "cannot write $conf: $!\n";
	return $self;
}

# Append text to a file owned by $RUNAS (root can write it directly).
sub _append_as
{
	my ($file, $text) = @_;

	open(my $fh, '>>', $file) or return 0;
	print $fh $text;
	close($fh);
	return 1;
}

sub pg_ctl
{
	my ($self, @args) = @_;

	return GovTest::run_as("$GovTest::PGBIN/pg_ctl", '-s', '-D',
						   $self->{data}, '-l', $self->{log}, @args);
}

sub start
{
	my ($self) = @_;

	$self->pg_ctl('-w', '-t', '120', 'start') == 0
		or die "PostgreSQL did not start; see $self->{log}:\n"
		. _tail($self->{log});
	$self->{running} = 1;
	return $self;
}

sub stop
{
	my ($self, $mode) = @_;

	$self->pg_ctl('-w', '-t', '120', '-m', $mode || 'fast', 'stop');
	$self->{running} = 0;
	return $self;
}

sub restart
{
	my ($self) = @_;

	$self->stop;
	return $self->start;
}

sub postmaster_pid
{
	my ($self) = @_;

	open(my $fh, '<', "$self->{data}/postmaster.pid") or return undef;
	my $pid = <$fh>;
	close($fh);
	chomp $pid if defined $pid;
	return $pid;
}

# kill -9 the postmaster and every process it started at the same instant,
# as a power cut would.  The postmaster is stopped first so that it can
# neither fork nor see a child die, and no child outlives it to hang on a
# lock a killed process held.  Waits until all of them are gone.
sub kill9
{
	my ($self) = @_;
	my $pid = $self->postmaster_pid or return;

	kill('STOP', $pid);
	# the signal is asynchronous: list the children once it has stopped
	for (1 .. 200)
	{
		last if GovTest::pid_state($pid) =~ /^[TtZX]?$/;
		select(undef, undef, undef, 0.01);
	}
	my @all = (GovTest::child_pids($pid), $pid);
	kill('KILL', @all);
	for (1 .. 600)
	{
		last unless grep { GovTest::pid_running($_) } @all;
		select(undef, undef, undef, 0.05);
	}
	my @left = grep { GovTest::pid_running($_) } @all;
	die "processes @left of the killed cluster are still running\n" if @left;
	# the dead postmaster keeps its PID until its new parent reaps it, and
	# PostgreSQL refuses to start while the PID in its lock files exists;
	# where nobody reaps, the lock files of a server that is gone are stale
	for (1 .. 100)
	{
		last unless GovTest::pid_exists($pid);
		select(undef, undef, undef, 0.05);
	}
	if (GovTest::pid_exists($pid))
	{
		unlink("$self->{data}/postmaster.pid", glob("$self->{sock}/.s.PGSQL.*.lock"));
	}
	$self->{running} = 0;
	return $self;
}

sub create_db
{
	my ($self) = @_;
	my $db = $self->{db};

	$self->psql("CREATE DATABASE \"$db\"", db => 'postgres')
		unless $self->psql(
		"SELECT 1 FROM pg_database WHERE datname = '$db'", db => 'postgres');
	for my $ext (@{ $self->{extensions} })
	{
		$self->psql("CREATE EXTENSION IF NOT EXISTS $ext CASCADE");
	}
	return $self;
}

sub psql
{
	my ($self, $sql, %opt) = @_;
	my $db = $opt{db} || $self->{db} || 'postgres';

	return GovTest::_psql_cmd(
		['-h', $self->{sock}, '-p', $self->{port}, '-U', 'postgres', '-d', $db],
		$sql, %opt, db => undef);
}

sub _tail
{
	my ($file) = @_;

	open(my $fh, '<', $file) or return '';
	my @lines = <$fh>;
	close($fh);
	splice(@lines, 0, @lines - 30) if @lines > 30;
	return join('', @lines);
}

sub DESTROY
{
	my ($self) = @_;

	return if $self->{keep} || !$self->{dir};
	local $?;
	$self->stop('immediate') if -f "$self->{data}/postmaster.pid";
	remove_tree($self->{dir});
}

1;
