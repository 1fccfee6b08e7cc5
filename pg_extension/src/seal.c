/*-------------------------------------------------------------------------
 *
 * seal.c
 *	  Sealing committed entries into a log's Merkle tree and writing the
 *	  signed block that commits to it: govledger.seal().
 *
 * One sealer per log at a time: a transaction-scoped advisory lock on
 * (GOV_SEAL_LOCK, log_id) is taken first (the background worker only
 * tries it, govledger.seal() waits for it).  Everything after the lock
 * reads through one fresh snapshot, so a seal always starts from the
 * state the previous sealer committed.
 *
 * The entries to seal are exactly the rows of govledger.unsealed for the
 * log that are committed and visible to that snapshot; they are deleted
 * as they are read, like DELETE ... RETURNING, and their metadata moved
 * to govledger.entry_sealed in the same transaction, with the index of
 * the entry's leaf; so an entry whose transaction commits late is simply
 * found by a later seal: nothing is selected by id range, nothing is
 * skipped, and the primary key of govledger.entry_sealed makes sealing
 * an entry twice impossible.  Within one batch the leaves are appended
 * in entry id order.  Each sealed entry costs two rows (the entry and
 * its leaf) and two index entries (their primary keys).
 *
 * Before appending, the right edge of the tree is loaded from the stored
 * complete subtrees and its root compared with the last block's root: a
 * log whose stored tree no longer matches its last signed checkpoint is
 * never extended or signed again, so the log never signs a checkpoint
 * inconsistent with an earlier one.  Leaves and newly complete subtrees
 * are written with direct multi-row heap inserts and index inserts (no
 * SPI per row).  The whole seal is one transaction: after a crash either
 * all of it or none of it is there.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/seal.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "common/buf.h"
#include "common/checkpoint.h"
#include "common/encode.h"
#include "common/merkle.h"
#include "common/note.h"
#include "govledger.h"
#include "seal.h"

/*
 * Most entries one block takes, bounding the sealer's memory (about 200
 * bytes an entry with its metadata, more for long subjects); seal() writes
 * as many blocks as it needs.
 */
#define GOV_SEAL_BATCH_MAX	250000

/* first key of the advisory lock that serialises sealers of a log */
#define GOV_SEAL_LOCK		0x676c6472	/* "gldr" */

#define Anum_gov_log_sig_alg	4

/* column numbers of the sealing tables (sql/30_seal.sql) */
#define Natts_leaf		4
#define Natts_subtree	5
#define Natts_block		8

/* Rows buffered for one heap_multi_insert() */
#define BULK_BUFFER_ROWS	1000

/*
 * A relation opened for many direct inserts, with its indexes.  Rows are
 * buffered and written BULK_BUFFER_ROWS at a time with heap_multi_insert()
 * (one WAL record and one buffer lock a page, not a row), then indexed.
 */
typedef struct BulkRel
{
	Relation	rel;
	int			nidx;
	Relation	idx[4];
	IndexInfo  *info[4];
	BulkInsertState bis;
	CommandId	cid;
	TupleTableSlot *slots[BULK_BUFFER_ROWS];
	int			nbuffered;
	MemoryContext cxt;			/* scratch, reset at each flush */
	MemoryContext slot_cxt;		/* the slots: that of bulk_open() */
	TupleDesc	slot_desc;		/* unpinned copy: slots cost no resource owner work */
} BulkRel;

/*
 * An entry taken from the queue, with its metadata (the texts detoasted
 * copies in the batch's context), written to govledger.entry_sealed once
 * its leaf index is known.  Without metadata (ledger_id NULL in the
 * queue) it re-queues an entry already in govledger.entry_sealed.
 */
typedef struct Pending
{
	int64		entry_id;
	int			slot;			/* its hash in the taken order */
	bool		has_meta;
	bool		recorded_at_null;
	int32		ledger_id;
	TimestampTz recorded_at;
	text	   *db_role;		/* NULL when NULL */
	text	   *subject;		/* NULL when NULL */
} Pending;

/* The entries one seal takes, sorted by entry id */
typedef struct TakenEntries
{
	int			n;
	Pending    *pend;
	uint8	   *hashes;			/* n hashes, in sorted order */
	MemoryContext meta_cxt;		/* the entries' texts */
} TakenEntries;

