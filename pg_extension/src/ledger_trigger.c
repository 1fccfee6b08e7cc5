/*-------------------------------------------------------------------------
 *
 * ledger_trigger.c
 *	  The triggers protect() installs on a ledger table: the INSERT row
 *	  trigger that records each row as an entry, and the statement
 *	  triggers that make the table append-only.
 *
 * The BEFORE INSERT row trigger assigns the entry id and, for a plain
 * INSERT or COPY, hashes the row and records the entry at once.  Where a
 * row could still be skipped or changed after it (INSERT ... ON CONFLICT,
 * a later BEFORE INSERT row trigger, a stored generated column), it only
 * notes the entry id, with the acting role and subject; when the
 * statement ends (ExecutorRun, or a utility command such as COPY, or at
 * the latest before commit), each noted row is looked up as stored and
 * recorded then, and a row that was not stored gets no entry.  So no
 * AFTER trigger, and no per-row WHEN clause, costs plain inserts
 * anything.  The trigger's name sorts after ordinary trigger names.
 * UPDATE, DELETE (including INSERT ... ON CONFLICT DO UPDATE and MERGE,
 * which fire the statement triggers of their actions) and TRUNCATE raise
 * SQLSTATE 2F003 even when no row would be affected.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/ledger_trigger.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "nodes/plannodes.h"
#include "storage/proc.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "govledger.h"

/*
 * Whether the innermost running query may skip a row after its BEFORE
 * triggers have run: INSERT ... ON CONFLICT, in the query itself or in
 * one of its data-modifying WITH queries.  Set for each ExecutorRun and
 * restored after it, so nested queries do not disturb it.  COPY, which
 * never skips a row, runs outside ExecutorRun and sees the value of the
 * query around it (false at top level).
 */
static bool running_may_skip = false;
static int	running_depth = 0;
static ExecutorRun_hook_type prev_executor_run = NULL;

/*
 * The transaction during which the library was loaded, if it was loaded
 * inside one (on demand, by its first function call): the statement
 * running then started before the hooks were installed, so what it may
 * do is unknown and its rows are recorded after they are stored.
 */
static LocalTransactionId loaded_in_lxid = InvalidLocalTransactionId;

/*
 * A row whose entry is recorded once the row is stored: its ledger, its
 * entry id, and who inserted it.  Kept in TopTransactionContext.
 */
typedef struct DeferredEntry
{
	Oid			relid;
	int64		entry_id;
	SubTransactionId subid;		/* the subtransaction that noted it */
	const char *db_role;
	const char *subject;		/* NULL when none */
} DeferredEntry;

static DeferredEntry *deferred = NULL;
static int	ndeferred = 0;
static int	maxdeferred = 0;
static bool xact_callback_registered = false;

static bool
plan_may_skip(Plan *plan)
{
	if (plan == NULL)
		return false;
	if (IsA(plan, ModifyTable) &&
		((ModifyTable *) plan)->onConflictAction != ONCONFLICT_NONE)
		return true;
	return plan_may_skip(plan->lefttree) || plan_may_skip(plan->righttree);
}

static bool
query_may_skip(PlannedStmt *stmt)
{
	ListCell   *lc;

	if (stmt == NULL || (stmt->commandType == CMD_SELECT && !stmt->hasModifyingCTE))
		return false;
	if (plan_may_skip(stmt->planTree))
		return true;
	foreach(lc, stmt->subplans)
		if (plan_may_skip((Plan *) lfirst(lc)))
			return true;
	return false;
}

/* A copy of s in TopTransactionContext, sharing the last entry's copy */
static const char *
deferred_string(const char *s, const char *last)
{
	if (s == NULL)
		return NULL;
	if (last != NULL && strcmp(s, last) == 0)
		return last;
	return MemoryContextStrdup(TopTransactionContext, s);
}

/* Note the row of ledger with entry id entry_id for recording once stored. */
static void
defer_entry(GovLedger *ledger, int64 entry_id)
{
	DeferredEntry *d;
	const char *last_role = ndeferred > 0 ? deferred[ndeferred - 1].db_role : NULL;
	const char *last_subject = ndeferred > 0 ? deferred[ndeferred - 1].subject : NULL;

	if (ndeferred == maxdeferred)
	{
		int			newmax = maxdeferred == 0 ? 64 : maxdeferred * 2;

		if (deferred == NULL)
			deferred = MemoryContextAlloc(TopTransactionContext,
										  sizeof(DeferredEntry) * newmax);
		else
			deferred = repalloc_huge(deferred, sizeof(DeferredEntry) * newmax);
		maxdeferred = newmax;
	}
	d = &deferred[ndeferred];
	d->relid = ledger->relid;
	d->entry_id = entry_id;
	d->subid = GetCurrentSubTransactionId();
	d->db_role = deferred_string(GovCurrentRole(), last_role);
	d->subject = deferred_string(GovCurrentSubject(), last_subject);
	ndeferred++;
}

