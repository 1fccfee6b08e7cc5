/*-------------------------------------------------------------------------
 *
 * protect.c
 *	  govledger.protect(): turning an ordinary table into a ledger table,
 *	  and govledger.create_log(): a new log.
 *
 * protect checks the table and every column type against the canonical
 * mapping before it changes anything, then, in one transaction: adds
 * column ledger_entry_id, registers the ledger, records every existing
 * row as an entry (one UPDATE calling _adopt_row per row), adds the
 * unique index and the triggers, and records the act in
 * govledger.ddl_event.  The table is held in ACCESS EXCLUSIVE mode
 * throughout, so no row escapes adoption.
 *
 * DDL runs through SPI as the calling role, so the usual ownership rules
 * apply; the catalog rows are written directly (catalog_write.c), so the
 * caller needs no privilege on the extension's tables.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/protect.c
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
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"

#include "govledger.h"

/* The table protect() is adopting rows of, InvalidOid otherwise */
static Oid	adopting_relid = InvalidOid;

/*
 * Look up log 'name'; returns its id or raises an error.
 */
static int32
lookup_log(const char *name)
{
	const GovCatalog *cat = GovGetCatalog();
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	int32		log_id = -1;
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());

	rel = table_open(cat->log, AccessShareLock);
	scan = table_beginscan(rel, snap, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_gov_log_name,
									 RelationGetDescr(rel), &isnull);
		char	   *n = TextDatumGetCString(d);

		if (strcmp(n, name) == 0)
		{
			log_id = DatumGetInt32(heap_getattr(tup, Anum_gov_log_log_id,
												RelationGetDescr(rel), &isnull));
			break;
		}
		pfree(n);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	UnregisterSnapshot(snap);
	if (log_id < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("log \"%s\" does not exist", name),
				 errhint("Create it with govledger.create_log().")));
	return log_id;
}

/*
 * Refuse what cannot be a ledger table: anything but a permanent,
 * ordinary, non-partitioned table owned by the caller, outside the system
 * schemas, not yet a ledger, without a column named ledger_entry_id,
 * without generated columns, and with only column types the canonical
 * encoding covers.
 */
static void
check_protectable(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	const char *relname = RelationGetRelationName(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	switch (rel->rd_rel->relkind)
	{
		case RELKIND_RELATION:
			break;
		case RELKIND_PARTITIONED_TABLE:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot protect partitioned table \"%s\"", relname),
					 errdetail("Partitioned tables cannot be ledger tables.")));
			break;
		case RELKIND_VIEW:
		case RELKIND_MATVIEW:
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("cannot protect view \"%s\"", relname),
					 errdetail("Only ordinary tables can be ledger tables.")));
			break;
		case RELKIND_FOREIGN_TABLE:
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("cannot protect foreign table \"%s\"", relname),
					 errdetail("Only ordinary tables can be ledger tables.")));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" is not a table", relname),
					 errdetail("Only ordinary tables can be ledger tables.")));
	}
	if (rel->rd_rel->relispartition)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot protect \"%s\" because it is a partition",
						relname)));
	if (rel->rd_rel->relhassubclass)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot protect \"%s\" because it has inheritance children",
						relname)));
	if (rel->rd_rel->relpersistence == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot protect temporary table \"%s\"", relname),
				 errdetail("A ledger table must outlive the session.")));
	if (rel->rd_rel->relpersistence == RELPERSISTENCE_UNLOGGED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot protect unlogged table \"%s\"", relname),
				 errdetail("A ledger table must survive a crash."),
				 errhint("Make it a logged table with ALTER TABLE ... SET LOGGED first.")));
	if (IsSystemRelation(rel) ||
		RelationGetNamespace(rel) == GovGetCatalog()->nsp)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot protect system table \"%s\"", relname)));
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER,
					   get_relkind_objtype(rel->rd_rel->relkind), relname);
	if (GovLookupLedger(relid, true) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("table \"%s\" is already a ledger table", relname)));

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		GovTypeKind kind;
		bool		is_array;
		Oid			elmtype;

		if (att->attisdropped)
			continue;
		if (strcmp(NameStr(att->attname), GOV_ENTRY_COLUMN) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_COLUMN),
					 errmsg("table \"%s\" already has a column named \"%s\"",
							relname, GOV_ENTRY_COLUMN)));
		if (att->attgenerated)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("column \"%s\" of table \"%s\" is a generated column",
							NameStr(att->attname), relname),
					 errdetail("Generated columns are computed after the row is hashed, so ledger tables cannot have them.")));
		if (!GovTypeSupported(att->atttypid, &kind, &is_array, &elmtype))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("column \"%s\" of table \"%s\" has type %s, which has no canonical encoding",
							NameStr(att->attname), relname,
							format_type_be(att->atttypid)),
					 errhint("See docs/canonical-encoding.md for the supported types.")));
	}
}

/* Run one utility statement through SPI, raising its error as it is. */
static void
run_sql(const char *sql)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc < 0)
		elog(ERROR, "SPI_execute failed (%d): %s", rc, sql);
}

/*
 * Insert the govledger.ledger row of a newly protected table; returns
 * the new ledger id.
 */