/* State of one seal while leaves are appended */
typedef struct SealState
{
	const GovLog *log;
	uint64		first_index;	/* leaf index of entries[0] */
	const Pending *pend;		/* the batch's entries, in leaf order */
	uint8	   *hashes;
	BulkRel		leaf;
	BulkRel		subtree;
	MemoryContext tmp;
} SealState;

void
GovSealRelsLookup(GovSealRels *r)
{
	Oid			nsp = GovGetCatalog()->nsp;

#define LOOKUP(field, name) \
	do { \
		r->field = get_relname_relid(name, nsp); \
		if (!OidIsValid(r->field)) \
			ereport(ERROR, \
					(errcode(ERRCODE_UNDEFINED_TABLE), \
					 errmsg("govledger relation \"%s\" is missing", name), \
					 errhint("Reinstall the govledger extension."))); \
	} while (0)
	LOOKUP(leaf, "leaf");
	LOOKUP(leaf_pkey, "leaf_pkey");
	LOOKUP(subtree, "subtree");
	LOOKUP(subtree_pkey, "subtree_pkey");
	LOOKUP(block, "block");
	LOOKUP(block_pkey, "block_pkey");
	LOOKUP(block_size, "block_size_idx");
#undef LOOKUP
}

/* Fill log from a govledger.log tuple. */
static void
log_from_tuple(HeapTuple tup, TupleDesc desc, GovLog *log)
{
	bool		isnull;

	memset(log, 0, sizeof(*log));
	log->log_id = DatumGetInt32(heap_getattr(tup, Anum_gov_log_log_id, desc, &isnull));
	strlcpy(log->name, TextDatumGetCString(heap_getattr(tup, Anum_gov_log_name, desc, &isnull)),
			sizeof(log->name));
	strlcpy(log->hash_alg, TextDatumGetCString(heap_getattr(tup, Anum_gov_log_hash_alg, desc, &isnull)),
			sizeof(log->hash_alg));
	strlcpy(log->sig_alg, TextDatumGetCString(heap_getattr(tup, Anum_gov_log_sig_alg, desc, &isnull)),
			sizeof(log->sig_alg));
	log->hash = GovGetHash(log->hash_alg);
}

/* Find a log by name or id through a scan of govledger.log. */
static bool
find_log(const char *name, int32 log_id, GovLog *log)
{
	Relation	rel = table_open(GovGetCatalog()->log, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	if (name != NULL)
		ScanKeyInit(&key, Anum_gov_log_name, BTEqualStrategyNumber, F_TEXTEQ,
					CStringGetTextDatum(name));
	else
		ScanKeyInit(&key, Anum_gov_log_log_id, BTEqualStrategyNumber, F_INT4EQ,
					Int32GetDatum(log_id));
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		log_from_tuple(tup, RelationGetDescr(rel), log);
		found = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * GovLogByName
 *		Look up a log; error when missing unless missing_ok.
 */
bool
GovLogByName(const char *name, GovLog *log, bool missing_ok)
{
	if (find_log(name, 0, log))
		return true;
	if (!missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("log \"%s\" does not exist", name)));
	return false;
}

bool
GovLogById(int32 log_id, GovLog *log)
{
	return find_log(NULL, log_id, log);
}

/* Copy a bytea hash of exactly the log's hash size into out. */
static void
hash_from_datum(Datum d, size_t size, uint8 *out, const char *what)
{
	bytea	   *b = DatumGetByteaPP(d);

	if (VARSIZE_ANY_EXHDR(b) != size)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored %s has %d bytes, expected %d",
						what, (int) VARSIZE_ANY_EXHDR(b), (int) size)));
	memcpy(out, VARDATA_ANY(b), size);
}

/* Fill b from a block tuple. */
static void
block_from_tuple(HeapTuple tup, TupleDesc desc, size_t hsize, GovBlock *b)
{
	bool		isnull;

	b->exists = true;
	b->block_no = DatumGetInt64(heap_getattr(tup, 2, desc, &isnull));
	b->tree_size = DatumGetInt64(heap_getattr(tup, 3, desc, &isnull));
	hash_from_datum(heap_getattr(tup, 4, desc, &isnull), hsize, b->root, "block root");
	hash_from_datum(heap_getattr(tup, 7, desc, &isnull), hsize, b->block_hash, "block hash");
	b->checkpoint = TextDatumGetCString(heap_getattr(tup, 8, desc, &isnull));
}

/*
 * GovLatestBlock
 *		The block with the highest number of the log, as seen by snap.
 */
