# GovNginx: run a real nginx with ngx_http_govledger_module for one test file.
#
# In the spirit of nginx-tests' Test::Nginx: each test file writes its own
# nginx.conf (an http block; the rest is filled in), gets a throwaway prefix
# below $GOVLEDGER_TMP and a free port, starts nginx as root with workers as
# the unprivileged user, talks HTTP through HTTP::Tiny, and at the end checks
# that the error log has no [alert], [crit] or [emerg] lines (a worker that
# died on a signal is logged as [alert]).  Core Perl modules only.
#
#   my $t = GovNginx->new(workers => 1);
#   $t->run(<<'EOF');            # http { ... } contents; %%PORT%% etc.
#   govledger_database "host=%%PGHOST%% port=%%PGPORT%% dbname=%%PGDATABASE%%";
#   server { listen 127.0.0.1:%%PORT%%; location /f { govledger_call api.f; } }
#   EOF
#   my $r = $t->get('/f');        # HTTP::Tiny response hash
#   $t->stop;                     # or at END; emits the error-log checks
#
# Environment: GOVLEDGER_NGX_MODULE (the .so), GOVLEDGER_NGX_BINARY (default
# /usr/sbin/nginx), GOVLEDGER_TMP, GOVLEDGER_RUNAS, PGHOST, PGPORT,
# PGDATABASE.

package GovNginx;

use strict;
use warnings;

use File::Path qw(make_path);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);

use GovTest;

our @RUNNING;

sub new
{
	my ($class, %opt) = @_;
	my $self = bless {
		workers => $opt{workers} // 1,
		binary  => $ENV{GOVLEDGER_NGX_BINARY} || '/usr/sbin/nginx',
		module  => $ENV{GOVLEDGER_NGX_MODULE},
		port    => GovTest::free_port(),
		user    => $ENV{GOVLEDGER_RUNAS} || 'govledger',
		ports   => {},
	}, $class;

	$self->{prefix} = GovTest::tempdir_runas('ngx');
	return $self;
}

sub has_module
{
	my $m = $ENV{GOVLEDGER_NGX_MODULE};
	return defined $m && -f $m;
}

# skip the whole file when nginx or the module is not there
sub plan_or_skip
{
	my ($class) = @_;
	plan(skip_all => 'GOVLEDGER_NGX_MODULE not built') unless has_module();
	plan(skip_all => 'PostgreSQL environment (PGHOST) missing')
		unless $ENV{PGHOST};
}

sub prefix { $_[0]{prefix} }
sub port   { $_[0]{port} }

# another free port, named, for %%PORT_name%%
sub port_for
{
	my ($self, $name) = @_;
	$self->{ports}{$name} //= GovTest::free_port();
	return $self->{ports}{$name};
}

sub expand
{
	my ($self, $text) = @_;
	my %v = (
		PORT       => $self->{port},
		PREFIX     => $self->{prefix},
		MODULE     => $self->{module},
		PGHOST     => $ENV{PGHOST} // '',
		PGPORT     => $ENV{PGPORT} // '',
		PGDATABASE => $ENV{PGDATABASE} // 'govledger_test',
	);
	$text =~ s/%%PORT_(\w+)%%/$self->port_for($1)/ge;
	$text =~ s/%%(\w+)%%/exists $v{$1} ? $v{$1} : "%%$1%%"/ge;
	return $text;
}

sub write_file
{
	my ($self, $name, $content, $mode) = @_;
	my $path = "$self->{prefix}/$name";
	open(my $fh, '>', $path) or die "cannot write $path: $!\n";
	binmode($fh);
	print $fh $content;
	close($fh);
	chmod($mode // 0644, $path);
	return $path;
}

sub conf_text
{
	my ($self, $http) = @_;
	my $p = $self->{prefix};
	my $user = $> == 0 ? "user $self->{user};\n" : '';

	return $self->expand(<<"EOF");
load_module $self->{module};
${user}worker_processes $self->{workers};
daemon on;
master_process on;
pid $p/nginx.pid;
error_log $p/error.log info;
worker_shutdown_timeout 5s;
worker_rlimit_core 2g;
working_directory $p;

events {
    worker_connections 1024;
}

http {
    access_log $p/access.log;
    client_body_temp_path $p/client_body_temp;
    proxy_temp_path $p/proxy_temp;
    fastcgi_temp_path $p/fastcgi_temp;
    uwsgi_temp_path $p/uwsgi_temp;
    scgi_temp_path $p/scgi_temp;

$http
}
EOF
}

# nginx -t on a configuration; returns (ok, output)
sub test_conf
{
	my ($self, $http) = @_;
	my $conf = $self->write_file('test.conf', $self->conf_text($http));
	my $out = `$self->{binary} -t -p $self->{prefix}/ -c $conf -e $self->{prefix}/test-error.log 2>&1`;
	return ($? == 0, $out);
}

sub run
{
	my ($self, $http) = @_;
	my $conf = $self->write_file('nginx.conf', $self->conf_text($http));

	my $out = `$self->{binary} -p $self->{prefix}/ -c $conf -e $self->{prefix}/error.log 2>&1`;
	die "nginx failed to start: $out\n" . $self->error_log() if $?;

	# the master listens before it forks the workers: wait for all of them
	for (1 .. 200)
	{
		last if -s "$self->{prefix}/nginx.pid" && $self->_listening
			&& $self->worker_pids >= $self->{workers};
		sleep(0.05);
	}
	die "nginx did not start\n" . $self->error_log()
		unless -s "$self->{prefix}/nginx.pid";
	push @RUNNING, $self;
	$self->{running} = 1;
	return $self;
}

sub _listening
{
	my ($self) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{port}",
								  Timeout => 1);
	return 0 unless $s;
	close($s);
	return 1;
}

