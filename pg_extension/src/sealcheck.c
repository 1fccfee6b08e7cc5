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
#include "utils/hsearch.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

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

static void
fail(GovCheckResult *c, MemoryContext cxt, const char *fmt,...)
	pg_attribute_printf(3, 4);

static void
fail(GovCheckResult *c, MemoryContext cxt, const char *fmt,...)
{
	c->failed++;
	if (c->first_failure == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);
		StringInfoData s;

		initStringInfo(&s);
		for (;;)
		{
			va_list		ap;
			int			needed;

			va_start(ap, fmt);
			needed = appendStringInfoVA(&s, fmt, ap);
			va_end(ap);
			if (needed == 0)
				break;
			enlargeStringInfo(&s, needed);
		}
		c->first_failure = s.data;
		MemoryContextSwitchTo(old);
	}
}

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

	if (level == 0)
		return 0;
	lc->tree->checked++;
	if (c->scan == NULL)
		subtree_next(lc);
	/* stored subtrees that were never completed are skipped here */
	while (c->have && subtree_before(c, last_leaf, level))
		subtree_next(lc);
	if (!c->have || c->last_leaf != last_leaf || c->level != level)
		fail(lc->tree, lc->cxt, "subtree (level %d, index " UINT64_FORMAT ") is missing",
			 level, index);
	else
	{
		if (c->len != lc->log.hash->size || memcmp(c->hash, hash, c->len) != 0)
			fail(lc->tree, lc->cxt, "subtree (level %d, index " UINT64_FORMAT ") differs from the hash recomputed from its leaves",
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
		fail(lc->blocks, lc->cxt, "block " INT64_FORMAT " is missing (the chain jumps from " INT64_FORMAT " to " INT64_FORMAT ")",
			 expect_no, expect_no - 1, block_no);
	if (have_prev != !prev_null ||
		(have_prev && (VARSIZE_ANY_EXHDR(DatumGetByteaPP(prevd)) != hsize ||
					   memcmp(VARDATA_ANY(DatumGetByteaPP(prevd)), prev_hash, hsize) != 0)))
		fail(lc->blocks, lc->cxt, "block " INT64_FORMAT ": previous-hash link broken", block_no);
	if (VARSIZE_ANY_EXHDR(broot) != hsize || memcmp(VARDATA_ANY(broot), root, hsize) != 0)
		fail(lc->blocks, lc->cxt, "block " INT64_FORMAT ": root differs from the tree of its " INT64_FORMAT " leaves recomputed from the leaves",
			 block_no, size);
	else
	{
		GovBlockHash(&lc->log, block_no, size, root,
					 prev_null ? NULL : (const uint8 *) VARDATA_ANY(DatumGetByteaPP(prevd)),
					 at, want);
		if (VARSIZE_ANY_EXHDR(bhash) != hsize || memcmp(VARDATA_ANY(bhash), want, hsize) != 0)
			fail(lc->blocks, lc->cxt, "block " INT64_FORMAT ": block hash does not match its contents", block_no);
	}
	if (GlCheckpointVerify(note, strlen(note), GovLogVerifier(&lc->log), hsize,
						   lc->log.name, &cp, "checkpoint", err, sizeof(err)) != 0)
		fail(lc->blocks, lc->cxt, "block " INT64_FORMAT ": %s", block_no, err);
	else if ((int64) cp.size != size || memcmp(cp.root, root, hsize) != 0)
		fail(lc->blocks, lc->cxt, "block " INT64_FORMAT ": signed checkpoint is for another tree than the block", block_no);
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
			fail(lc->blocks, lc->cxt, "block " INT64_FORMAT ": tree size " INT64_FORMAT " is smaller than the previous block's",
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
				fail(lc->leaves, lc->cxt, "leaf " UINT64_FORMAT " is missing (the next stored leaf is " INT64_FORMAT ")",
					 f->size, idx);
				leaves_done = true;
				break;
			}
			if (VARSIZE_ANY_EXHDR(lh) != hsize)
			{
				fail(lc->leaves, lc->cxt, "leaf " INT64_FORMAT " has a hash of the wrong length", idx);
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
			fail(lc->blocks, lc->cxt, "block " INT64_FORMAT ": its " INT64_FORMAT " leaves are not all stored (only " UINT64_FORMAT ")",
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

			fail(lc->leaves, lc->cxt, "leaf " INT64_FORMAT " lies beyond the last block (size " INT64_FORMAT "): blocks were removed",
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
			continue;
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
		MemoryContext old = MemoryContextSwitchTo(cxt);
		StringInfoData s;

		initStringInfo(&s);
		for (;;)
		{
			va_list		ap;
			int			needed;

			va_start(ap, fmt);
			needed = appendStringInfoVA(&s, fmt, ap);
			va_end(ap);
			if (needed == 0)
				break;
			enlargeStringInfo(&s, needed);
		}
		if (f->msg)
			pfree(f->msg);
		f->msg = s.data;
		f->key = key;
		MemoryContextSwitchTo(old);
	}
}

static void
report_fail(GovCheckResult *c, MemoryContext cxt, FirstFail *f)
{
	if (f->count == 0)
		return;
	fail(c, cxt, "%s", f->msg);
	c->failed += f->count - 1;
}

/*
 * Entries of the log neither sealed nor queued, leaves whose entry is
 * missing or of another log or whose hash differs from the entry's,
 * entries sealed and still queued.
 *
 * One streaming merge by entry id of govledger.entry_sealed (its primary
 * key) and govledger.leaf (its entry_id index), with the queue, normally
 * small, held in a hash table: no join spills, and memory stays flat
 * whatever the size of the log.  Failures are reported in the order of
 * the first one: entries by entry id, leaves by leaf index.
 */
static void
check_sealed(LogCheck *lc, HTAB *queue)
{
	Relation	erel = table_open(GovGetCatalog()->entry, AccessShareLock);
	Relation	eidx = index_open(GovGetCatalog()->entry_pkey, AccessShareLock);
	Relation	lrel = table_open(lc->rels->leaf, AccessShareLock);
	Relation	lidx = index_open(lc->rels->leaf_entry, AccessShareLock);
	TupleDesc	edesc = RelationGetDescr(erel);
	TupleDesc	ldesc = RelationGetDescr(lrel);
	SysScanDesc escan = systable_beginscan_ordered(erel, eidx, lc->snap, 0, NULL);
	SysScanDesc lscan = systable_beginscan_ordered(lrel, lidx, lc->snap, 0, NULL);
	HeapTuple	etup = systable_getnext_ordered(escan, ForwardScanDirection);
	HeapTuple	ltup = systable_getnext_ordered(lscan, ForwardScanDirection);
	int32		log_id = lc->log.log_id;
	FirstFail	lost = {0};
	FirstFail	badleaf = {0};
	FirstFail	twice = {0};
	int64		nentries = 0;
	int64		n = 0;

	while (etup != NULL || ltup != NULL)
	{
		bool		isnull;
		int64		eid = etup ? DatumGetInt64(heap_getattr(etup, Anum_gov_entry_entry_id, edesc, &isnull)) : PG_INT64_MAX;
		int64		lid = ltup ? DatumGetInt64(heap_getattr(ltup, 3, ldesc, &isnull)) : PG_INT64_MAX;
		QueuedItem *q = NULL;

		if ((++n & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
		if (eid < lid || ltup == NULL)
		{
			/* an entry without a leaf must still be queued */
			if (DatumGetInt32(heap_getattr(etup, Anum_gov_entry_log_id, edesc, &isnull)) == log_id)
			{
				nentries++;
				if (queue == NULL || hash_search(queue, &eid, HASH_FIND, NULL) == NULL)
					first_fail(&lost, eid, lc->cxt,
							   "entry " INT64_FORMAT " is neither sealed nor queued: its leaf was removed from the tree",
							   eid);
			}
			etup = systable_getnext_ordered(escan, ForwardScanDirection);
			continue;
		}

		if (queue != NULL)
			q = hash_search(queue, &lid, HASH_FIND, NULL);
		if (q != NULL && q->log_id == log_id)
			first_fail(&twice, lid, lc->cxt,
					   "entry " INT64_FORMAT " is sealed and still queued", lid);
		if (DatumGetInt32(heap_getattr(ltup, 1, ldesc, &isnull)) == log_id)
		{
			int64		lindex = DatumGetInt64(heap_getattr(ltup, 2, ldesc, &isnull));
			bytea	   *lh = DatumGetByteaPP(heap_getattr(ltup, 4, ldesc, &isnull));
			bool		have_entry = false;
			int32		elog_id = 0;
			const uint8 *ehash = NULL;
			int			ehlen = 0;

			if (eid == lid)
			{
				bytea	   *eh = DatumGetByteaPP(heap_getattr(etup, Anum_gov_entry_leaf_hash, edesc, &isnull));

				have_entry = true;
				elog_id = DatumGetInt32(heap_getattr(etup, Anum_gov_entry_log_id, edesc, &isnull));
				ehash = (const uint8 *) VARDATA_ANY(eh);
				ehlen = VARSIZE_ANY_EXHDR(eh);
			}
			else if (q != NULL && q->has_meta)
			{
				have_entry = true;
				elog_id = q->log_id;
				ehash = q->hash;
				ehlen = q->hlen;
			}
			if (!have_entry)
				first_fail(&badleaf, lindex, lc->cxt,
						   "leaf " INT64_FORMAT " names entry " INT64_FORMAT ", which does not exist",
						   lindex, lid);
			else if (elog_id != log_id)
				first_fail(&badleaf, lindex, lc->cxt,
						   "leaf " INT64_FORMAT " holds entry " INT64_FORMAT " of another log",
						   lindex, lid);
			else if (ehlen != (int) VARSIZE_ANY_EXHDR(lh) ||
					 memcmp(ehash, VARDATA_ANY(lh), ehlen) != 0)
				first_fail(&badleaf, lindex, lc->cxt,
						   "leaf " INT64_FORMAT " (entry " INT64_FORMAT "): its hash differs from the entry's leaf hash",
						   lindex, lid);
		}
		if (eid == lid)
		{
			if (DatumGetInt32(heap_getattr(etup, Anum_gov_entry_log_id, edesc, &isnull)) == log_id)
				nentries++;
			etup = systable_getnext_ordered(escan, ForwardScanDirection);
		}
		ltup = systable_getnext_ordered(lscan, ForwardScanDirection);
	}
	systable_endscan_ordered(lscan);
	systable_endscan_ordered(escan);
	index_close(lidx, AccessShareLock);
	table_close(lrel, AccessShareLock);
	index_close(eidx, AccessShareLock);
	table_close(erel, AccessShareLock);

	/* queued entries of the log count as entries */
	if (queue != NULL)
	{
		HASH_SEQ_STATUS hs;
		QueuedItem *q;

		hash_seq_init(&hs, queue);
		while ((q = hash_seq_search(&hs)) != NULL)
			if (q->has_meta && q->log_id == log_id)
				nentries++;
	}
	report_fail(lc->leaves, lc->cxt, &badleaf);
	report_fail(lc->sealed, lc->cxt, &lost);
	report_fail(lc->sealed, lc->cxt, &twice);
	lc->sealed->checked = nentries;
}

/*
 * GovSealChecks
 *		GovVerifyFn of the sealing checks: every log, or the log of relid.
 */
void
GovSealChecks(Oid relid, List **results)
{
	GovSealRels rels;
	Snapshot	snap = GetActiveSnapshot();
	int32		only = -1;
	int32		ids[256];
	int			n = 0;
	int			i;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	MemoryContext outer;
	HTAB	   *queue;

	GovSealRelsLookup(&rels);
	if (OidIsValid(relid))
		only = GovLookupLedger(relid, false)->log_id;
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