/*
 * Record the noted rows from index "from" on that were stored, each as it
 * is stored now (seen by our own transaction, whatever the command), and
 * forget them.  A row that was skipped is not found and gets no entry;
 * notes of subtransactions that rolled back are gone already.  A table
 * that is no longer a ledger (dropped through drop_ledger() since) is
 * skipped.
 */
static void
record_deferred(int from)
{
	Relation	rel = NULL;
	Oid			relid = InvalidOid;
	Oid			idx = InvalidOid;
	GovLedger  *ledger = NULL;
	MemoryContext rowcxt;
	MemoryContext old;
	bool		pushed = false;
	int			i;

	if (ndeferred <= from)
		return;
	/* before commit no statement's snapshot is active; toasted values need one */
	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "govledger deferred entry",
								   ALLOCSET_DEFAULT_SIZES);
	for (i = from; i < ndeferred; i++)
	{
		DeferredEntry *d = &deferred[i];
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tup;

		if (!OidIsValid(relid) || relid != d->relid)
		{
			if (rel != NULL)
				table_close(rel, NoLock);
			relid = d->relid;
			/* the statement that inserted the row holds this lock already */
			rel = try_table_open(relid, RowExclusiveLock);
			ledger = rel ? GovLookupLedger(relid, true) : NULL;
			if (ledger != NULL)
				idx = GovEntryIndexOf(rel, ledger->entry_attnum, false);
		}
		if (ledger == NULL)
			continue;
		old = MemoryContextSwitchTo(rowcxt);
		ScanKeyInit(&key, ledger->entry_attnum, BTEqualStrategyNumber,
					F_INT8EQ, Int64GetDatum(d->entry_id));
		scan = systable_beginscan(rel, idx, OidIsValid(idx), SnapshotSelf, 1, &key);
		if ((tup = systable_getnext(scan)) != NULL)
		{
			TupleDesc	desc = RelationGetDescr(rel);
			Datum	   *values = palloc(sizeof(Datum) * desc->natts);
			bool	   *nulls = palloc(sizeof(bool) * desc->natts);
			GovEntryMeta meta;

			heap_deform_tuple(tup, desc, values, nulls);
			meta.entry_id = d->entry_id;
			meta.recorded_at = GetCurrentTransactionStartTimestamp();
			meta.db_role = d->db_role;
			meta.subject = d->subject;
			GovRecordEntryMeta(ledger, &meta, desc, values, nulls);
		}
		systable_endscan(scan);
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
	}
	if (rel != NULL)
		table_close(rel, NoLock);
	MemoryContextDelete(rowcxt);
	if (pushed)
		PopActiveSnapshot();
	ndeferred = from;
}

static void
gov_executor_run(QueryDesc *qd, ScanDirection dir, uint64 count,
				 bool execute_once)
{
	bool		saved = running_may_skip;
	int			from = ndeferred;

	running_may_skip = query_may_skip(qd->plannedstmt);
	running_depth++;
	PG_TRY();
	{
		if (prev_executor_run)
			prev_executor_run(qd, dir, count, execute_once);
		else
			standard_ExecutorRun(qd, dir, count, execute_once);
	}
	PG_FINALLY();
	{
		running_may_skip = saved;
		running_depth--;
	}
	PG_END_TRY();
	/* every row of the query is now stored or skipped */
	record_deferred(from);
}

/*
 * GovDeferredMark
 *		Before a utility statement (COPY FROM and the like): where its
 *		notes will start.  Nothing noted survives a transaction's end.
 */
int
GovDeferredMark(void)
{
	return IsTransactionState() ? ndeferred : 0;
}

/*
 * GovDeferredRecordSince
 *		After the utility statement: record the rows it noted, now stored.
 */
void
GovDeferredRecordSince(int from)
{
	if (IsTransactionState() && !IsAbortedTransactionBlockState() &&
		from <= ndeferred)
		record_deferred(from);
}

static void
deferred_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			/* rows whose statement ran before the library was loaded */
			record_deferred(0);
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			/* TopTransactionContext goes, and the list with it */
			deferred = NULL;
			ndeferred = maxdeferred = 0;
			break;
		default:
			break;
	}
}

/*
 * A subtransaction rolled back: forget what it and its children noted,
 * the notes at the end of the list with its id or a later one.
 */
static void
deferred_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	while (ndeferred > 0 && deferred[ndeferred - 1].subid >= mySubid)
		ndeferred--;
}

