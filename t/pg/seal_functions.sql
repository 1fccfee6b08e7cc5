-- seal_functions.sql: sealing, checkpoints, verifier keys, proofs and
-- receipts of govledger (issue 3), for every hash and signature
-- algorithm, with the errors each function gives for bad arguments.
-- Runs on logs of its own, inside a transaction the background sealer
-- cannot see, so the trees here are exactly what this file seals.
BEGIN;
SELECT plan(78);

SELECT has_function('govledger', 'seal', ARRAY['text'], 'seal(log) exists');
SELECT has_function('govledger', 'checkpoint', ARRAY['text'], 'checkpoint(log) exists');
SELECT has_function('govledger', 'verifier_key', ARRAY['text'], 'verifier_key(log) exists');
SELECT has_function('govledger', 'inclusion_proof', ARRAY['regclass', 'bigint', 'bigint'], 'inclusion_proof exists');
SELECT has_function('govledger', 'consistency_proof', ARRAY['bigint', 'bigint', 'text'], 'consistency_proof exists');
SELECT has_function('govledger', 'receipt', ARRAY['regclass', 'bigint'], 'receipt exists');
SELECT has_function('govledger', 'verify_receipt', ARRAY['jsonb', 'text'], 'verify_receipt exists');
SELECT has_function('govledger', 'verify_checkpoint', ARRAY['text', 'text'], 'verify_checkpoint exists');
SELECT has_function('govledger', 'await_sealed', ARRAY['regclass', 'bigint', 'interval'], 'await_sealed exists');
SELECT is_definer('govledger', 'seal', ARRAY['text'], 'seal() is SECURITY DEFINER');
SELECT function_privs_are('govledger', 'seal', ARRAY['text'], 'public', ARRAY[]::text[],
	'PUBLIC cannot seal');
SELECT has_table('govledger', 'leaf', 'govledger.leaf exists');
SELECT has_table('govledger', 'subtree', 'govledger.subtree exists');
SELECT has_table('govledger', 'block', 'govledger.block exists');

-- a log of our own (ed25519, sha256) and a ledger table in it
SELECT lives_ok($$SELECT govledger.create_log('pgtap-seal-a')$$, 'create_log');
CREATE TABLE seal_t (id int PRIMARY KEY, note text);
SELECT govledger.protect('seal_t', 'pgtap-seal-a');
CREATE FUNCTION pg_temp.eid(i int) RETURNS bigint LANGUAGE sql AS
	$$ SELECT ledger_entry_id FROM seal_t WHERE id = i $$;

SELECT matches(govledger.checkpoint('pgtap-seal-a'),
	E'^pgtap-seal-a\n0\n47DEQpj8HBSa\\+/TImW\\+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\u2014 pgtap-seal-a [A-Za-z0-9+/]{91}=\n$',
	'before any seal: a signed checkpoint of the empty tree');
SELECT matches(govledger.verifier_key('pgtap-seal-a'),
	'^pgtap-seal-a\+[0-9a-f]{8}\+A[Q-Za-f][A-Za-z0-9+/]{42}$',
	'verifier key: name+keyid+base64(0x01 || 32-byte Ed25519 key)');
SELECT isnt((SELECT public_key FROM govledger.log WHERE name = 'pgtap-seal-a'), NULL,
	'the public key is registered in govledger.log');

INSERT INTO seal_t SELECT g, 'row ' || g FROM generate_series(1, 5) g;
SELECT throws_ok($$SELECT govledger.inclusion_proof('seal_t', pg_temp.eid(1))$$,
	'P0002', NULL, 'no inclusion proof before sealing');
SELECT is(govledger.seal('pgtap-seal-a'), 5::bigint, 'seal returns the tree size');
SELECT is(govledger.seal('pgtap-seal-a'), 5::bigint, 'sealing again with nothing new changes nothing');
SELECT is((SELECT count(*) FROM govledger.block b JOIN govledger.log l USING (log_id)
	WHERE l.name = 'pgtap-seal-a'), 1::bigint, 'one block was written');
SELECT is((SELECT array_agg(leaf_index ORDER BY entry_id) FROM govledger.leaf
	WHERE entry_id IN (SELECT ledger_entry_id FROM seal_t)), ARRAY[0,1,2,3,4]::bigint[],
	'leaves appended in entry id order');
