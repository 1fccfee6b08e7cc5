-- ledger_append_only.sql: UPDATE, DELETE, TRUNCATE, upserts and direct
-- changes of ledger_entry_id are refused with SQLSTATE 2F003 (428C9);
-- ALTER and DROP only through govledger.add_column/drop_ledger, which
-- record the act in govledger.ddl_event.
BEGIN;
SELECT plan(39);

CREATE TABLE ao_ledger (id int PRIMARY KEY, note text);
SELECT govledger.protect('ao_ledger');
INSERT INTO ao_ledger (id, note) VALUES (1, 'first'), (2, 'second');

SELECT throws_ok($$UPDATE ao_ledger SET note = 'changed' WHERE id = 1$$, '2F003',
	'ledger table "public.ao_ledger" is append-only: UPDATE is not allowed',
	'UPDATE refused');
SELECT throws_ok($$UPDATE ao_ledger SET note = 'x' WHERE false$$, '2F003',
	'ledger table "public.ao_ledger" is append-only: UPDATE is not allowed',
	'UPDATE refused even when it would change no row');
SELECT throws_ok($$DELETE FROM ao_ledger WHERE id = 2$$, '2F003',
	'ledger table "public.ao_ledger" is append-only: DELETE is not allowed',
	'DELETE refused');
SELECT throws_ok($$TRUNCATE ao_ledger$$, '2F003',
	'ledger table "public.ao_ledger" is append-only: TRUNCATE is not allowed',
	'TRUNCATE refused');
SELECT throws_ok($$INSERT INTO ao_ledger (id, note) VALUES (1, 'upsert')
				   ON CONFLICT (id) DO UPDATE SET note = excluded.note$$, '2F003',
	'ledger table "public.ao_ledger" is append-only: UPDATE is not allowed',
	'INSERT ... ON CONFLICT DO UPDATE refused');
SELECT lives_ok($$INSERT INTO ao_ledger (id, note) VALUES (1, 'dup')
				  ON CONFLICT (id) DO NOTHING$$,
	'INSERT ... ON CONFLICT DO NOTHING allowed');
SELECT is((SELECT count(*) FROM govledger.entry e JOIN govledger.ledger l USING (ledger_id)
			WHERE l.relid = 'ao_ledger'::regclass), 2::bigint,
	'a row skipped by ON CONFLICT DO NOTHING leaves no entry');
SELECT throws_ok($$MERGE INTO ao_ledger a USING (SELECT 1 AS id) s ON a.id = s.id
				   WHEN MATCHED THEN DELETE$$, '2F003', NULL, 'MERGE ... DELETE refused');
SELECT throws_ok($$INSERT INTO ao_ledger (id, note, ledger_entry_id) VALUES (3, 'forged', 12345)$$,
	'428C9', 'cannot insert a value into column "ledger_entry_id" of ledger table "public.ao_ledger"',
	'a caller-supplied entry id is refused');
SELECT is((SELECT count(*) FROM ao_ledger), 2::bigint, 'table unchanged after refused statements');
SELECT is((SELECT array_agg(note ORDER BY id) FROM ao_ledger), ARRAY['first', 'second'], 'rows unchanged');

-- DDL guard
SELECT throws_ok($$ALTER TABLE ao_ledger ADD COLUMN extra text$$, '2F003',
	'cannot change ledger table public.ao_ledger: ALTER TABLE is not allowed', 'ALTER TABLE ADD COLUMN refused');
SELECT throws_ok($$ALTER TABLE ao_ledger ALTER COLUMN note TYPE varchar(100)$$, '2F003', NULL,
	'ALTER COLUMN TYPE refused');
SELECT throws_ok($$ALTER TABLE ao_ledger DISABLE TRIGGER zz_govledger_insert$$, '2F003', NULL,
	'DISABLE TRIGGER refused');
SELECT throws_ok($$ALTER TABLE ao_ledger RENAME TO other_name$$, '2F003', NULL, 'RENAME refused');
SELECT throws_ok($$ALTER TABLE ao_ledger DROP COLUMN note$$, '2F003', NULL, 'DROP COLUMN refused');
SELECT throws_ok($$CREATE RULE ao_redirect AS ON INSERT TO ao_ledger DO INSTEAD NOTHING$$, '2F003', NULL,
	'CREATE RULE refused');