/*
 * Install the executor hook; called from _PG_init.  The library's utility
 * hook (govledger.c) calls GovDeferredMark and GovDeferredRecordSince.
 */
void
GovTriggerInit(void)
{
	prev_executor_run = ExecutorRun_hook;
	ExecutorRun_hook = gov_executor_run;
	if (IsTransactionState())
		loaded_in_lxid = MyProc->lxid;
}

/*
 * Whether rows of the ledger inserted now are recorded once stored (true)
 * or at once by the BEFORE trigger (false).
 */
static bool
record_after(GovLedger *ledger)
{
	return running_may_skip || !ledger->record_before ||
		(running_depth == 0 && loaded_in_lxid != InvalidLocalTransactionId &&
		 MyProc->lxid == loaded_in_lxid);
}

/*
 * SQL function: govledger._record_after(tbl regclass) returns bool, always
 * false.  Tables protected by earlier builds have an AFTER INSERT row
 * trigger with WHEN (govledger._record_after(tbl)), and their databases
 * the function; with it false, that trigger never fires, and their rows
 * are recorded like any other ledger's.  New installations have neither.
 */
PG_FUNCTION_INFO_V1(govledger_record_after);

Datum
govledger_record_after(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(false);
}

/* SQL function: govledger.insert_trigger() returns trigger */
PG_FUNCTION_INFO_V1(govledger_insert_trigger);

/*
 * Fired BEFORE INSERT FOR EACH ROW: take a new entry id and store it in
 * the row's ledger_entry_id.  A value given by the caller is refused: the
 * id is the extension's to assign.  When nothing after this trigger can
 * skip or change the row (see record_after), record the entry here;
 * otherwise note it, and it is recorded as stored when the statement
 * ends.
 */
Datum
govledger_insert_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	GovLedger  *ledger;
	int			col;
	bool		isnull;
	bool		newnull = false;
	Datum		idval;
	Datum	   *values;
	bool	   *nulls;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(td->tg_event) ||
		!TRIGGER_FIRED_BEFORE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("govledger.insert_trigger() must be fired BEFORE INSERT FOR EACH ROW")));

	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	ledger = GovLookupLedger(RelationGetRelid(rel), false);
	col = ledger->entry_attnum;
	(void) heap_getattr(td->tg_trigtuple, col, desc, &isnull);
	if (!isnull)
		ereport(ERROR,
				(errcode(ERRCODE_GENERATED_ALWAYS),
				 errmsg("cannot insert a value into column \"%s\" of ledger table \"%s\"",
						GOV_ENTRY_COLUMN, ledger->name),
				 errdetail("The entry id is assigned by govledger.")));
	idval = Int64GetDatum(GovNextEntryId());
	if (record_after(ledger))
	{
		if (!xact_callback_registered)
		{
			RegisterXactCallback(deferred_xact_callback, NULL);
			RegisterSubXactCallback(deferred_subxact_callback, NULL);
			xact_callback_registered = true;
		}
		defer_entry(ledger, DatumGetInt64(idval));
		return PointerGetDatum(heap_modify_tuple_by_cols(td->tg_trigtuple, desc,
														 1, &col, &idval,
														 &newnull));
	}

	/* nothing can skip or change the row now: record it here */
	values = palloc(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	heap_deform_tuple(td->tg_trigtuple, desc, values, nulls);
	values[col - 1] = idval;
	nulls[col - 1] = newnull;
	GovRecordEntry(ledger, DatumGetInt64(idval), desc, values, nulls);
	return PointerGetDatum(heap_form_tuple(desc, values, nulls));
}

/* SQL function: govledger.append_only_trigger() returns trigger */
PG_FUNCTION_INFO_V1(govledger_append_only_trigger);

/*
 * Refuse UPDATE, DELETE and TRUNCATE of a ledger table, naming the ledger
 * as registered.
 */
Datum
govledger_append_only_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	GovLedger  *ledger;
	const char *name;
	const char *op;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("govledger.append_only_trigger() must be fired as a trigger")));

	ledger = GovLookupLedger(RelationGetRelid(td->tg_relation), true);
	name = ledger ? ledger->name : RelationGetRelationName(td->tg_relation);
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		op = "UPDATE";
	else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
		op = "DELETE";
	else if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		op = "TRUNCATE";
	else
		op = "this statement";

	ereport(ERROR,
			(errcode(ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED),
			 errmsg("ledger table \"%s\" is append-only: %s is not allowed",
					name, op),
			 errhint("Rows of a ledger table can only be inserted; record a correction as a new row.")));
	PG_RETURN_NULL();
}
