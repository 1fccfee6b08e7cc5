#!/usr/bin/perl
#
# tamper.t
#   The tamper matrix of sealing: each kind of damage a superuser can do
#   to a log is detected by govledger.verify() (which names the leaf,
#   subtree or block) or, for a history rewritten with every hash
#   recomputed and re-signed, by govledger.verify_checkpoint() against a
#   checkpoint saved before; a receipt from another log is refused, in SQL
#   and by govledger-verify.  Each case runs in a transaction that is
#   rolled back.
#
# Copyright (c) 2026, govledger contributors

use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use FindBin;
use lib "$FindBin::Bin/../lib";
use GovTest;

my $log = "tamper-$$";
my $other = "tamper-other-$$";
my $tbl = "seal_tamper_$$";
my $otbl = "seal_tamper_o_$$";
my $tmp = tempdir('tamper-XXXXXX', DIR => $ENV{GOVLEDGER_TMP} // '/tmp', CLEANUP => 1);

GovTest::psql(qq{SELECT govledger.create_log('$log'); SELECT govledger.create_log('$other')});
GovTest::psql(qq{CREATE TABLE $tbl (id int PRIMARY KEY, v text); SELECT govledger.protect('$tbl', '$log');
	CREATE TABLE $otbl (id int PRIMARY KEY, v text); SELECT govledger.protect('$otbl', '$other')});
# 40 entries in blocks of 8 (the background sealer may add an empty block 0)
GovTest::psql(qq{DO \$\$ BEGIN FOR b IN 0..4 LOOP
	INSERT INTO $tbl SELECT g, 'v' || g FROM generate_series(b * 8 + 1, b * 8 + 8) g;
	INSERT INTO $otbl SELECT g, 'o' || g FROM generate_series(b * 8 + 1, b * 8 + 8) g;
	PERFORM govledger.seal('$log'); PERFORM govledger.seal('$other'); COMMIT; END LOOP; END \$\$});
my $logid = GovTest::psql(qq{SELECT log_id FROM govledger.log WHERE name = '$log'});
my $saved = GovTest::psql(qq{SELECT encode(convert_to(govledger.checkpoint('$log'), 'UTF8'), 'hex')});

is(GovTest::psql(qq{SELECT string_agg(check_name, ',' ORDER BY check_name) FROM govledger.verify('$tbl') WHERE ledger IS NULL AND ok}),
   "$log.blocks,$log.leaves,$log.sealed,$log.tree", 'untouched: the four log checks pass');

# run damage in a rolled-back transaction; return the failed checks
sub damaged {
    my ($sql) = @_;
    return GovTest::psql(qq{SET client_min_messages = warning; BEGIN; $sql;
	SELECT coalesce(string_agg(check_name || ': ' || first_failure, ' | ' ORDER BY check_name), 'clean')
	  FROM govledger.verify('$tbl') WHERE ledger IS NULL AND NOT ok; ROLLBACK;});
}

like(damaged(qq{UPDATE govledger.leaf SET leaf_hash = sha256('forged') WHERE log_id = $logid AND leaf_index = 13}),
     qr/\Q$log\E\.leaves: leaf 13 \(entry \d+\): its hash differs/, 'a changed leaf is named');
like(damaged(qq{UPDATE govledger.subtree SET hash = sha256('forged') WHERE log_id = $logid AND level = 4 AND idx = 1}),
     qr/\Q$log\E\.tree: subtree \(level 4, index 1\) differs/, 'a changed stored subtree hash is named');
like(damaged(qq{DELETE FROM govledger.subtree WHERE log_id = $logid AND level = 5 AND idx = 0}),
     qr/\Q$log\E\.tree: subtree \(level 5, index 0\) is missing/, 'a deleted stored subtree is named');
like(damaged(qq{UPDATE govledger.block SET prev_hash = sha256('forged') WHERE log_id = $logid AND block_no = 3}),
     qr/\Q$log\E\.blocks: block 3: previous-hash link broken/, "a broken previous-hash link is named");
like(damaged(qq{UPDATE govledger.block SET sealed_at = sealed_at + interval '1 hour' WHERE log_id = $logid AND block_no = 2}),
     qr/\Q$log\E\.blocks: block 2: block hash does not match/, 'an edited block is named');
# one base64 character of the signature, 21 before its final '=\n',
# changed to another (always: a fixed replacement would match it 1 time in 64)
like(damaged(qq{UPDATE govledger.block SET checkpoint = overlay(checkpoint
		PLACING CASE substr(checkpoint, length(checkpoint) - 22, 1) WHEN 'A' THEN 'B' ELSE 'A' END
		FROM length(checkpoint) - 22 FOR 1)
		WHERE log_id = $logid AND block_no = 4 AND checkpoint ~ '\\S{21}=\\n\$'}),
     qr/\Q$log\E\.blocks: block 4: checkpoint: invalid signature/, 'an altered checkpoint signature is named');
like(damaged(qq{DELETE FROM govledger.leaf WHERE log_id = $logid AND leaf_index >= 32;
		DELETE FROM govledger.block WHERE log_id = $logid AND tree_size > 32}),
     qr/\Q$log\E\.sealed: entry \d+ is neither sealed nor queued/, 'the last entries and block deleted: named');
# each sealed entry records its leaf; pointing it at another leaf is named,
# and proofs refuse it
my $e21 = GovTest::psql(qq{SELECT entry_id FROM govledger.leaf WHERE log_id = $logid AND leaf_index = 21});
is(GovTest::psql(qq{SELECT leaf_index FROM govledger.entry_sealed WHERE entry_id = $e21}), 21,
   'a sealed entry records the index of its leaf');
like(damaged(qq{UPDATE govledger.entry_sealed SET leaf_index = 20 WHERE entry_id = $e21}),
     qr/\Q$log\E\.leaves: leaf 21 holds entry $e21, which records leaf 20 as its own/,
     'an entry pointed at another leaf is named');
my $proof_err;
GovTest::psql(qq{SET client_min_messages = warning; BEGIN;
	UPDATE govledger.entry_sealed SET leaf_index = 20 WHERE entry_id = $e21;
	SELECT govledger.inclusion_proof('$tbl', $e21); ROLLBACK;}, allow_error => 1, error => \$proof_err);
like($proof_err // '', qr/leaf 20 of log "\Q$log\E" does not hold entry $e21, which records it as its leaf/,
     'an inclusion proof of that entry is refused');
# an entry queued again while it is sealed, or queued twice, is not sealed
for my $c ([ 'queued again while sealed', '', qq{INSERT INTO govledger.unsealed (entry_id, log_id, leaf_hash)
				SELECT entry_id, log_id, leaf_hash FROM govledger.leaf WHERE log_id = $logid AND leaf_index = 21},
			 qr/entry $e21 is queued again in log "\Q$log\E" but is already sealed as leaf 21/ ],
		   [ 'queued again without ever being sealed', '', qq{INSERT INTO govledger.unsealed (entry_id, log_id, leaf_hash)
				VALUES (987654321, $logid, sha256('x'))},
			 qr/entry 987654321 is queued again in log "\Q$log\E" without its metadata but was never sealed/ ],
		   [ 'queued twice', "INSERT INTO $tbl VALUES (1000, 'x');",
			 qq{INSERT INTO govledger.unsealed SELECT * FROM govledger.unsealed WHERE log_id = $logid},
			 qr/entry \d+ is queued twice in log "\Q$log\E"/ ])
{
	my ($name, $insert, $sql, $re) = @$c;
	my $err;
	GovTest::psql(qq{SET client_min_messages = warning; BEGIN; $insert SET LOCAL session_replication_role = replica;
		$sql; SET LOCAL session_replication_role = origin; SELECT govledger.seal('$log'); ROLLBACK;},
		allow_error => 1, error => \$err);
	like($err // 'sealed', $re, "an entry $name is refused by the sealer");
}
like(damaged(qq{INSERT INTO $tbl VALUES (1001, 'y');
		INSERT INTO govledger.unsealed SELECT * FROM govledger.unsealed WHERE log_id = $logid}),
     qr/\Q$log\E\.sealed: entry \d+ is queued 2 times/, 'an entry queued twice is named');
like(damaged(qq{DELETE FROM govledger.block WHERE log_id = $logid AND block_no = 2}),
     qr/\Q$log\E\.blocks: block 2 is missing/, 'a block removed from the middle is named');
like(damaged(qq{DELETE FROM govledger.block WHERE log_id = $logid
		AND block_no = (SELECT max(block_no) FROM govledger.block WHERE log_id = $logid)}),
     qr/\Q$log\E\.leaves: leaf 32 lies beyond the last block/, 'the last block removed is named');

# the whole history rewritten: entries re-queued without entry 5, tree and
# blocks rebuilt and re-signed with the log's own key.  Every stored hash
# is consistent again, but not with a checkpoint taken before.
my $rewritten = GovTest::psql(qq{SET client_min_messages = warning; BEGIN;
	DELETE FROM govledger.unsealed WHERE log_id = $logid;
	INSERT INTO govledger.unsealed (entry_id, log_id, leaf_hash)
		SELECT l.entry_id, l.log_id, l.leaf_hash FROM govledger.leaf l
		WHERE l.log_id = $logid AND l.leaf_index <> 5;
	DELETE FROM govledger.leaf WHERE log_id = $logid;
	DELETE FROM govledger.subtree WHERE log_id = $logid;
	DELETE FROM govledger.block WHERE log_id = $logid;
	SELECT govledger.seal('$log');
	SELECT coalesce(string_agg(check_name, ',' ORDER BY check_name), 'none') FROM govledger.verify('$tbl') WHERE ledger IS NULL AND NOT ok;
	SELECT govledger.verify_checkpoint(convert_from(decode('$saved', 'hex'), 'UTF8'), '$log');
	ROLLBACK;});
my @out = split /\n/, $rewritten;
is($out[0], 39, 'history rewritten: a new consistent tree of 39 leaves was signed');
is($out[1], "$log.sealed", 'verify() alone only sees the dropped entry');
is($out[2], 'f', 'verify_checkpoint against the checkpoint saved before exposes the rewrite');
is(GovTest::psql(qq{SELECT govledger.verify_checkpoint(convert_from(decode('$saved', 'hex'), 'UTF8'), '$log')}), 't',
   'the intact log verifies against it');

# a receipt from another log
my $e = GovTest::psql(qq{SELECT ledger_entry_id FROM $otbl WHERE id = 3});
is(GovTest::psql(qq{SET client_min_messages = warning; SELECT govledger.verify_receipt(govledger.receipt('$otbl', $e), govledger.verifier_key('$log'))}), 'f',
   'a receipt from another log does not verify under this log\'s key');
is(GovTest::psql(qq{SELECT govledger.verify_receipt(govledger.receipt('$otbl', $e), govledger.verifier_key('$other'))}), 't',
   'it verifies under its own log\'s key');
my $bin = $ENV{GOVLEDGER_VERIFY} // "$ENV{GOVLEDGER_ROOT}/build/bin/govledger-verify";
SKIP: {
    skip 'govledger-verify not built', 2 unless -x $bin;
    my $r = GovTest::psql(qq{SELECT govledger.receipt('$otbl', $e)});
    open(my $fh, '>', "$tmp/r.json") or die; print $fh $r; close $fh;
    my $k = GovTest::psql(qq{SELECT govledger.verifier_key('$log')});
    my $msg = `'$bin' --key '$k' '$tmp/r.json' 2>&1`;
    is($? >> 8, 1, 'govledger-verify refuses a receipt from another log');
    like($msg, qr/checkpoint: .*no verifiable signature/, '... naming the checkpoint');
}

done_testing();
