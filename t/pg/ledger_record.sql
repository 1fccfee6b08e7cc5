-- ledger_record.sql: every stored row of a ledger table gets exactly one
-- entry, and a row that is not stored gets none, whenever it is
-- recorded: at once by the BEFORE trigger for plain INSERT and COPY, as
-- stored when the statement ends for INSERT ... ON CONFLICT and behind a
-- later BEFORE trigger.
BEGIN;
SELECT plan(28);

CREATE FUNCTION pg_temp.entries(tbl regclass) RETURNS bigint
LANGUAGE sql AS $$
	SELECT count(*) FROM govledger.entry e JOIN govledger.ledger l USING (ledger_id)
	 WHERE l.relid = tbl
$$;
CREATE FUNCTION pg_temp.clean(tbl regclass) RETURNS bool
LANGUAGE sql AS $$
	SELECT bool_and(ok) FROM govledger.verify(tbl) WHERE ledger = tbl
$$;

-- plain INSERT, multi-row INSERT, INSERT ... SELECT, COPY
CREATE TABLE rec_plain (id int PRIMARY KEY, note text);
SELECT govledger.protect('rec_plain');
INSERT INTO rec_plain VALUES (1, 'a');
INSERT INTO rec_plain VALUES (2, 'b'), (3, 'c');
INSERT INTO rec_plain SELECT g, 'g' || g FROM generate_series(4, 10) g;
COPY rec_plain (id, note) FROM STDIN;
11	copied
12	copied too
\.
SELECT is(pg_temp.entries('rec_plain'), 12::bigint, 'plain inserts and COPY: one entry per row');
SELECT is((SELECT count(DISTINCT entry_id) FROM govledger.unsealed u JOIN rec_plain r ON r.ledger_entry_id = u.entry_id),
	12::bigint, 'no entry queued twice');
SELECT ok(pg_temp.clean('rec_plain'), 'plain inserts verify');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'rec_plain'::regclass AND tgtype & 2 = 0), 0::bigint,
	'no AFTER trigger on a ledger table');

-- the trigger function runs once a row, ON CONFLICT or not
CREATE TABLE rec_calls (id int PRIMARY KEY, note text);
SELECT govledger.protect('rec_calls');
SET LOCAL track_functions = 'all';
CREATE TEMP TABLE calls0 AS
	SELECT coalesce(pg_stat_get_xact_function_calls('govledger.insert_trigger'::regproc), 0) AS n;
INSERT INTO rec_calls VALUES (1, 'x'), (2, 'y'), (3, 'z');
SELECT is(pg_stat_get_xact_function_calls('govledger.insert_trigger'::regproc) - (SELECT n FROM calls0),
	3::bigint, 'plain INSERT of 3 rows: the trigger function ran 3 times');
INSERT INTO rec_calls VALUES (4, 'w'), (1, 'dup') ON CONFLICT DO NOTHING;
SELECT is(pg_stat_get_xact_function_calls('govledger.insert_trigger'::regproc) - (SELECT n FROM calls0),
	3::bigint + 2, 'ON CONFLICT: once for each row, the skipped one too');
SELECT is(pg_temp.entries('rec_calls'), 4::bigint, 'ON CONFLICT: the stored row recorded, the skipped one not');
SET LOCAL track_functions = 'none';
SELECT ok(pg_temp.clean('rec_calls'), 'and the rows verify');

-- ON CONFLICT DO NOTHING: conflicting rows skipped, the others recorded
INSERT INTO rec_plain VALUES (1, 'dup'), (13, 'new'), (2, 'dup') ON CONFLICT DO NOTHING;
SELECT is(pg_temp.entries('rec_plain'), 13::bigint, 'ON CONFLICT DO NOTHING: only the stored row recorded');
SELECT ok(pg_temp.clean('rec_plain'), 'and it verifies');
WITH ins AS (INSERT INTO rec_plain VALUES (3, 'dup'), (14, 'cte') ON CONFLICT (id) DO NOTHING RETURNING id)
SELECT count(*) FROM ins;
SELECT is(pg_temp.entries('rec_plain'), 14::bigint, 'ON CONFLICT in a WITH query: only the stored row recorded');
SELECT ok(pg_temp.clean('rec_plain'), 'and it verifies');

