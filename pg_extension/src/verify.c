/*-------------------------------------------------------------------------
 *
 * verify.c
 *	  govledger.verify(): recompute every leaf from its row and check
 *	  that rows and entries correspond one to one.
 *
 * Per ledger table, one heap scan of the table:
 *	 row_entry		every row carries an entry id that has an entry
 *					(a row inserted with triggers disabled does not)
 *	 ledger_binding the entry belongs to this ledger (a row moved or
 *					copied from another ledger does not)
 *	 row_hash		the leaf recomputed from the row equals the leaf
 *					stored in the entry
 *	 entry_leaf		the stored leaf of a sealed entry equals its sealed
 *					leaf
 *	 entry_row		every entry of the ledger has exactly one row (a
 *					deleted row leaves an entry without a row)
 * A leaf mismatch is told apart as row_hash or entry_leaf by the sealed
 * leaf in govledger.leaf, the witness: if it equals the recomputed leaf,
 * the stored leaf was altered; if it equals the stored leaf, the row (or
 * its entry's metadata) changed.  An entry still queued has no witness.
 *
 * Rows are read in batches of a fixed size, sorted by entry id so that
 * one range scan of govledger.entry_sealed's primary key finds their
 * entries; rows whose entry is not sealed yet find it among the ledger's
 * queued entries, which are held in memory (the background sealer keeps
 * the queue to a few milliseconds of inserts).  Each row is processed in
 * a memory context reset for the next one, and only a bounded list of
 * leaf mismatches is kept for the classification.  Other modules add
 * checks (trees, blocks) with GovVerifyRegister(); their results become
 * further rows of the output.  They run in a parallel worker while the
 * rows are checked, when one can be started (verify_parallel.c).
 * Verification returns damage as rows; it raises errors only for bad
 * arguments.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/verify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "govledger.h"

enum
{
	CK_ROW_ENTRY,
	CK_LEDGER_BINDING,
	CK_ROW_HASH,
	CK_ENTRY_LEAF,
	CK_ENTRY_ROW,
	NUM_LEDGER_CHECKS
};

static const char *const ledger_check_names[NUM_LEDGER_CHECKS] = {
	"row_entry", "ledger_binding", "row_hash", "entry_leaf", "entry_row"
};

/* Leaf mismatches kept for classification; more are counted unclassified */
#define MAX_MISMATCHES		100000

/* Seconds between progress notices */
#define PROGRESS_INTERVAL_MS	5000

typedef struct LeafMismatch
{
	int64		entry_id;
	uint8		computed[GL_HASH_MAX_SIZE];
	uint8		stored[GL_HASH_MAX_SIZE];
	int			stored_len;
	bool		has_witness;
	uint8		witness[GL_HASH_MAX_SIZE];
	int			witness_len;
} LeafMismatch;

/* A queued (not yet sealed) entry of the ledger being verified */
typedef struct QueuedEntry
{
	int64		entry_id;
	HeapTuple	tup;			/* copy of the queue tuple */
	int			rows;			/* rows found with this entry id */
} QueuedEntry;

#define MAX_EXTRA_CHECKS	16
static GovVerifyFn extra_checks[MAX_EXTRA_CHECKS];
static int	num_extra_checks = 0;

/*
 * GovVerifyRegister
 *		Add a group of checks to verify(); call from _PG_init.
 */
void
GovVerifyRegister(GovVerifyFn fn)
{
	int			i;

	for (i = 0; i < num_extra_checks; i++)
		if (extra_checks[i] == fn)
			return;
	if (num_extra_checks >= MAX_EXTRA_CHECKS)
		elog(ERROR, "too many verification check groups");
	extra_checks[num_extra_checks++] = fn;
}

/*
 * GovRunRegisteredChecks
 *		Run every registered check group for log only_log (-1: all),
 *		appending their results.
 */
void
GovRunRegisteredChecks(int32 only_log, List **results)
{
	int			i;

	for (i = 0; i < num_extra_checks; i++)
		extra_checks[i] (only_log, results);
}

