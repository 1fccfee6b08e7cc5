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
 * Rows are read a range of blocks at a time, sorted by entry id so that
 * one range scan of govledger.entry_sealed's primary key finds their
 * entries; rows whose entry is not sealed yet find it among the ledger's
 * queued entries, which are held in memory (the background sealer keeps
 * the queue to a few milliseconds of inserts).  Each row is processed in
 * a memory context reset for the next one, and only a bounded list of
 * leaf mismatches is kept for the classification.  Other modules add
 * checks (trees, blocks) with GovVerifyRegister(); their results become
 * further rows of the output.  When a parallel worker can be started
 * (verify_parallel.c) it runs those checks, then takes block ranges of
 * the ledger tables too; its results are merged with the leader's, and
 * the failure each check reports is chosen by table order (or entry id)
 * so that it does not depend on who met it.
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
#include "optimizer/optimizer.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
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
/* govledger.verify_progress_interval: ms between progress NOTICEs */
int			gov_verify_progress_interval = 5000;

typedef struct LeafMismatch
{
	int64		entry_id;
	int32		log_id;			/* the sealed entry's leaf, when leaf_index >= 0 */
	int64		leaf_index;
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

/*
 * GovFormatFailure
 *		fmt and args formatted into a string in cxt, for a check's
 *		description of a failure.
 */
char *
GovFormatFailure(MemoryContext cxt, const char *fmt, va_list args)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	StringInfoData s;

	initStringInfo(&s);
	for (;;)
	{
		va_list		copy;
		int			needed;

		va_copy(copy, args);
		needed = appendStringInfoVA(&s, fmt, copy);
		va_end(copy);
		if (needed == 0)
			break;
		enlargeStringInfo(&s, needed);
	}
	MemoryContextSwitchTo(old);
	return s.data;
}

