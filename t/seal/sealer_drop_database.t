#!/usr/bin/perl
#
# sealer_drop_database.t
#   The background sealer of a database does not stand in the way of
#   DROP DATABASE, and does not outlive it: a plain DROP DATABASE stops
#   the sealer and succeeds; after DROP DATABASE ... WITH (FORCE) nothing
#   tries to start a sealer for the database that is gone (the postmaster
#   used to restart it every second, for ever, each failing with
#   "database ... does not exist"), also when the owner dropping it is
#   not a superuser.  A sealer that stops otherwise, or that a failed drop
#   stopped, is started again by the launcher, and a restarted launcher
#   starts no second sealer.  ALTER DATABASE ... RENAME and SET
#   TABLESPACE and CREATE DATABASE ... TEMPLATE, which also require the
#   database's sessions gone, succeed as well.
#   A cluster of its own, whose log is read.
#
# Copyright (c) 2026, govledger contributors

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use GovTest;

my $pg = GovTest::new_cluster(db => undef);

# pid of the sealer of database $db, waiting up to $secs seconds for one
# other than $not
sub sealer_pid
{
	my ($db, $secs, $not) = @_;
	my $pid = '';

	for (1 .. $secs * 10)
	{
		$pid = $pg->psql(qq{SELECT pid FROM pg_stat_activity
			WHERE backend_type = 'govledger sealer' AND datname = '$db'}, db => 'postgres');
		return $pid if $pid ne '' && (!defined $not || $pid ne $not);
		select(undef, undef, undef, 0.1);
	}
	return '';
}

sub make_db
{
	my ($db) = @_;

	$pg->psql("CREATE DATABASE $db", db => 'postgres');
	$pg->psql(q{CREATE EXTENSION govledger CASCADE;
		CREATE TABLE t (id int PRIMARY KEY);
		SELECT govledger.protect('t')}, db => $db);
}

sub log_size { return -s $pg->logfile; }

sub log_since
{
	my ($offset) = @_;

	open(my $fh, '<', $pg->logfile) or die $pg->logfile . ": $!";
	seek($fh, $offset, 0);
	local $/;
	return <$fh> // '';
}

# a plain DROP DATABASE
make_db('drop_plain');
ok(sealer_pid('drop_plain', 20), 'a database with govledger gets a sealer');
my $err;
my $ok = defined $pg->psql('DROP DATABASE drop_plain', db => 'postgres',
						   allow_error => 1, error => \$err);
ok($ok, 'DROP DATABASE without FORCE succeeds although the sealer was connected')
	or diag($err);

# DROP DATABASE ... WITH (FORCE): nothing restarts a sealer for it
make_db('drop_force');
ok(sealer_pid('drop_force', 20), 'a second database gets its sealer');
my $oid = $pg->psql("SELECT oid FROM pg_database WHERE datname = 'drop_force'", db => 'postgres');
my $offset = log_size();
$pg->psql('DROP DATABASE drop_force WITH (FORCE)', db => 'postgres');
sleep(5);
my $after = log_since($offset);
# (one sealer started while the drop was finishing may fail once; what
# must not happen is one failing every second)
my $missing = () = $after =~ /database $oid does not exist/g;
cmp_ok($missing, '<=', 1, 'after DROP DATABASE WITH (FORCE), no sealer is started again and again for the dropped database')
	or diag($after);

# WITH (FORCE) by an owner who is not a superuser, who may not terminate
# the sealer: the drop has stopped it before
$pg->psql('CREATE ROLE db_owner LOGIN CREATEDB', db => 'postgres');
$pg->psql('CREATE DATABASE drop_owner OWNER db_owner', db => 'postgres');
$pg->psql('CREATE EXTENSION govledger CASCADE', db => 'drop_owner');
for my $round (1 .. 3)
{
	ok(sealer_pid('drop_owner', 20), "round $round: the owner's database has a sealer")
		if $round == 1;
	my $out = `$GovTest::PGBIN/psql -X -q -h ${\$pg->host} -p ${\$pg->port} -U db_owner -d postgres -c 'DROP DATABASE drop_owner WITH (FORCE)' 2>&1`;
	is($?, 0, "round $round: its owner, not a superuser, drops it WITH (FORCE)") or diag($out);
	last if $round == 3;
	$pg->psql('CREATE DATABASE drop_owner OWNER db_owner', db => 'postgres');
	$pg->psql('CREATE EXTENSION govledger CASCADE', db => 'drop_owner');
	sealer_pid('drop_owner', 20);
}