/* Count a failure; keep the first one's description (in cxt). */
void
GovCheckFail(GovCheckResult *c, MemoryContext cxt, const char *fmt,...)
{
	c->failed++;
	if (c->first_failure == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);
		StringInfoData s;

		initStringInfo(&s);
		for (;;)
		{
			va_list		args;
			int			needed;

			va_start(args, fmt);
			needed = appendStringInfoVA(&s, fmt, args);
			va_end(args);
			if (needed == 0)
				break;
			enlargeStringInfo(&s, needed);
		}
		c->first_failure = s.data;
		MemoryContextSwitchTo(old);
	}
}

/* Registered name of ledger ledger_id, or "with id N (unknown)" when none. */
static char *
ledger_name_by_id(int32 ledger_id)
{
	Relation	rel = table_open(GovGetCatalog()->ledger, AccessShareLock);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	HeapTuple	tup;
	char	   *name = NULL;

	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;

		if (DatumGetInt32(heap_getattr(tup, Anum_gov_ledger_ledger_id,
									   RelationGetDescr(rel), &isnull)) != ledger_id)
			continue;
		name = TextDatumGetCString(heap_getattr(tup, Anum_gov_ledger_name,
												RelationGetDescr(rel), &isnull));
		break;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return name ? name : psprintf("with id %d (unknown)", ledger_id);
}

/* Emit a progress notice when enough time has passed. */
static void
maybe_progress(TimestampTz *last, const char *name, const char *what,
			   int64 n)
{
	TimestampTz now = GetCurrentTimestamp();

	if (TimestampDifferenceExceeds(*last, now, PROGRESS_INTERVAL_MS))
	{
		ereport(NOTICE,
				(errmsg("verify: ledger %s: " INT64_FORMAT " %s checked",
						name, n, what)));
		*last = now;
	}
}

/*
 * Find the witnesses of the mismatches of sealed entries: the leaf in
 * the log's tree (govledger.leaf, by entry id, when sealing is
 * installed).  A queued entry has no witness: its queue row holds the
 * only stored copy of its leaf.
 */
static void
find_witnesses(LeafMismatch *mm, int nmm, Snapshot snap)
{
	Relation	rel;
	HeapTuple	tup;
	int			i;
	Oid			leafrel;
	Oid			leafidx;
	AttrNumber	att_entry;
	AttrNumber	att_leaf;

	/* entries already sealed have their leaf in govledger.leaf */
	leafrel = get_relname_relid("leaf", GovGetCatalog()->nsp);
	leafidx = get_relname_relid("leaf_entry_idx", GovGetCatalog()->nsp);
	if (!OidIsValid(leafrel) || !OidIsValid(leafidx))
		return;
	rel = table_open(leafrel, AccessShareLock);
	att_entry = get_attnum(leafrel, "entry_id");
	att_leaf = get_attnum(leafrel, "leaf_hash");
	if (att_entry == InvalidAttrNumber || att_leaf == InvalidAttrNumber)
	{
		table_close(rel, AccessShareLock);
		return;
	}
	for (i = 0; i < nmm; i++)
	{
		ScanKeyData key;
		SysScanDesc sscan;

		if (mm[i].has_witness)
			continue;
		ScanKeyInit(&key, att_entry, BTEqualStrategyNumber, F_INT8EQ,
					Int64GetDatum(mm[i].entry_id));
		sscan = systable_beginscan(rel, leafidx, true, snap, 1, &key);
		tup = systable_getnext(sscan);
		if (HeapTupleIsValid(tup))
		{
			bool		isnull;
			Datum		d = heap_getattr(tup, att_leaf, RelationGetDescr(rel), &isnull);

			if (!isnull)
			{
				bytea	   *w = DatumGetByteaPP(d);

				mm[i].witness_len = Min(VARSIZE_ANY_EXHDR(w), GL_HASH_MAX_SIZE);
				memcpy(mm[i].witness, VARDATA_ANY(w), mm[i].witness_len);
				mm[i].has_witness = true;
			}
		}
		systable_endscan(sscan);
	}
	table_close(rel, AccessShareLock);
}

/* Number of visible rows of rel with ledger_entry_id = id, via index idx */
static int
count_rows_with_id(IndexScanDesc scan, TupleTableSlot *slot, int64 id)
{
	ScanKeyData key;
	int			n = 0;

	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(id));
	index_rescan(scan, &key, 1, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
		n++;
	return n;
}

