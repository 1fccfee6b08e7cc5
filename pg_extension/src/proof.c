/*-------------------------------------------------------------------------
 *
 * proof.c
 *	  Reading a log's tree from its stored hashes, and the SQL functions
 *	  that publish and check it: checkpoint, verifier_key,
 *	  inclusion_proof, consistency_proof, receipt, verify_receipt,
 *	  verify_checkpoint and await_sealed.
 *
 * A proof never walks the leaves: the shared Merkle code asks for the
 * hashes of O(log n) complete subtrees, each one index lookup in
 * govledger.leaf (level 0) or govledger.subtree (levels 1 and up).
 * Receipts and checkpoints are checked by the same code the offline
 * govledger-verify runs (src/common/receipt.c).
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/proof.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "common/buf.h"
#include "common/checkpoint.h"
#include "common/encode.h"
#include "common/merkle.h"
#include "common/note.h"
#include "common/receipt.h"
#include "govledger.h"
#include "seal.h"

extern PGDLLEXPORT Datum govledger_canonical(PG_FUNCTION_ARGS);

void
GovTreeReaderOpen(GovTreeReader *tr, const GovSealRels *rels, int32 log_id,
				  Snapshot snap)
{
	memset(tr, 0, sizeof(*tr));
	tr->rels = rels;
	tr->log_id = log_id;
	tr->snap = snap;
	{
		GovLog		log;

		if (!GovLogById(log_id, &log))
			elog(ERROR, "log %d does not exist", log_id);
		tr->hsize = log.hash->size;
		tr->hash = log.hash;
	}
	tr->leaf = table_open(rels->leaf, AccessShareLock);
	tr->subtree = table_open(rels->subtree, AccessShareLock);
	tr->leaf_idx = index_open(rels->leaf_pkey, AccessShareLock);
	tr->subtree_idx = index_open(rels->subtree_pkey, AccessShareLock);
	/* one scan per index, rescanned for each lookup */
	tr->leaf_scan = index_beginscan(tr->leaf, tr->leaf_idx, snap, 2, 0);
	tr->subtree_scan = index_beginscan(tr->subtree, tr->subtree_idx, snap, 3, 0);
	tr->leaf_slot = table_slot_create(tr->leaf, NULL);
	tr->subtree_slot = table_slot_create(tr->subtree, NULL);
}

void
GovTreeReaderClose(GovTreeReader *tr)
{
	index_endscan(tr->subtree_scan);
	index_endscan(tr->leaf_scan);
	ExecDropSingleTupleTableSlot(tr->subtree_slot);
	ExecDropSingleTupleTableSlot(tr->leaf_slot);
	index_close(tr->subtree_idx, AccessShareLock);
	index_close(tr->leaf_idx, AccessShareLock);
	table_close(tr->subtree, AccessShareLock);
	table_close(tr->leaf, AccessShareLock);
}

/*
 * GovTreeLookup
 *		GlSubtreeFn over the stored tree: the hash of complete subtree
 *		(level, index), from govledger.leaf for level 0, recomputed from
 *		its leaves below GOV_SUBTREE_MIN_LEVEL, and from govledger.subtree
 *		above (keyed by the subtree's last leaf).  Returns -1 when it is
 *		not stored.
 */