-- a function inserting with ON CONFLICT, called from a plain query
CREATE FUNCTION pg_temp.ins_or_skip(i int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO rec_plain VALUES (i, 'fn') ON CONFLICT DO NOTHING;
END
$$;
SELECT pg_temp.ins_or_skip(g) FROM generate_series(14, 16) g;
SELECT is(pg_temp.entries('rec_plain'), 16::bigint, 'ON CONFLICT inside a function: only stored rows recorded');
SELECT ok(pg_temp.clean('rec_plain'), 'and they verify');

-- a later BEFORE trigger that skips some rows
CREATE TABLE rec_skip (id int PRIMARY KEY, note text);
SELECT govledger.protect('rec_skip');
CREATE FUNCTION pg_temp.skip_odd() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.id % 2 = 1 THEN
		RETURN NULL;
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER zzz_skip BEFORE INSERT ON rec_skip FOR EACH ROW EXECUTE FUNCTION pg_temp.skip_odd();
INSERT INTO rec_skip SELECT g, 'r' FROM generate_series(1, 6) g;
SELECT is((SELECT count(*) FROM rec_skip), 3::bigint, 'the later trigger skipped three rows');
SELECT is(pg_temp.entries('rec_skip'), 3::bigint, 'behind a later BEFORE trigger: skipped rows leave no entry');
SELECT ok(pg_temp.clean('rec_skip'), 'and the stored rows verify');

-- COPY behind the later trigger: recorded when the COPY ends, within the transaction
COPY rec_skip (id, note) FROM STDIN;
7	odd
8	even
\.
SELECT is(pg_temp.entries('rec_skip'), 4::bigint, 'COPY behind a later BEFORE trigger: recorded when it ends');
SELECT ok(pg_temp.clean('rec_skip'), 'and it verifies');

-- a later BEFORE trigger that changes the row: the stored row is recorded
CREATE TABLE rec_change (id int PRIMARY KEY, note text);
SELECT govledger.protect('rec_change');
CREATE FUNCTION pg_temp.shout() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.note := upper(NEW.note);
	RETURN NEW;
END
$$;
CREATE TRIGGER zzz_shout BEFORE INSERT ON rec_change FOR EACH ROW EXECUTE FUNCTION pg_temp.shout();
INSERT INTO rec_change VALUES (1, 'quiet'), (2, 'calm');
SELECT is(pg_temp.entries('rec_change'), 2::bigint, 'behind a changing trigger: one entry a row');
SELECT is(govledger.canonical('rec_change', (SELECT ledger_entry_id FROM rec_change WHERE id = 1))::jsonb -> 'row' ->> 'note',
	'QUIET', 'the entry holds the row as stored');
SELECT ok(pg_temp.clean('rec_change'), 'and it verifies');

-- ON CONFLICT in a subtransaction that rolls back: neither row nor entry
CREATE FUNCTION pg_temp.ins_then_fail(i int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		INSERT INTO rec_plain VALUES (i, 'undone') ON CONFLICT DO NOTHING;
		RAISE EXCEPTION 'undo';
	EXCEPTION WHEN raise_exception THEN
		NULL;
	END;
END
$$;
SELECT pg_temp.ins_then_fail(100);
SELECT is((SELECT count(*) FROM rec_plain WHERE id = 100), 0::bigint, 'the rolled back row is gone');
SELECT is(pg_temp.entries('rec_plain'), 16::bigint, 'and left no entry');
SELECT ok(pg_temp.clean('rec_plain'), 'and the ledger verifies');

-- who inserted: the role at the insert, not at the end of the statement
CREATE ROLE rec_writer_role;
GRANT USAGE ON SCHEMA govledger TO rec_writer_role;
GRANT INSERT, SELECT ON rec_plain TO rec_writer_role;
CREATE FUNCTION pg_temp.ins_as_writer(i int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	SET LOCAL ROLE rec_writer_role;
	INSERT INTO rec_plain VALUES (i, 'as writer') ON CONFLICT DO NOTHING;
	RESET ROLE;
END
$$;
SELECT pg_temp.ins_as_writer(101);
SELECT is((SELECT db_role FROM govledger.entry WHERE entry_id = (SELECT ledger_entry_id FROM rec_plain WHERE id = 101)),
	'rec_writer_role', 'the entry names the role that inserted the row');

-- a table protected by an earlier build: an AFTER trigger asking
-- govledger._record_after(), which is now always false
CREATE FUNCTION pg_temp.legacy_record_after(tbl regclass) RETURNS bool
	AS '$libdir/govledger', 'govledger_record_after' LANGUAGE C VOLATILE;
CREATE TABLE rec_legacy (id int PRIMARY KEY, note text);
SELECT govledger.protect('rec_legacy');
CREATE TRIGGER zz_govledger_record AFTER INSERT ON rec_legacy FOR EACH ROW
	WHEN (pg_temp.legacy_record_after('rec_legacy')) EXECUTE FUNCTION govledger.insert_trigger();
INSERT INTO rec_legacy VALUES (1, 'a'), (2, 'b');
INSERT INTO rec_legacy VALUES (2, 'dup'), (3, 'c') ON CONFLICT DO NOTHING;
SELECT is(pg_temp.entries('rec_legacy'), 3::bigint, 'a legacy AFTER trigger never fires: one entry a stored row');
SELECT ok(pg_temp.clean('rec_legacy'), 'and the rows verify');

SELECT * FROM finish();
ROLLBACK;
