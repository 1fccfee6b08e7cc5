/*-------------------------------------------------------------------------
 *
 * sealcheck.c
 *	  The log checks of govledger.verify(): recompute every log's tree
 *	  from its leaves and compare it with the stored subtrees, the block
 *	  roots and the signed checkpoints; follow the block chain; and check
 *	  that every entry is sealed exactly once or still queued.
 *
 * For each log four rows are added (check names "<log>.leaves",
 * "<log>.tree", "<log>.blocks", "<log>.sealed"), each naming the first
 * damaged leaf, subtree or block.  Leaves, blocks and the stored
 * subtrees are each streamed in order through one index scan, so memory
 * stays flat whatever the size of the log and no subtree costs a random
 * lookup.  Signatures are checked with the public key registered in
 * govledger.log, never the key file.
 *
 * These checks see the catalog as it is.  A history rewritten with
 * every hash recomputed and every checkpoint re-signed passes them; only
 * a checkpoint kept outside the database exposes that, through
 * govledger.verify_checkpoint().
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/sealcheck.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_operator_d.h"
#include "executor/tuptable.h"
#include "utils/hsearch.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplesort.h"

#include "common/checkpoint.h"
#include "common/encode.h"
#include "common/merkle.h"
#include "common/note.h"
#include "common/receipt.h"
#include "govledger.h"
#include "seal.h"

/*
 * The ordered scan of a log's stored subtrees.  They are keyed by (last
 * leaf, level), which is exactly the order in which appending the leaves
 * completes them, so one forward scan meets them all in step.
 */
typedef struct SubtreeCursor
{
	SysScanDesc scan;
	bool		have;			/* a stored subtree is buffered */
	bool		done;			/* no more stored subtrees */
	int64		last_leaf;
	int32		level;
	uint8		hash[GL_HASH_MAX_SIZE];
	size_t		len;
} SubtreeCursor;

typedef struct LogCheck
{
	GovLog		log;
	Snapshot	snap;
	Relation	subrel;
	Relation	subidx;
	MemoryContext scancxt;		/* lives as long as the subtree scan */
	SubtreeCursor sub;
	GovSealRels *rels;
	GovCheckResult *leaves;
	GovCheckResult *tree;
	GovCheckResult *blocks;
	GovCheckResult *sealed;
	MemoryContext cxt;			/* where results live */
} LogCheck;

static GovCheckResult *
new_result(LogCheck *lc, const char *what, List **results)
{
	MemoryContext old = MemoryContextSwitchTo(lc->cxt);
	GovCheckResult *r = palloc0(sizeof(GovCheckResult));

	r->ledger = InvalidOid;
	r->check_name = psprintf("%s.%s", lc->log.name, what);
	*results = lappend(*results, r);
	MemoryContextSwitchTo(old);
	return r;
}

/* Buffer the next stored subtree, if any. */
static void
subtree_next(LogCheck *lc)
{
	SubtreeCursor *c = &lc->sub;
	HeapTuple	tup;
	MemoryContext old;

	/*
	 * Called from inside the per-leaf context, which is reset often; the
	 * scan (and whatever the index AM allocates while scanning) must live
	 * longer.
	 */
	old = MemoryContextSwitchTo(lc->scancxt);
	if (c->scan == NULL)
	{
		ScanKeyData key;

		ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT4EQ,
					Int32GetDatum(lc->log.log_id));
		c->scan = systable_beginscan_ordered(lc->subrel, lc->subidx, lc->snap, 1, &key);
	}
	c->have = false;
	tup = c->done ? NULL : systable_getnext_ordered(c->scan, ForwardScanDirection);
	MemoryContextSwitchTo(old);
	if (tup == NULL)
	{
		c->done = true;
		return;
	}
	{
		bool		isnull;
		TupleDesc	desc = RelationGetDescr(lc->subrel);
		bytea	   *b = DatumGetByteaPP(heap_getattr(tup, 5, desc, &isnull));

		c->last_leaf = DatumGetInt64(heap_getattr(tup, 2, desc, &isnull));
		c->level = DatumGetInt32(heap_getattr(tup, 3, desc, &isnull));
		c->len = Min(VARSIZE_ANY_EXHDR(b), GL_HASH_MAX_SIZE);
		memcpy(c->hash, VARDATA_ANY(b), c->len);
		c->have = true;
	}
}

/* (last_leaf, level) order of the stored subtrees */
static bool
subtree_before(const SubtreeCursor *c, int64 last_leaf, int level)
{
	return c->last_leaf < last_leaf ||
		(c->last_leaf == last_leaf && c->level < level);
}