int
GovTreeLookup(void *arg, int level, uint64_t index, uint8_t *out)
{
	GovTreeReader *tr = arg;
	ScanKeyData key[3];
	IndexScanDesc scan;
	TupleTableSlot *slot;
	int			rc = -1;

	CHECK_FOR_INTERRUPTS();
	if (level > 0 && level < GOV_SUBTREE_MIN_LEVEL)
	{
		uint8		left[GL_HASH_MAX_SIZE];
		uint8		right[GL_HASH_MAX_SIZE];

		if (GovTreeLookup(arg, level - 1, index * 2, left) != 0 ||
			GovTreeLookup(arg, level - 1, index * 2 + 1, right) != 0)
			return -1;
		if (GlHashNode(tr->hash, left, right, out) != 0)
			elog(ERROR, "hashing failed");
		return 0;
	}
	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT4EQ,
				Int32GetDatum(tr->log_id));
	if (level == 0)
	{
		ScanKeyInit(&key[1], 2, BTEqualStrategyNumber, F_INT8EQ,
					Int64GetDatum((int64) index));
		scan = tr->leaf_scan;
		slot = tr->leaf_slot;
		index_rescan(scan, key, 2, NULL, 0);
	}
	else
	{
		/* subtree_pkey is (log_id, last_leaf, level) */
		ScanKeyInit(&key[1], 2, BTEqualStrategyNumber, F_INT8EQ,
					Int64GetDatum((int64) (((index + 1) << level) - 1)));
		ScanKeyInit(&key[2], 3, BTEqualStrategyNumber, F_INT4EQ,
					Int32GetDatum(level));
		scan = tr->subtree_scan;
		slot = tr->subtree_slot;
		index_rescan(scan, key, 3, NULL, 0);
	}
	if (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, level == 0 ? 4 : 5, &isnull);

		if (!isnull)
		{
			bytea	   *b = DatumGetByteaPP(d);

			if (VARSIZE_ANY_EXHDR(b) == tr->hsize)
			{
				memcpy(out, VARDATA_ANY(b), tr->hsize);
				rc = 0;
			}
		}
		ExecClearTuple(slot);
	}
	tr->lookups++;
	return rc;
}

/* Append a JSON array of n hex hashes. */
static void
append_hex_array(StringInfo s, const uint8 *hashes, int n, size_t hsize)
{
	char		hex[GL_HEX_LEN(GL_HASH_MAX_SIZE)];
	int			i;

	appendStringInfoChar(s, '[');
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(s, ',');
		GlHexEncode(hashes + (size_t) i * hsize, hsize, hex);
		appendStringInfo(s, "\"%s\"", hex);
	}
	appendStringInfoChar(s, ']');
}

static Datum
jsonb_from_text(StringInfo s)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(s->data));
}

/* The signed checkpoint of the empty tree, made on the fly. */
static char *
empty_checkpoint(const GovLog *log)
{
	uint8		root[GL_HASH_MAX_SIZE];
	GlBuf		body;
	GlBuf		note;
	const char *err = "";
	char	   *r;

	GlBufInit(&body);
	GlBufInit(&note);
	if (GlHashData(log->hash, "", 0, root) != 0 ||
		GlCheckpointFormat(&body, log->name, 0, root, log->hash->size, NULL, &err) != 0 ||
		GlNoteSign(body.data, body.len, GovLogSigner(log), 1, &note, &err) != 0)
	{
		GlBufFree(&body);
		GlBufFree(&note);
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not sign the empty checkpoint of log \"%s\": %s", log->name, err)));
	}
	r = pstrdup(note.data);
	GlBufFree(&body);
	GlBufFree(&note);
	return r;
}

/* SQL function: govledger.checkpoint(log text) returns text */
PG_FUNCTION_INFO_V1(govledger_checkpoint);

Datum
govledger_checkpoint(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	GovLog		log;
	GovSealRels rels;
	GovBlock	b;

	GovLogByName(name, &log, false);
	GovSealRelsLookup(&rels);
	GovLatestBlock(&rels, log.log_id, GetActiveSnapshot(), &b);
	if (b.exists)
		PG_RETURN_TEXT_P(cstring_to_text(b.checkpoint));
	PG_RETURN_TEXT_P(cstring_to_text(empty_checkpoint(&log)));
}

/* SQL function: govledger.verifier_key(log text) returns text */
PG_FUNCTION_INFO_V1(govledger_verifier_key);

Datum
govledger_verifier_key(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	GovLog		log;
	char		vkey[GL_VERIFIER_KEY_MAX];

	GovLogByName(name, &log, false);
	if (GlNoteKeyVerifierString(GovLogVerifier(&log), vkey, sizeof(vkey)) < 0)
		elog(ERROR, "could not encode the verifier key of log \"%s\"", log.name);
	PG_RETURN_TEXT_P(cstring_to_text(vkey));
}

/* Where an entry of a ledger table sits in its log's tree */
typedef struct SealedEntry
{
	GovLog		log;
	int64		leaf_index;
	uint8		leaf[GL_HASH_MAX_SIZE];
} SealedEntry;

/*
 * Find the sealed leaf of entry_id and check it belongs to relid's
 * ledger.  Returns false when not sealed (yet).
 */