void
GovLatestBlock(const GovSealRels *r, int32 log_id, Snapshot snap, GovBlock *b)
{
	Relation	rel = table_open(r->block, AccessShareLock);
	Relation	idx = index_open(r->block_pkey, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	GovLog		log;

	memset(b, 0, sizeof(*b));
	if (!GovLogById(log_id, &log))
		elog(ERROR, "log %d does not exist", log_id);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(log_id));
	scan = systable_beginscan_ordered(rel, idx, snap, 1, &key);
	tup = systable_getnext_ordered(scan, BackwardScanDirection);
	if (HeapTupleIsValid(tup))
		block_from_tuple(tup, RelationGetDescr(rel), log.hash->size, b);
	systable_endscan_ordered(scan);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
}

/*
 * GovBlockAtSize
 *		The block of the log whose tree has 'size' leaves, if any.
 */
bool
GovBlockAtSize(const GovSealRels *r, int32 log_id, int64 size, Snapshot snap,
			   GovBlock *b)
{
	Relation	rel = table_open(r->block, AccessShareLock);
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	GovLog		log;

	memset(b, 0, sizeof(*b));
	if (!GovLogById(log_id, &log))
		elog(ERROR, "log %d does not exist", log_id);
	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(log_id));
	ScanKeyInit(&key[1], 3, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(size));
	scan = systable_beginscan(rel, r->block_size, true, snap, 2, key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		block_from_tuple(tup, RelationGetDescr(rel), log.hash->size, b);
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return b->exists;
}

/*
 * GovBlockHash
 *		H(0x02 || text) where text is the JCS object, every value a
 *		string: {"block","log","prev","root","sealed_at_us","size","v"}
 *		(hex hashes, prev "" for the first block, sealed_at_us the
 *		microseconds since 1970-01-01 UTC).  docs/sealing.md documents it.
 */
void
GovBlockHash(const GovLog *log, int64 block_no, int64 tree_size,
			 const uint8 *root, const uint8 *prev, TimestampTz at, uint8 *out)
{
	StringInfoData s;
	char		hex[GL_HEX_LEN(GL_HASH_MAX_SIZE)];
	int64		unix_us = at + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

	initStringInfo(&s);
	appendStringInfoChar(&s, 0x02);
	appendStringInfo(&s, "{\"block\":\"" INT64_FORMAT "\",\"log\":", block_no);
	GovJsonString(&s, log->name, strlen(log->name));
	appendStringInfoString(&s, ",\"prev\":\"");
	if (prev)
	{
		GlHexEncode(prev, log->hash->size, hex);
		appendStringInfoString(&s, hex);
	}
	GlHexEncode(root, log->hash->size, hex);
	appendStringInfo(&s, "\",\"root\":\"%s\",\"sealed_at_us\":\"" INT64_FORMAT
					 "\",\"size\":\"" INT64_FORMAT "\",\"v\":\"1\"}",
					 hex, unix_us, tree_size);
	if (GlHashData(log->hash, s.data, s.len, out) != 0)
		elog(ERROR, "hashing failed");
	pfree(s.data);
}

static void
bulk_open(BulkRel *b, Oid relid)
{
	List	   *indexes;
	ListCell   *lc;

	memset(b, 0, sizeof(*b));
	b->rel = table_open(relid, RowExclusiveLock);
	indexes = RelationGetIndexList(b->rel);
	foreach(lc, indexes)
	{
		if (b->nidx >= 4)
			elog(ERROR, "too many indexes on \"%s\"", RelationGetRelationName(b->rel));
		b->idx[b->nidx] = index_open(lfirst_oid(lc), RowExclusiveLock);
		b->info[b->nidx] = BuildIndexInfo(b->idx[b->nidx]);
		if (b->info[b->nidx]->ii_Expressions != NIL ||
			b->info[b->nidx]->ii_Predicate != NIL)
			elog(ERROR, "index \"%s\" is not a plain column index",
				 RelationGetRelationName(b->idx[b->nidx]));
		b->nidx++;
	}
	list_free(indexes);
	b->bis = GetBulkInsertState();
	b->cid = GetCurrentCommandId(true);
	b->slot_cxt = CurrentMemoryContext;
	b->slot_desc = CreateTupleDescCopy(RelationGetDescr(b->rel));
	b->cxt = AllocSetContextCreate(CurrentMemoryContext, "govledger bulk insert",
								   ALLOCSET_DEFAULT_SIZES);
}