/*
 * Frontier callback: compare each completed subtree with the stored one,
 * walking the stored subtrees in step with the appends.
 */
static int
compare_subtree(void *arg, int level, uint64_t index, const uint8_t *hash)
{
	LogCheck   *lc = arg;
	SubtreeCursor *c = &lc->sub;
	int64		last_leaf = (int64) (((index + 1) << level) - 1);

	if (level < GOV_SUBTREE_MIN_LEVEL)
		return 0;				/* leaves and subtrees not stored */
	lc->tree->checked++;
	if (c->scan == NULL)
		subtree_next(lc);
	/* stored subtrees that were never completed are skipped here */
	while (c->have && subtree_before(c, last_leaf, level))
		subtree_next(lc);
	if (!c->have || c->last_leaf != last_leaf || c->level != level)
		GovCheckFail(lc->tree, lc->cxt, "subtree (level %d, index " UINT64_FORMAT ") is missing",
			 level, index);
	else
	{
		if (c->len != lc->log.hash->size || memcmp(c->hash, hash, c->len) != 0)
			GovCheckFail(lc->tree, lc->cxt, "subtree (level %d, index " UINT64_FORMAT ") differs from the hash recomputed from its leaves",
				 level, index);
		subtree_next(lc);
	}
	return 0;
}

/* Check one block against the recomputed tree of its size. */
static void
check_block(LogCheck *lc, HeapTuple tup, TupleDesc desc, const uint8 *root,
			int64 expect_no, const uint8 *prev_hash, bool have_prev)
{
	size_t		hsize = lc->log.hash->size;
	bool		isnull;
	int64		block_no = DatumGetInt64(heap_getattr(tup, 2, desc, &isnull));
	int64		size = DatumGetInt64(heap_getattr(tup, 3, desc, &isnull));
	bytea	   *broot = DatumGetByteaPP(heap_getattr(tup, 4, desc, &isnull));
	Datum		prevd = heap_getattr(tup, 5, desc, &isnull);
	bool		prev_null = isnull;
	TimestampTz at = DatumGetTimestampTz(heap_getattr(tup, 6, desc, &isnull));
	bytea	   *bhash = DatumGetByteaPP(heap_getattr(tup, 7, desc, &isnull));
	char	   *note = TextDatumGetCString(heap_getattr(tup, 8, desc, &isnull));
	uint8		want[GL_HASH_MAX_SIZE];
	GlCheckpoint cp;
	char		err[256];

	lc->blocks->checked++;
	if (block_no != expect_no)
		GovCheckFail(lc->blocks, lc->cxt, "block " INT64_FORMAT " is missing (the chain jumps from " INT64_FORMAT " to " INT64_FORMAT ")",
			 expect_no, expect_no - 1, block_no);
	if (have_prev != !prev_null ||
		(have_prev && (VARSIZE_ANY_EXHDR(DatumGetByteaPP(prevd)) != hsize ||
					   memcmp(VARDATA_ANY(DatumGetByteaPP(prevd)), prev_hash, hsize) != 0)))
		GovCheckFail(lc->blocks, lc->cxt, "block " INT64_FORMAT ": previous-hash link broken", block_no);
	if (VARSIZE_ANY_EXHDR(broot) != hsize || memcmp(VARDATA_ANY(broot), root, hsize) != 0)
		GovCheckFail(lc->blocks, lc->cxt, "block " INT64_FORMAT ": root differs from the tree of its " INT64_FORMAT " leaves recomputed from the leaves",
			 block_no, size);
	else
	{
		GovBlockHash(&lc->log, block_no, size, root,
					 prev_null ? NULL : (const uint8 *) VARDATA_ANY(DatumGetByteaPP(prevd)),
					 at, want);
		if (VARSIZE_ANY_EXHDR(bhash) != hsize || memcmp(VARDATA_ANY(bhash), want, hsize) != 0)
			GovCheckFail(lc->blocks, lc->cxt, "block " INT64_FORMAT ": block hash does not match its contents", block_no);
	}
	if (GlCheckpointVerify(note, strlen(note), GovLogVerifier(&lc->log), hsize,
						   lc->log.name, &cp, "checkpoint", err, sizeof(err)) != 0)
		GovCheckFail(lc->blocks, lc->cxt, "block " INT64_FORMAT ": %s", block_no, err);
	else if ((int64) cp.size != size || memcmp(cp.root, root, hsize) != 0)
		GovCheckFail(lc->blocks, lc->cxt, "block " INT64_FORMAT ": signed checkpoint is for another tree than the block", block_no);
}