static bool
find_sealed_entry(Oid relid, int64 entry_id, const GovSealRels *rels,
				  Snapshot snap, SealedEntry *se)
{
	GovLedger  *ledger = GovLookupLedger(relid, false);
	AclResult	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	Relation	entryrel;
	GovEntryRow e;
	Relation	rel;
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	/* proofs are about rows: only for those who may read the table */
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, get_rel_name(relid));
	entryrel = table_open(GovGetCatalog()->entry, AccessShareLock);
	if (!GovFetchEntry(entryrel, entry_id, snap, &e))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("entry " INT64_FORMAT " does not exist", entry_id)));
	table_close(entryrel, AccessShareLock);
	if (e.ledger_id != ledger->ledger_id)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("entry " INT64_FORMAT " does not belong to ledger \"%s\"",
						entry_id, ledger->name)));
	if (!GovLogById(e.log_id, &se->log))
		elog(ERROR, "log %d of entry " INT64_FORMAT " does not exist", e.log_id, entry_id);

	/* queued: not sealed yet */
	if (e.leaf_index < 0)
		return false;

	rel = table_open(rels->leaf, AccessShareLock);
	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(e.log_id));
	ScanKeyInit(&key[1], 2, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(e.leaf_index));
	scan = systable_beginscan(rel, rels->leaf_pkey, true, snap, 2, key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		bytea	   *b;

		if (DatumGetInt64(heap_getattr(tup, 3, RelationGetDescr(rel), &isnull)) != entry_id)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("leaf " INT64_FORMAT " of log \"%s\" does not hold entry " INT64_FORMAT ", which records it as its leaf",
							e.leaf_index, se->log.name, entry_id),
					 errhint("Run govledger.verify() to locate the damage.")));
		se->leaf_index = e.leaf_index;
		b = DatumGetByteaPP(heap_getattr(tup, 4, RelationGetDescr(rel), &isnull));
		if (VARSIZE_ANY_EXHDR(b) != se->log.hash->size)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("stored leaf of entry " INT64_FORMAT " has the wrong length", entry_id)));
		memcpy(se->leaf, VARDATA_ANY(b), se->log.hash->size);
		found = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Append the members of an inclusion proof of se at tree size 'size'
 * (whose block b holds the checkpoint) to s, without braces.
 */
static void
append_inclusion(StringInfo s, const GovSealRels *rels, const SealedEntry *se,
				 const GovBlock *b, Snapshot snap)
{
	GovTreeReader tr;
	uint8		proof[GL_MERKLE_MAX_PROOF * GL_HASH_MAX_SIZE];
	int			nproof = 0;
	char		hex[GL_HEX_LEN(GL_HASH_MAX_SIZE)];
	size_t		hsize = se->log.hash->size;
	int			rc;

	if (se->leaf_index >= b->tree_size)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("entry was sealed as leaf " INT64_FORMAT ", after tree size " INT64_FORMAT,
						se->leaf_index, b->tree_size)));
	GovTreeReaderOpen(&tr, rels, se->log.log_id, snap);
	rc = GlMerkleInclusionProof(se->log.hash, (uint64) se->leaf_index,
								(uint64) b->tree_size, GovTreeLookup, &tr,
								proof, &nproof);
	GovTreeReaderClose(&tr);
	if (rc != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored tree of log \"%s\" lacks hashes needed for the proof", se->log.name),
				 errhint("Run govledger.verify().")));
	appendStringInfoString(s, "\"checkpoint\":");
	escape_json(s, b->checkpoint);
	appendStringInfoString(s, ",\"hash_alg\":");
	escape_json(s, se->log.hash_alg);
	GlHexEncode(se->leaf, hsize, hex);
	appendStringInfo(s, ",\"leaf_hash\":\"%s\",\"leaf_index\":" INT64_FORMAT ",\"log\":",
					 hex, se->leaf_index);
	escape_json(s, se->log.name);
	appendStringInfoString(s, ",\"proof\":");
	append_hex_array(s, proof, nproof, hsize);
	appendStringInfo(s, ",\"tree_size\":" INT64_FORMAT, b->tree_size);
}