/*
 * Write the buffered rows, then their index entries.  Callers buffer rows
 * in key order (leaves, subtrees and sealed entries all are), so that the
 * indexes take their entries mostly on their rightmost pages.
 */
static void
bulk_flush(BulkRel *b)
{
	int			n = b->nbuffered;
	int			r;
	MemoryContext old;

	if (n == 0)
		return;
	/* what the inserts allocate goes with the reset below */
	old = MemoryContextSwitchTo(b->cxt);
	heap_multi_insert(b->rel, b->slots, n, b->cid, 0, b->bis);
	for (r = 0; r < n; r++)
	{
		TupleTableSlot *slot = b->slots[r];
		int			i;

		slot_getallattrs(slot);
		for (i = 0; i < b->nidx; i++)
		{
			Datum		iv[INDEX_MAX_KEYS];
			bool		in[INDEX_MAX_KEYS];
			int			k;

			for (k = 0; k < b->info[i]->ii_NumIndexAttrs; k++)
			{
				AttrNumber	a = b->info[i]->ii_IndexAttrNumbers[k];

				iv[k] = slot->tts_values[a - 1];
				in[k] = slot->tts_isnull[a - 1];
			}
			index_insert(b->idx[i], iv, in, &slot->tts_tid, b->rel,
						 b->info[i]->ii_Unique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
						 false, b->info[i]);
		}
		ExecClearTuple(slot);
	}
	MemoryContextSwitchTo(old);
	b->nbuffered = 0;
	MemoryContextReset(b->cxt);
}

static void
bulk_insert(BulkRel *b, Datum *values, bool *nulls)
{
	MemoryContext old;
	TupleTableSlot *slot;
	Datum	   *local = values;
	int			i;

	if (b->nbuffered == BULK_BUFFER_ROWS)
		bulk_flush(b);
	if (b->slots[b->nbuffered] == NULL)
	{
		old = MemoryContextSwitchTo(b->slot_cxt);
		b->slots[b->nbuffered] = MakeSingleTupleTableSlot(b->slot_desc,
														  &TTSOpsHeapTuple);
		MemoryContextSwitchTo(old);
	}
	slot = b->slots[b->nbuffered++];

	/*
	 * Values read from another table may point into its TOAST table; take
	 * the data now, before the caller goes on (and deletes that row).  The
	 * row is formed in the slot's own context and freed when it is
	 * cleared after the flush.
	 */
	old = MemoryContextSwitchTo(b->cxt);
	for (i = 0; i < b->slot_desc->natts; i++)
	{
		if (!nulls[i] && TupleDescAttr(b->slot_desc, i)->attlen == -1 &&
			VARATT_IS_EXTERNAL(DatumGetPointer(values[i])))
		{
			if (local == values)
			{
				local = palloc(sizeof(Datum) * b->slot_desc->natts);
				memcpy(local, values, sizeof(Datum) * b->slot_desc->natts);
			}
			local[i] = PointerGetDatum(detoast_external_attr((struct varlena *)
															 DatumGetPointer(values[i])));
		}
	}
	MemoryContextSwitchTo(slot->tts_mcxt);
	ExecStoreHeapTuple(heap_form_tuple(b->slot_desc, local, nulls), slot, true);
	MemoryContextSwitchTo(old);
}

static void
bulk_close(BulkRel *b)
{
	int			i;

	bulk_flush(b);
	for (i = 0; i < BULK_BUFFER_ROWS && b->slots[i] != NULL; i++)
		ExecDropSingleTupleTableSlot(b->slots[i]);
	FreeTupleDesc(b->slot_desc);
	MemoryContextDelete(b->cxt);
	FreeBulkInsertState(b->bis);
	for (i = 0; i < b->nidx; i++)
		index_close(b->idx[i], RowExclusiveLock);
	table_close(b->rel, RowExclusiveLock);
}

/* A bytea datum of n bytes (in the current memory context). */
static Datum
bytea_datum(const uint8 *p, size_t n)
{
	bytea	   *b = palloc(VARHDRSZ + n);

	SET_VARSIZE(b, VARHDRSZ + n);
	memcpy(VARDATA(b), p, n);
	return PointerGetDatum(b);
}

/*
 * Frontier callback: store each newly complete subtree from level
 * GOV_SUBTREE_MIN_LEVEL up; level 0 is the leaf itself, stored with its
 * entry in govledger.leaf.
 */
