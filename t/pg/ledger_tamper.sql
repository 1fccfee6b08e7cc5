-- ledger_tamper.sql: every kind of damage a superuser can do with
-- triggers off (session_replication_role = replica) is found by
-- govledger.verify, which names the entry and the kind of damage.
BEGIN;
SELECT plan(36);

CREATE FUNCTION pg_temp.check_of(tbl regclass, check_name text)
RETURNS TABLE (ok bool, checked bigint, failed bigint, first_failure text)
LANGUAGE sql AS $$
	SELECT v.ok, v.checked, v.failed, v.first_failure
	  FROM govledger.verify(tbl) v WHERE v.check_name = check_of.check_name
$$;

CREATE FUNCTION pg_temp.make_ledger(name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, who text, amount numeric)', name);
	PERFORM govledger.protect(name::regclass);
	EXECUTE format($i$INSERT INTO %I (id, who, amount) VALUES
		(1, 'alice', 10.00), (2, 'bob', 20.00), (3, 'carol', 30.00)$i$, name);
END
$$;

CREATE FUNCTION pg_temp.entry_of(tbl regclass, row_id int) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	e bigint;
BEGIN
	EXECUTE format('SELECT ledger_entry_id FROM %s WHERE id = $1', tbl) INTO e USING row_id;
	RETURN e;
END
$$;

SELECT pg_temp.make_ledger('tamper_clean');
SELECT pg_temp.make_ledger('tamper_value');
SELECT pg_temp.make_ledger('tamper_delete');
SELECT pg_temp.make_ledger('tamper_noentry');
SELECT pg_temp.make_ledger('tamper_leaf');
SELECT pg_temp.make_ledger('tamper_src');
SELECT pg_temp.make_ledger('tamper_dst');
SELECT pg_temp.make_ledger('tamper_meta');
SELECT pg_temp.make_ledger('tamper_dup');

SELECT is((SELECT bool_and(ok) FROM govledger.verify('tamper_clean')), true, 'an untouched ledger verifies');
SELECT is((SELECT array_agg(check_name ORDER BY check_name) FROM govledger.verify('tamper_clean') WHERE ledger = 'tamper_clean'::regclass),
	ARRAY['entry_leaf', 'entry_row', 'ledger_binding', 'row_entry', 'row_hash'], 'five row checks per ledger');
SELECT is((SELECT checked FROM pg_temp.check_of('tamper_clean', 'row_hash')), 3::bigint, 'every row recomputed');

CREATE TEMP TABLE e AS SELECT
	pg_temp.entry_of('tamper_value', 2) AS value_2,
	pg_temp.entry_of('tamper_delete', 3) AS delete_3,
	pg_temp.entry_of('tamper_leaf', 1) AS leaf_1,
	pg_temp.entry_of('tamper_src', 2) AS src_2,
	pg_temp.entry_of('tamper_meta', 3) AS meta_3,
	pg_temp.entry_of('tamper_dup', 1) AS dup_1;

-- seal what is there, so that an altered stored leaf is told from a
-- changed row by the sealed leaf; tamper_qleaf's entries stay queued,
-- where the queue row holds the only stored copy of the leaf
SELECT ok(govledger.seal() >= 0, 'entries sealed');
SELECT pg_temp.make_ledger('tamper_qleaf');

SET LOCAL session_replication_role = replica;

-- a changed column value
UPDATE tamper_value SET amount = 2000.00 WHERE id = 2;
-- a deleted row
DELETE FROM tamper_delete WHERE id = 3;
-- rows inserted with triggers disabled: no entry id, and a made-up one
INSERT INTO tamper_noentry (id, who, amount) VALUES (4, 'mallory', 1);
INSERT INTO tamper_noentry (id, who, amount, ledger_entry_id) VALUES (5, 'mallory', 1, 999999999999);
-- an altered stored leaf
UPDATE govledger.entry_sealed SET leaf_hash = sha256('forged') WHERE entry_id = (SELECT leaf_1 FROM e);
-- an altered leaf of a queued entry
UPDATE govledger.unsealed SET leaf_hash = sha256('forged') WHERE entry_id = pg_temp.entry_of('tamper_qleaf', 1);
-- a row copied to another ledger, then moved (deleted at the source)
INSERT INTO tamper_dst SELECT 4, who, amount, ledger_entry_id FROM tamper_src WHERE id = 2;
DELETE FROM tamper_src WHERE id = 2;
-- altered entry metadata: the role that inserted the row
UPDATE govledger.entry_sealed SET db_role = 'someone_else' WHERE entry_id = (SELECT meta_3 FROM e);
-- a duplicated row, after dropping the unique index that prevents it
DROP INDEX tamper_dup_ledger_entry_id_idx;
INSERT INTO tamper_dup SELECT 9, who, amount, ledger_entry_id FROM tamper_dup WHERE id = 1;