/*
 * Check every entry of the ledger against the table: entry_row.  The
 * per-entry probes run only when the counts show something is missing or
 * the unique index cannot rule out duplicates.
 */
static void
check_entries(GovLedger *ledger, Relation rel, Snapshot snap, int64 matched,
			  int64 counted, HTAB *queued, GovCheckResult *ck,
			  MemoryContext cxt, MemoryContext rowcxt, TimestampTz *last)
{
	Relation	erel = table_open(GovGetCatalog()->entry, AccessShareLock);
	TableScanDesc scan;
	HeapTuple	tup;
	int64		nentries = 0;
	Oid			uniqueoid = GovEntryIndexOf(rel, ledger->entry_attnum, true);
	Oid			idxoid = OidIsValid(uniqueoid) ? uniqueoid :
		GovEntryIndexOf(rel, ledger->entry_attnum, false);
	Relation	idx;
	IndexScanDesc iscan;
	TupleTableSlot *slot;

	if (counted >= 0)
		nentries = counted;
	else
	{
		scan = table_beginscan(erel, snap, 0, NULL);
		while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
		{
			bool		isnull;

			if (DatumGetInt32(heap_getattr(tup, Anum_gov_entry_ledger_id,
										   RelationGetDescr(erel), &isnull)) == ledger->ledger_id)
				nentries++;
		}
		table_endscan(scan);
		nentries += queued ? hash_get_num_entries(queued) : 0;
	}
	ck->checked = nentries;

	if (!OidIsValid(idxoid))
	{
		GovCheckFail(ck, cxt, "the index on %s of %s is missing: deleted rows and duplicate entry ids cannot be located",
				   GOV_ENTRY_COLUMN, ledger->name);
		table_close(erel, AccessShareLock);
		return;
	}
	/* with a unique index, equal counts mean every entry has its row */
	if (OidIsValid(uniqueoid) && nentries == matched)
	{
		table_close(erel, AccessShareLock);
		return;
	}

	idx = index_open(idxoid, AccessShareLock);
	iscan = index_beginscan(rel, idx, snap, 1, 0);
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(erel, snap, 0, NULL);
	nentries = 0;
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		int64		id;
		int			n;

		if (DatumGetInt32(heap_getattr(tup, Anum_gov_entry_ledger_id,
									   RelationGetDescr(erel), &isnull)) != ledger->ledger_id)
			continue;
		CHECK_FOR_INTERRUPTS();
		id = DatumGetInt64(heap_getattr(tup, Anum_gov_entry_entry_id,
										RelationGetDescr(erel), &isnull));
		MemoryContextReset(rowcxt);
		n = count_rows_with_id(iscan, slot, id);
		if (n == 0)
			GovCheckFail(ck, cxt, "entry " INT64_FORMAT ": row deleted", id);
		else if (n > 1)
			GovCheckFail(ck, cxt, "entry " INT64_FORMAT ": duplicate entry id (%d rows)",
					   id, n);
		if ((++nentries & 0xffff) == 0)
			maybe_progress(last, ledger->name, "entries", nentries);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(iscan);
	index_close(idx, AccessShareLock);
	table_close(erel, AccessShareLock);

	/* queued entries: the row scan counted their rows */
	if (queued)
	{
		HASH_SEQ_STATUS hs;
		QueuedEntry *q;

		hash_seq_init(&hs, queued);
		while ((q = hash_seq_search(&hs)) != NULL)
		{
			if (q->rows == 0)
				GovCheckFail(ck, cxt, "entry " INT64_FORMAT ": row deleted", q->entry_id);
			else if (q->rows > 1)
				GovCheckFail(ck, cxt, "entry " INT64_FORMAT ": duplicate entry id (%d rows)",
						   q->entry_id, q->rows);
		}
	}
}

/* Number of entries of one ledger */
typedef struct LedgerCount
{
	int32		ledger_id;
	int64		count;
} LedgerCount;

/*
 * Count the entries of every ledger in one scan of govledger.entry, so
 * that verifying all ledgers reads the entries once, not once a ledger.
 */
