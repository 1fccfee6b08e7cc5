/*-------------------------------------------------------------------------
 *
 * ledger_trigger.c
 *	  The triggers protect() installs on a ledger table: the BEFORE
 *	  INSERT row trigger that records each row as an entry, and the
 *	  statement triggers that make the table append-only.
 *
 * The insert trigger is named so that it sorts after ordinary trigger
 * names and so runs after other BEFORE INSERT row triggers, hashing the
 * row as it will be stored.  UPDATE, DELETE (including INSERT ... ON
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
#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "govledger.h"

/* SQL function: govledger.insert_trigger() returns trigger */
PG_FUNCTION_INFO_V1(govledger_insert_trigger);

/*
 * Record the new row as an entry and store the entry id in the row's
 * ledger_entry_id.  A value given by the caller is refused: the id is
 * the extension's to assign.
 */
Datum
govledger_insert_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	GovLedger  *ledger;
	Datum	   *values;
	bool	   *nulls;
	int			col;
	Datum		newval;
	bool		newnull = false;
	HeapTuple	result;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("govledger.insert_trigger() must be fired BEFORE INSERT FOR EACH ROW")));

	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	ledger = GovLookupLedger(RelationGetRelid(rel), false);

	values = palloc(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	heap_deform_tuple(td->tg_trigtuple, desc, values, nulls);

	col = ledger->entry_attnum;
	if (!nulls[col - 1])
		ereport(ERROR,
				(errcode(ERRCODE_GENERATED_ALWAYS),
				 errmsg("cannot insert a value into column \"%s\" of ledger table \"%s\"",
						GOV_ENTRY_COLUMN, ledger->name),
				 errdetail("The entry id is assigned by govledger.")));

	newval = Int64GetDatum(GovRecordEntry(ledger, desc, values, nulls));
	result = heap_modify_tuple_by_cols(td->tg_trigtuple, desc, 1, &col,
									   &newval, &newnull);
	return PointerGetDatum(result);
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