SET LOCAL session_replication_role = origin;

-- changed value
SELECT is((SELECT ok FROM pg_temp.check_of('tamper_value', 'row_hash')), false, 'changed value: row_hash fails');
SELECT is((SELECT failed FROM pg_temp.check_of('tamper_value', 'row_hash')), 1::bigint, 'changed value: one failure');
SELECT is((SELECT first_failure FROM pg_temp.check_of('tamper_value', 'row_hash')),
	'entry ' || (SELECT value_2 FROM e) || ': row changed since insert (column value or entry metadata)',
	'changed value: entry named');
SELECT is((SELECT ok FROM pg_temp.check_of('tamper_value', 'entry_leaf')), true, 'changed value: stored leaf not blamed');

-- deleted row
SELECT is((SELECT first_failure FROM pg_temp.check_of('tamper_delete', 'entry_row')),
	'entry ' || (SELECT delete_3 FROM e) || ': row deleted', 'deleted row: entry named');
SELECT is((SELECT failed FROM pg_temp.check_of('tamper_delete', 'entry_row')), 1::bigint, 'deleted row: one failure');
SELECT is((SELECT bool_and(ok) FROM govledger.verify('tamper_delete') WHERE check_name <> 'entry_row' AND ledger IS NOT NULL), true,
	'deleted row: the remaining rows verify');

-- inserted with triggers disabled
SELECT is((SELECT failed FROM pg_temp.check_of('tamper_noentry', 'row_entry')), 2::bigint,
	'rows without entries: both found');
SELECT matches((SELECT first_failure FROM pg_temp.check_of('tamper_noentry', 'row_entry')),
	'^row at ctid \([0-9]+,[0-9]+\) has no ledger_entry_id: inserted with triggers disabled$',
	'row without entry id named by its ctid');
SELECT is((SELECT count(*) FROM govledger.verify('tamper_noentry') v
			WHERE v.check_name = 'row_entry'), 1::bigint, 'one row_entry result');
SET LOCAL session_replication_role = replica;
DELETE FROM tamper_noentry WHERE id = 4;
SET LOCAL session_replication_role = origin;
SELECT is((SELECT first_failure FROM pg_temp.check_of('tamper_noentry', 'row_entry')),
	'row with ledger_entry_id 999999999999 has no entry: inserted with triggers disabled',
	'row with a made-up entry id named');

-- altered stored leaf
SELECT is((SELECT ok FROM pg_temp.check_of('tamper_leaf', 'entry_leaf')), false, 'altered leaf: entry_leaf fails');
SELECT is((SELECT first_failure FROM pg_temp.check_of('tamper_leaf', 'entry_leaf')),
	'entry ' || (SELECT leaf_1 FROM e) || ': stored leaf altered', 'altered leaf: entry named');
SELECT is((SELECT ok FROM pg_temp.check_of('tamper_leaf', 'row_hash')), true, 'altered leaf: row not blamed');
SELECT is((SELECT first_failure FROM pg_temp.check_of('tamper_qleaf', 'row_hash')),
	'entry ' || pg_temp.entry_of('tamper_qleaf', 1) || ': leaf does not match the row (changed column value or altered stored leaf)',
	'altered leaf of a queued entry: entry named');

-- moved or copied between ledgers
SELECT is((SELECT ok FROM pg_temp.check_of('tamper_dst', 'ledger_binding')), false, 'copied row: ledger_binding fails at the destination');
SELECT is((SELECT first_failure FROM pg_temp.check_of('tamper_dst', 'ledger_binding')),
	'entry ' || (SELECT src_2 FROM e) || ': row moved or copied from ledger public.tamper_src',
	'copied row: entry and source ledger named');