/* Block at 'size', or the latest when size_null; errors when none. */
static void
block_for(const GovSealRels *rels, const GovLog *log, bool size_null, int64 size,
		  Snapshot snap, GovBlock *b)
{
	if (size_null)
	{
		GovLatestBlock(rels, log->log_id, snap, b);
		if (!b->exists)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("log \"%s\" has not been sealed yet", log->name),
					 errhint("Call govledger.seal('%s').", log->name)));
	}
	else if (!GovBlockAtSize(rels, log->log_id, size, snap, b))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("log \"%s\" has no checkpoint at tree size " INT64_FORMAT,
						log->name, size)));
}

/* SQL function: govledger.inclusion_proof(tbl regclass, entry_id bigint, tree_size bigint) returns jsonb */
PG_FUNCTION_INFO_V1(govledger_inclusion_proof);

Datum
govledger_inclusion_proof(PG_FUNCTION_ARGS)
{
	Oid			relid;
	int64		entry_id;
	GovSealRels rels;
	SealedEntry se;
	GovBlock	b;
	StringInfoData s;
	Snapshot	snap = GetActiveSnapshot();

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tbl and entry_id of govledger.inclusion_proof() must not be NULL")));
	relid = PG_GETARG_OID(0);
	entry_id = PG_GETARG_INT64(1);
	GovSealRelsLookup(&rels);
	if (!find_sealed_entry(relid, entry_id, &rels, snap, &se))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("entry " INT64_FORMAT " is not sealed yet", entry_id)));
	block_for(&rels, &se.log, PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2),
			  snap, &b);
	initStringInfo(&s);
	appendStringInfoChar(&s, '{');
	append_inclusion(&s, &rels, &se, &b, snap);
	appendStringInfoChar(&s, '}');
	PG_RETURN_DATUM(jsonb_from_text(&s));
}

/* SQL function: govledger.consistency_proof(old_size bigint, new_size bigint, log text) returns jsonb */
PG_FUNCTION_INFO_V1(govledger_consistency_proof);

Datum
govledger_consistency_proof(PG_FUNCTION_ARGS)
{
	int64		old_size;
	int64		new_size;
	GovLog		log;
	GovSealRels rels;
	GovBlock	latest;
	GovBlock	b;
	GovTreeReader tr;
	uint8		proof[GL_MERKLE_MAX_PROOF * GL_HASH_MAX_SIZE];
	int			nproof = 0;
	int			rc;
	StringInfoData s;
	Snapshot	snap = GetActiveSnapshot();

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("old_size and log of govledger.consistency_proof() must not be NULL")));
	old_size = PG_GETARG_INT64(0);
	GovLogByName(text_to_cstring(PG_GETARG_TEXT_PP(2)), &log, false);
	GovSealRelsLookup(&rels);
	block_for(&rels, &log, true, 0, snap, &latest);
	new_size = PG_ARGISNULL(1) ? latest.tree_size : PG_GETARG_INT64(1);
	if (old_size < 0 || old_size > new_size || new_size > latest.tree_size)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("need 0 <= old_size <= new_size <= " INT64_FORMAT " (the size of log \"%s\"), got " INT64_FORMAT " and " INT64_FORMAT,
						latest.tree_size, log.name, old_size, new_size)));
	GovTreeReaderOpen(&tr, &rels, log.log_id, snap);
	rc = GlMerkleConsistencyProof(log.hash, (uint64) old_size, (uint64) new_size,
								  GovTreeLookup, &tr, proof, &nproof);
	GovTreeReaderClose(&tr);
	if (rc != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored tree of log \"%s\" lacks hashes needed for the proof", log.name),
				 errhint("Run govledger.verify().")));
	initStringInfo(&s);
	appendStringInfoString(&s, "{\"checkpoint\":");
	if (GovBlockAtSize(&rels, log.log_id, new_size, snap, &b))
		escape_json(&s, b.checkpoint);
	else
		appendStringInfoString(&s, "null");
	appendStringInfoString(&s, ",\"log\":");
	escape_json(&s, log.name);
	appendStringInfo(&s, ",\"new_size\":" INT64_FORMAT ",\"old_size\":" INT64_FORMAT ",\"proof\":",
					 new_size, old_size);
	append_hex_array(&s, proof, nproof, log.hash->size);
	appendStringInfoChar(&s, '}');
	PG_RETURN_DATUM(jsonb_from_text(&s));
}

/* SQL function: govledger.receipt(tbl regclass, entry_id bigint) returns jsonb */
PG_FUNCTION_INFO_V1(govledger_receipt);

