-- ledger_tamper_sealed.sql: once entries are sealed (their queue items
-- gone), verify still tells an altered stored leaf from a changed row,
-- using the sealed leaf as the witness.
BEGIN;
SELECT plan(3);
CREATE TABLE st_ledger (id int, v text);
SELECT govledger.protect('st_ledger');
INSERT INTO st_ledger VALUES (1, 'a'), (2, 'b');
SELECT ok(govledger.seal() >= 2, 'entries sealed');
SELECT is((SELECT count(*) FROM govledger.unsealed u JOIN st_ledger s ON s.ledger_entry_id = u.entry_id), 0::bigint, 'nothing left in the queue');
SET LOCAL session_replication_role = replica;
UPDATE govledger.entry_sealed SET leaf_hash = sha256('x') WHERE entry_id = (SELECT ledger_entry_id FROM st_ledger WHERE id = 1);
UPDATE st_ledger SET v = 'evil' WHERE id = 2;
SET LOCAL session_replication_role = origin;
SELECT results_eq($$SELECT check_name, first_failure FROM govledger.verify('st_ledger') WHERE NOT ok AND ledger = 'st_ledger'::regclass ORDER BY 1$$,
 $$VALUES ('entry_leaf'::text, 'entry ' || (SELECT ledger_entry_id FROM st_ledger WHERE id = 1) || ': stored leaf altered'), ('row_hash', 'entry ' || (SELECT ledger_entry_id FROM st_ledger WHERE id = 2) || ': row changed since insert (column value or entry metadata)')$$, 'altered leaf and changed row told apart after sealing');
SELECT * FROM finish();
ROLLBACK;