static HTAB *
count_entries(Snapshot snap)
{
	HASHCTL		ctl;
	HTAB	   *counts;
	Relation	erel = table_open(GovGetCatalog()->entry, AccessShareLock);
	TableScanDesc scan = table_beginscan(erel, snap, 0, NULL);
	HeapTuple	tup;
	int32		last_id = -1;
	LedgerCount *last = NULL;

	ctl.keysize = sizeof(int32);
	ctl.entrysize = sizeof(LedgerCount);
	ctl.hcxt = CurrentMemoryContext;
	counts = hash_create("govledger entry counts", 64, &ctl,
						 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		bool		found;
		int32		id = DatumGetInt32(heap_getattr(tup, Anum_gov_entry_ledger_id,
												RelationGetDescr(erel), &isnull));

		if (last == NULL || id != last_id)
		{
			last = hash_search(counts, &id, HASH_ENTER, &found);
			if (!found)
				last->count = 0;
			last_id = id;
		}
		last->count++;
	}
	table_endscan(scan);
	table_close(erel, AccessShareLock);

	/* and the queued entries */
	erel = table_open(GovGetCatalog()->unsealed, AccessShareLock);
	scan = table_beginscan(erel, snap, 0, NULL);
	last = NULL;
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		bool		found;
		Datum		d = heap_getattr(tup, Anum_gov_unsealed_ledger_id,
									 RelationGetDescr(erel), &isnull);
		int32		id;

		if (isnull)
			continue;
		id = DatumGetInt32(d);
		if (last == NULL || id != last_id)
		{
			last = hash_search(counts, &id, HASH_ENTER, &found);
			if (!found)
				last->count = 0;
			last_id = id;
		}
		last->count++;
	}
	table_endscan(scan);
	table_close(erel, AccessShareLock);
	return counts;
}

static int64
entry_count(HTAB *counts, int32 ledger_id)
{
	LedgerCount *c = hash_search(counts, &ledger_id, HASH_FIND, NULL);

	return c ? c->count : 0;
}

/* Rows gathered, sorted by entry id, then matched against the entries */
#define VERIFY_BATCH		8192

typedef struct BatchRow
{
	int64		entry_id;
	HeapTuple	tup;			/* copy, in the batch context */
} BatchRow;

/* State of one ledger's row checks */
typedef struct LedgerVerify
{
	GovLedger  *ledger;
	GovCheckResult *ck;			/* NUM_LEDGER_CHECKS results */
	MemoryContext cxt;			/* results and mismatches live here */
	MemoryContext rowcxt;		/* reset for every row */
	TupleDesc	desc;			/* the ledger table's */
	TupleDesc	edesc;			/* govledger.entry's */
	Datum	   *values;
	bool	   *nulls;
	StringInfoData buf;			/* encoding buffer, reused */
	int64		matched;		/* rows whose entry belongs here */
	int64		unclassified;	/* mismatches beyond MAX_MISMATCHES */
	LeafMismatch *mm;
	int			nmm;
	int			mmcap;
	HTAB	   *queued;			/* this ledger's queued entries by id */
	TupleDesc	qdesc;			/* govledger.unsealed's */
} LedgerVerify;


static int
batch_row_cmp(const void *a, const void *b)
{
	int64		x = ((const BatchRow *) a)->entry_id;
	int64		y = ((const BatchRow *) b)->entry_id;

	return (x > y) - (x < y);
}

static void check_row(LedgerVerify *v, HeapTuple tup, int64 id,
					  HeapTuple etup, bool queued);

/*
 * A row whose entry id is not among the sealed entries: its entry is
 * queued, or row_entry fails.
 */
static void
row_without_entry(LedgerVerify *v, HeapTuple tup, int64 id)
{
	QueuedEntry *q = v->queued ?
		hash_search(v->queued, &id, HASH_FIND, NULL) : NULL;

	if (q != NULL)
	{
		q->rows++;
		check_row(v, tup, id, q->tup, true);
		return;
	}
	GovCheckFail(&v->ck[CK_ROW_ENTRY], v->cxt,
			   "row with %s " INT64_FORMAT " has no entry: inserted with triggers disabled",
			   GOV_ENTRY_COLUMN, id);
}