static int
store_subtree(void *arg, int level, uint64_t index, const uint8_t *hash)
{
	SealState  *st = arg;
	MemoryContext old = MemoryContextSwitchTo(st->tmp);
	size_t		hsize = st->log->hash->size;

	if (level == 0)
	{
		Datum		values[Natts_leaf];
		bool		nulls[Natts_leaf] = {false, false, false, false};

		values[0] = Int32GetDatum(st->log->log_id);
		values[1] = Int64GetDatum((int64) index);
		values[2] = Int64GetDatum(st->pend[index - st->first_index].entry_id);
		values[3] = bytea_datum(hash, hsize);
		bulk_insert(&st->leaf, values, nulls);
	}
	else if (level >= GOV_SUBTREE_MIN_LEVEL)
	{
		Datum		values[Natts_subtree];
		bool		nulls[Natts_subtree] = {false, false, false, false, false};

		values[0] = Int32GetDatum(st->log->log_id);
		values[1] = Int64GetDatum((int64) (((index + 1) << level) - 1));
		values[2] = Int32GetDatum(level);
		values[3] = Int64GetDatum((int64) index);
		values[4] = bytea_datum(hash, hsize);
		bulk_insert(&st->subtree, values, nulls);
	}
	MemoryContextSwitchTo(old);
	return 0;
}

static int
pending_cmp(const void *a, const void *b)
{
	int64		x = ((const Pending *) a)->entry_id;
	int64		y = ((const Pending *) b)->entry_id;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * Take the committed unsealed entries of the log: scan govledger.unsealed
 * with snap and delete what belongs to the log, keeping each entry's
 * metadata for write_sealed_entries().  At most GOV_SEAL_BATCH_MAX
 * entries are taken; the rest stay queued for the next block.  An entry
 * queued twice is refused: it would be sealed twice.
 */
static void
take_unsealed(const GovLog *log, Snapshot snap, TakenEntries *t)
{
	Relation	rel = table_open(GovGetCatalog()->unsealed, RowExclusiveLock);
	TableScanDesc scan = table_beginscan(rel, snap, 0, NULL);
	TupleDesc	desc = RelationGetDescr(rel);
	HeapTuple	tup;
	int			n = 0;
	int			cap = 1024;
	Pending    *pend = palloc(sizeof(Pending) * cap);
	uint8	   *raw = palloc(cap * log->hash->size);
	size_t		hsize = log->hash->size;
	int			i;
	Datum		uv[Natts_gov_unsealed];
	bool		un[Natts_gov_unsealed];

	t->meta_cxt = AllocSetContextCreate(CurrentMemoryContext, "govledger taken entries",
										ALLOCSET_DEFAULT_SIZES);
	while (n < GOV_SEAL_BATCH_MAX &&
		   (tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Pending    *p;

		if (DatumGetInt32(heap_getattr(tup, Anum_gov_unsealed_log_id, desc, &isnull)) != log->log_id)
			continue;
		if (n == cap)
		{
			cap *= 2;
			pend = repalloc_huge(pend, sizeof(Pending) * cap);
			raw = repalloc_huge(raw, cap * hsize);
		}
		heap_deform_tuple(tup, desc, uv, un);
		hash_from_datum(uv[Anum_gov_unsealed_leaf_hash - 1],
						hsize, raw + (size_t) n * hsize, "unsealed leaf hash");
		p = &pend[n];
		memset(p, 0, sizeof(*p));
		p->entry_id = DatumGetInt64(uv[Anum_gov_unsealed_entry_id - 1]);
		p->slot = n;
		p->has_meta = !un[Anum_gov_unsealed_ledger_id - 1];
		if (p->has_meta)
		{
			/* the queue row goes below: keep copies of its texts */
			MemoryContext old = MemoryContextSwitchTo(t->meta_cxt);

			p->ledger_id = DatumGetInt32(uv[Anum_gov_unsealed_ledger_id - 1]);
			p->recorded_at_null = un[Anum_gov_unsealed_recorded_at - 1];
			if (!p->recorded_at_null)
				p->recorded_at = DatumGetTimestampTz(uv[Anum_gov_unsealed_recorded_at - 1]);
			if (!un[Anum_gov_unsealed_db_role - 1])
				p->db_role = DatumGetTextPCopy(uv[Anum_gov_unsealed_db_role - 1]);
			if (!un[Anum_gov_unsealed_subject - 1])
				p->subject = DatumGetTextPCopy(uv[Anum_gov_unsealed_subject - 1]);
			MemoryContextSwitchTo(old);
		}
		simple_heap_delete(rel, &tup->t_self);
		n++;
		CHECK_FOR_INTERRUPTS();
	}
	table_endscan(scan);
	/* held until the end of the transaction, like any DML lock */
	table_close(rel, NoLock);

	qsort(pend, n, sizeof(Pending), pending_cmp);
	for (i = 1; i < n; i++)
		if (pend[i].entry_id == pend[i - 1].entry_id)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("entry " INT64_FORMAT " is queued twice in log \"%s\"",
							pend[i].entry_id, log->name),
					 errhint("Delete one of its rows from govledger.unsealed; govledger.verify() names the damage.")));
	t->n = n;
	t->pend = pend;
	t->hashes = palloc(hsize * Max(n, 1));
	for (i = 0; i < n; i++)
		memcpy(t->hashes + (size_t) i * hsize, raw + (size_t) pend[i].slot * hsize, hsize);
	pfree(raw);
}

