#!/usr/bin/perl
#
# ledger_record_commit.t: rows that the insert trigger only notes (INSERT
# ... ON CONFLICT, a later BEFORE trigger) across transaction boundaries:
# many notes in one statement, notes of subtransactions that roll back,
# tables dropped or unprotected after their notes; each transaction
# commits, and every stored row has exactly one entry.

use strict;
use warnings;

use Test::More;
use GovTest;

my $db = "record_commit_$$";
GovTest::psql("CREATE DATABASE $db", db => 'postgres');
GovTest::psql('CREATE EXTENSION govledger CASCADE', db => $db);

END
{
	local $?;
	GovTest::psql("DROP DATABASE IF EXISTS $db WITH (FORCE)", db => 'postgres', allow_error => 1);
}

sub sql { GovTest::psql($_[0], db => $db, %{ $_[1] // {} }) }

# A script through psql's standard input, going on after errors as an
# interactive session does; returns everything it printed.
sub script
{
	my ($text) = @_;
	my $file = GovTest::tempdir_runas('rc') . '/script.sql';

	open(my $fh, '>', $file) or die "$file: $!";
	print $fh $text;
	close($fh);
	return scalar `$GovTest::PGBIN/psql -X -q -A -t -d $db -f $file 2>&1`;
}

sub entries
{
	my ($tbl) = @_;
	return sql(qq{SELECT count(*) FROM govledger.entry e JOIN govledger.ledger l USING (ledger_id)
		WHERE l.relid = '$tbl'::regclass});
}

sub clean
{
	my ($tbl) = @_;
	return sql(qq{SELECT bool_and(ok) FROM govledger.verify('$tbl') WHERE ledger = '$tbl'::regclass});
}

# thousands of notes in one statement, half of them for skipped rows
sql(q{CREATE TABLE rc_many (id int PRIMARY KEY, note text);
	SELECT govledger.protect('rc_many');
	INSERT INTO rc_many SELECT g, 'first' FROM generate_series(1, 3000, 2) g});
sql(q{INSERT INTO rc_many SELECT g, repeat('long note ', 300 + g % 7) FROM generate_series(1, 3000) g
	ON CONFLICT DO NOTHING});
is(sql('SELECT count(*) FROM rc_many'), 3000, '3000 rows stored, 1500 skipped');
is(entries('rc_many'), 3000, 'one entry a stored row, none for a skipped one');
is(clean('rc_many'), 't', 'and every row verifies, toasted ones too');

# a subtransaction rolled back after its rows were noted: the transaction commits
sql(q{CREATE TABLE rc_sub (id int PRIMARY KEY, v int CHECK (v > 0))});
my $out = script(q{BEGIN;
SAVEPOINT a;
SELECT govledger.protect('rc_sub');
INSERT INTO rc_sub VALUES (1, 1), (2, -1) ON CONFLICT DO NOTHING;
ROLLBACK TO a;
INSERT INTO rc_sub VALUES (3, 3);
COMMIT;
SELECT 'committed';
});
is(join('|', $out =~ /ERROR:\s+(.*)/g), 'new row for relation "rc_sub" violates check constraint "rc_sub_v_check"',
   'rolled back to a savepoint before the notes were resolved: the commit succeeds (the only error: the check)')
	or diag($out);
is(sql('SELECT string_agg(id::text, \',\') FROM rc_sub'), '3', 'with the row inserted after it');
is(sql(q{SELECT count(*) FROM govledger.ledger WHERE relid = 'rc_sub'::regclass}), 0,
   'and the table is not a ledger (protect was rolled back)');

# notes of a PL/pgSQL exception block, then the ledger dropped, in one transaction
sql(q{CREATE TABLE rc_drop (id int PRIMARY KEY, v int CHECK (v > 0));
	SELECT govledger.protect('rc_drop');
	CREATE FUNCTION rc_try() RETURNS void LANGUAGE plpgsql AS $$
	BEGIN
		BEGIN
			INSERT INTO rc_drop VALUES (1, 1), (2, -2) ON CONFLICT DO NOTHING;
		EXCEPTION WHEN check_violation THEN
			NULL;
		END;
	END $$});
$out = script(q{BEGIN;
SELECT rc_try();
INSERT INTO rc_drop VALUES (5, 5) ON CONFLICT DO NOTHING;
SELECT govledger.drop_ledger('rc_drop', 'test');
COMMIT;
SELECT 'committed';
});
unlike($out, qr/ERROR/, 'notes of a failed block, then drop_ledger: the commit succeeds') or diag($out);
is(sql(q{SELECT count(*) FROM govledger.entry e JOIN govledger.ledger l USING (ledger_id)
	WHERE l.name = 'public.rc_drop'}), 1,
   'the dropped ledger keeps one entry, of the row stored outside the failed block');

GovTest::psql("DROP DATABASE $db WITH (FORCE)", db => 'postgres');
done_testing();
