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
 *	 entry_leaf		the stored leaf equals the leaf queued for sealing
 *					at insert
 *	 entry_row		every entry of the ledger has exactly one row (a
 *					deleted row leaves an entry without a row)
 * A leaf mismatch is told apart as row_hash or entry_leaf by the witness
 * the insert path wrote to govledger.unsealed: if the witness equals the
 * recomputed leaf, the stored leaf was altered; if it equals the stored
 * leaf, the row (or its entry's metadata) changed.
 *
 * Memory stays flat: each row is processed in a memory context reset for
 * the next one; only a bounded list of leaf mismatches is kept for the
 * classification.  Other modules add checks (trees, blocks) with
 * GovVerifyRegister(); their results become further rows of the output.
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

typedef struct MismatchKey
{
	int64		entry_id;
	int			index;
} MismatchKey;

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

/* Count a failure; keep the first one's description (in cxt). */
static void
check_fail(GovCheckResult *c, MemoryContext cxt, const char *fmt,...)
	pg_attribute_printf(3, 4);

static void
check_fail(GovCheckResult *c, MemoryContext cxt, const char *fmt,...)
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

/* Registered name of ledger ledger_id, or a placeholder. */
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
 * Find the witnesses (leaves queued at insert) of the mismatches with one
 * scan of govledger.unsealed.
 */
static void
find_witnesses(LeafMismatch *mm, int nmm, Snapshot snap)
{
	HASHCTL		ctl;
	HTAB	   *ids;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	int			i;

	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(MismatchKey);
	ctl.hcxt = CurrentMemoryContext;
	ids = hash_create("govledger verify mismatches", nmm, &ctl,
					  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (i = 0; i < nmm; i++)
	{
		MismatchKey *k = hash_search(ids, &mm[i].entry_id, HASH_ENTER, NULL);

		k->index = i;
	}
	rel = table_open(GovGetCatalog()->unsealed, AccessShareLock);
	scan = table_beginscan(rel, snap, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		int64		id = DatumGetInt64(heap_getattr(tup, Anum_gov_unsealed_entry_id,
													RelationGetDescr(rel), &isnull));
		MismatchKey *k = hash_search(ids, &id, HASH_FIND, NULL);
		Datum		d;
		bytea	   *w;
		LeafMismatch *m;

		if (k == NULL)
			continue;
		d = heap_getattr(tup, Anum_gov_unsealed_leaf_hash,
						 RelationGetDescr(rel), &isnull);
		if (isnull)
			continue;
		w = DatumGetByteaPP(d);
		m = &mm[k->index];
		m->witness_len = Min(VARSIZE_ANY_EXHDR(w), GL_HASH_MAX_SIZE);
		memcpy(m->witness, VARDATA_ANY(w), m->witness_len);
		m->has_witness = true;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	hash_destroy(ids);
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
			  GovCheckResult *ck, MemoryContext cxt, MemoryContext rowcxt,
			  TimestampTz *last)
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

	scan = table_beginscan(erel, snap, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;

		if (DatumGetInt32(heap_getattr(tup, Anum_gov_entry_ledger_id,
									   RelationGetDescr(erel), &isnull)) == ledger->ledger_id)
			nentries++;
	}
	table_endscan(scan);
	ck->checked = nentries;

	if (!OidIsValid(idxoid))
	{
		check_fail(ck, cxt, "the index on %s of %s is missing: deleted rows and duplicate entry ids cannot be located",
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
			check_fail(ck, cxt, "entry " INT64_FORMAT ": row deleted", id);
		else if (n > 1)
			check_fail(ck, cxt, "entry " INT64_FORMAT ": duplicate entry id (%d rows)",
					   id, n);
		if ((++nentries & 0xffff) == 0)
			maybe_progress(last, ledger->name, "entries", nentries);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(iscan);
	index_close(idx, AccessShareLock);
	table_close(erel, AccessShareLock);
}

/*
 * Run the row checks of one ledger table, appending a GovCheckResult per
 * check to *results.
 */
static void
verify_ledger(Oid relid, Snapshot snap, List **results)
{
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext rowcxt;
	GovLedger  *ledger = GovLookupLedger(relid, false);
	GovCheckResult *ck = palloc0(sizeof(GovCheckResult) * NUM_LEDGER_CHECKS);
	Relation	rel;
	Relation	erel;
	Relation	pkey;
	TupleDesc	desc;
	TupleDesc	edesc;
	IndexScanDesc iscan;
	TupleTableSlot *slot;
	TableScanDesc scan;
	HeapTuple	tup;
	Datum	   *values;
	bool	   *nulls;
	int			eatt;
	int64		nrows = 0;
	int64		matched = 0;
	int64		unclassified = 0;
	LeafMismatch *mm = NULL;
	int			nmm = 0;
	int			mmcap = 0;
	StringInfoData buf;
	uint8		leaf[GL_HASH_MAX_SIZE];
	size_t		hsize = ledger->hash->size;
	TimestampTz last = GetCurrentTimestamp();
	char	   *lname = pstrdup(ledger->name);
	int			i;

	for (i = 0; i < NUM_LEDGER_CHECKS; i++)
	{
		ck[i].ledger = relid;
		ck[i].check_name = ledger_check_names[i];
	}

	rowcxt = AllocSetContextCreate(cxt, "govledger verify row",
								   ALLOCSET_DEFAULT_SIZES);
	initStringInfo(&buf);

	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	erel = table_open(GovGetCatalog()->entry, AccessShareLock);
	edesc = RelationGetDescr(erel);
	pkey = index_open(GovGetCatalog()->entry_pkey, AccessShareLock);
	iscan = index_beginscan(erel, pkey, snap, 1, 0);
	slot = table_slot_create(erel, NULL);
	values = palloc(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	eatt = ledger->entry_attnum - 1;

	scan = table_beginscan(rel, snap, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		MemoryContext old;
		ScanKeyData key;
		GovEntryRow e;
		HeapTuple	etup;
		bool		should_free;
		int64		id;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(rowcxt);
		old = MemoryContextSwitchTo(rowcxt);
		if ((++nrows & 0xffff) == 0)
			maybe_progress(&last, lname, "rows", nrows);

		heap_deform_tuple(tup, desc, values, nulls);
		ck[CK_ROW_ENTRY].checked++;
		if (nulls[eatt])
		{
			check_fail(&ck[CK_ROW_ENTRY], cxt,
					   "row at ctid (%u,%u) has no %s: inserted with triggers disabled",
					   ItemPointerGetBlockNumber(&tup->t_self),
					   ItemPointerGetOffsetNumber(&tup->t_self),
					   GOV_ENTRY_COLUMN);
			MemoryContextSwitchTo(old);
			continue;
		}
		id = DatumGetInt64(values[eatt]);
		ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ,
					Int64GetDatum(id));
		index_rescan(iscan, &key, 1, NULL, 0);
		if (!index_getnext_slot(iscan, ForwardScanDirection, slot))
		{
			check_fail(&ck[CK_ROW_ENTRY], cxt,
					   "row with %s " INT64_FORMAT " has no entry: inserted with triggers disabled",
					   GOV_ENTRY_COLUMN, id);
			MemoryContextSwitchTo(old);
			continue;
		}
		etup = ExecFetchSlotHeapTuple(slot, false, &should_free);
		GovEntryFromTuple(etup, edesc, &e);

		ck[CK_LEDGER_BINDING].checked++;
		if (e.ledger_id != ledger->ledger_id)
		{
			check_fail(&ck[CK_LEDGER_BINDING], cxt,
					   "entry " INT64_FORMAT ": row moved or copied from ledger %s",
					   id, ledger_name_by_id(e.ledger_id));
			MemoryContextSwitchTo(old);
			continue;
		}
		matched++;

		ck[CK_ROW_HASH].checked++;
		ck[CK_ENTRY_LEAF].checked++;
		GovComputeLeaf(ledger, &e, desc, values, nulls, &buf, leaf);
		if (e.leaf == NULL || VARSIZE_ANY_EXHDR(e.leaf) != hsize ||
			memcmp(VARDATA_ANY(e.leaf), leaf, hsize) != 0)
		{
			if (nmm < MAX_MISMATCHES)
			{
				LeafMismatch *m;

				MemoryContextSwitchTo(cxt);
				if (nmm >= mmcap)
				{
					mmcap = mmcap ? mmcap * 2 : 64;
					mm = mm ? repalloc(mm, sizeof(LeafMismatch) * mmcap) :
						palloc(sizeof(LeafMismatch) * mmcap);
				}
				m = &mm[nmm++];
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
				unclassified++;
		}
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(iscan);
	index_close(pkey, AccessShareLock);
	table_close(erel, AccessShareLock);

	/* tell altered stored leaves from changed rows */
	if (nmm > 0)
		find_witnesses(mm, nmm, snap);
	for (i = 0; i < nmm; i++)
	{
		LeafMismatch *m = &mm[i];
		bool		w_is_computed = m->has_witness && m->witness_len == hsize &&
			memcmp(m->witness, m->computed, hsize) == 0;
		bool		w_is_stored = m->has_witness &&
			m->witness_len == m->stored_len &&
			memcmp(m->witness, m->stored, m->stored_len) == 0;

		if (w_is_computed)
			check_fail(&ck[CK_ENTRY_LEAF], cxt,
					   "entry " INT64_FORMAT ": stored leaf altered", m->entry_id);
		else if (w_is_stored)
			check_fail(&ck[CK_ROW_HASH], cxt,
					   "entry " INT64_FORMAT ": row changed since insert (column value or entry metadata)",
					   m->entry_id);
		else if (m->has_witness)
		{
			check_fail(&ck[CK_ROW_HASH], cxt,
					   "entry " INT64_FORMAT ": row changed since insert (column value or entry metadata)",
					   m->entry_id);
			check_fail(&ck[CK_ENTRY_LEAF], cxt,
					   "entry " INT64_FORMAT ": stored leaf altered", m->entry_id);
		}
		else
			check_fail(&ck[CK_ROW_HASH], cxt,
					   "entry " INT64_FORMAT ": leaf does not match the row (changed column value or altered stored leaf)",
					   m->entry_id);
	}
	if (unclassified > 0)
	{
		ck[CK_ROW_HASH].failed += unclassified;
	}

	check_entries(ledger, rel, snap, matched, &ck[CK_ENTRY_ROW], cxt,
				  rowcxt, &last);
	table_close(rel, AccessShareLock);

	if (nrows >= 0x10000)
		ereport(NOTICE,
				(errmsg("verify: ledger %s: " INT64_FORMAT " rows checked, done",
						lname, nrows)));

	MemoryContextDelete(rowcxt);
	for (i = 0; i < NUM_LEDGER_CHECKS; i++)
		*results = lappend(*results, &ck[i]);
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
	foreach(lc, ledgers)
	{
		Oid			relid = lfirst_oid(lc);

		/* verify() of all ledgers covers those the role may read */
		if (!OidIsValid(only) &&
			(pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
			 check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED))
			continue;
		verify_ledger(relid, snap, &results);
	}
	for (i = 0; i < num_extra_checks; i++)
		extra_checks[i] (only, &results);
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