/*
 * Check one row against its entry (etup): the ledger binding, and the
 * recomputed leaf against the stored one (mismatches are kept for
 * classification).
 */
static void
check_row(LedgerVerify *v, HeapTuple tup, int64 id, HeapTuple etup,
		  bool queued)
{
	size_t		hsize = v->ledger->hash->size;
	uint8		leaf[GL_HASH_MAX_SIZE];
	GovEntryRow e;
	MemoryContext old;

	MemoryContextReset(v->rowcxt);
	old = MemoryContextSwitchTo(v->rowcxt);
	if (queued)
		(void) GovEntryFromQueueTuple(etup, v->qdesc, &e);
	else
		GovEntryFromTuple(etup, v->edesc, &e);

	v->ck[CK_LEDGER_BINDING].checked++;
	if (e.ledger_id != v->ledger->ledger_id)
	{
		GovCheckFail(&v->ck[CK_LEDGER_BINDING], v->cxt,
				   "entry " INT64_FORMAT ": row moved or copied from ledger %s",
				   id, ledger_name_by_id(e.ledger_id));
		MemoryContextSwitchTo(old);
		return;
	}
	v->matched++;
	v->ck[CK_ROW_HASH].checked++;
	v->ck[CK_ENTRY_LEAF].checked++;
	heap_deform_tuple(tup, v->desc, v->values, v->nulls);
	GovComputeLeaf(v->ledger, &e, v->desc, v->values, v->nulls, &v->buf, leaf);
	if (e.leaf == NULL || VARSIZE_ANY_EXHDR(e.leaf) != hsize ||
		memcmp(VARDATA_ANY(e.leaf), leaf, hsize) != 0)
	{
		if (v->nmm < MAX_MISMATCHES)
		{
			LeafMismatch *m;

			MemoryContextSwitchTo(v->cxt);
			if (v->nmm >= v->mmcap)
			{
				v->mmcap = v->mmcap ? v->mmcap * 2 : 64;
				v->mm = v->mm ? repalloc(v->mm, sizeof(LeafMismatch) * v->mmcap) :
					palloc(sizeof(LeafMismatch) * v->mmcap);
			}
			m = &v->mm[v->nmm++];
			memset(m, 0, sizeof(LeafMismatch));
			m->entry_id = id;
			memcpy(m->computed, leaf, hsize);
			if (e.leaf)
			{
				m->stored_len = Min(VARSIZE_ANY_EXHDR(e.leaf), GL_HASH_MAX_SIZE);
				memcpy(m->stored, VARDATA_ANY(e.leaf), m->stored_len);
			}
		}
		else
			v->unclassified++;
	}
	MemoryContextSwitchTo(old);
}

/*
 * Match a batch of rows, sorted by entry id, against govledger.entry.
 * When the ids are dense (the usual case: a ledger's rows were inserted
 * in id order, interleaved with few other ledgers' entries), one forward
 * range scan of the primary key serves the whole batch; otherwise each
 * id is looked up on its own.
 */