/* All checks of one log. */
static void
check_log(LogCheck *lc, Snapshot snap, List **results)
{
	size_t		hsize = lc->log.hash->size;
	Relation	leafrel;
	Relation	leafidx;
	Relation	blockrel;
	Relation	blockidx;
	SysScanDesc lscan;
	SysScanDesc bscan;
	ScanKeyData key;
	HeapTuple	btup;
	GlMerkleFrontier *f = palloc(sizeof(GlMerkleFrontier));
	uint8		root[GL_HASH_MAX_SIZE];
	uint8		prev[GL_HASH_MAX_SIZE];
	bool		have_prev = false;
	int64		expect_no = 0;
	int64		last_size = 0;
	bool		leaves_done = false;
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "govledger sealcheck",
											  ALLOCSET_DEFAULT_SIZES);

	lc->leaves = new_result(lc, "leaves", results);
	lc->tree = new_result(lc, "tree", results);
	lc->blocks = new_result(lc, "blocks", results);
	lc->sealed = new_result(lc, "sealed", results);
	GlMerkleFrontierInit(f);
	lc->snap = snap;
	lc->scancxt = CurrentMemoryContext;
	lc->subrel = table_open(lc->rels->subtree, AccessShareLock);
	lc->subidx = index_open(lc->rels->subtree_pkey, AccessShareLock);

	leafrel = table_open(lc->rels->leaf, AccessShareLock);
	leafidx = index_open(lc->rels->leaf_pkey, AccessShareLock);
	blockrel = table_open(lc->rels->block, AccessShareLock);
	blockidx = index_open(lc->rels->block_pkey, AccessShareLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(lc->log.log_id));
	lscan = systable_beginscan_ordered(leafrel, leafidx, snap, 1, &key);
	bscan = systable_beginscan_ordered(blockrel, blockidx, snap, 1, &key);

	while ((btup = systable_getnext_ordered(bscan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		int64		size = DatumGetInt64(heap_getattr(btup, 3, RelationGetDescr(blockrel), &isnull));
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		if (size < last_size)
			GovCheckFail(lc->blocks, lc->cxt, "block " INT64_FORMAT ": tree size " INT64_FORMAT " is smaller than the previous block's",
				 DatumGetInt64(heap_getattr(btup, 2, RelationGetDescr(blockrel), &isnull)), size);
		/* append leaves up to this block's size */
		while (!leaves_done && (int64) f->size < size)
		{
			HeapTuple	ltup = systable_getnext_ordered(lscan, ForwardScanDirection);
			int64		idx;
			bytea	   *lh;

			if (ltup == NULL)
			{
				leaves_done = true;
				break;
			}
			idx = DatumGetInt64(heap_getattr(ltup, 2, RelationGetDescr(leafrel), &isnull));
			lh = DatumGetByteaPP(heap_getattr(ltup, 4, RelationGetDescr(leafrel), &isnull));
			lc->leaves->checked++;
			if (idx != (int64) f->size)
			{
				GovCheckFail(lc->leaves, lc->cxt, "leaf " UINT64_FORMAT " is missing (the next stored leaf is " INT64_FORMAT ")",
					 f->size, idx);
				leaves_done = true;
				break;
			}
			if (VARSIZE_ANY_EXHDR(lh) != hsize)
			{
				GovCheckFail(lc->leaves, lc->cxt, "leaf " INT64_FORMAT " has a hash of the wrong length", idx);
				leaves_done = true;
				break;
			}
			old = MemoryContextSwitchTo(tmp);
			GlMerkleFrontierAppend(f, lc->log.hash, (const uint8 *) VARDATA_ANY(lh),
								   compare_subtree, lc);
			MemoryContextSwitchTo(old);
			if ((f->size & 1023) == 0)
				MemoryContextReset(tmp);
		}
		if ((int64) f->size < size)
		{
			GovCheckFail(lc->blocks, lc->cxt, "block " INT64_FORMAT ": its " INT64_FORMAT " leaves are not all stored (only " UINT64_FORMAT ")",
				 DatumGetInt64(heap_getattr(btup, 2, RelationGetDescr(blockrel), &isnull)),
				 size, f->size);
			break;
		}
		GlMerkleFrontierRoot(f, lc->log.hash, root);
		check_block(lc, btup, RelationGetDescr(blockrel), root, expect_no, prev, have_prev);
		{
			bool		n2;
			bytea	   *bh = DatumGetByteaPP(heap_getattr(btup, 7, RelationGetDescr(blockrel), &n2));

			if (VARSIZE_ANY_EXHDR(bh) == hsize)
				memcpy(prev, VARDATA_ANY(bh), hsize);
			have_prev = true;
		}
		expect_no = DatumGetInt64(heap_getattr(btup, 2, RelationGetDescr(blockrel), &isnull)) + 1;
		last_size = size;
	}
	/* leaves beyond the last block: a block was removed */
	if (!leaves_done)
	{
		HeapTuple	ltup = systable_getnext_ordered(lscan, ForwardScanDirection);

		if (ltup != NULL)
		{
			bool		isnull;

			GovCheckFail(lc->leaves, lc->cxt, "leaf " INT64_FORMAT " lies beyond the last block (size " INT64_FORMAT "): blocks were removed",
				 DatumGetInt64(heap_getattr(ltup, 2, RelationGetDescr(leafrel), &isnull)), last_size);
		}
	}
	systable_endscan_ordered(bscan);
	systable_endscan_ordered(lscan);
	index_close(blockidx, AccessShareLock);
	table_close(blockrel, AccessShareLock);
	index_close(leafidx, AccessShareLock);
	table_close(leafrel, AccessShareLock);
	if (lc->sub.scan)
		systable_endscan_ordered(lc->sub.scan);
	index_close(lc->subidx, AccessShareLock);
	table_close(lc->subrel, AccessShareLock);
	MemoryContextDelete(tmp);
	pfree(f);
}

/* A queue row, as check_sealed needs it */
typedef struct QueuedItem
{
	int64		entry_id;		/* hash key */
	int32		log_id;
	bool		has_meta;		/* an entry (not a bare re-queued leaf) */
	int			copies;			/* queue rows with this entry id */
	int			hlen;
	uint8		hash[GL_HASH_MAX_SIZE];
} QueuedItem;

/* Every row of govledger.unsealed by entry id; NULL when empty. */
static HTAB *
load_queue(Snapshot snap)
{
	Relation	rel = table_open(GovGetCatalog()->unsealed, AccessShareLock);
	TableScanDesc scan = table_beginscan(rel, snap, 0, NULL);
	TupleDesc	desc = RelationGetDescr(rel);
	HeapTuple	tup;
	HTAB	   *queue = NULL;

	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		bool		found;
		int64		id = DatumGetInt64(heap_getattr(tup, Anum_gov_unsealed_entry_id, desc, &isnull));
		QueuedItem *q;

		if (queue == NULL)
		{
			HASHCTL		ctl;

			ctl.keysize = sizeof(int64);
			ctl.entrysize = sizeof(QueuedItem);
			ctl.hcxt = CurrentMemoryContext;
			queue = hash_create("govledger sealcheck queue", 1024, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		}
		q = hash_search(queue, &id, HASH_ENTER, &found);
		if (found)
		{
			q->copies++;
			continue;
		}
		q->copies = 1;
		q->log_id = DatumGetInt32(heap_getattr(tup, Anum_gov_unsealed_log_id, desc, &isnull));
		(void) heap_getattr(tup, Anum_gov_unsealed_ledger_id, desc, &isnull);
		q->has_meta = !isnull;
		{
			bytea	   *b = DatumGetByteaPP(heap_getattr(tup, Anum_gov_unsealed_leaf_hash, desc, &isnull));

			q->hlen = Min(VARSIZE_ANY_EXHDR(b), GL_HASH_MAX_SIZE);
			memcpy(q->hash, VARDATA_ANY(b), q->hlen);
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return queue;
}

/* First failure of one kind, kept while the merge runs */
typedef struct FirstFail
{
	int64		count;
	int64		key;			/* order key of the kept message */
	char	   *msg;
} FirstFail;

static void
first_fail(FirstFail *f, int64 key, MemoryContext cxt, const char *fmt,...)
	pg_attribute_printf(4, 5);

static void
first_fail(FirstFail *f, int64 key, MemoryContext cxt, const char *fmt,...)
{
	f->count++;
	if (f->msg == NULL || key < f->key)
	{
		va_list		ap;

		if (f->msg)
			pfree(f->msg);
		va_start(ap, fmt);
		f->msg = GovFormatFailure(cxt, fmt, ap);
		va_end(ap);
		f->key = key;
	}
}

static void
report_fail(GovCheckResult *c, MemoryContext cxt, FirstFail *f)
{
	if (f->count == 0)
		return;
	GovCheckFail(c, cxt, "%s", f->msg);
	c->failed += f->count - 1;
}

/* A sealed entry or a leaf, as check_sealed compares them */
typedef struct SealedRow
{
	int64		id;				/* entry id; hash key */
	int32		log_id;
	int64		leaf_index;		/* the leaf's, or the one the entry records */
	int			hlen;
	uint8		hash[GL_HASH_MAX_SIZE];
} SealedRow;

/* State of check_sealed for one log */
typedef struct SealedCheck
{
	LogCheck   *lc;
	HTAB	   *queue;
	int32		log_id;
	int64		nentries;
	FirstFail	lost;
	FirstFail	badleaf;
	FirstFail	twice;
} SealedCheck;

static void
sealed_row_hash(SealedRow *r, Datum d)
{
	bytea	   *b = DatumGetByteaPP(d);

	r->hlen = Min(VARSIZE_ANY_EXHDR(b), GL_HASH_MAX_SIZE);
	memcpy(r->hash, VARDATA_ANY(b), r->hlen);
}

/* Decode a govledger.entry_sealed tuple. */
static void
entry_row(HeapTuple tup, TupleDesc desc, SealedRow *r)
{
	Datum		v[Natts_gov_entry];
	bool		n[Natts_gov_entry];

	/* one pass: the hash and leaf index come after variable-length texts */
	if (desc->natts != Natts_gov_entry)
		elog(ERROR, "govledger.entry_sealed has %d columns, not %d",
			 desc->natts, Natts_gov_entry);
	heap_deform_tuple(tup, desc, v, n);
	r->id = DatumGetInt64(v[Anum_gov_entry_entry_id - 1]);
	r->log_id = DatumGetInt32(v[Anum_gov_entry_log_id - 1]);
	r->leaf_index = n[Anum_gov_entry_leaf_index - 1] ? -1 :
		DatumGetInt64(v[Anum_gov_entry_leaf_index - 1]);
	sealed_row_hash(r, v[Anum_gov_entry_leaf_hash - 1]);
}

/* Decode a govledger.leaf tuple (log_id, leaf_index, entry_id, leaf_hash). */
static void
leaf_row(HeapTuple tup, TupleDesc desc, SealedRow *r)
{
	bool		isnull;

	r->log_id = DatumGetInt32(heap_getattr(tup, 1, desc, &isnull));
	r->leaf_index = DatumGetInt64(heap_getattr(tup, 2, desc, &isnull));
	r->id = DatumGetInt64(heap_getattr(tup, 3, desc, &isnull));
	sealed_row_hash(r, heap_getattr(tup, 4, desc, &isnull));
}

/* A sealed entry with no leaf: it must still be queued. */
static void
entry_without_leaf(SealedCheck *st, const SealedRow *e)
{
	if (e->log_id != st->log_id)
		return;
	st->nentries++;
	if (st->queue == NULL || hash_search(st->queue, &e->id, HASH_FIND, NULL) == NULL)
		first_fail(&st->lost, e->id, st->lc->cxt,
				   "entry " INT64_FORMAT " is neither sealed nor queued: its leaf was removed from the tree",
				   e->id);
}

/* A leaf, with its sealed entry or NULL when there is none. */
static void
leaf_with_entry(SealedCheck *st, const SealedRow *l, const SealedRow *e,
				bool first)
{
	QueuedItem *q = NULL;

	if (e != NULL && first && e->log_id == st->log_id)
		st->nentries++;
	if (st->queue != NULL)
		q = hash_search(st->queue, &l->id, HASH_FIND, NULL);
	if (q != NULL && q->log_id == st->log_id)
		first_fail(&st->twice, l->id, st->lc->cxt,
				   "entry " INT64_FORMAT " is sealed and still queued", l->id);
	if (l->log_id != st->log_id)
		return;
	if (e == NULL && q != NULL && q->has_meta)
	{
		/* the entry exists, still queued */
		if (q->log_id != st->log_id)
			first_fail(&st->badleaf, l->leaf_index, st->lc->cxt,
					   "leaf " INT64_FORMAT " holds entry " INT64_FORMAT " of another log",
					   l->leaf_index, l->id);
		else if (q->hlen != l->hlen || memcmp(q->hash, l->hash, l->hlen) != 0)
			first_fail(&st->badleaf, l->leaf_index, st->lc->cxt,
					   "leaf " INT64_FORMAT " (entry " INT64_FORMAT "): its hash differs from the entry's leaf hash",
					   l->leaf_index, l->id);
		return;
	}
	if (e == NULL)
		first_fail(&st->badleaf, l->leaf_index, st->lc->cxt,
				   "leaf " INT64_FORMAT " names entry " INT64_FORMAT ", which does not exist",
				   l->leaf_index, l->id);
	else if (e->log_id != st->log_id)
		first_fail(&st->badleaf, l->leaf_index, st->lc->cxt,
				   "leaf " INT64_FORMAT " holds entry " INT64_FORMAT " of another log",
				   l->leaf_index, l->id);
	else if (e->hlen != l->hlen || memcmp(e->hash, l->hash, l->hlen) != 0)
		first_fail(&st->badleaf, l->leaf_index, st->lc->cxt,
				   "leaf " INT64_FORMAT " (entry " INT64_FORMAT "): its hash differs from the entry's leaf hash",
				   l->leaf_index, l->id);
	else if (e->leaf_index != l->leaf_index)
		first_fail(&st->badleaf, l->leaf_index, st->lc->cxt,
				   "leaf " INT64_FORMAT " holds entry " INT64_FORMAT ", which records leaf " INT64_FORMAT " as its own",
				   l->leaf_index, l->id, e->leaf_index);
}

/*
 * Entries not yet paired with their leaf (or leaves with their entry)
 * that the heap merge keeps; beyond this it gives up for the index merge.
 */
#ifndef SEALED_PENDING_MAX
#define SEALED_PENDING_MAX	100000
#endif

static HTAB *
pending_table(const char *name)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(SealedRow);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * Pair entries and leaves in one pass over both heaps, a leaf and an
 * entry at a time.  The sealer writes both in the same transaction and
 * in the same order, so a row that finds no partner waits in a small
 * table of pending rows: a missing or moved row costs one pending row,
 * not a read-ahead.  Returns false (having reported nothing) when more
 * than SEALED_PENDING_MAX rows of either kind would have to wait, for
 * example after a rewrite of either table.  Both scans start at block 0:
 * a synchronized scan, joining another scan of a large table midway,
 * would put the heaps out of step.
 */
static bool
sealed_heap_merge(SealedCheck *st)
{
	LogCheck   *lc = st->lc;
	Relation	erel = table_open(GovGetCatalog()->entry, AccessShareLock);
	Relation	lrel = table_open(lc->rels->leaf, AccessShareLock);
	TupleDesc	edesc = RelationGetDescr(erel);
	TupleDesc	ldesc = RelationGetDescr(lrel);
	TableScanDesc escan = table_beginscan_strat(erel, lc->snap, 0, NULL,
												true, false);
	TableScanDesc lscan = table_beginscan_strat(lrel, lc->snap, 0, NULL,
												true, false);
	HTAB	   *pend_e = pending_table("govledger sealcheck pending entries");
	HTAB	   *pend_l = pending_table("govledger sealcheck pending leaves");
	bool		e_done = false;
	bool		l_done = false;
	bool		ok = true;
	HeapTuple	tup;
	SealedRow	r;
	SealedRow  *p;
	HASH_SEQ_STATUS hs;
	int64		n = 0;

	while (ok && (!l_done || !e_done))
	{
		SealedRow	e;
		bool		have_l = false;
		bool		have_e = false;

		if ((++n & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!l_done && (tup = heap_getnext(lscan, ForwardScanDirection)) == NULL)
			l_done = true;
		else if (!l_done)
		{
			leaf_row(tup, ldesc, &r);
			have_l = true;
		}
		if (!e_done && (tup = heap_getnext(escan, ForwardScanDirection)) == NULL)
			e_done = true;
		else if (!e_done)
		{
			entry_row(tup, edesc, &e);
			have_e = true;
		}

		/* the usual case: the two heaps in step */
		if (have_l && have_e && r.id == e.id)
		{
			leaf_with_entry(st, &r, &e, true);
			continue;
		}
		if (have_l)
		{
			if (hash_get_num_entries(pend_e) > 0 &&
				(p = hash_search(pend_e, &r.id, HASH_FIND, NULL)) != NULL)
			{
				leaf_with_entry(st, &r, p, true);
				hash_search(pend_e, &r.id, HASH_REMOVE, NULL);
			}
			else
			{
				bool		dup;

				/* two leaves of one entry waiting: the sort pairs them */
				*(SealedRow *) hash_search(pend_l, &r.id, HASH_ENTER, &dup) = r;
				ok = !dup && hash_get_num_entries(pend_l) <= SEALED_PENDING_MAX;
			}
		}
		if (have_e && ok)
		{
			if (hash_get_num_entries(pend_l) > 0 &&
				(p = hash_search(pend_l, &e.id, HASH_FIND, NULL)) != NULL)
			{
				leaf_with_entry(st, p, &e, true);
				hash_search(pend_l, &e.id, HASH_REMOVE, NULL);
			}
			else
			{
				*(SealedRow *) hash_search(pend_e, &e.id, HASH_ENTER, NULL) = e;
				ok = hash_get_num_entries(pend_e) <= SEALED_PENDING_MAX;
			}
		}
	}
	table_endscan(lscan);
	table_endscan(escan);
	if (ok)
	{
		/*
		 * A leaf left waiting has no entry, or shares it with a leaf met
		 * earlier: look the entry up, as the sort in entry id order would
		 * pair it.
		 */
		hash_seq_init(&hs, pend_l);
		while ((p = hash_seq_search(&hs)) != NULL)
		{
			ScanKeyData key;
			SysScanDesc probe;
			HeapTuple	etup;

			ScanKeyInit(&key, Anum_gov_entry_entry_id, BTEqualStrategyNumber,
						F_INT8EQ, Int64GetDatum(p->id));
			probe = systable_beginscan(erel, GovGetCatalog()->entry_pkey, true,
									   lc->snap, 1, &key);
			etup = systable_getnext(probe);
			if (HeapTupleIsValid(etup))
				entry_row(etup, edesc, &r);
			/* an existing entry was paired with its other leaf already */
			leaf_with_entry(st, p, HeapTupleIsValid(etup) ? &r : NULL, false);
			systable_endscan(probe);
		}
		hash_seq_init(&hs, pend_e);
		while ((p = hash_seq_search(&hs)) != NULL)
			entry_without_leaf(st, p);
	}
	table_close(lrel, AccessShareLock);
	table_close(erel, AccessShareLock);
	hash_destroy(pend_l);
	hash_destroy(pend_e);
	return ok;
}

/* Decode a sorted govledger.leaf row, as leaf_row() does. */
static void
leaf_row_slot(TupleTableSlot *slot, SealedRow *r)
{
	bool		isnull;

	r->log_id = DatumGetInt32(slot_getattr(slot, 1, &isnull));
	r->leaf_index = DatumGetInt64(slot_getattr(slot, 2, &isnull));
	r->id = DatumGetInt64(slot_getattr(slot, 3, &isnull));
	sealed_row_hash(r, slot_getattr(slot, 4, &isnull));
}

/*
 * Pair entries and leaves by one merge in entry id order: the entries
 * through the primary key of govledger.entry_sealed, the leaves sorted by
 * entry id (a tuplesort, which spills to disk beyond work_mem).  Flat
 * memory whatever the order of the heaps; the fallback of
 * sealed_heap_merge, with the same results.
 */
static void
sealed_index_merge(SealedCheck *st)
{
	LogCheck   *lc = st->lc;
	Relation	erel = table_open(GovGetCatalog()->entry, AccessShareLock);
	Relation	eidx = index_open(GovGetCatalog()->entry_pkey, AccessShareLock);
	Relation	lrel = table_open(lc->rels->leaf, AccessShareLock);
	TupleDesc	edesc = RelationGetDescr(erel);
	TupleDesc	ldesc = RelationGetDescr(lrel);
	AttrNumber	sort_attno[2] = {3, 2}; /* entry_id, leaf_index */
	Oid			sort_op[2] = {Int8LessOperator, Int8LessOperator};
	Oid			sort_coll[2] = {InvalidOid, InvalidOid};
	bool		nulls_first[2] = {false, false};
	Tuplesortstate *sort = tuplesort_begin_heap(ldesc, 2, sort_attno, sort_op,
												sort_coll, nulls_first,
												work_mem, NULL, TUPLESORT_NONE);
	TupleTableSlot *in = table_slot_create(lrel, NULL);
	TupleTableSlot *out = MakeSingleTupleTableSlot(ldesc, &TTSOpsMinimalTuple);
	TableScanDesc lscan = table_beginscan(lrel, lc->snap, 0, NULL);
	SysScanDesc escan;
	HeapTuple	etup;
	bool		lhave;
	bool		e_paired = false;
	SealedRow	e;
	SealedRow	l;
	int64		n = 0;

	while (table_scan_getnextslot(lscan, ForwardScanDirection, in))
	{
		if ((++n & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
		tuplesort_puttupleslot(sort, in);
	}
	table_endscan(lscan);
	ExecDropSingleTupleTableSlot(in);
	tuplesort_performsort(sort);

	escan = systable_beginscan_ordered(erel, eidx, lc->snap, 0, NULL);
	etup = systable_getnext_ordered(escan, ForwardScanDirection);
	if (etup)
		entry_row(etup, edesc, &e);
	if ((lhave = tuplesort_gettupleslot(sort, true, false, out, NULL)))
		leaf_row_slot(out, &l);
	while (etup != NULL || lhave)
	{
		if ((++n & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!lhave || (etup != NULL && e.id < l.id))
		{
			if (!e_paired)
				entry_without_leaf(st, &e);
			e_paired = false;
			if ((etup = systable_getnext_ordered(escan, ForwardScanDirection)) != NULL)
				entry_row(etup, edesc, &e);
			continue;
		}
		/* every leaf of an entry is paired with it */
		if (etup != NULL && e.id == l.id)
		{
			leaf_with_entry(st, &l, &e, !e_paired);
			e_paired = true;
		}
		else
			leaf_with_entry(st, &l, NULL, true);
		if ((lhave = tuplesort_gettupleslot(sort, true, false, out, NULL)))
			leaf_row_slot(out, &l);
	}
	systable_endscan_ordered(escan);
	tuplesort_end(sort);
	ExecDropSingleTupleTableSlot(out);
	table_close(lrel, AccessShareLock);
	index_close(eidx, AccessShareLock);
	table_close(erel, AccessShareLock);
}

/*
 * Entries of the log neither sealed nor queued, leaves whose entry is
 * missing or of another log or whose hash differs from the entry's or
 * that are not the leaf the entry records, entries sealed and still
 * queued.
 *
 * Sealed entries (govledger.entry_sealed) are paired with their leaves
 * (govledger.leaf) in one pass over both heaps, or, when the heaps are far
 * out of step, by a merge in entry id order (an index scan and a sort);
 * every leaf is paired with the entry it names.  The queue, normally
 * small, is held in a hash table.  Memory stays bounded whatever the size
 * of the log (the sort spills beyond work_mem).  The first failure
 * reported is the one with the lowest entry id (leaves: leaf index),
 * whatever order the rows were met in.
 */
static void
check_sealed(LogCheck *lc, HTAB *queue)
{
	SealedCheck st;

	memset(&st, 0, sizeof(st));
	st.lc = lc;
	st.queue = queue;
	st.log_id = lc->log.log_id;
	if (!sealed_heap_merge(&st))
	{
		if (st.lost.msg)
			pfree(st.lost.msg);
		if (st.badleaf.msg)
			pfree(st.badleaf.msg);
		if (st.twice.msg)
			pfree(st.twice.msg);
		memset(&st, 0, sizeof(st));
		st.lc = lc;
		st.queue = queue;
		st.log_id = lc->log.log_id;
		elog(DEBUG1, "verify: log %s: sealed entries and leaves paired in entry id order",
			 lc->log.name);
		sealed_index_merge(&st);
	}

	/* queued entries of the log count as entries */
	if (queue != NULL)
	{
		HASH_SEQ_STATUS hs;
		QueuedItem *q;

		hash_seq_init(&hs, queue);
		while ((q = hash_seq_search(&hs)) != NULL)
		{
			if (q->log_id != st.log_id)
				continue;
			if (q->has_meta)
				st.nentries++;
			/* the sealer refuses it: it would be sealed twice */
			if (q->copies > 1)
				first_fail(&st.twice, q->entry_id, lc->cxt,
						   "entry " INT64_FORMAT " is queued %d times", q->entry_id, q->copies);
		}
	}
	report_fail(lc->leaves, lc->cxt, &st.badleaf);
	report_fail(lc->sealed, lc->cxt, &st.lost);
	report_fail(lc->sealed, lc->cxt, &st.twice);
	lc->sealed->checked = st.nentries;
}

/*
 * GovSealChecks
 *		GovVerifyFn of the sealing checks: every log, or log only_log.
 */
void
GovSealChecks(int32 only_log, List **results)
{
	GovSealRels rels;
	Snapshot	snap = GetActiveSnapshot();
	int32		only = only_log;
	int32		ids[256];
	int			n = 0;
	int			i;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	MemoryContext outer;
	HTAB	   *queue;

	GovSealRelsLookup(&rels);
	rel = table_open(GovGetCatalog()->log, AccessShareLock);
	scan = table_beginscan(rel, snap, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL && n < lengthof(ids))
	{
		bool		isnull;
		int32		id = DatumGetInt32(heap_getattr(tup, Anum_gov_log_log_id,
												   RelationGetDescr(rel), &isnull));

		if (only < 0 || id == only)
			ids[n++] = id;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);

	outer = CurrentMemoryContext;
	queue = load_queue(snap);
	for (i = 0; i < n; i++)
	{
		LogCheck	lc;

		memset(&lc, 0, sizeof(lc));
		if (!GovLogById(ids[i], &lc.log))
			continue;
		lc.rels = &rels;
		lc.cxt = outer;
		check_log(&lc, snap, results);
		check_sealed(&lc, queue);
	}
	if (queue)
		hash_destroy(queue);
}