/* Count a failure; keep the first one's description (in cxt). */
void
GovCheckFail(GovCheckResult *c, MemoryContext cxt, const char *fmt,...)
{
	c->failed++;
	if (c->first_failure == NULL)
	{
		va_list		args;

		va_start(args, fmt);
		c->first_failure = GovFormatFailure(cxt, fmt, args);
		va_end(args);
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

/*
 * GovVerifyInit
 *		Define verify()'s settings.
 */
void
GovVerifyInit(void)
{
	DefineCustomIntVariable("govledger.verify_progress_interval",
							"Time between verify()'s progress notices.",
							NULL,
							&gov_verify_progress_interval,
							5000,
							0,
							INT_MAX / 1000,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/* Emit a progress notice when enough time has passed. */
static void
maybe_progress(TimestampTz *last, const char *name, const char *what,
			   int64 n)
{
	TimestampTz now = GetCurrentTimestamp();

	if (TimestampDifferenceExceeds(*last, now, gov_verify_progress_interval))
	{
		ereport(NOTICE,
				(errmsg("verify: ledger %s: " INT64_FORMAT " %s checked",
						name, n, what)));
		*last = now;
	}
}

/*
 * Find the witnesses of the mismatches of sealed entries: the entry's
 * leaf in the log's tree (govledger.leaf, by the position the entry
 * records), when that leaf names the entry.  A queued entry has no
 * witness: its queue row holds the only stored copy of its leaf.
 */
static void
find_witnesses(LeafMismatch *mm, int nmm, Snapshot snap)
{
	Relation	rel;
	TupleDesc	desc;
	Oid			leafrel;
	Oid			leafpkey;
	int			i;

	/* entries already sealed have their leaf in govledger.leaf */
	leafrel = get_relname_relid("leaf", GovGetCatalog()->nsp);
	leafpkey = get_relname_relid("leaf_pkey", GovGetCatalog()->nsp);
	if (!OidIsValid(leafrel) || !OidIsValid(leafpkey))
		return;
	rel = table_open(leafrel, AccessShareLock);
	desc = RelationGetDescr(rel);
	for (i = 0; i < nmm; i++)
	{
		ScanKeyData key[2];
		SysScanDesc sscan;
		HeapTuple	tup;
		bool		isnull;

		if (mm[i].has_witness || mm[i].leaf_index < 0)
			continue;
		ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT4EQ,
					Int32GetDatum(mm[i].log_id));
		ScanKeyInit(&key[1], 2, BTEqualStrategyNumber, F_INT8EQ,
					Int64GetDatum(mm[i].leaf_index));
		sscan = systable_beginscan(rel, leafpkey, true, snap, 2, key);
		tup = systable_getnext(sscan);
		/* (log_id, leaf_index, entry_id, leaf_hash); only the entry's own leaf */
		if (HeapTupleIsValid(tup) &&
			DatumGetInt64(heap_getattr(tup, 3, desc, &isnull)) == mm[i].entry_id)
		{
			Datum		d = heap_getattr(tup, 4, desc, &isnull);

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

/*
 * Rows are read a range of blocks at a time, sorted by entry id and
 * matched against the entries with one range scan.  Rows of neighbouring
 * blocks were inserted close together and have nearly consecutive entry
 * ids, so the range scans stay dense however the ranges are shared out
 * between the leader and its worker.  A range holds at most
 * VERIFY_RANGE_BLOCKS * MaxHeapTuplesPerPage rows.
 */
#define VERIFY_RANGE_BLOCKS		64
#define VERIFY_BATCH_MAX		(VERIFY_RANGE_BLOCKS * MaxHeapTuplesPerPage)

typedef struct BatchRow
{
	int64		entry_id;
	HeapTuple	tup;			/* copy, in the batch context */
	int			row;			/* its columns: row * natts into the
								 * batch's values and nulls */
} BatchRow;

/* A range's rows, deformed once */
typedef struct Batch
{
	BatchRow   *rows;
	int			n;
	int			natts;
	int			cap;			/* rows the values and nulls have room for */
	Datum	   *values;
	bool	   *nulls;
} Batch;

/*
 * State of one ledger's row checks.  Of each check's failures the one
 * kept is that of the row first in the table (lowest ctid) and, for leaf
 * mismatches, that of the lowest entry id: the same whichever process
 * met it first.
 */
typedef struct LedgerVerify
{
	GovLedger  *ledger;
	char	   *name;
	GovCheckResult *ck;			/* NUM_LEDGER_CHECKS results */
	ItemPointerData first_tid[NUM_LEDGER_CHECKS];	/* of first_failure */
	MemoryContext cxt;			/* results and mismatches live here */
	MemoryContext rowcxt;		/* reset for every row */
	TupleDesc	desc;			/* the ledger table's, while scanning */
	TupleDesc	edesc;			/* govledger.entry's, while scanning */
	StringInfoData buf;			/* encoding buffer, reused */
	int64		nrows;			/* rows read by this process */
	int64		matched;		/* rows whose entry belongs here */
	int64		unclassified;	/* mismatches beyond MAX_MISMATCHES */
	LeafMismatch *mm;
	int			nmm;
	int			mmcap;
	HTAB	   *queued;			/* this ledger's queued entries by id */
	TupleDesc	qdesc;			/* govledger.unsealed's */
} LedgerVerify;

/*
 * Count a failure of row check ck met at the row at tid; keep its
 * description if that row comes first in the table.
 */
static void row_fail(LedgerVerify *v, int ck, ItemPointer tid,
					 const char *fmt,...) pg_attribute_printf(4, 5);

static void
row_fail(LedgerVerify *v, int ck, ItemPointer tid, const char *fmt,...)
{
	GovCheckResult *c = &v->ck[ck];
	va_list		args;

	c->failed++;
	if (c->first_failure != NULL &&
		ItemPointerCompare(tid, &v->first_tid[ck]) >= 0)
		return;
	if (c->first_failure != NULL)
		pfree(c->first_failure);
	va_start(args, fmt);
	c->first_failure = GovFormatFailure(v->cxt, fmt, args);
	va_end(args);
	v->first_tid[ck] = *tid;
}

static int
batch_row_cmp(const void *a, const void *b)
{
	int64		x = ((const BatchRow *) a)->entry_id;
	int64		y = ((const BatchRow *) b)->entry_id;

	return (x > y) - (x < y);
}

static int
mismatch_cmp(const void *a, const void *b)
{
	int64		x = ((const LeafMismatch *) a)->entry_id;
	int64		y = ((const LeafMismatch *) b)->entry_id;

	return (x > y) - (x < y);
}

static void check_row(LedgerVerify *v, Batch *b, BatchRow *r,
					  HeapTuple etup, bool queued);

/*
 * A row whose entry id is not among the sealed entries: its entry is
 * queued, or row_entry fails.
 */
static void
row_without_entry(LedgerVerify *v, Batch *b, BatchRow *r)
{
	QueuedEntry *q = v->queued ?
		hash_search(v->queued, &r->entry_id, HASH_FIND, NULL) : NULL;

	if (q != NULL)
	{
		q->rows++;
		check_row(v, b, r, q->tup, true);
		return;
	}
	row_fail(v, CK_ROW_ENTRY, &r->tup->t_self,
			 "row with %s " INT64_FORMAT " has no entry: inserted with triggers disabled",
			 GOV_ENTRY_COLUMN, r->entry_id);
}

/* Keep a leaf mismatch for classification, or count it unclassified. */
static void
keep_mismatch(LedgerVerify *v, const LeafMismatch *m)
{
	MemoryContext old;

	if (v->nmm >= MAX_MISMATCHES)
	{
		v->unclassified++;
		return;
	}
	old = MemoryContextSwitchTo(v->cxt);
	if (v->nmm >= v->mmcap)
	{
		v->mmcap = v->mmcap ? v->mmcap * 2 : 64;
		v->mm = v->mm ? repalloc(v->mm, sizeof(LeafMismatch) * v->mmcap) :
			palloc(sizeof(LeafMismatch) * v->mmcap);
	}
	v->mm[v->nmm++] = *m;
	MemoryContextSwitchTo(old);
}

/*
 * Check one row of batch b against its entry (etup): the ledger binding,
 * and the recomputed leaf against the stored one (mismatches are kept
 * for classification).
 */
static void
check_row(LedgerVerify *v, Batch *b, BatchRow *r, HeapTuple etup,
		  bool queued)
{
	int64		id = r->entry_id;
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
		row_fail(v, CK_LEDGER_BINDING, &r->tup->t_self,
				 "entry " INT64_FORMAT ": row moved or copied from ledger %s",
				 id, ledger_name_by_id(e.ledger_id));
		MemoryContextSwitchTo(old);
		return;
	}
	v->matched++;
	v->ck[CK_ROW_HASH].checked++;
	v->ck[CK_ENTRY_LEAF].checked++;
	GovComputeLeaf(v->ledger, &e, v->desc, &b->values[r->row * b->natts],
				   &b->nulls[r->row * b->natts], &v->buf, leaf);
	if (e.leaf == NULL || VARSIZE_ANY_EXHDR(e.leaf) != hsize ||
		memcmp(VARDATA_ANY(e.leaf), leaf, hsize) != 0)
	{
		LeafMismatch m;

		memset(&m, 0, sizeof(m));
		m.entry_id = id;
		m.log_id = e.log_id;
		m.leaf_index = e.leaf_index;
		memcpy(m.computed, leaf, hsize);
		if (e.leaf)
		{
			m.stored_len = Min(VARSIZE_ANY_EXHDR(e.leaf), GL_HASH_MAX_SIZE);
			memcpy(m.stored, VARDATA_ANY(e.leaf), m.stored_len);
		}
		keep_mismatch(v, &m);
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
match_batch(LedgerVerify *v, Batch *b, IndexScanDesc iscan,
			TupleTableSlot *slot)
{
	BatchRow   *batch = b->rows;
	int			n = b->n;
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
				row_without_entry(v, b, &batch[i]);
				i++;
			}
			while (i < n && batch[i].entry_id == eid)
			{
				check_row(v, b, &batch[i], etup, false);
				i++;
			}
			CHECK_FOR_INTERRUPTS();
		}
		for (; i < n; i++)
			row_without_entry(v, b, &batch[i]);
		return;
	}

	for (i = 0; i < n; i++)
	{
		ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ,
					Int64GetDatum(batch[i].entry_id));
		index_rescan(iscan, &key, 1, NULL, 0);
		if (!index_getnext_slot(iscan, ForwardScanDirection, slot))
		{
			row_without_entry(v, b, &batch[i]);
			continue;
		}
		etup = ExecFetchSlotHeapTuple(slot, false, &should_free);
		check_row(v, b, &batch[i], etup, false);
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
	MemoryContext old = MemoryContextSwitchTo(v->cxt);

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
	MemoryContextSwitchTo(old);
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return queued;
}

/*
 * Set up the row checks of ledger table relid in the current memory
 * context.
 */
static void
begin_ledger(LedgerVerify *v, Oid relid, Snapshot snap)
{
	int			i;

	memset(v, 0, sizeof(*v));
	v->cxt = CurrentMemoryContext;
	v->ledger = GovLookupLedger(relid, false);
	v->name = pstrdup(v->ledger->name);
	v->ck = palloc0(sizeof(GovCheckResult) * NUM_LEDGER_CHECKS);
	for (i = 0; i < NUM_LEDGER_CHECKS; i++)
	{
		v->ck[i].ledger = relid;
		v->ck[i].check_name = ledger_check_names[i];
	}
	v->rowcxt = AllocSetContextCreate(v->cxt, "govledger verify row",
									  ALLOCSET_DEFAULT_SIZES);
	initStringInfo(&v->buf);
	v->queued = load_queued(v, snap);
}

/*
 * Check the rows of the block ranges taken from range until none is
 * left; the leader and its worker run this side by side.
 */
static void
check_rows(LedgerVerify *v, Snapshot snap, GovRowRange *range, bool leader)
{
	Relation	rel = table_open(range->relid, AccessShareLock);
	Relation	erel = table_open(GovGetCatalog()->entry, AccessShareLock);
	Relation	pkey = index_open(GovGetCatalog()->entry_pkey, AccessShareLock);
	IndexScanDesc iscan = index_beginscan(erel, pkey, snap, 1, 0);
	TupleTableSlot *slot = table_slot_create(erel, NULL);
	TableScanDesc scan = table_beginscan_strat(rel, snap, 0, NULL, true, false);
	MemoryContext batchcxt;
	Batch		b;
	int			eidx = v->ledger->entry_attnum - 1;
	TimestampTz last = GetCurrentTimestamp();

	/* one block kept across resets holds a typical batch */
	batchcxt = AllocSetContextCreate(v->cxt, "govledger verify batch",
									 1024 * 1024, 1024 * 1024,
									 8 * 1024 * 1024);
	v->desc = RelationGetDescr(rel);
	v->edesc = RelationGetDescr(erel);
	b.rows = palloc(sizeof(BatchRow) * VERIFY_BATCH_MAX);
	b.natts = v->desc->natts;
	b.cap = 1024;
	b.values = palloc(sizeof(Datum) * b.cap * b.natts);
	b.nulls = palloc(sizeof(bool) * b.cap * b.natts);

	for (;;)
	{
		uint64		start = pg_atomic_fetch_add_u64(&range->next_block,
													VERIFY_RANGE_BLOCKS);
		HeapTuple	tup;
		int			seen = 0;
		uint64		total;
		MemoryContext old;

		if (start >= range->nblocks)
			break;
		table_rescan(scan, NULL);
		heap_setscanlimits(scan, (BlockNumber) start,
						   Min(VERIFY_RANGE_BLOCKS, range->nblocks - start));
		MemoryContextReset(batchcxt);
		b.n = 0;
		while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
		{
			BatchRow   *r = &b.rows[b.n];
			Datum	   *values;
			bool	   *nulls;

			seen++;
			v->ck[CK_ROW_ENTRY].checked++;
			if (b.n >= b.cap)
			{
				b.cap *= 2;
				b.values = repalloc(b.values, sizeof(Datum) * b.cap * b.natts);
				b.nulls = repalloc(b.nulls, sizeof(bool) * b.cap * b.natts);
			}
			/* each row is deformed once, for its entry id and its leaf */
			values = &b.values[b.n * b.natts];
			nulls = &b.nulls[b.n * b.natts];
			old = MemoryContextSwitchTo(batchcxt);
			r->tup = heap_copytuple(tup);
			MemoryContextSwitchTo(old);
			heap_deform_tuple(r->tup, v->desc, values, nulls);
			if (eidx >= b.natts || nulls[eidx])
			{
				row_fail(v, CK_ROW_ENTRY, &tup->t_self,
						 "row at ctid (%u,%u) has no %s: inserted with triggers disabled",
						 ItemPointerGetBlockNumber(&tup->t_self),
						 ItemPointerGetOffsetNumber(&tup->t_self),
						 GOV_ENTRY_COLUMN);
				continue;
			}
			Assert(b.n < VERIFY_BATCH_MAX);
			r->entry_id = DatumGetInt64(values[eidx]);
			r->row = b.n++;
		}
		v->nrows += seen;
		total = pg_atomic_add_fetch_u64(&range->rows_seen, seen);
		CHECK_FOR_INTERRUPTS();
		if (leader)
			maybe_progress(&last, v->name, "rows", (int64) total);
		if (b.n == 0)
			continue;
		qsort(b.rows, b.n, sizeof(BatchRow), batch_row_cmp);
		match_batch(v, &b, iscan, slot);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(iscan);
	index_close(pkey, AccessShareLock);
	table_close(erel, AccessShareLock);
	table_close(rel, AccessShareLock);
	MemoryContextDelete(batchcxt);
	pfree(b.rows);
	pfree(b.values);
	pfree(b.nulls);
	v->desc = v->edesc = NULL;
}

/*
 * The worker's row-check results for one ledger, as one message:
 *	 int64 nrows, matched, unclassified
 *	 per check: int64 checked, failed; ItemPointerData tid; int32 length
 *		of first_failure (-1: none) and its bytes
 *	 int32 nmm and nmm LeafMismatch
 *	 int32 nq and nq (int64 entry id, int32 rows) of queued entries met
 */
static void
serialize_rows(LedgerVerify *v, StringInfo out)
{
	int32		n;
	int			i;

	appendBinaryStringInfo(out, (char *) &v->nrows, sizeof(int64));
	appendBinaryStringInfo(out, (char *) &v->matched, sizeof(int64));
	appendBinaryStringInfo(out, (char *) &v->unclassified, sizeof(int64));
	for (i = 0; i < NUM_LEDGER_CHECKS; i++)
	{
		GovCheckResult *c = &v->ck[i];

		n = c->first_failure ? (int32) strlen(c->first_failure) : -1;
		appendBinaryStringInfo(out, (char *) &c->checked, sizeof(int64));
		appendBinaryStringInfo(out, (char *) &c->failed, sizeof(int64));
		appendBinaryStringInfo(out, (char *) &v->first_tid[i],
							   sizeof(ItemPointerData));
		appendBinaryStringInfo(out, (char *) &n, sizeof(int32));
		if (n > 0)
			appendBinaryStringInfo(out, c->first_failure, n);
	}
	n = v->nmm;
	appendBinaryStringInfo(out, (char *) &n, sizeof(int32));
	if (n > 0)
		appendBinaryStringInfo(out, (char *) v->mm, sizeof(LeafMismatch) * n);

	n = 0;
	if (v->queued)
	{
		HASH_SEQ_STATUS hs;
		QueuedEntry *q;
		int			pos = out->len;

		appendBinaryStringInfo(out, (char *) &n, sizeof(int32));
		hash_seq_init(&hs, v->queued);
		while ((q = hash_seq_search(&hs)) != NULL)
		{
			if (q->rows == 0)
				continue;
			appendBinaryStringInfo(out, (char *) &q->entry_id, sizeof(int64));
			appendBinaryStringInfo(out, (char *) &q->rows, sizeof(int32));
			n++;
		}
		memcpy(out->data + pos, &n, sizeof(int32));
	}
	else
		appendBinaryStringInfo(out, (char *) &n, sizeof(int32));
}

/* Merge the worker's row-check results for one ledger into v. */
static void
merge_rows(LedgerVerify *v, const char *data, Size size)
{
	Size		pos = 0;
	int64		x;
	int32		n;
	int			i;

	GovReadBytes(data, size, &pos, &x, sizeof(int64));
	v->nrows += x;
	GovReadBytes(data, size, &pos, &x, sizeof(int64));
	v->matched += x;
	GovReadBytes(data, size, &pos, &x, sizeof(int64));
	v->unclassified += x;
	for (i = 0; i < NUM_LEDGER_CHECKS; i++)
	{
		GovCheckResult *c = &v->ck[i];
		ItemPointerData tid;
		int64		failed;
		char	   *msg;

		GovReadBytes(data, size, &pos, &x, sizeof(int64));
		c->checked += x;
		GovReadBytes(data, size, &pos, &failed, sizeof(int64));
		GovReadBytes(data, size, &pos, &tid, sizeof(ItemPointerData));
		msg = GovReadString(data, size, &pos, v->cxt);
		if (msg != NULL &&
			(c->first_failure == NULL ||
			 ItemPointerCompare(&tid, &v->first_tid[i]) < 0))
		{
			c->first_failure = msg;
			v->first_tid[i] = tid;
		}
		c->failed += failed;
	}
	GovReadBytes(data, size, &pos, &n, sizeof(int32));
	for (i = 0; i < n; i++)
	{
		LeafMismatch m;

		GovReadBytes(data, size, &pos, &m, sizeof(LeafMismatch));
		keep_mismatch(v, &m);
	}
	GovReadBytes(data, size, &pos, &n, sizeof(int32));
	for (i = 0; i < n; i++)
	{
		int64		id;
		int32		rows;
		QueuedEntry *q;

		GovReadBytes(data, size, &pos, &id, sizeof(int64));
		GovReadBytes(data, size, &pos, &rows, sizeof(int32));
		q = v->queued ? hash_search(v->queued, &id, HASH_FIND, NULL) : NULL;
		if (q == NULL)
			elog(ERROR, "verify: the parallel worker met queued entry " INT64_FORMAT " the leader does not see",
				 id);
		q->rows += rows;
	}
	if (pos != size)
		elog(ERROR, "verify: malformed row results from the parallel worker");
}

/*
 * GovCheckRowsInWorker
 *		The parallel worker's share of the row checks: ranges of every
 *		ledger table in turn, each ledger's results sent through mqh.
 */
void
GovCheckRowsInWorker(GovRowRanges *ranges, shm_mq_handle *mqh)
{
	Snapshot	snap = GetActiveSnapshot();
	int			i;

	for (i = 0; i < ranges->nledgers; i++)
	{
		MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
												  "govledger verify worker",
												  ALLOCSET_DEFAULT_SIZES);
		MemoryContext old = MemoryContextSwitchTo(cxt);
		LedgerVerify v;
		StringInfoData msg;

		begin_ledger(&v, ranges->ledger[i].relid, snap);
		check_rows(&v, snap, &ranges->ledger[i], false);
		initStringInfo(&msg);
		serialize_rows(&v, &msg);
		MemoryContextSwitchTo(old);
		if (shm_mq_send(mqh, msg.len, msg.data, false, true) != SHM_MQ_SUCCESS)
		{
			/* the leader has gone: nobody wants the rest */
			MemoryContextDelete(cxt);
			return;
		}
		MemoryContextDelete(cxt);
	}
}

/*
 * Finish the row checks of one ledger, once every process has checked
 * its rows: classify the leaf mismatches, check that every entry has
 * its row (entry_row), and append a GovCheckResult per check to
 * *results.
 */
static void
finish_ledger(LedgerVerify *v, Snapshot snap, HTAB *counts, List **results)
{
	size_t		hsize = v->ledger->hash->size;
	TimestampTz last = GetCurrentTimestamp();
	Relation	rel;
	int			i;

	/* tell altered stored leaves from changed rows, lowest entry first */
	if (v->nmm > 0)
	{
		qsort(v->mm, v->nmm, sizeof(LeafMismatch), mismatch_cmp);
		find_witnesses(v->mm, v->nmm, snap);
	}
	for (i = 0; i < v->nmm; i++)
	{
		LeafMismatch *m = &v->mm[i];
		bool		w_is_computed = m->has_witness && (size_t) m->witness_len == hsize &&
			memcmp(m->witness, m->computed, hsize) == 0;
		bool		w_is_stored = m->has_witness &&
			m->witness_len == m->stored_len &&
			memcmp(m->witness, m->stored, m->stored_len) == 0;

		if (w_is_computed)
			GovCheckFail(&v->ck[CK_ENTRY_LEAF], v->cxt,
						 "entry " INT64_FORMAT ": stored leaf altered", m->entry_id);
		else if (w_is_stored)
			GovCheckFail(&v->ck[CK_ROW_HASH], v->cxt,
						 "entry " INT64_FORMAT ": row changed since insert (column value or entry metadata)",
						 m->entry_id);
		else if (m->has_witness)
		{
			GovCheckFail(&v->ck[CK_ROW_HASH], v->cxt,
						 "entry " INT64_FORMAT ": row changed since insert (column value or entry metadata)",
						 m->entry_id);
			GovCheckFail(&v->ck[CK_ENTRY_LEAF], v->cxt,
						 "entry " INT64_FORMAT ": stored leaf altered", m->entry_id);
		}
		else
			GovCheckFail(&v->ck[CK_ROW_HASH], v->cxt,
						 "entry " INT64_FORMAT ": leaf does not match the row (changed column value or altered stored leaf)",
						 m->entry_id);
	}
	v->ck[CK_ROW_HASH].failed += v->unclassified;

	rel = table_open(v->ledger->relid, AccessShareLock);
	check_entries(v->ledger, rel, snap, v->matched,
				  counts ? entry_count(counts, v->ledger->ledger_id) : -1,
				  v->queued, &v->ck[CK_ENTRY_ROW], v->cxt, v->rowcxt, &last);
	table_close(rel, AccessShareLock);

	if (v->nrows >= 0x10000)
		ereport(NOTICE,
				(errmsg("verify: ledger %s: " INT64_FORMAT " rows checked, done",
						v->name, v->nrows)));

	MemoryContextDelete(v->rowcxt);
	for (i = 0; i < NUM_LEDGER_CHECKS; i++)
		*results = lappend(*results, &v->ck[i]);
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
	List	   *checked = NIL;
	List	   *missing = NIL;
	List	   *results = NIL;
	ListCell   *lc;
	HTAB	   *counts;
	GovParallelChecks *parallel;
	GovRowRanges *ranges;
	LedgerVerify *lv;
	int32		only_log;
	int			nledgers;
	int			i;

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

	/* everything, here and in the worker, is read with this snapshot */
	snap = RegisterSnapshot(GetTransactionSnapshot());
	PushActiveSnapshot(snap);
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

	/* verify() of all ledgers covers those the role may read */
	foreach(lc, ledgers)
	{
		Oid			relid = lfirst_oid(lc);

		if (!OidIsValid(only) &&
			(pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
			 check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED))
			continue;
		checked = lappend_oid(checked, relid);
	}

	/*
	 * Set up each ledger's row checks and its blocks to hand out.  This
	 * also makes the ledgers' cached metadata current: in parallel mode
	 * it can only be read with the query's snapshot (GovReadSnapshot).
	 */
	nledgers = list_length(checked);
	ranges = palloc0(GovRowRangesSize(nledgers));
	ranges->nledgers = nledgers;
	lv = palloc0(sizeof(LedgerVerify) * Max(nledgers, 1));
	i = 0;
	foreach(lc, checked)
	{
		Oid			relid = lfirst_oid(lc);
		Relation	rel = table_open(relid, AccessShareLock);

		ranges->ledger[i].relid = relid;
		ranges->ledger[i].nblocks = RelationGetNumberOfBlocks(rel);
		pg_atomic_init_u64(&ranges->ledger[i].next_block, 0);
		pg_atomic_init_u64(&ranges->ledger[i].rows_seen, 0);
		table_close(rel, NoLock);
		begin_ledger(&lv[i], relid, snap);
		i++;
	}
	foreach(lc, ledgers)
		(void) GovLookupLedger(lfirst_oid(lc), true);
	only_log = OidIsValid(only) ? GovLookupLedger(only, false)->log_id : -1;

	/*
	 * A worker checks the logs, then joins in the row checks; the leader
	 * checks rows from the start, unless parallel_leader_participation is
	 * off and there is a worker to leave them to, as in a parallel plan.
	 */
	parallel = GovParallelChecksStart(only_log, ranges);
	if (parallel != NULL)
		ranges = GovParallelRowRanges(parallel);
	if (parallel == NULL || parallel_leader_participation)
	{
		for (i = 0; i < nledgers; i++)
			check_rows(&lv[i], snap, &ranges->ledger[i], true);
	}
	if (parallel != NULL)
	{
		TimestampTz last = GetCurrentTimestamp();

		for (i = 0; i < nledgers; i++)
		{
			Size		nbytes;
			void	   *data;
			int64		leader_rows = lv[i].nrows;
			GovRowsReceipt got;

			/* the worker's progress, while it checks rows on its own */
			while ((got = GovParallelRowsReceive(parallel,
												 Max(Min(gov_verify_progress_interval, 1000), 10),
												 &nbytes, &data)) ==
				   GOV_ROWS_PENDING)
				maybe_progress(&last, lv[i].name, "rows",
							   (int64) pg_atomic_read_u64(&ranges->ledger[i].rows_seen));
			if (got == GOV_ROWS_ENDED)
				elog(ERROR, "verify: the parallel worker ended without its row results");
			merge_rows(&lv[i], data, nbytes);
			elog(DEBUG1, "verify: ledger %s: the parallel worker checked " INT64_FORMAT " of " INT64_FORMAT " rows",
				 lv[i].name, lv[i].nrows - leader_rows, lv[i].nrows);
		}
	}
	for (i = 0; i < nledgers; i++)
		finish_ledger(&lv[i], snap, counts, &results);
	if (parallel == NULL || !GovParallelChecksFinish(parallel, &results))
		GovRunRegisteredChecks(only_log, &results);
	PopActiveSnapshot();
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