static void
match_batch(LedgerVerify *v, BatchRow *batch, int n, IndexScanDesc iscan,
			TupleTableSlot *slot)
{
	ScanKeyData key;
	HeapTuple	etup;
	bool		should_free;
	int			i = 0;

	if ((uint64) (batch[n - 1].entry_id - batch[0].entry_id) <= (uint64) n * 4 + 64)
	{
		ScanKeyInit(&key, 1, BTGreaterEqualStrategyNumber, F_INT8GE,
					Int64GetDatum(batch[0].entry_id));
		index_rescan(iscan, &key, 1, NULL, 0);
		while (i < n && index_getnext_slot(iscan, ForwardScanDirection, slot))
		{
			bool		isnull;
			int64		eid;

			etup = ExecFetchSlotHeapTuple(slot, false, &should_free);
			eid = DatumGetInt64(heap_getattr(etup, Anum_gov_entry_entry_id,
											 v->edesc, &isnull));
			while (i < n && batch[i].entry_id < eid)
			{
				row_without_entry(v, batch[i].tup, batch[i].entry_id);
				i++;
			}
			while (i < n && batch[i].entry_id == eid)
			{
				check_row(v, batch[i].tup, eid, etup, false);
				i++;
			}
			CHECK_FOR_INTERRUPTS();
		}
		for (; i < n; i++)
			row_without_entry(v, batch[i].tup, batch[i].entry_id);
		return;
	}

	for (i = 0; i < n; i++)
	{
		ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ,
					Int64GetDatum(batch[i].entry_id));
		index_rescan(iscan, &key, 1, NULL, 0);
		if (!index_getnext_slot(iscan, ForwardScanDirection, slot))
		{
			row_without_entry(v, batch[i].tup, batch[i].entry_id);
			continue;
		}
		etup = ExecFetchSlotHeapTuple(slot, false, &should_free);
		check_row(v, batch[i].tup, batch[i].entry_id, etup, false);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * The queued (not yet sealed) entries of the ledger, by entry id, in
 * v->cxt; NULL when there are none.
 */
static HTAB *
load_queued(LedgerVerify *v, Snapshot snap)
{
	Relation	rel = table_open(GovGetCatalog()->unsealed, AccessShareLock);
	TableScanDesc scan = table_beginscan(rel, snap, 0, NULL);
	TupleDesc	desc = RelationGetDescr(rel);
	HeapTuple	tup;
	HTAB	   *queued = NULL;

	v->qdesc = CreateTupleDescCopy(desc);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_gov_unsealed_ledger_id, desc, &isnull);
		int64		id;
		QueuedEntry *q;
		bool		found;

		if (isnull || DatumGetInt32(d) != v->ledger->ledger_id)
			continue;
		if (queued == NULL)
		{
			HASHCTL		ctl;

			ctl.keysize = sizeof(int64);
			ctl.entrysize = sizeof(QueuedEntry);
			ctl.hcxt = v->cxt;
			queued = hash_create("govledger verify queued entries", 1024, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		}
		id = DatumGetInt64(heap_getattr(tup, Anum_gov_unsealed_entry_id, desc, &isnull));
		q = hash_search(queued, &id, HASH_ENTER, &found);
		if (!found)
		{
			q->tup = heap_copytuple(tup);
			q->rows = 0;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return queued;
}

/*
 * Run the row checks of one ledger table, appending a GovCheckResult per
 * check to *results.
 */
static void
verify_ledger(Oid relid, Snapshot snap, HTAB *counts, List **results)
{
	LedgerVerify v;
	MemoryContext batchcxt;
	Relation	rel;
	Relation	erel;
	Relation	pkey;
	IndexScanDesc iscan;
	TupleTableSlot *slot;
	TableScanDesc scan;
	HeapTuple	tup;
	BatchRow   *batch;
	int			eatt;
	int64		nrows = 0;
	TimestampTz last = GetCurrentTimestamp();
	char	   *lname;
	size_t		hsize;
	bool		more = true;
	int			i;

	memset(&v, 0, sizeof(v));
	v.cxt = CurrentMemoryContext;
	v.ledger = GovLookupLedger(relid, false);
	hsize = v.ledger->hash->size;
	lname = pstrdup(v.ledger->name);
	v.ck = palloc0(sizeof(GovCheckResult) * NUM_LEDGER_CHECKS);
	for (i = 0; i < NUM_LEDGER_CHECKS; i++)
	{
		v.ck[i].ledger = relid;
		v.ck[i].check_name = ledger_check_names[i];
	}
	v.rowcxt = AllocSetContextCreate(v.cxt, "govledger verify row",
									 ALLOCSET_DEFAULT_SIZES);
	/* one block kept across resets holds a typical batch */
	batchcxt = AllocSetContextCreate(v.cxt, "govledger verify batch",
									 4 * 1024 * 1024, 4 * 1024 * 1024,
									 8 * 1024 * 1024);
	initStringInfo(&v.buf);

	v.queued = load_queued(&v, snap);
	rel = table_open(relid, AccessShareLock);
	v.desc = RelationGetDescr(rel);
	erel = table_open(GovGetCatalog()->entry, AccessShareLock);
	v.edesc = RelationGetDescr(erel);
	pkey = index_open(GovGetCatalog()->entry_pkey, AccessShareLock);
	iscan = index_beginscan(erel, pkey, snap, 1, 0);
	slot = table_slot_create(erel, NULL);
	v.values = palloc(sizeof(Datum) * v.desc->natts);
	v.nulls = palloc(sizeof(bool) * v.desc->natts);
	batch = palloc(sizeof(BatchRow) * VERIFY_BATCH);
	eatt = v.ledger->entry_attnum;

	scan = table_beginscan(rel, snap, 0, NULL);
	while (more)
	{
		int			n = 0;
		MemoryContext old;

		MemoryContextReset(batchcxt);
		old = MemoryContextSwitchTo(batchcxt);
		while (n < VERIFY_BATCH)
		{
			bool		isnull;
			Datum		d;

			tup = heap_getnext(scan, ForwardScanDirection);
			if (tup == NULL)
			{
				more = false;
				break;
			}
			if ((++nrows & 0xffff) == 0)
			{
				CHECK_FOR_INTERRUPTS();
				maybe_progress(&last, lname, "rows", nrows);
			}
			v.ck[CK_ROW_ENTRY].checked++;
			d = heap_getattr(tup, eatt, v.desc, &isnull);
			if (isnull)
			{
				GovCheckFail(&v.ck[CK_ROW_ENTRY], v.cxt,
						   "row at ctid (%u,%u) has no %s: inserted with triggers disabled",
						   ItemPointerGetBlockNumber(&tup->t_self),
						   ItemPointerGetOffsetNumber(&tup->t_self),
						   GOV_ENTRY_COLUMN);
				continue;
			}
			batch[n].entry_id = DatumGetInt64(d);
			batch[n].tup = heap_copytuple(tup);
			n++;
		}
		MemoryContextSwitchTo(old);
		if (n == 0)
			continue;
		qsort(batch, n, sizeof(BatchRow), batch_row_cmp);
		match_batch(&v, batch, n, iscan, slot);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(iscan);
	index_close(pkey, AccessShareLock);
	table_close(erel, AccessShareLock);
	MemoryContextDelete(batchcxt);

	/* tell altered stored leaves from changed rows */
	if (v.nmm > 0)
		find_witnesses(v.mm, v.nmm, snap);
	for (i = 0; i < v.nmm; i++)
	{
		LeafMismatch *m = &v.mm[i];
		bool		w_is_computed = m->has_witness && (size_t) m->witness_len == hsize &&
			memcmp(m->witness, m->computed, hsize) == 0;
		bool		w_is_stored = m->has_witness &&
			m->witness_len == m->stored_len &&
			memcmp(m->witness, m->stored, m->stored_len) == 0;

		if (w_is_computed)
			GovCheckFail(&v.ck[CK_ENTRY_LEAF], v.cxt,
					   "entry " INT64_FORMAT ": stored leaf altered", m->entry_id);
		else if (w_is_stored)
			GovCheckFail(&v.ck[CK_ROW_HASH], v.cxt,
					   "entry " INT64_FORMAT ": row changed since insert (column value or entry metadata)",
					   m->entry_id);
		else if (m->has_witness)
		{
			GovCheckFail(&v.ck[CK_ROW_HASH], v.cxt,
					   "entry " INT64_FORMAT ": row changed since insert (column value or entry metadata)",
					   m->entry_id);
			GovCheckFail(&v.ck[CK_ENTRY_LEAF], v.cxt,
					   "entry " INT64_FORMAT ": stored leaf altered", m->entry_id);
		}
		else
			GovCheckFail(&v.ck[CK_ROW_HASH], v.cxt,
					   "entry " INT64_FORMAT ": leaf does not match the row (changed column value or altered stored leaf)",
					   m->entry_id);
	}
	v.ck[CK_ROW_HASH].failed += v.unclassified;

	check_entries(v.ledger, rel, snap, v.matched,
				  counts ? entry_count(counts, v.ledger->ledger_id) : -1,
				  v.queued, &v.ck[CK_ENTRY_ROW], v.cxt, v.rowcxt, &last);
	table_close(rel, AccessShareLock);

	if (nrows >= 0x10000)
		ereport(NOTICE,
				(errmsg("verify: ledger %s: " INT64_FORMAT " rows checked, done",
						lname, nrows)));

	MemoryContextDelete(v.rowcxt);
	for (i = 0; i < NUM_LEDGER_CHECKS; i++)
		*results = lappend(*results, &v.ck[i]);
}

/*
 * The active ledgers (relid not NULL) in ledger_id order; with a valid
 * relid, only that one.
 */
static List *
active_ledgers(Oid only, Snapshot snap, List **missing)
{
	Relation	rel = table_open(GovGetCatalog()->ledger, AccessShareLock);
	TableScanDesc scan = table_beginscan(rel, snap, 0, NULL);
	HeapTuple	tup;
	List	   *result = NIL;

	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_gov_ledger_relid,
									 RelationGetDescr(rel), &isnull);
		Oid			relid;

		if (isnull)
			continue;
		relid = DatumGetObjectId(d);
		if (OidIsValid(only) && relid != only)
			continue;
		if (get_rel_name(relid) == NULL)
			*missing = lappend(*missing,
							   TextDatumGetCString(heap_getattr(tup, Anum_gov_ledger_name,
																RelationGetDescr(rel), &isnull)));
		else
			result = lappend_oid(result, relid);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	list_sort(result, list_oid_cmp);
	return result;
}

/* SQL function: govledger.verify(tbl regclass) returns setof record */
PG_FUNCTION_INFO_V1(govledger_verify);

Datum
govledger_verify(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			only = PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0);
	Snapshot	snap;
	List	   *ledgers;
	List	   *missing = NIL;
	List	   *results = NIL;
	ListCell   *lc;
	HTAB	   *counts;
	GovParallelChecks *parallel;
	int32		only_log;

	InitMaterializedSRF(fcinfo, 0);
	if (OidIsValid(only))
	{
		if (get_rel_name(only) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation with OID %u does not exist", only)));
		(void) GovLookupLedger(only, false);
		GovCheckReadable(only);
	}

	snap = RegisterSnapshot(GetTransactionSnapshot());
	ledgers = active_ledgers(only, snap, &missing);

	foreach(lc, missing)
	{
		GovCheckResult *r = palloc0(sizeof(GovCheckResult));

		r->ledger = InvalidOid;
		r->check_name = "ledger_table";
		r->checked = 1;
		r->failed = 1;
		r->first_failure = psprintf("ledger table %s was dropped without govledger.drop_ledger()",
									(char *) lfirst(lc));
		results = lappend(results, r);
	}
	counts = list_length(ledgers) > 1 ? count_entries(snap) : NULL;

	/*
	 * The logs are checked in a parallel worker, if one can be had.  The
	 * ledgers' cached metadata is made current first: in parallel mode it
	 * can only be read with the query's snapshot (GovReadSnapshot).
	 */
	foreach(lc, ledgers)
		(void) GovLookupLedger(lfirst_oid(lc), true);
	only_log = OidIsValid(only) ? GovLookupLedger(only, false)->log_id : -1;
	parallel = GovParallelChecksStart(only_log);
	foreach(lc, ledgers)
	{
		Oid			relid = lfirst_oid(lc);

		/* verify() of all ledgers covers those the role may read */
		if (!OidIsValid(only) &&
			(pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
			 check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED))
			continue;
		verify_ledger(relid, snap, counts, &results);
	}
	if (parallel == NULL || !GovParallelChecksFinish(parallel, &results))
		GovRunRegisteredChecks(only_log, &results);
	UnregisterSnapshot(snap);

	foreach(lc, results)
	{
		GovCheckResult *r = (GovCheckResult *) lfirst(lc);
		Datum		values[6];
		bool		nulls[6];

		memset(nulls, false, sizeof(nulls));
		if (OidIsValid(r->ledger))
			values[0] = ObjectIdGetDatum(r->ledger);
		else
			nulls[0] = true;
		values[1] = CStringGetTextDatum(r->check_name);
		values[2] = BoolGetDatum(r->failed == 0);
		values[3] = Int64GetDatum(r->checked);
		values[4] = Int64GetDatum(r->failed);
		if (r->first_failure)
			values[5] = CStringGetTextDatum(r->first_failure);
		else
			nulls[5] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