SELECT is((SELECT count(*) FROM govledger.unsealed u
	WHERE u.entry_id IN (SELECT ledger_entry_id FROM seal_t)), 0::bigint, 'the queue is empty');
SELECT matches(govledger.checkpoint('pgtap-seal-a'), E'^pgtap-seal-a\n5\n[A-Za-z0-9+/]{43}=\n\n',
	'checkpoint of the sealed tree');
SELECT is((SELECT checkpoint FROM govledger.block b JOIN govledger.log l USING (log_id)
	WHERE l.name = 'pgtap-seal-a'), govledger.checkpoint('pgtap-seal-a'),
	'checkpoint() is the latest block''s');

-- proofs and receipts
SELECT is(govledger.inclusion_proof('seal_t', pg_temp.eid(3))->>'leaf_index', '2', 'inclusion proof: leaf index');
SELECT is(govledger.inclusion_proof('seal_t', pg_temp.eid(3))->>'tree_size', '5', 'inclusion proof: tree size');
SELECT is(jsonb_array_length(govledger.inclusion_proof('seal_t', pg_temp.eid(3))->'proof'), 3,
	'inclusion proof of leaf 2 of 5 has 3 hashes');
SELECT is(govledger.inclusion_proof('seal_t', pg_temp.eid(3))->>'leaf_hash',
	encode(govledger.leaf_hash('seal_t', pg_temp.eid(3)), 'hex'), 'inclusion proof: leaf hash');
SELECT ok(bool_and(govledger.verify_receipt(govledger.receipt('seal_t', pg_temp.eid(i)),
	govledger.verifier_key('pgtap-seal-a'))), 'receipts of all five rows verify')
	FROM generate_series(1, 5) i;
SELECT is(govledger.receipt('seal_t', pg_temp.eid(1))->>'format', 'govledger-receipt-v1', 'receipt format');
SELECT is(govledger.receipt('seal_t', pg_temp.eid(1))->>'canonical', govledger.canonical('seal_t', pg_temp.eid(1)),
	'receipt carries the canonical row');
SELECT is(govledger.receipt('seal_t', pg_temp.eid(1))->>'ledger', 'public.seal_t', 'receipt names the ledger');
SELECT is(govledger.receipt('seal_t', pg_temp.eid(1))->>'log', 'pgtap-seal-a', 'receipt names the log');
SELECT ok(NOT govledger.verify_receipt(jsonb_set(govledger.receipt('seal_t', pg_temp.eid(2)), '{leaf_index}', '3'),
	govledger.verifier_key('pgtap-seal-a')), 'a receipt with a changed leaf index does not verify');
SELECT ok(NOT govledger.verify_receipt(jsonb_set(govledger.receipt('seal_t', pg_temp.eid(2)), '{entry_id}',
	to_jsonb(pg_temp.eid(3))), govledger.verifier_key('pgtap-seal-a')), 'a receipt with a changed entry id does not verify');
SELECT ok(NOT govledger.verify_receipt(govledger.receipt('seal_t', pg_temp.eid(2)),
	govledger.verifier_key('main')), 'a receipt does not verify under another log''s key');
SELECT throws_ok($$SELECT govledger.verify_receipt('{}', 'not a key')$$, '22023', NULL,
	'a malformed verifier key is an argument error');
SELECT throws_ok($$SELECT govledger.inclusion_proof('seal_t', pg_temp.eid(1), 4)$$, 'P0002', NULL,
	'no checkpoint at a size that was never sealed');
SELECT throws_ok($$SELECT govledger.inclusion_proof('seal_t', -1)$$, 'P0002', NULL,
	'unknown entry');
SELECT throws_ok($$SELECT govledger.inclusion_proof('govledger.ddl_event', pg_temp.eid(1))$$, '22023', NULL,
	'an entry of another ledger table');
SELECT throws_ok($$SELECT govledger.inclusion_proof(NULL, 1)$$, '22004', NULL, 'NULL table');
CREATE ROLE pgtap_seal_nobody;
GRANT USAGE ON SCHEMA govledger TO pgtap_seal_nobody;
SET ROLE pgtap_seal_nobody;
SELECT throws_ok($$SELECT govledger.inclusion_proof('seal_t', 1)$$, '42501', NULL,
	'no inclusion proof without SELECT on the table');