Datum
govledger_receipt(PG_FUNCTION_ARGS)
{
	Oid			relid;
	int64		entry_id;
	GovSealRels rels;
	SealedEntry se;
	GovBlock	b;
	GovLedger  *ledger;
	text	   *canonical;
	StringInfoData s;
	Snapshot	snap = GetActiveSnapshot();

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("arguments of govledger.receipt() must not be NULL")));
	relid = PG_GETARG_OID(0);
	entry_id = PG_GETARG_INT64(1);
	GovSealRelsLookup(&rels);
	if (!find_sealed_entry(relid, entry_id, &rels, snap, &se))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("entry " INT64_FORMAT " is not sealed yet", entry_id),
				 errhint("Wait with govledger.await_sealed() or call govledger.seal().")));
	block_for(&rels, &se.log, true, 0, snap, &b);
	ledger = GovLookupLedger(relid, false);
	canonical = DatumGetTextPP(DirectFunctionCall2(govledger_canonical,
												   ObjectIdGetDatum(relid),
												   Int64GetDatum(entry_id)));
	initStringInfo(&s);
	appendStringInfoString(&s, "{\"canonical\":");
	escape_json(&s, text_to_cstring(canonical));
	appendStringInfo(&s, ",\"entry_id\":" INT64_FORMAT ",\"format\":\"%s\",\"ledger\":",
					 entry_id, GL_RECEIPT_FORMAT);
	escape_json(&s, ledger->name);
	appendStringInfoChar(&s, ',');
	append_inclusion(&s, &rels, &se, &b, snap);
	appendStringInfoChar(&s, '}');
	PG_RETURN_DATUM(jsonb_from_text(&s));
}

/* SQL function: govledger.verify_receipt(receipt jsonb, log_key text) returns bool */
PG_FUNCTION_INFO_V1(govledger_verify_receipt);

Datum
govledger_verify_receipt(PG_FUNCTION_ARGS)
{
	char	   *json = DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(0)));
	char	   *vkey = text_to_cstring(PG_GETARG_TEXT_PP(1));
	GlNoteKey	key;
	const char *kerr = "";
	GlReceiptInfo info;
	char		err[512];
	int			rc;

	if (GlNoteKeyParseVerifier(&key, vkey, strlen(vkey), &kerr) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid verifier key: %s", kerr)));
	rc = GlReceiptVerify(json, strlen(json), &key, &info, err, sizeof(err));
	GlNoteKeyFree(&key);
	if (rc < 0)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("receipt verification failed inside OpenSSL: %s", err)));
	if (rc != 0)
	{
		ereport(NOTICE,
				(errmsg("receipt does not verify: %s", err)));
		PG_RETURN_BOOL(false);
	}
	PG_RETURN_BOOL(true);
}

/* SQL function: govledger.verify_checkpoint(checkpoint text, log text) returns bool */
PG_FUNCTION_INFO_V1(govledger_verify_checkpoint);