/*
 * Point the stored entry entry_id, re-queued, at its new leaf.  Refused
 * when the entry is not stored (a re-queue row stands only for a sealed
 * entry) and while the leaf it records still holds it: either way it
 * would be sealed twice.  lrel is govledger.leaf, opened by the caller.
 */
static void
move_sealed_entry(Relation erel, Relation lrel, Oid leaf_pkey, const GovLog *log,
				  Snapshot snap, int64 entry_id, int64 leaf_index)
{
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	Datum		v[Natts_gov_entry];
	bool		nl[Natts_gov_entry];
	HeapTuple	newtup;
	SysScanDesc lscan;
	HeapTuple	ltup;
	bool		isnull;

	ScanKeyInit(&key[0], Anum_gov_entry_entry_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum(entry_id));
	scan = systable_beginscan(erel, GovGetCatalog()->entry_pkey, true, snap, 1, key);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("entry " INT64_FORMAT " is queued again in log \"%s\" without its metadata but was never sealed",
						entry_id, log->name),
				 errhint("Delete that row from govledger.unsealed.")));

	heap_deform_tuple(tup, RelationGetDescr(erel), v, nl);
	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT4EQ,
				v[Anum_gov_entry_log_id - 1]);
	ScanKeyInit(&key[1], 2, BTEqualStrategyNumber, F_INT8EQ,
				v[Anum_gov_entry_leaf_index - 1]);
	lscan = systable_beginscan(lrel, leaf_pkey, true, snap, 2, key);
	ltup = systable_getnext(lscan);
	if (HeapTupleIsValid(ltup) &&
		DatumGetInt64(heap_getattr(ltup, 3, RelationGetDescr(lrel), &isnull)) == entry_id)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("entry " INT64_FORMAT " is queued again in log \"%s\" but is already sealed as leaf " INT64_FORMAT,
						entry_id, log->name, DatumGetInt64(v[Anum_gov_entry_leaf_index - 1])),
				 errhint("Delete that row from govledger.unsealed; govledger.verify() names the damage.")));
	systable_endscan(lscan);

	v[Anum_gov_entry_leaf_index - 1] = Int64GetDatum(leaf_index);
	nl[Anum_gov_entry_leaf_index - 1] = false;
	newtup = heap_form_tuple(RelationGetDescr(erel), v, nl);
	GovUpdateTuple(erel, &tup->t_self, newtup);
	heap_freetuple(newtup);
	systable_endscan(scan);
}

/*
 * Store the taken entries in govledger.entry_sealed, each with the leaf
 * index it was appended at (first_index + its place in the batch).
 */
