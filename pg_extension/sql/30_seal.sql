/*
 * 30_seal.sql
 *	  Sealing: the Merkle tree of each log (leaves and stored complete
 *	  subtrees), the chain of blocks with their signed checkpoints, and
 *	  the functions that seal, publish checkpoints and keys, and produce
 *	  and check proofs and receipts.
 *
 * The tables are written only by the C sealer, with direct heap inserts
 * under a per-log lock; everyone may read them (they hold hashes, never
 * row data).  Private keys never enter a table: they are files in
 * govledger.key_dir.
 */

CREATE TABLE govledger.leaf (
	log_id		int NOT NULL,
	leaf_index	bigint NOT NULL,
	entry_id	bigint NOT NULL,
	leaf_hash	bytea NOT NULL,
	CONSTRAINT leaf_pkey PRIMARY KEY (log_id, leaf_index)
);
COMMENT ON TABLE govledger.leaf IS
	'Sealed leaves in tree order: leaf leaf_index of log log_id is entry entry_id with leaf hash leaf_hash (level 0 of the tree); an entry finds its leaf through govledger.entry_sealed.leaf_index';

CREATE TABLE govledger.subtree (
	log_id		int NOT NULL,
	last_leaf	bigint NOT NULL,
	level		int NOT NULL,
	idx			bigint NOT NULL,
	hash		bytea NOT NULL,
	CONSTRAINT subtree_pkey PRIMARY KEY (log_id, last_leaf, level)
);
COMMENT ON TABLE govledger.subtree IS
	'Hashes of the complete subtrees of each log''s tree at levels 4 and up (those below are recomputed from at most 8 leaves): (level, idx) covers leaves [idx * 2^level, (idx + 1) * 2^level) and is complete once leaf last_leaf = (idx + 1) * 2^level - 1 is appended; keyed in that order, so sealing only ever appends to the index; proofs need O(log n) of them';

CREATE TABLE govledger.block (
	log_id		int NOT NULL,
	block_no	bigint NOT NULL,
	tree_size	bigint NOT NULL,
	root		bytea NOT NULL,
	prev_hash	bytea,
	sealed_at	timestamptz NOT NULL,
	block_hash	bytea NOT NULL,
	checkpoint	text NOT NULL,
	CONSTRAINT block_pkey PRIMARY KEY (log_id, block_no)
);
CREATE UNIQUE INDEX block_size_idx ON govledger.block (log_id, tree_size);
COMMENT ON TABLE govledger.block IS
	'One block per seal: tree size and root after it, hash of the previous block, time, block hash, and the signed checkpoint (C2SP signed note) of that tree';

REVOKE ALL ON govledger.leaf, govledger.subtree, govledger.block FROM PUBLIC;
GRANT SELECT ON govledger.leaf, govledger.subtree, govledger.block TO PUBLIC;

CREATE FUNCTION govledger.seal(log text DEFAULT 'main')
	RETURNS bigint
	AS 'MODULE_PATHNAME', 'govledger_seal' LANGUAGE C VOLATILE STRICT
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION govledger.seal(text) IS
	'Seals the committed entries of log not yet sealed (in entry id order within the batch) into its tree, writes a block with a signed checkpoint, and returns the tree size';
REVOKE ALL ON FUNCTION govledger.seal(text) FROM PUBLIC;

CREATE FUNCTION govledger.checkpoint(log text DEFAULT 'main')
	RETURNS text
	AS 'MODULE_PATHNAME', 'govledger_checkpoint' LANGUAGE C VOLATILE STRICT
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION govledger.checkpoint(text) IS
	'The latest signed checkpoint of log (C2SP tlog-checkpoint in a C2SP signed note); a signed empty-tree checkpoint before the first seal';

CREATE FUNCTION govledger.verifier_key(log text DEFAULT 'main')
	RETURNS text
	AS 'MODULE_PATHNAME', 'govledger_verifier_key' LANGUAGE C VOLATILE STRICT
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION govledger.verifier_key(text) IS
	'The public key of log as a C2SP verifier key string name+keyid+base64 (the key is generated in govledger.key_dir on first use)';

CREATE FUNCTION govledger.inclusion_proof(tbl regclass, entry_id bigint,
	tree_size bigint DEFAULT NULL)
	RETURNS jsonb
	AS 'MODULE_PATHNAME', 'govledger_inclusion_proof' LANGUAGE C STABLE;
COMMENT ON FUNCTION govledger.inclusion_proof(regclass, bigint, bigint) IS
	'RFC 9162 inclusion proof of an entry of tbl in its log''s tree at tree_size (default: the latest checkpoint): leaf_index, tree_size, leaf_hash, proof (hex), checkpoint';

CREATE FUNCTION govledger.consistency_proof(old_size bigint,
	new_size bigint DEFAULT NULL, log text DEFAULT 'main')
	RETURNS jsonb
	AS 'MODULE_PATHNAME', 'govledger_consistency_proof' LANGUAGE C STABLE;
COMMENT ON FUNCTION govledger.consistency_proof(bigint, bigint, text) IS
	'RFC 9162 consistency proof of log between tree sizes old_size and new_size (default: the latest checkpoint): old_size, new_size, proof (hex), checkpoint';

CREATE FUNCTION govledger.receipt(tbl regclass, entry_id bigint)
	RETURNS jsonb
	AS 'MODULE_PATHNAME', 'govledger_receipt' LANGUAGE C STABLE;
COMMENT ON FUNCTION govledger.receipt(regclass, bigint) IS
	'Everything needed to verify an entry offline (docs/receipt-format.md): canonical row, leaf hash, inclusion proof and the latest signed checkpoint';

CREATE FUNCTION govledger.verify_receipt(receipt jsonb, log_key text)
	RETURNS bool
	AS 'MODULE_PATHNAME', 'govledger_verify_receipt' LANGUAGE C IMMUTABLE STRICT;
COMMENT ON FUNCTION govledger.verify_receipt(jsonb, text) IS
	'Checks a receipt against a log''s verifier key string, as govledger-verify does; false (with a NOTICE naming the bad field) when it does not verify';

CREATE FUNCTION govledger.verify_checkpoint(checkpoint text,
	log text DEFAULT 'main')
	RETURNS bool
	AS 'MODULE_PATHNAME', 'govledger_verify_checkpoint' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION govledger.verify_checkpoint(text, text) IS
	'True when checkpoint is signed by log''s key and the log''s current tree, recomputed from its stored hashes, is an append-only extension of it; false with a NOTICE saying why otherwise';

CREATE FUNCTION govledger.await_sealed(tbl regclass, entry_id bigint,
	timeout interval DEFAULT '10 seconds')
	RETURNS bool
	AS 'MODULE_PATHNAME', 'govledger_await_sealed' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION govledger.await_sealed(regclass, bigint, interval) IS
	'Waits until the entry of tbl is sealed (true) or the timeout passes (false); needs the sealing worker or another session calling seal()';
