/*-------------------------------------------------------------------------
 *
 * ledger_trigger.c
 *	  The triggers protect() installs on a ledger table: the INSERT row
 *	  triggers that record each row as an entry, and the
 *	  statement triggers that make the table append-only.
 *
 * The BEFORE INSERT row trigger assigns the entry id; the AFTER INSERT
 * row trigger (the same function) hashes the row as stored and records
 * the entry.  Their names sort after ordinary trigger names.  UPDATE, DELETE (including INSERT ... ON
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
 * Fired BEFORE INSERT FOR EACH ROW: take a new entry id and store it in
 * the row's ledger_entry_id.  A value given by the caller is refused: the
 * id is the extension's to assign.
 *
 * Fired AFTER INSERT FOR EACH ROW: record the row as stored as the entry
 * with that id.  Recording after the insert, not before, means a row
 * that is never stored (INSERT ... ON CONFLICT DO NOTHING that meets a
 * conflict, a later BEFORE trigger that skips the row) leaves no entry,
 * and that what is hashed is exactly what was stored.
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
		return PointerGetDatum(heap_modify_tuple_by_cols(td->tg_trigtuple, desc,
														 1, &col, &idval,
														 &newnull));
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