# the launcher goes on serving: a new database, a sealer that stops
make_db('still_served');
my $pid = sealer_pid('still_served', 20);
ok($pid, 'a database created afterwards gets its sealer');
$pg->psql("SELECT pg_terminate_backend($pid)", db => 'postgres');
my $pid2 = sealer_pid('still_served', 20, $pid);
ok($pid2, 'a sealer that was stopped is started again by the launcher');
$pg->psql('INSERT INTO t SELECT generate_series(1, 100)', db => 'still_served');
my $left;
for (1 .. 100)
{
	$left = $pg->psql('SELECT count(*) FROM govledger.unsealed', db => 'still_served');
	last if $left eq '0';
	select(undef, undef, undef, 0.1);
}
is($left, '0', '... and seals');

# a drop that fails (another session is connected) stops the sealer for
# nothing; it comes back
my $holder = $pg->host;
my $port = $pg->port;
my $bg = fork() // die "fork: $!";
if ($bg == 0)
{
	open(STDOUT, '>', '/dev/null');
	open(STDERR, '>', '/dev/null');
	exec("$GovTest::PGBIN/psql", '-X', '-q', '-h', $holder, '-p', $port, '-U', 'postgres',
		 '-d', 'still_served', '-c', 'SELECT pg_sleep(15)');
	exit 1;
}
for (1 .. 100)
{
	last if $pg->psql(q{SELECT count(*) FROM pg_stat_activity
		WHERE datname = 'still_served' AND query LIKE '%pg_sleep%'
		  AND pid <> pg_backend_pid()}, db => 'postgres') eq '1';
	select(undef, undef, undef, 0.1);
}
$ok = defined $pg->psql('DROP DATABASE still_served', db => 'postgres',
						allow_error => 1, error => \$err);
ok(!$ok && $err =~ /is being accessed by other users/,
   'DROP DATABASE with another session connected fails as usual') or diag($err);
ok(sealer_pid('still_served', 20, $pid2), '... and the sealer it stopped is started again');
kill('TERM', $bg);
waitpid($bg, 0);

# a launcher that was restarted leaves its predecessor's sealers alone:
# one sealer per database, not two
my $launcher = $pg->psql(q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'govledger launcher'},
						 db => 'postgres');
ok($launcher, 'the launcher runs');
$pg->psql("SELECT pg_terminate_backend($launcher)", db => 'postgres');
my $new_launcher = '';
for (1 .. 150)
{
	$new_launcher = $pg->psql(q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'govledger launcher'},
							  db => 'postgres');
	last if $new_launcher ne '' && $new_launcher ne $launcher;
	select(undef, undef, undef, 0.1);
}
isnt($new_launcher, $launcher, 'the postmaster restarts the launcher');
sleep(5);
is($pg->psql(q{SELECT count(*) FROM pg_stat_activity
	WHERE backend_type = 'govledger sealer' AND datname = 'still_served'}, db => 'postgres'),
   '1', '... which starts no second sealer beside the running one');

# the other statements that require a database's sessions gone
my $sealer = sealer_pid('still_served', 20);
$ok = defined $pg->psql('ALTER DATABASE still_served RENAME TO renamed_db', db => 'postgres',
						allow_error => 1, error => \$err);
ok($ok, 'ALTER DATABASE ... RENAME of a database with a sealer succeeds') or diag($err);
ok(sealer_pid('renamed_db', 20), '... and the database has its sealer again');
$ok = defined $pg->psql('CREATE DATABASE copied_db TEMPLATE renamed_db', db => 'postgres',
						allow_error => 1, error => \$err);
ok($ok, 'CREATE DATABASE ... TEMPLATE a database with a sealer succeeds') or diag($err);
ok(sealer_pid('renamed_db', 20), '... and the template has its sealer again');
ok(sealer_pid('copied_db', 20), '... and so does the copy');
my $ts_dir = GovTest::make_runas_dir($pg->dir . '/ts', 0700);
$pg->psql("CREATE TABLESPACE other_ts LOCATION '$ts_dir'", db => 'postgres');
$ok = defined $pg->psql('ALTER DATABASE copied_db SET TABLESPACE other_ts', db => 'postgres',
						allow_error => 1, error => \$err);
ok($ok, 'ALTER DATABASE ... SET TABLESPACE of a database with a sealer succeeds') or diag($err);
ok(sealer_pid('copied_db', 20), '... and the database has its sealer again');

done_testing();