SELECT throws_ok($$SELECT govledger.receipt('seal_t', 1)$$, '42501', NULL,
	'no receipt without SELECT on the table');
RESET ROLE;

-- consistency and checkpoints over time
CREATE TEMP TABLE saved AS SELECT govledger.checkpoint('pgtap-seal-a') AS cp;
INSERT INTO seal_t SELECT g, 'row ' || g FROM generate_series(6, 13) g;
SELECT is(govledger.seal('pgtap-seal-a'), 13::bigint, 'second seal extends the tree to 13');
SELECT is(govledger.inclusion_proof('seal_t', pg_temp.eid(3), 5)->>'tree_size', '5',
	'inclusion proof at the earlier tree size');
SELECT ok(govledger.verify_checkpoint((SELECT cp FROM saved), 'pgtap-seal-a'),
	'the log is consistent with the checkpoint saved before');
SELECT ok(govledger.verify_checkpoint(govledger.checkpoint('pgtap-seal-a'), 'pgtap-seal-a'),
	'and with its own latest checkpoint');
SELECT ok(NOT govledger.verify_checkpoint(replace((SELECT cp FROM saved), E'\n5\n', E'\n6\n'), 'pgtap-seal-a'),
	'a checkpoint with an edited size does not verify');
SELECT ok(NOT govledger.verify_checkpoint(govledger.checkpoint('main'), 'pgtap-seal-a'),
	'a checkpoint of another log does not verify');
SELECT is((govledger.consistency_proof(5, NULL, 'pgtap-seal-a'))->>'new_size', '13', 'consistency proof to the latest size');
SELECT is(jsonb_array_length(govledger.consistency_proof(5, 13, 'pgtap-seal-a')->'proof'), 5,
	'consistency proof 5 -> 13 has 5 hashes');
SELECT is(jsonb_array_length(govledger.consistency_proof(8, 13, 'pgtap-seal-a')->'proof'), 1,
	'consistency proof 8 -> 13 has 1 hash');
SELECT is(jsonb_array_length(govledger.consistency_proof(13, 13, 'pgtap-seal-a')->'proof'), 0,
	'consistency proof of equal sizes is empty');
SELECT throws_ok($$SELECT govledger.consistency_proof(14, NULL, 'pgtap-seal-a')$$, '22023', NULL,
	'consistency proof beyond the tree');
SELECT throws_ok($$SELECT govledger.consistency_proof(6, 5, 'pgtap-seal-a')$$, '22023', NULL,
	'consistency proof with old > new');
SELECT throws_ok($$SELECT govledger.seal('no-such-log')$$, '42704', NULL, 'seal of an unknown log');

-- tampering with the stored tree is caught before anything is signed
SAVEPOINT tamper;
UPDATE govledger.leaf SET leaf_hash = sha256('x')
	WHERE log_id = (SELECT log_id FROM govledger.log WHERE name = 'pgtap-seal-a') AND leaf_index = 2;
INSERT INTO seal_t VALUES (14, 'after tampering');
SELECT throws_ok($$SELECT govledger.seal('pgtap-seal-a')$$, 'XX001', NULL,
	'a log whose stored tree no longer matches its last checkpoint is not extended');
SELECT ok(NOT govledger.verify_checkpoint((SELECT cp FROM saved), 'pgtap-seal-a'),
	'verify_checkpoint notices the damaged tree');
ROLLBACK TO SAVEPOINT tamper;

-- waiting for a seal
SELECT ok(govledger.await_sealed('seal_t', pg_temp.eid(1), '1 second'), 'await_sealed of a sealed entry');
INSERT INTO seal_t VALUES (15, 'not yet sealed');
SELECT throws_ok($$SELECT govledger.await_sealed('seal_t', pg_temp.eid(15), '10 ms')$$, '55000', NULL,
	'await_sealed of an entry of this very transaction is refused');

