/*
 * 00_catalog.sql
 *	  The ledger catalog of the govledger extension: logs, ledger tables,
 *	  entries and the queue of entries not yet sealed.
 *
 * An insert writes its entry only to the unsealed queue (one heap insert,
 * no index); the sealer moves sealed entries to govledger.entry_sealed,
 * and the view govledger.entry shows both.  None of these tables carries
 * foreign keys or triggers that a row-level insert would have to fire.
 */
\echo Use "CREATE EXTENSION govledger" to load this file. \quit

DO $$
BEGIN
	IF pg_catalog.current_setting('server_encoding') <> 'UTF8' THEN
		RAISE EXCEPTION 'govledger requires a UTF8 database, this one is %',
			pg_catalog.current_setting('server_encoding')
			USING ERRCODE = '55000',
				HINT = 'Create the database with ENCODING ''UTF8''.';
	END IF;
END
$$;

CREATE TABLE govledger.log (
	log_id		int PRIMARY KEY,
	name		text NOT NULL UNIQUE,
	hash_alg	text NOT NULL DEFAULT 'sha256'
				CHECK (hash_alg IN ('sha256', 'sm3')),
	sig_alg		text NOT NULL DEFAULT 'ed25519'
				CHECK (sig_alg IN ('ed25519', 'ecdsa-p256', 'sm2')),
	public_key	bytea,
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE govledger.log IS
	'Logs: each ledger table belongs to one log, whose hash algorithm computes its leaves and whose key signs its checkpoints';

INSERT INTO govledger.log (log_id, name, hash_alg, sig_alg)
	VALUES (1, 'main', 'sha256', 'ed25519');

CREATE SEQUENCE govledger.log_id_seq START 2 OWNED BY govledger.log.log_id;
COMMENT ON SEQUENCE govledger.log_id_seq IS
	'Identifiers of logs created with govledger.create_log';

CREATE TABLE govledger.ledger (
	ledger_id	int PRIMARY KEY,
	relid		oid UNIQUE,
	name		text NOT NULL,
	log_id		int NOT NULL REFERENCES govledger.log (log_id),
	protected_at timestamptz NOT NULL,
	dropped_at	timestamptz
);
COMMENT ON TABLE govledger.ledger IS
	'Ledger tables: relid is NULL once the table was dropped through govledger.drop_ledger; name is the qualified name hashed into every entry';

CREATE SEQUENCE govledger.ledger_id_seq OWNED BY govledger.ledger.ledger_id;
COMMENT ON SEQUENCE govledger.ledger_id_seq IS
	'Identifiers of ledger tables';

CREATE SEQUENCE govledger.entry_id_seq CACHE 64;
COMMENT ON SEQUENCE govledger.entry_id_seq IS
	'Entry identifiers; each backend takes them in blocks, so ids are unique but not in commit order';

CREATE TABLE govledger.unsealed (
	entry_id	bigint NOT NULL,
	log_id		int NOT NULL,
	leaf_hash	bytea NOT NULL,
	ledger_id	int,
	recorded_at	timestamptz,
	db_role		text,
	subject		text
) WITH (vacuum_truncate = false);
COMMENT ON TABLE govledger.unsealed IS
	'Entries not yet sealed, appended by the insert trigger (the only write an insert makes besides the row itself; no index): who inserted the row and when, and the leaf hash H(0x00 || canonical bytes). The sealer takes what is committed and visible with DELETE ... RETURNING semantics (so late commits are never skipped) and moves the entry to govledger.entry_sealed. A row without ledger_id re-queues an entry whose metadata is already in govledger.entry_sealed. The background sealer vacuums it about once a second (never truncating it, which would make writers wait for a lock)';

CREATE TABLE govledger.entry_sealed (
	entry_id	bigint PRIMARY KEY,
	ledger_id	int NOT NULL,
	log_id		int NOT NULL,
	recorded_at	timestamptz NOT NULL,
	db_role		text NOT NULL,
	subject		text,
	leaf_hash	bytea NOT NULL,
	leaf_index	bigint NOT NULL
);
COMMENT ON TABLE govledger.entry_sealed IS
	'Sealed entries, moved here from govledger.unsealed by the sealer: who inserted the row and when, the leaf hash computed at insert, and where the entry is in its log''s tree (govledger.leaf, key (log_id, leaf_index)); the primary key makes sealing an entry twice impossible';

CREATE VIEW govledger.entry AS
	SELECT entry_id, ledger_id, log_id, recorded_at, db_role, subject, leaf_hash
	  FROM govledger.entry_sealed
	UNION ALL
	SELECT entry_id, ledger_id, log_id, recorded_at, db_role, subject, leaf_hash
	  FROM govledger.unsealed
	 WHERE ledger_id IS NOT NULL;
COMMENT ON VIEW govledger.entry IS
	'One row per inserted ledger row, sealed or not: who inserted it and when, and the leaf hash H(0x00 || canonical bytes) computed at insert';

GRANT USAGE ON SCHEMA govledger TO PUBLIC;
REVOKE ALL ON govledger.log, govledger.ledger, govledger.entry,
	govledger.entry_sealed, govledger.unsealed FROM PUBLIC;
GRANT SELECT ON govledger.log, govledger.ledger, govledger.entry,
	govledger.entry_sealed, govledger.unsealed TO PUBLIC;
