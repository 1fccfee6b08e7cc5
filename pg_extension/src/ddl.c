/*-------------------------------------------------------------------------
 *
 * ddl.c
 *	  The only ways to change a ledger table's definition: drop_ledger()
 *	  and add_column().  Each records the act as an entry of the ledger
 *	  table govledger.ddl_event before it runs the DDL.
 *
 * The event triggers of sql/20_ddl_guard.sql refuse ALTER TABLE, CREATE
 * RULE, DROP TABLE and dropping govledger's triggers on a ledger table
 * unless govledger._ddl_permitted() says the statement comes from one of
 * these functions: they set a backend-local permit for exactly the
 * table and the duration of their own statement.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/ddl.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/deparse_utility.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "govledger.h"

/* The ledger table whose DDL is being run by this module */
static Oid	ddl_permit_relid = InvalidOid;

/*
 * GovDdlPermitted
 *		Whether DDL on relid is currently being run by drop_ledger() or
 *		add_column().
 */
bool
GovDdlPermitted(Oid relid)
{
	return OidIsValid(ddl_permit_relid) && relid == ddl_permit_relid;
}

/* SQL function: govledger._ddl_permitted(relid oid) returns bool */
PG_FUNCTION_INFO_V1(govledger_ddl_permitted);

Datum
govledger_ddl_permitted(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(GovDdlPermitted(PG_GETARG_OID(0)));
}

/* SQL function: govledger._ddl_harmless(cmd pg_ddl_command) returns bool */
PG_FUNCTION_INFO_V1(govledger_ddl_harmless);

/*
 * Whether a collected ALTER TABLE command only makes changes that leave
 * every row, its encoding and the ledger's triggers as they are: row
 * security, owner, storage parameters, statistics targets, column
 * storage and compression, CLUSTER ON and REPLICA IDENTITY.  Anything
 * else (columns, types, defaults, constraints, triggers, rules, name,
 * schema, persistence) is not.
 */
Datum
govledger_ddl_harmless(PG_FUNCTION_ARGS)
{
	CollectedCommand *cmd;
	ListCell   *lc;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	cmd = (CollectedCommand *) PG_GETARG_POINTER(0);
	if (cmd->type != SCT_AlterTable || cmd->d.alterTable.subcmds == NIL)
		PG_RETURN_BOOL(false);
	foreach(lc, cmd->d.alterTable.subcmds)
	{
		CollectedATSubcmd *sub = (CollectedATSubcmd *) lfirst(lc);
		AlterTableCmd *at = (AlterTableCmd *) sub->parsetree;

		if (!IsA(at, AlterTableCmd))
			PG_RETURN_BOOL(false);
		switch (at->subtype)
		{
			case AT_EnableRowSecurity:
			case AT_DisableRowSecurity:
			case AT_ForceRowSecurity:
			case AT_NoForceRowSecurity:
			case AT_ChangeOwner:
			case AT_SetRelOptions:
			case AT_ResetRelOptions:
			case AT_ReplaceRelOptions:
			case AT_SetStatistics:
			case AT_SetStorage:
			case AT_SetCompression:
			case AT_ClusterOn:
			case AT_DropCluster:
			case AT_ReplicaIdentity:
				break;
			default:
				PG_RETURN_BOOL(false);
		}
	}
	PG_RETURN_BOOL(true);
}

/* Column number of 'name' in desc, or an error */
static int
attnum_of(TupleDesc desc, const char *name)
{
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return i;
	}
	elog(ERROR, "govledger.ddl_event has no column \"%s\"", name);
	return -1;					/* keep compiler quiet */
}

/*
 * GovRecordDdlEvent
 *		Insert a row (event, target, detail, reason) into the ledger table
 *		govledger.ddl_event, recording it as an entry like any ledger row.
 *		detail and reason may be NULL.  Returns the entry id.
 */
int64
GovRecordDdlEvent(const char *event, const char *target, const char *detail,
				  const char *reason)
{
	const GovCatalog *cat = GovGetCatalog();
	GovLedger  *ledger;
	Relation	rel;
	TupleDesc	desc;
	Datum	   *values;
	bool	   *nulls;
	HeapTuple	tup;
	int64		id;
	int			i;

	if (!OidIsValid(cat->ddl_event))
		elog(ERROR, "govledger.ddl_event does not exist");
	ledger = GovLookupLedger(cat->ddl_event, false);
	rel = table_open(cat->ddl_event, RowExclusiveLock);
	desc = RelationGetDescr(rel);
	values = palloc0(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	for (i = 0; i < desc->natts; i++)
		nulls[i] = true;

	i = attnum_of(desc, "event");
	values[i] = CStringGetTextDatum(event);
	nulls[i] = false;
	i = attnum_of(desc, "target");
	values[i] = CStringGetTextDatum(target);
	nulls[i] = false;
	if (detail)
	{
		i = attnum_of(desc, "detail");
		values[i] = CStringGetTextDatum(detail);
		nulls[i] = false;
	}
	if (reason)
	{
		i = attnum_of(desc, "reason");
		values[i] = CStringGetTextDatum(reason);
		nulls[i] = false;
	}

	id = GovRecordEntry(ledger, 0, desc, values, nulls);
	values[ledger->entry_attnum - 1] = Int64GetDatum(id);
	nulls[ledger->entry_attnum - 1] = false;
	tup = heap_form_tuple(desc, values, nulls);
	GovInsertTuple(rel, tup);
	table_close(rel, RowExclusiveLock);
	CommandCounterIncrement();
	return id;
}

/*
 * Common checks of drop_ledger and add_column: non-NULL arguments, an
 * active ledger owned by the caller, a non-empty reason.  Returns the
 * ledger's cached metadata.
 */
static GovLedger *
check_ledger_ddl(FunctionCallInfo fcinfo, int reason_arg, const char *fname)
{
	Oid			relid;
	GovLedger  *ledger;
	int			i;

	for (i = 0; i < PG_NARGS(); i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("arguments of %s must not be NULL", fname)));
	relid = PG_GETARG_OID(0);
	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	ledger = GovLookupLedger(relid, false);
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(relid));
	if (VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(reason_arg)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a reason is required")));
	return ledger;
}

