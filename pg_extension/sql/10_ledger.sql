/*
 * 10_ledger.sql
 *	  Functions of the ledger core: protecting a table, the triggers it
 *	  installs, the ledger DDL functions, logs, and the canonical form,
 *	  leaf hash and verification of entries.
 */

CREATE FUNCTION govledger.insert_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME', 'govledger_insert_trigger' LANGUAGE C;
COMMENT ON FUNCTION govledger.insert_trigger() IS
	'BEFORE INSERT row trigger of a ledger table: sets the row''s ledger_entry_id and records the row as an entry; where the row could still be skipped or changed (INSERT ... ON CONFLICT, a later BEFORE INSERT trigger, stored generated columns), records it as stored when the statement ends, and a row not stored gets no entry';

CREATE FUNCTION govledger.append_only_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME', 'govledger_append_only_trigger' LANGUAGE C;
COMMENT ON FUNCTION govledger.append_only_trigger() IS
	'Statement trigger of a ledger table: refuses UPDATE, DELETE and TRUNCATE with SQLSTATE 2F003';

CREATE FUNCTION govledger._adopt_row(tbl oid, r record) RETURNS bigint
	AS 'MODULE_PATHNAME', 'govledger_adopt_row' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION govledger._adopt_row(oid, record) IS
	'Internal to govledger.protect: records an existing row as an entry';

CREATE FUNCTION govledger._ddl_permitted(relid oid) RETURNS bool
	AS 'MODULE_PATHNAME', 'govledger_ddl_permitted' LANGUAGE C STABLE;
COMMENT ON FUNCTION govledger._ddl_permitted(oid) IS
	'Internal to the DDL guard: true while govledger.drop_ledger or govledger.add_column runs DDL on that table';

CREATE FUNCTION govledger._ddl_harmless(cmd pg_ddl_command) RETURNS bool
	AS 'MODULE_PATHNAME', 'govledger_ddl_harmless' LANGUAGE C STABLE;
COMMENT ON FUNCTION govledger._ddl_harmless(pg_ddl_command) IS
	'Internal to the DDL guard: true for an ALTER TABLE that only changes row security, owner, storage parameters, statistics, CLUSTER ON or REPLICA IDENTITY';

CREATE FUNCTION govledger.protect(tbl regclass, log text DEFAULT 'main')
	RETURNS void
	AS 'MODULE_PATHNAME', 'govledger_protect' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION govledger.protect(regclass, text) IS
	'Makes tbl an append-only ledger table of log: adds column ledger_entry_id, installs the triggers, records existing rows as entries';

CREATE FUNCTION govledger.drop_ledger(tbl regclass, reason text)
	RETURNS bigint
	AS 'MODULE_PATHNAME', 'govledger_drop_ledger' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION govledger.drop_ledger(regclass, text) IS
	'Drops a ledger table after recording the act and its reason in govledger.ddl_event; returns the entry id of that record; the entries stay';

CREATE FUNCTION govledger.add_column(tbl regclass, column_name text,
	column_type regtype, reason text)
	RETURNS bigint
	AS 'MODULE_PATHNAME', 'govledger_add_column' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION govledger.add_column(regclass, text, regtype, text) IS
	'Adds a nullable column without default to a ledger table after recording the act in govledger.ddl_event; returns the entry id of that record';

CREATE FUNCTION govledger.create_log(name text, hash_alg text DEFAULT 'sha256',
	sig_alg text DEFAULT 'ed25519')
	RETURNS void
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF name IS NULL OR hash_alg IS NULL OR sig_alg IS NULL THEN
		RAISE EXCEPTION 'arguments of govledger.create_log() must not be NULL'
			USING ERRCODE = '22004';
	END IF;
	IF name !~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$' THEN
		RAISE EXCEPTION 'invalid log name "%"', name
			USING ERRCODE = '22023',
				DETAIL = 'A log name is 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit.';
	END IF;
	IF hash_alg NOT IN ('sha256', 'sm3') THEN
		RAISE EXCEPTION 'unsupported hash algorithm "%"', hash_alg
			USING ERRCODE = '22023', HINT = 'Use sha256 or sm3.';
	END IF;
	IF sig_alg NOT IN ('ed25519', 'ecdsa-p256', 'sm2') THEN
		RAISE EXCEPTION 'unsupported signature algorithm "%"', sig_alg
			USING ERRCODE = '22023', HINT = 'Use ed25519, ecdsa-p256 or sm2.';
	END IF;
	IF EXISTS (SELECT 1 FROM govledger.log l WHERE l.name = create_log.name) THEN
		RAISE EXCEPTION 'log "%" already exists', name USING ERRCODE = '42710';
	END IF;
	INSERT INTO govledger.log (log_id, name, hash_alg, sig_alg)
		VALUES (nextval('govledger.log_id_seq'), name, hash_alg, sig_alg);
END
$$;
COMMENT ON FUNCTION govledger.create_log(text, text, text) IS
	'Creates a new log with its hash algorithm (sha256 or sm3) and signature algorithm';
REVOKE ALL ON FUNCTION govledger.create_log(text, text, text) FROM PUBLIC;

CREATE FUNCTION govledger.canonical(tbl regclass, entry_id bigint)
	RETURNS text
	AS 'MODULE_PATHNAME', 'govledger_canonical' LANGUAGE C STABLE;
COMMENT ON FUNCTION govledger.canonical(regclass, bigint) IS
	'The canonical JSON (encoding version 1) of the row of tbl with that entry id, with the metadata of its entry: the bytes its leaf hashes';

CREATE FUNCTION govledger.leaf_hash(tbl regclass, entry_id bigint)
	RETURNS bytea
	AS 'MODULE_PATHNAME', 'govledger_leaf_hash' LANGUAGE C STABLE;
COMMENT ON FUNCTION govledger.leaf_hash(regclass, bigint) IS
	'H(0x00 || canonical bytes) of that row as stored now, with the hash algorithm of its log';

CREATE FUNCTION govledger.verify(tbl regclass DEFAULT NULL)
	RETURNS TABLE (ledger regclass, check_name text, ok bool,
		checked bigint, failed bigint, first_failure text)
	AS 'MODULE_PATHNAME', 'govledger_verify' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION govledger.verify(regclass) IS
	'Runs every check of every ledger table (or of tbl): one row per check, first_failure names the first damaged entry and the kind of damage';