SELECT throws_ok($$DROP TRIGGER zz_govledger_insert ON ao_ledger$$, '2F003', NULL,
	'dropping the insert trigger refused');
SELECT throws_ok($$DROP TRIGGER zz_govledger_append_only ON ao_ledger$$, '2F003', NULL,
	'dropping the append-only trigger refused');
SELECT throws_ok($$DROP TABLE ao_ledger$$, '2F003', 'cannot drop ledger table public.ao_ledger',
	'DROP TABLE refused');
SELECT has_table('ao_ledger', 'table still there');
SELECT lives_ok($$COMMENT ON TABLE ao_ledger IS 'comments are fine'$$, 'COMMENT allowed');

-- add_column: records the act, old rows still verify, new column hashed
SELECT ok(govledger.add_column('ao_ledger', 'amount', 'numeric', 'fees are now recorded') > 0,
	'add_column returns the entry id of the record');
SELECT has_column('ao_ledger', 'amount', 'column added');
SELECT is((SELECT detail || ' / ' || reason FROM govledger.ddl_event
			WHERE event = 'add_column' AND target = 'public.ao_ledger'),
	'amount numeric / fees are now recorded', 'add_column recorded in govledger.ddl_event');
INSERT INTO ao_ledger (id, note, amount) VALUES (3, 'third', 9.99);
SELECT is((SELECT bool_and(ok) FROM govledger.verify('ao_ledger')), true, 'old and new rows verify after add_column');
SELECT matches((SELECT govledger.canonical('ao_ledger', ledger_entry_id) FROM ao_ledger WHERE id = 3),
	'"row":\{"amount":"9.99","id":3,"note":"third"\}', 'new column is part of the encoding');
SELECT throws_ok($$SELECT govledger.add_column('ao_ledger', 'pt', 'point', 'geometry')$$, '0A000',
	'column "pt" would have type point, which has no canonical encoding', 'add_column of an unsupported type refused');
SELECT throws_ok($$SELECT govledger.add_column('ao_ledger', 'x', 'text', '')$$, '22023',
	'a reason is required', 'add_column needs a reason');

-- the schema can be renamed; DDL functions follow the table, entries keep
-- the registered name
CREATE SCHEMA ao_old;
CREATE TABLE ao_old.moved (x int);
SELECT govledger.protect('ao_old.moved');
INSERT INTO ao_old.moved VALUES (1);
ALTER SCHEMA ao_old RENAME TO ao_new;
SELECT lives_ok($$SELECT govledger.add_column('ao_new.moved', 'y', 'text', 'after a schema rename')$$,
	'add_column after the schema was renamed');
SELECT matches((SELECT govledger.canonical('ao_new.moved', ledger_entry_id) FROM ao_new.moved),
	'"ledger":"ao_old\.moved"', 'entries keep the registered name');
SELECT lives_ok($$SELECT govledger.drop_ledger('ao_new.moved', 'done')$$, 'drop_ledger after the schema was renamed');
SELECT throws_ok($$SELECT govledger.drop_ledger('govledger.ddl_event', 'no')$$, '22023',
	'govledger.ddl_event cannot be dropped', 'the record of acts cannot be dropped');

-- drop_ledger: records the act, keeps the entries
CREATE TEMP TABLE ids AS SELECT ledger_entry_id FROM ao_ledger;
SELECT ok(govledger.drop_ledger('ao_ledger', 'service retired') > 0, 'drop_ledger returns the entry id of the record');
SELECT hasnt_table('ao_ledger', 'table dropped');
SELECT is((SELECT reason FROM govledger.ddl_event WHERE event = 'drop_ledger' AND target = 'public.ao_ledger'),
	'service retired', 'drop recorded with its reason');
SELECT ok((SELECT relid IS NULL AND dropped_at IS NOT NULL FROM govledger.ledger WHERE name = 'public.ao_ledger'),
	'ledger row kept, marked dropped');
SELECT is((SELECT count(*) FROM govledger.entry WHERE entry_id IN (SELECT ledger_entry_id FROM ids)),
	3::bigint, 'entries of the dropped ledger stay');
SELECT is((SELECT bool_and(ok) FROM govledger.verify('govledger.ddl_event')), true,
	'the record of acts verifies');

SELECT * FROM finish();
ROLLBACK;