static void
write_sealed_entries(const GovLog *log, const TakenEntries *t,
					 uint64 first_index, Snapshot snap)
{
	BulkRel		sealed;
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext,
											  "govledger sealed entries",
											  ALLOCSET_DEFAULT_SIZES);
	size_t		hsize = log->hash->size;
	GovSealRels rels;
	Relation	lrel;
	int			i;

	GovSealRelsLookup(&rels);
	lrel = table_open(rels.leaf, AccessShareLock);
	bulk_open(&sealed, GovGetCatalog()->entry);
	for (i = 0; i < t->n; i++)
	{
		const Pending *p = &t->pend[i];
		int64		leaf_index = (int64) (first_index + i);
		MemoryContext old = MemoryContextSwitchTo(tmp);

		if (!p->has_meta)
			move_sealed_entry(sealed.rel, lrel, rels.leaf_pkey, log, snap,
							  p->entry_id, leaf_index);
		else
		{
			Datum		v[Natts_gov_entry];
			bool		nl[Natts_gov_entry];

			memset(nl, 0, sizeof(nl));
			v[Anum_gov_entry_entry_id - 1] = Int64GetDatum(p->entry_id);
			v[Anum_gov_entry_ledger_id - 1] = Int32GetDatum(p->ledger_id);
			v[Anum_gov_entry_log_id - 1] = Int32GetDatum(log->log_id);
			v[Anum_gov_entry_recorded_at - 1] = TimestampTzGetDatum(p->recorded_at);
			nl[Anum_gov_entry_recorded_at - 1] = p->recorded_at_null;
			v[Anum_gov_entry_db_role - 1] = PointerGetDatum(p->db_role);
			nl[Anum_gov_entry_db_role - 1] = (p->db_role == NULL);
			v[Anum_gov_entry_subject - 1] = PointerGetDatum(p->subject);
			nl[Anum_gov_entry_subject - 1] = (p->subject == NULL);
			v[Anum_gov_entry_leaf_hash - 1] = bytea_datum(t->hashes + (size_t) i * hsize, hsize);
			v[Anum_gov_entry_leaf_index - 1] = Int64GetDatum(leaf_index);
			bulk_insert(&sealed, v, nl);
		}
		MemoryContextSwitchTo(old);
		if ((i & 1023) == 1023)
		{
			MemoryContextReset(tmp);
			CHECK_FOR_INTERRUPTS();
		}
	}
	bulk_close(&sealed);
	table_close(lrel, AccessShareLock);
	MemoryContextDelete(tmp);
}

/* Sign the checkpoint of (size, root) for the log; palloc'd note text. */
static char *
sign_checkpoint(const GovLog *log, int64 size, const uint8 *root)
{
	const GlNoteKey *key = GovLogSigner(log);
	GlBuf		body;
	GlBuf		note;
	const char *err = "";
	char	   *result;

	GlBufInit(&body);
	GlBufInit(&note);
	if (GlCheckpointFormat(&body, log->name, (uint64) size, root,
						   log->hash->size, NULL, &err) != 0 ||
		GlNoteSign(body.data, body.len, key, 1, &note, &err) != 0)
	{
		GlBufFree(&body);
		GlBufFree(&note);
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not sign the checkpoint of log \"%s\": %s", log->name, err)));
	}
	result = pstrdup(note.data);
	GlBufFree(&body);
	GlBufFree(&note);
	return result;
}

/* Insert one block row. */
static void
insert_block(const GovSealRels *r, const GovLog *log, int64 block_no,
			 int64 size, const uint8 *root, const uint8 *prev,
			 TimestampTz at, const uint8 *bhash, const char *checkpoint)
{
	BulkRel		b;
	Datum		values[Natts_block];
	bool		nulls[Natts_block];
	size_t		hsize = log->hash->size;

	memset(nulls, 0, sizeof(nulls));
	values[0] = Int32GetDatum(log->log_id);
	values[1] = Int64GetDatum(block_no);
	values[2] = Int64GetDatum(size);
	values[3] = bytea_datum(root, hsize);
	if (prev)
		values[4] = bytea_datum(prev, hsize);
	else
		nulls[4] = true;
	values[5] = TimestampTzGetDatum(at);
	values[6] = bytea_datum(bhash, hsize);
	values[7] = CStringGetTextDatum(checkpoint);
	bulk_open(&b, r->block);
	bulk_insert(&b, values, nulls);
	bulk_close(&b);
}

/*
 * GovSealLog
 *		Seal the committed unsealed entries of the log and return the tree
 *		size.  With wait false, return -1 at once (and *sealed false) when
 *		another sealer holds the log.  *sealed tells whether a block was
 *		written.  A block takes at most GOV_SEAL_BATCH_MAX entries; *more
 *		(when not NULL) tells whether that limit was reached.
 */