Datum
govledger_verify_checkpoint(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	GovLog		log;
	GovSealRels rels;
	GovBlock	latest;
	GlCheckpoint cp;
	char		err[512];
	GovTreeReader tr;
	uint8		root[GL_HASH_MAX_SIZE];
	uint8		proof[GL_MERKLE_MAX_PROOF * GL_HASH_MAX_SIZE];
	int			nproof = 0;
	int			rc;
	Snapshot	snap = GetActiveSnapshot();
	const char *why = NULL;

	GovLogByName(name, &log, false);
	rc = GlCheckpointVerify(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), GovLogVerifier(&log),
							log.hash->size, log.name, &cp, "checkpoint", err, sizeof(err));
	if (rc < 0)
		elog(ERROR, "checkpoint verification failed inside OpenSSL: %s", err);
	if (rc != 0)
	{
		ereport(NOTICE, (errmsg("checkpoint does not verify: %s", err)));
		PG_RETURN_BOOL(false);
	}
	GovSealRelsLookup(&rels);
	GovLatestBlock(&rels, log.log_id, snap, &latest);
	if (!latest.exists)
		latest.tree_size = 0;
	if ((int64) cp.size > latest.tree_size || cp.size > (uint64) PG_INT64_MAX)
		why = "the checkpoint is for a larger tree than the log now has: entries were removed";
	else
	{
		GovTreeReaderOpen(&tr, &rels, log.log_id, snap);
		rc = GlMerkleRoot(log.hash, (uint64) latest.tree_size, GovTreeLookup, &tr, root);
		if (rc == 0 && latest.exists && memcmp(root, latest.root, log.hash->size) != 0)
			why = "the stored tree does not match the log's latest block";
		else if (rc == 0)
			rc = GlMerkleConsistencyProof(log.hash, cp.size, (uint64) latest.tree_size,
										  GovTreeLookup, &tr, proof, &nproof);
		GovTreeReaderClose(&tr);
		if (why == NULL && rc != 0)
			why = "the stored tree lacks hashes of its complete subtrees";
		else if (why == NULL &&
				 GlMerkleVerifyConsistency(log.hash, cp.size, (uint64) latest.tree_size,
										   cp.root, root, proof, nproof) != 0)
			why = "the log's current tree is not an append-only extension of the checkpoint: its history was rewritten";
	}
	if (why != NULL)
	{
		ereport(NOTICE,
				(errmsg("checkpoint of size " UINT64_FORMAT " does not verify against log \"%s\" (size " INT64_FORMAT "): %s",
						cp.size, log.name, latest.tree_size, why)));
		PG_RETURN_BOOL(false);
	}
	PG_RETURN_BOOL(true);
}

/*
 * Is the entry sealed?  Errors when it belongs to another ledger or was
 * inserted by the calling transaction itself (it cannot be sealed before
 * that commits).
 */
static bool
entry_sealed_now(Oid relid, int64 entry_id)
{
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	Relation	rel = table_open(GovGetCatalog()->entry, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found;

	/* the sealer writes the sealed entry and its leaf in one transaction */
	ScanKeyInit(&key, Anum_gov_entry_entry_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum(entry_id));
	scan = systable_beginscan(rel, GovGetCatalog()->entry_pkey, true, snap, 1, &key);
	tup = systable_getnext(scan);
	found = HeapTupleIsValid(tup);
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!found)
	{
		/* not sealed: is it queued by this very transaction? */
		Relation	entryrel = table_open(GovGetCatalog()->unsealed, AccessShareLock);

		ScanKeyInit(&key, Anum_gov_unsealed_entry_id, BTEqualStrategyNumber,
					F_INT8EQ, Int64GetDatum(entry_id));
		scan = systable_beginscan(entryrel, InvalidOid, false,
								  SnapshotSelf, 1, &key);
		tup = systable_getnext(scan);
		if (HeapTupleIsValid(tup) &&
			TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup->t_data)))
		{
			systable_endscan(scan);
			table_close(entryrel, AccessShareLock);
			UnregisterSnapshot(snap);
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("entry " INT64_FORMAT " was inserted by this transaction and cannot be sealed before it commits",
							entry_id)));
		}
		systable_endscan(scan);
		table_close(entryrel, AccessShareLock);
	}
	UnregisterSnapshot(snap);
	(void) relid;
	return found;
}

/* SQL function: govledger.await_sealed(tbl regclass, entry_id bigint, timeout interval) returns bool */
PG_FUNCTION_INFO_V1(govledger_await_sealed);

Datum
govledger_await_sealed(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	int64		entry_id = PG_GETARG_INT64(1);
	Interval   *timeout = PG_GETARG_INTERVAL_P(2);
	TimestampTz deadline;
	int64		usecs;

	(void) GovLookupLedger(relid, false);
	{
		AclResult	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);

		if (acl != ACLCHECK_OK)
			aclcheck_error(acl, OBJECT_TABLE, get_rel_name(relid));
	}
	usecs = timeout->time + (int64) timeout->day * USECS_PER_DAY +
		(int64) timeout->month * 30 * USECS_PER_DAY;
	if (usecs < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout of govledger.await_sealed() must not be negative")));
	deadline = GetCurrentTimestamp() + usecs;
	for (;;)
	{
		long		left;

		if (entry_sealed_now(relid, entry_id))
			PG_RETURN_BOOL(true);
		left = (long) ((deadline - GetCurrentTimestamp()) / 1000);
		if (left <= 0)
			PG_RETURN_BOOL(false);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(left, 5L), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}