/*
 * The table's qualified name as it is now, for DDL; the registered name
 * stays what entries hash even if the schema was renamed since.
 */
static char *
current_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* Run sql through SPI with the DDL permit set for relid. */
static void
run_permitted(Oid relid, const char *sql)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ddl_permit_relid = relid;
	PG_TRY();
	{
		if (SPI_execute(sql, false, 0) < 0)
			elog(ERROR, "SPI_execute failed: %s", sql);
	}
	PG_FINALLY();
	{
		ddl_permit_relid = InvalidOid;
	}
	PG_END_TRY();
	SPI_finish();
}

/*
 * Mark the ledger row of relid as dropped: relid NULL, dropped_at now.
 */
static void
mark_dropped(Oid relid)
{
	const GovCatalog *cat = GovGetCatalog();
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());

	rel = table_open(cat->ledger, RowExclusiveLock);
	scan = table_beginscan(rel, snap, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_gov_ledger_relid,
									 RelationGetDescr(rel), &isnull);
		Datum		v[Natts_gov_ledger];
		bool		n[Natts_gov_ledger];
		bool		r[Natts_gov_ledger];
		HeapTuple	newtup;

		if (isnull || DatumGetObjectId(d) != relid)
			continue;
		memset(r, false, sizeof(r));
		memset(n, false, sizeof(n));
		v[Anum_gov_ledger_relid - 1] = (Datum) 0;
		n[Anum_gov_ledger_relid - 1] = true;
		r[Anum_gov_ledger_relid - 1] = true;
		v[Anum_gov_ledger_dropped_at - 1] =
			TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
		r[Anum_gov_ledger_dropped_at - 1] = true;
		newtup = heap_modify_tuple(tup, RelationGetDescr(rel), v, n, r);
		GovUpdateTuple(rel, &tup->t_self, newtup);
		break;
	}
	table_endscan(scan);
	table_close(rel, RowExclusiveLock);
	UnregisterSnapshot(snap);
	CommandCounterIncrement();
}

/* SQL function: govledger.drop_ledger(tbl regclass, reason text) returns bigint */
PG_FUNCTION_INFO_V1(govledger_drop_ledger);

/*
 * Drop a ledger table.  Its entries stay; the ledger row keeps its name
 * and gets dropped_at.  Returns the entry id of the recorded event.
 */
Datum
govledger_drop_ledger(PG_FUNCTION_ARGS)
{
	GovLedger  *ledger = check_ledger_ddl(fcinfo, 1, "govledger.drop_ledger()");
	Oid			relid = PG_GETARG_OID(0);
	char	   *name = pstrdup(ledger->name);
	char	   *reason = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int64		id;

	if (relid == GovGetCatalog()->ddl_event)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("govledger.ddl_event cannot be dropped"),
				 errdetail("It records the acts on all ledger tables.")));

	LockRelationOid(relid, AccessExclusiveLock);
	id = GovRecordDdlEvent("drop_ledger", name, NULL, reason);
	mark_dropped(relid);
	run_permitted(relid, psprintf("DROP TABLE %s", current_name(relid)));
	PG_RETURN_INT64(id);
}

/* SQL function: govledger.add_column(tbl regclass, column_name text, column_type regtype, reason text) returns bigint */
PG_FUNCTION_INFO_V1(govledger_add_column);

/*
 * Add a nullable column without default to a ledger table.  Existing rows
 * read NULL in it, which the canonical encoding leaves out, so every old
 * leaf stays valid.  Returns the entry id of the recorded event.
 */
Datum
govledger_add_column(PG_FUNCTION_ARGS)
{
	GovLedger  *ledger = check_ledger_ddl(fcinfo, 3, "govledger.add_column()");
	Oid			relid = PG_GETARG_OID(0);
	char	   *column = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Oid			typid = PG_GETARG_OID(2);
	char	   *reason = text_to_cstring(PG_GETARG_TEXT_PP(3));
	char	   *name = pstrdup(ledger->name);
	char	   *typname;
	GovTypeKind kind;
	bool		is_array;
	Oid			elmtype;
	int64		id;

	if (column[0] == '\0' || strcmp(column, GOV_ENTRY_COLUMN) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_DEFINITION),
				 errmsg("invalid column name \"%s\"", column)));
	if (!GovTypeSupported(typid, &kind, &is_array, &elmtype))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("column \"%s\" would have type %s, which has no canonical encoding",
						column, format_type_be(typid))));
	typname = format_type_be_qualified(typid);

	LockRelationOid(relid, AccessExclusiveLock);
	id = GovRecordDdlEvent("add_column", name,
						   psprintf("%s %s", column, typname), reason);
	run_permitted(relid, psprintf("ALTER TABLE %s ADD COLUMN %s %s",
								  current_name(relid), quote_identifier(column),
								  typname));
	PG_RETURN_INT64(id);
}