sub master_pid
{
	my ($self) = @_;
	open(my $fh, '<', "$self->{prefix}/nginx.pid") or return;
	my $pid = <$fh>;
	close($fh);
	return $pid =~ /^(\d+)/ ? $1 : undef;
}

sub worker_pids
{
	my ($self) = @_;
	my $master = $self->master_pid or return ();

	return GovTest::child_pids($master, 'nginx');
}

# new configuration (optional) and SIGHUP; waits for the old workers to go
sub reload
{
	my ($self, $http) = @_;
	$self->write_file('nginx.conf', $self->conf_text($http)) if defined $http;
	my $pid = $self->master_pid or die "no master\n";
	my %old = map { $_ => 1 } $self->worker_pids;
	kill('HUP', $pid);
	for (1 .. 100)
	{
		sleep(0.1);
		my @now = $self->worker_pids;
		last if @now && !grep { $old{$_} } @now;
	}
}

sub error_log
{
	my ($self) = @_;
	open(my $fh, '<', "$self->{prefix}/error.log") or return '';
	local $/;
	my $text = <$fh>;
	close($fh);
	return $text // '';
}

# stop nginx and check its error log; adds two assertions
sub stop
{
	my ($self) = @_;
	return unless $self->{running};
	$self->{running} = 0;
	@RUNNING = grep { $_ != $self } @RUNNING;

	my $pid = $self->master_pid;
	if ($pid)
	{
		kill('QUIT', $pid);
		for (1 .. 200)
		{
			last unless GovTest::pid_running($pid);
			sleep(0.05);
		}
		kill('KILL', $pid) if GovTest::pid_running($pid);
	}

	my $log = $self->error_log();
	my @bad = grep { /\[(alert|crit|emerg)\]/ } split /\n/, $log;
	ok(!@bad, 'error.log: no alert, crit or emerg')
		or diag(join("\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]));
	my @sig = grep { /exited on signal|AddressSanitizer|runtime error/ }
		split /\n/, $log;
	ok(!@sig, 'error.log: no worker exited abnormally') or diag(join("\n", @sig));
}

END
{
	$_->stop for @RUNNING;
}

# HTTP

sub http
{
	my ($self, $method, $path, %opt) = @_;
	my $ua = HTTP::Tiny->new(timeout => $opt{timeout} // 30,
							 keep_alive => 0);
	my %req = (headers => $opt{headers} || {});
	$req{headers}{Authorization} = "Bearer $opt{token}" if defined $opt{token};
	if (defined $opt{body})
	{
		$req{content} = $opt{body};
		$req{headers}{'Content-Type'} //= 'application/json';
	}
	my $url = "http://127.0.0.1:" . ($opt{port} // $self->{port}) . $path;
	return $ua->request($method, $url, \%req);
}

sub get  { my ($s, $p, %o) = @_; return $s->http('GET', $p, %o) }
sub post { my ($s, $p, %o) = @_; return $s->http('POST', $p, %o) }

sub json
{
	my ($class, $r) = @_;
	my $doc = eval { JSON::PP->new->allow_nonref->decode($r->{content}) };
	return $doc;
}

# raw request over a socket; returns the whole response text
sub raw
{
	my ($self, $text, %opt) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{port}",
								  Timeout => 5) or die "connect: $!\n";
	print $s $text;
	return $s if $opt{keep};
	local $/;
	my $resp = <$s>;
	close($s);
	return $resp // '';
}

# status metrics as { "name{labels}" => value }
sub metrics
{
	my ($self, $path) = @_;
	my $r = $self->get($path // '/status');
	my %m;
	for (split /\n/, $r->{content} // '')
	{
		next if /^#/;
		$m{$1} = $2 if /^(\S+) (\S+)$/;
	}
	return \%m;
}

# base64url without padding
sub b64url
{
	my ($data) = @_;
	require MIME::Base64;
	my $s = MIME::Base64::encode_base64($data, '');
	$s =~ tr{+/}{-_};
	$s =~ s/=+$//;
	return $s;
}

1;