int64
GovSealLog(const GovLog *log, bool wait, bool *sealed, bool *more)
{
	GovSealRels rels;
	LOCKTAG		tag;
	Snapshot	snap;
	GovBlock	last;
	TakenEntries taken;
	uint8	   *hashes;
	int			n;
	GlMerkleFrontier *f;
	uint8		root[GL_HASH_MAX_SIZE];
	uint8		bhash[GL_HASH_MAX_SIZE];
	SealState	st;
	int64		size;
	int64		block_no;
	TimestampTz now;
	char	   *cp;
	int			i;

	*sealed = false;
	if (more)
		*more = false;
	GovSealRelsLookup(&rels);
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, GOV_SEAL_LOCK, (uint32) log->log_id, 2);
	if (LockAcquire(&tag, ExclusiveLock, false, !wait) == LOCKACQUIRE_NOT_AVAIL)
		return -1;

	snap = RegisterSnapshot(GetLatestSnapshot());
	GovLatestBlock(&rels, log->log_id, snap, &last);

	/* the key must work before anything is taken from the queue */
	(void) GovLogSigner(log);

	take_unsealed(log, snap, &taken);
	n = taken.n;
	hashes = taken.hashes;
	if (more)
		*more = (n == GOV_SEAL_BATCH_MAX);
	if (n == 0 && last.exists)
	{
		pfree(taken.pend);
		pfree(hashes);
		MemoryContextDelete(taken.meta_cxt);
		UnregisterSnapshot(snap);
		return last.tree_size;
	}

	/* the right edge of the stored tree must match the last checkpoint */
	f = palloc(sizeof(GlMerkleFrontier));
	GlMerkleFrontierInit(f);
	if (last.exists && last.tree_size > 0)
	{
		GovTreeReader tr;

		GovTreeReaderOpen(&tr, &rels, log->log_id, snap);
		if (GlMerkleFrontierLoad(f, (uint64) last.tree_size, GovTreeLookup, &tr) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("stored tree of log \"%s\" lacks subtrees of its last checkpoint (size " INT64_FORMAT ")",
							log->name, last.tree_size)));
		GovTreeReaderClose(&tr);
		if (GlMerkleFrontierRoot(f, log->hash, root) != 0)
			elog(ERROR, "hashing failed");
		if (memcmp(root, last.root, log->hash->size) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("stored tree of log \"%s\" does not match its last signed checkpoint (block " INT64_FORMAT ")",
							log->name, last.block_no),
					 errdetail("The log will not be extended or signed until verify() has been run and the damage repaired.")));
	}

	/* append the leaves */
	memset(&st, 0, sizeof(st));
	st.log = log;
	st.first_index = last.exists ? (uint64) last.tree_size : 0;
	st.pend = taken.pend;
	st.hashes = hashes;
	st.tmp = AllocSetContextCreate(CurrentMemoryContext, "govledger seal",
								   ALLOCSET_DEFAULT_SIZES);
	bulk_open(&st.leaf, rels.leaf);
	bulk_open(&st.subtree, rels.subtree);
	for (i = 0; i < n; i++)
	{
		if (GlMerkleFrontierAppend(f, log->hash, hashes + (size_t) i * log->hash->size,
								   store_subtree, &st) != 0)
			elog(ERROR, "could not append leaf");
		if ((i & 1023) == 1023)
		{
			MemoryContextReset(st.tmp);
			CHECK_FOR_INTERRUPTS();
		}
	}
	bulk_close(&st.subtree);
	bulk_close(&st.leaf);
	MemoryContextDelete(st.tmp);
	write_sealed_entries(log, &taken, st.first_index, snap);

	/* the block and its signed checkpoint */
	size = (int64) f->size;
	if (GlMerkleFrontierRoot(f, log->hash, root) != 0)
		elog(ERROR, "hashing failed");
	block_no = last.exists ? last.block_no + 1 : 0;
	now = GetCurrentTimestamp();
	GovBlockHash(log, block_no, size, root, last.exists ? last.block_hash : NULL,
				 now, bhash);
	cp = sign_checkpoint(log, size, root);
	insert_block(&rels, log, block_no, size, root,
				 last.exists ? last.block_hash : NULL, now, bhash, cp);
	CommandCounterIncrement();
	UnregisterSnapshot(snap);
	pfree(f);
	pfree(hashes);
	pfree(taken.pend);
	MemoryContextDelete(taken.meta_cxt);
	*sealed = true;
	return size;
}

/* SQL function: govledger.seal(log text) returns bigint */
PG_FUNCTION_INFO_V1(govledger_seal);

Datum
govledger_seal(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	GovLog		log;
	bool		sealed;
	bool		more;
	int64		size;

	GovLogByName(name, &log, false);
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot seal during recovery")));
	PreventCommandIfReadOnly("govledger.seal()");
	do
	{
		size = GovSealLog(&log, true, &sealed, &more);
		CHECK_FOR_INTERRUPTS();
	} while (more);
	PG_RETURN_INT64(size);
}