-- other algorithms
SELECT lives_ok($$SELECT govledger.create_log('pgtap-seal-sm3', 'sm3', 'sm2')$$, 'create an SM3/SM2 log');
SELECT lives_ok($$SELECT govledger.create_log('pgtap-seal-p256', 'sha256', 'ecdsa-p256')$$, 'create an ECDSA P-256 log');
CREATE TABLE seal_sm (id int, v text);
SELECT govledger.protect('seal_sm', 'pgtap-seal-sm3');
CREATE TABLE seal_ec (id int, v text);
SELECT govledger.protect('seal_ec', 'pgtap-seal-p256');
INSERT INTO seal_sm SELECT g, 'sm ' || g FROM generate_series(1, 7) g;
INSERT INTO seal_ec SELECT g, 'ec ' || g FROM generate_series(1, 7) g;
SELECT is(govledger.seal('pgtap-seal-sm3'), 7::bigint, 'SM3 log sealed');
SELECT is(govledger.seal('pgtap-seal-p256'), 7::bigint, 'P-256 log sealed');
SELECT matches(govledger.verifier_key('pgtap-seal-sm3'), '^pgtap-seal-sm3\+[0-9a-f]{8}\+/2dvdmxlZGdlci5zbTIw',
	'SM2 verifier key carries the private type 0xff "govledger.sm2"');
SELECT matches(govledger.verifier_key('pgtap-seal-p256'), '^pgtap-seal-p256\+[0-9a-f]{8}\+AjBZMBMGByqGSM49AgEG',
	'P-256 verifier key carries type 0x02 and a DER SubjectPublicKeyInfo');
SELECT is((SELECT encode(leaf_hash, 'hex') FROM govledger.leaf WHERE entry_id = (SELECT ledger_entry_id FROM seal_sm WHERE id = 4)),
	encode(govledger.leaf_hash('seal_sm', (SELECT ledger_entry_id FROM seal_sm WHERE id = 4)), 'hex'),
	'SM3 leaves are the SM3 leaf hashes');
SELECT ok(bool_and(govledger.verify_receipt(govledger.receipt('seal_sm', ledger_entry_id),
	govledger.verifier_key('pgtap-seal-sm3'))), 'SM3/SM2 receipts verify') FROM seal_sm;
SELECT ok(bool_and(govledger.verify_receipt(govledger.receipt('seal_ec', ledger_entry_id),
	govledger.verifier_key('pgtap-seal-p256'))), 'P-256 receipts verify') FROM seal_ec;
SELECT is(govledger.receipt('seal_sm', (SELECT ledger_entry_id FROM seal_sm WHERE id = 1))->>'hash_alg', 'sm3',
	'SM3 receipt names its hash');
SELECT ok(NOT govledger.verify_receipt(govledger.receipt('seal_sm', (SELECT ledger_entry_id FROM seal_sm WHERE id = 1)),
	govledger.verifier_key('pgtap-seal-p256')), 'an SM2-signed receipt does not verify under the P-256 key');

-- verify() sees sound trees
SELECT ok(bool_and(ok), 'verify(): the tree checks of our logs pass')
	FROM govledger.verify() WHERE check_name LIKE 'pgtap-seal-%';
SELECT is(count(*), 12::bigint, 'verify(): four tree checks for each of our three logs')
	FROM govledger.verify() WHERE check_name LIKE 'pgtap-seal-%';

-- a subject too long to stay in the queue row (stored out of line there)
-- reaches the sealed entry whole, and its receipt verifies
CREATE TABLE seal_long (id int PRIMARY KEY);
SELECT govledger.protect('seal_long', 'pgtap-seal-a');
SELECT set_config('request.jwt.claims',
	json_build_object('sub', (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 400) g))::text,
	true);
INSERT INTO seal_long VALUES (1);
SELECT set_config('request.jwt.claims', '', true);
SELECT ok((xpath('/row/c/text()',
	query_to_xml(format('SELECT count(*) AS c FROM %s', reltoastrelid::regclass), false, true, '')))[1]::text::int > 0,
	'the long subject is stored out of line in the queue')
	FROM pg_class WHERE oid = 'govledger.unsealed'::regclass;
SELECT govledger.seal('pgtap-seal-a');
SELECT is(subject, (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 400) g),
	'the sealed entry holds the whole subject')
	FROM govledger.entry_sealed WHERE entry_id = (SELECT ledger_entry_id FROM seal_long);
SELECT ok(govledger.verify_receipt(govledger.receipt('seal_long', (SELECT ledger_entry_id FROM seal_long)),
	govledger.verifier_key('pgtap-seal-a')), 'its receipt verifies');

SELECT * FROM finish();
ROLLBACK;