static int32
register_ledger(Oid relid, const char *name, int32 log_id)
{
	const GovCatalog *cat = GovGetCatalog();
	Relation	rel;
	Datum		v[Natts_gov_ledger];
	bool		n[Natts_gov_ledger];
	HeapTuple	tup;
	int32		ledger_id;

	ledger_id = (int32) nextval_internal(cat->ledger_seq, false);
	memset(n, false, sizeof(n));
	v[Anum_gov_ledger_ledger_id - 1] = Int32GetDatum(ledger_id);
	v[Anum_gov_ledger_relid - 1] = ObjectIdGetDatum(relid);
	v[Anum_gov_ledger_name - 1] = CStringGetTextDatum(name);
	v[Anum_gov_ledger_log_id - 1] = Int32GetDatum(log_id);
	v[Anum_gov_ledger_protected_at - 1] =
		TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	v[Anum_gov_ledger_dropped_at - 1] = (Datum) 0;
	n[Anum_gov_ledger_dropped_at - 1] = true;

	rel = table_open(cat->ledger, RowExclusiveLock);
	tup = heap_form_tuple(RelationGetDescr(rel), v, n);
	GovInsertTuple(rel, tup);
	table_close(rel, RowExclusiveLock);
	CommandCounterIncrement();
	return ledger_id;
}

/* SQL function: govledger.protect(tbl regclass, log text) returns void */
PG_FUNCTION_INFO_V1(govledger_protect);

Datum
govledger_protect(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *logname;
	Relation	rel;
	char	   *qname;
	int32		log_id;
	StringInfoData sql;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be NULL")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("log must not be NULL")));
	relid = PG_GETARG_OID(0);
	logname = text_to_cstring(PG_GETARG_TEXT_PP(1));

	rel = relation_open(relid, AccessExclusiveLock);
	check_protectable(rel);
	log_id = lookup_log(logname);
	qname = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
									   RelationGetRelationName(rel));
	relation_close(rel, NoLock);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	initStringInfo(&sql);
	appendStringInfo(&sql, "ALTER TABLE %s ADD COLUMN %s bigint",
					 qname, GOV_ENTRY_COLUMN);
	run_sql(sql.data);

	register_ledger(relid, qname, log_id);

	/* existing rows become entries, in heap order */
	resetStringInfo(&sql);
	appendStringInfo(&sql,
					 "UPDATE ONLY %s AS r SET %s = govledger._adopt_row(%u, r)",
					 qname, GOV_ENTRY_COLUMN, relid);
	adopting_relid = relid;
	PG_TRY();
	{
		run_sql(sql.data);
	}
	PG_FINALLY();
	{
		adopting_relid = InvalidOid;
	}
	PG_END_TRY();

	resetStringInfo(&sql);
	appendStringInfo(&sql, "CREATE UNIQUE INDEX ON %s (%s)",
					 qname, GOV_ENTRY_COLUMN);
	run_sql(sql.data);
	resetStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE TRIGGER %s BEFORE INSERT ON %s FOR EACH ROW "
					 "EXECUTE FUNCTION govledger.insert_trigger()",
					 GOV_TRIGGER_INSERT, qname);
	run_sql(sql.data);
	resetStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE TRIGGER %s BEFORE UPDATE OR DELETE ON %s "
					 "FOR EACH STATEMENT EXECUTE FUNCTION govledger.append_only_trigger()",
					 GOV_TRIGGER_MODIFY, qname);
	run_sql(sql.data);
	resetStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE TRIGGER %s BEFORE TRUNCATE ON %s "
					 "FOR EACH STATEMENT EXECUTE FUNCTION govledger.append_only_trigger()",
					 GOV_TRIGGER_TRUNCATE, qname);
	run_sql(sql.data);
	SPI_finish();

	GovRecordDdlEvent("protect", qname, psprintf("log %s", logname), NULL);
	PG_RETURN_VOID();
}

/* SQL function: govledger._adopt_row(tbl oid, r record) returns bigint */
PG_FUNCTION_INFO_V1(govledger_adopt_row);

/*
 * Record an existing row of the table being protected as an entry and
 * return its id.  Only protect() may call it (through its UPDATE).
 */
Datum
govledger_adopt_row(PG_FUNCTION_ARGS)
{
	Oid			relid;
	HeapTupleHeader th;
	HeapTupleData tup;
	TupleDesc	desc;
	GovLedger  *ledger;
	Datum	   *values;
	bool	   *nulls;
	int64		id;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("govledger._adopt_row() arguments must not be NULL")));
	relid = PG_GETARG_OID(0);
	if (!OidIsValid(adopting_relid) || relid != adopting_relid)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("govledger._adopt_row() can only be called by govledger.protect()")));
	th = PG_GETARG_HEAPTUPLEHEADER(1);
	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(th),
								  HeapTupleHeaderGetTypMod(th));
	if (desc->tdtypeid != get_rel_type_id(relid))
		elog(ERROR, "row is not of the type of the table being protected");
	tup.t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tup.t_self);
	tup.t_tableOid = relid;
	tup.t_data = th;

	ledger = GovLookupLedger(relid, false);
	values = palloc(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	heap_deform_tuple(&tup, desc, values, nulls);
	id = GovRecordEntry(ledger, 0, desc, values, nulls);
	ReleaseTupleDesc(desc);
	PG_RETURN_INT64(id);
}