SELECT is((SELECT first_failure FROM pg_temp.check_of('tamper_src', 'entry_row')),
	'entry ' || (SELECT src_2 FROM e) || ': row deleted', 'moved row: missing at the source');
SELECT is((SELECT bool_and(ok) FROM govledger.verify('tamper_dst') WHERE check_name <> 'ledger_binding' AND ledger IS NOT NULL), true,
	'copied row: the destination''s own rows verify');

-- altered entry metadata
SELECT is((SELECT first_failure FROM pg_temp.check_of('tamper_meta', 'row_hash')),
	'entry ' || (SELECT meta_3 FROM e) || ': row changed since insert (column value or entry metadata)',
	'altered entry metadata: entry named');

-- duplicate entry id
SELECT is((SELECT ok FROM pg_temp.check_of('tamper_dup', 'entry_row')), false, 'duplicate: entry_row fails');
SELECT is((SELECT first_failure FROM pg_temp.check_of('tamper_dup', 'entry_row')),
	'the index on ledger_entry_id of public.tamper_dup is missing: deleted rows and duplicate entry ids cannot be located',
	'duplicate: without any index on ledger_entry_id, the missing index is named');
SET LOCAL session_replication_role = replica;
CREATE INDEX tamper_dup_plain_idx ON tamper_dup (ledger_entry_id);
SET LOCAL session_replication_role = origin;
SELECT is((SELECT first_failure FROM pg_temp.check_of('tamper_dup', 'entry_row')),
	'entry ' || (SELECT dup_1 FROM e) || ': duplicate entry id (2 rows)',
	'duplicate: with any index on ledger_entry_id, the duplicated entry is named');

-- all ledgers at once: every damaged ledger appears, the clean one is clean
SELECT is((SELECT array_agg(DISTINCT ledger::text ORDER BY ledger::text) FROM govledger.verify() WHERE NOT ok AND ledger::text LIKE 'tamper%'),
	ARRAY['tamper_delete', 'tamper_dst', 'tamper_dup', 'tamper_leaf', 'tamper_meta', 'tamper_noentry', 'tamper_qleaf', 'tamper_src', 'tamper_value'],
	'verify() over all ledgers finds every damaged one');
SELECT is((SELECT bool_and(ok) FROM govledger.verify() WHERE ledger = 'tamper_clean'::regclass), true,
	'and the clean one is clean');
SELECT is((SELECT count(DISTINCT check_name) FROM govledger.verify() WHERE ledger = 'tamper_clean'::regclass), 5::bigint,
	'each check reported once per ledger');

-- a ledger table dropped behind govledger's back
SET LOCAL session_replication_role = replica;
ALTER EVENT TRIGGER govledger_guard_drop DISABLE;
DROP TABLE tamper_clean;
ALTER EVENT TRIGGER govledger_guard_drop ENABLE;
SET LOCAL session_replication_role = origin;
SELECT is((SELECT first_failure FROM govledger.verify() WHERE check_name = 'ledger_table'),
	'ledger table public.tamper_clean was dropped without govledger.drop_ledger()',
	'a ledger table dropped with the guard disabled is reported');
SELECT is((SELECT ledger FROM govledger.verify() WHERE check_name = 'ledger_table'), NULL,
	'reported without a ledger oid');

-- results are rows, never errors, and the damage is still there afterwards
SELECT lives_ok($$SELECT * FROM govledger.verify()$$, 'verify returns damage, does not raise it');
SELECT is((SELECT amount FROM tamper_value WHERE id = 2), 2000.00, 'verify changes nothing');
SELECT is((SELECT count(*) FROM govledger.verify('tamper_value') WHERE ledger = 'tamper_value'::regclass), 5::bigint, 'one table: five rows of its own');
SELECT is((SELECT count(*) FROM govledger.verify('tamper_value') WHERE ledger <> 'tamper_value'::regclass), 0::bigint,
	'one table: only its rows');

SELECT * FROM finish();
ROLLBACK;
