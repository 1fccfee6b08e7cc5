/*-------------------------------------------------------------------------
 *
 * ledger_trigger.c
 *	  The triggers protect() installs on a ledger table: the INSERT row
 *	  triggers that record each row as an entry, and the
 *	  statement triggers that make the table append-only.
 *
 * The BEFORE INSERT row trigger assigns the entry id and, for a plain
 * INSERT or COPY, hashes the row and records the entry; the AFTER INSERT
 * row trigger (the same function) does the recording only where a row
 * could still be skipped or changed after the BEFORE triggers (its WHEN
 * clause asks), so most inserts queue no AFTER trigger event at all.  Their names sort after ordinary trigger names.  UPDATE, DELETE (including INSERT ... ON
 * CONFLICT DO UPDATE and MERGE, which fire the statement triggers of
 * their actions) and TRUNCATE raise SQLSTATE 2F003 even when no row
 * would be affected.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/ledger_trigger.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "nodes/plannodes.h"
#include "storage/proc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

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
 * running then started before the hook was installed, so what it may do
 * is unknown and its rows are recorded after they are stored.
 */
static LocalTransactionId loaded_in_lxid = InvalidLocalTransactionId;

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

static void
gov_executor_run(QueryDesc *qd, ScanDirection dir, uint64 count,
				 bool execute_once)
{
	bool		saved = running_may_skip;

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
}

/* Install the executor hook; called from _PG_init. */
void
GovTriggerInit(void)
{
	prev_executor_run = ExecutorRun_hook;
	ExecutorRun_hook = gov_executor_run;
	if (IsTransactionState())
		loaded_in_lxid = MyProc->lxid;
}

/*
 * Whether rows of the ledger inserted now are recorded by the AFTER
 * trigger (true) or already by the BEFORE trigger (false).  The BEFORE
 * trigger and the AFTER trigger's WHEN clause ask this for the same row
 * within the same ExecInsert, so they always agree.
 */
static bool
record_after(GovLedger *ledger)
{
	return running_may_skip || !ledger->record_before ||
		(running_depth == 0 && loaded_in_lxid != InvalidLocalTransactionId &&
		 MyProc->lxid == loaded_in_lxid);
}

/* SQL function: govledger._record_after(tbl regclass) returns bool */
PG_FUNCTION_INFO_V1(govledger_record_after);

Datum
govledger_record_after(PG_FUNCTION_ARGS)
{
	GovLedger  *ledger;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(true);
	ledger = GovLookupLedger(PG_GETARG_OID(0), true);
	PG_RETURN_BOOL(ledger == NULL || record_after(ledger));
}

/* SQL function: govledger.insert_trigger() returns trigger */
PG_FUNCTION_INFO_V1(govledger_insert_trigger);

/*
 * Fired BEFORE INSERT FOR EACH ROW: take a new entry id and store it in
 * the row's ledger_entry_id.  A value given by the caller is refused: the
 * id is the extension's to assign.  When nothing after this trigger can
 * skip or change the row (see record_after), record the entry here too.
 *
 * Fired AFTER INSERT FOR EACH ROW (only when its WHEN clause,
 * govledger._record_after(), says so): record the row as stored as the
 * entry with that id.  That is the case for INSERT ... ON CONFLICT, whose
 * conflicting rows are skipped after the BEFORE triggers, and for tables
 * with a later BEFORE INSERT row trigger or stored generated columns:
 * there a row that is never stored leaves no entry, and what is hashed is
 * exactly what was stored.
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
	Datum		idval;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("govledger.insert_trigger() must be fired for INSERT FOR EACH ROW")));

	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	ledger = GovLookupLedger(RelationGetRelid(rel), false);
	col = ledger->entry_attnum;
	idval = heap_getattr(td->tg_trigtuple, col, desc, &isnull);

	if (TRIGGER_FIRED_BEFORE(td->tg_event))
	{
		bool		newnull = false;

		if (!isnull)
			ereport(ERROR,
					(errcode(ERRCODE_GENERATED_ALWAYS),
					 errmsg("cannot insert a value into column \"%s\" of ledger table \"%s\"",
							GOV_ENTRY_COLUMN, ledger->name),
					 errdetail("The entry id is assigned by govledger.")));
		idval = Int64GetDatum(GovNextEntryId());
		if (record_after(ledger))
			return PointerGetDatum(heap_modify_tuple_by_cols(td->tg_trigtuple, desc,
															 1, &col, &idval,
															 &newnull));
		else
		{
			/* nothing can skip or change the row now: record it here */
			Datum	   *values = palloc(sizeof(Datum) * desc->natts);
			bool	   *nulls = palloc(sizeof(bool) * desc->natts);

			heap_deform_tuple(td->tg_trigtuple, desc, values, nulls);
			values[col - 1] = idval;
			nulls[col - 1] = newnull;
			GovRecordEntry(ledger, DatumGetInt64(idval), desc, values, nulls);
			return PointerGetDatum(heap_form_tuple(desc, values, nulls));
		}
	}
	else
	{
		Datum	   *values;
		bool	   *nulls;

		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
					 errmsg("row of ledger table \"%s\" reached the recording trigger without an entry id",
							ledger->name)));
		values = palloc(sizeof(Datum) * desc->natts);
		nulls = palloc(sizeof(bool) * desc->natts);
		heap_deform_tuple(td->tg_trigtuple, desc, values, nulls);
		GovRecordEntry(ledger, DatumGetInt64(idval), desc, values, nulls);
		return PointerGetDatum(NULL);
	}
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
