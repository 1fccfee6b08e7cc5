/*-------------------------------------------------------------------------
 *
 * inspect.c
 *	  govledger.canonical() and govledger.leaf_hash(): the canonical
 *	  bytes and the leaf hash of one ledger row as stored now, and the
 *	  entry lookups they share with verify.c.
 *
 * A row is found through the unique index on ledger_entry_id that
 * protect() creates (a heap scan when that index is gone), its entry
 * through govledger.entry_sealed's primary key or, not sealed yet, in the
 * queue govledger.unsealed.  The metadata bound into the
 * encoding (time, role, subject) comes from the entry; the ledger name
 * from the ledger's registration.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/inspect.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "govledger.h"

/*
 * GovCheckReadable
 *		Raise an error unless the current role may read every row of
 *		table relid: SELECT privilege, and no row-level security policy
 *		applying to it.  The functions that read ledger rows directly
 *		bypass the executor, so they must enforce this themselves.
 */
void
GovCheckReadable(Oid relid)
{
	AclResult	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);

	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, get_rel_name(relid));
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("row-level security of table \"%s\" applies to role \"%s\"",
						get_rel_name(relid), GetUserNameFromId(GetUserId(), false)),
				 errdetail("Reading ledger rows directly would bypass its policies.")));
}

/* Whether index indexoid is a btree index */
static bool
index_is_btree(Oid indexoid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(indexoid));
	bool		result;

	if (!HeapTupleIsValid(tup))
		return false;
	result = ((Form_pg_class) GETSTRUCT(tup))->relam == BTREE_AM_OID;
	ReleaseSysCache(tup);
	return result;
}

/*
 * GovEntryFromTuple
 *		Decode a govledger.entry tuple into e; strings are palloc'd in the
 *		current memory context, the leaf may point into tup (read it with
 *		VARDATA_ANY while tup is valid).
 */
void
GovEntryFromTuple(HeapTuple tup, TupleDesc desc, GovEntryRow *e)
{
	Datum		v[Natts_gov_entry];
	bool		n[Natts_gov_entry];

	heap_deform_tuple(tup, desc, v, n);
	e->entry_id = DatumGetInt64(v[Anum_gov_entry_entry_id - 1]);
	e->ledger_id = DatumGetInt32(v[Anum_gov_entry_ledger_id - 1]);
	e->log_id = DatumGetInt32(v[Anum_gov_entry_log_id - 1]);
	e->recorded_at = DatumGetTimestampTz(v[Anum_gov_entry_recorded_at - 1]);
	e->db_role = n[Anum_gov_entry_db_role - 1] ? pstrdup("") :
		TextDatumGetCString(v[Anum_gov_entry_db_role - 1]);
	e->subject = n[Anum_gov_entry_subject - 1] ? NULL :
		TextDatumGetCString(v[Anum_gov_entry_subject - 1]);
	e->leaf = n[Anum_gov_entry_leaf_hash - 1] ? NULL :
		DatumGetByteaPP(v[Anum_gov_entry_leaf_hash - 1]);
	e->leaf_index = n[Anum_gov_entry_leaf_index - 1] ? -1 :
		DatumGetInt64(v[Anum_gov_entry_leaf_index - 1]);
}

/*
 * GovEntryFromQueueTuple
 *		Decode a govledger.unsealed tuple into e, like GovEntryFromTuple.
 *		Returns false for a queue row without metadata (an entry re-queued
 *		whose metadata is in govledger.entry_sealed).
 */
bool
GovEntryFromQueueTuple(HeapTuple tup, TupleDesc desc, GovEntryRow *e)
{
	Datum		v[Natts_gov_unsealed];
	bool		n[Natts_gov_unsealed];

	heap_deform_tuple(tup, desc, v, n);
	if (n[Anum_gov_unsealed_ledger_id - 1])
		return false;
	e->entry_id = DatumGetInt64(v[Anum_gov_unsealed_entry_id - 1]);
	e->ledger_id = DatumGetInt32(v[Anum_gov_unsealed_ledger_id - 1]);
	e->log_id = DatumGetInt32(v[Anum_gov_unsealed_log_id - 1]);
	e->recorded_at = n[Anum_gov_unsealed_recorded_at - 1] ? 0 :
		DatumGetTimestampTz(v[Anum_gov_unsealed_recorded_at - 1]);
	e->db_role = n[Anum_gov_unsealed_db_role - 1] ? pstrdup("") :
		TextDatumGetCString(v[Anum_gov_unsealed_db_role - 1]);
	e->subject = n[Anum_gov_unsealed_subject - 1] ? NULL :
		TextDatumGetCString(v[Anum_gov_unsealed_subject - 1]);
	e->leaf = n[Anum_gov_unsealed_leaf_hash - 1] ? NULL :
		DatumGetByteaPP(v[Anum_gov_unsealed_leaf_hash - 1]);
	e->leaf_index = -1;
	return true;
}

/*
 * GovFetchEntry
 *		Read entry entry_id through the primary key of
 *		govledger.entry_sealed (entryrel, opened by the caller), or, when
 *		it is not sealed yet, from the queue.  Returns false when there is
 *		none visible to snap.
 */
bool
GovFetchEntry(Relation entryrel, int64 entry_id, Snapshot snap,
			  GovEntryRow *e)
{
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	ScanKeyInit(&key, Anum_gov_entry_entry_id, BTEqualStrategyNumber,
				F_INT8EQ, Int64GetDatum(entry_id));
	scan = systable_beginscan(entryrel, GovGetCatalog()->entry_pkey, true,
							  snap, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		GovEntryFromTuple(tup, RelationGetDescr(entryrel), e);
		/* the tuple goes away with the scan: keep a copy of the leaf */
		if (e->leaf)
			e->leaf = DatumGetByteaPCopy(PointerGetDatum(e->leaf));
		found = true;
	}
	systable_endscan(scan);
	if (!found)
	{
		Relation	qrel = table_open(GovGetCatalog()->unsealed, AccessShareLock);

		ScanKeyInit(&key, Anum_gov_unsealed_entry_id, BTEqualStrategyNumber,
					F_INT8EQ, Int64GetDatum(entry_id));
		scan = systable_beginscan(qrel, InvalidOid, false, snap, 1, &key);
		while (!found && HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			if (GovEntryFromQueueTuple(tup, RelationGetDescr(qrel), e))
			{
				if (e->leaf)
					e->leaf = DatumGetByteaPCopy(PointerGetDatum(e->leaf));
				found = true;
			}
		}
		systable_endscan(scan);
		table_close(qrel, AccessShareLock);
	}
	return found;
}

/*
 * GovEntryIndexOf
 *		A valid btree index of rel whose only key is column attnum and that
 *		has no predicate or expressions; a unique one when require_unique.
 *		Unique indexes are preferred.  Returns InvalidOid when none fits.
 */
Oid
GovEntryIndexOf(Relation rel, AttrNumber attnum, bool require_unique)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			result = InvalidOid;
	bool		result_unique = false;

	foreach(lc, indexes)
	{
		HeapTuple	tup = SearchSysCache1(INDEXRELID,
										  ObjectIdGetDatum(lfirst_oid(lc)));
		Form_pg_index idx;
		bool		fits;

		if (!HeapTupleIsValid(tup))
			continue;
		idx = (Form_pg_index) GETSTRUCT(tup);
		fits = idx->indisvalid && idx->indnkeyatts == 1 &&
			idx->indkey.values[0] == attnum &&
			heap_attisnull(tup, Anum_pg_index_indpred, NULL) &&
			heap_attisnull(tup, Anum_pg_index_indexprs, NULL) &&
			(idx->indisunique || !require_unique) &&
			index_is_btree(idx->indexrelid);
		if (fits && (!OidIsValid(result) || (idx->indisunique && !result_unique)))
		{
			result = idx->indexrelid;
			result_unique = idx->indisunique;
		}
		ReleaseSysCache(tup);
	}
	list_free(indexes);
	return result;
}

/*
 * GovComputeLeaf
 *		Encode the row desc/values/nulls of ledger with the metadata of
 *		entry e into buf (reset first) and hash it into leaf.
 */
void
GovComputeLeaf(GovLedger *ledger, const GovEntryRow *e, TupleDesc desc,
			   Datum *values, bool *nulls, StringInfo buf, uint8 *leaf)
{
	GovEntryMeta meta;

	meta.entry_id = e->entry_id;
	meta.recorded_at = e->recorded_at;
	meta.db_role = e->db_role;
	meta.subject = e->subject;
	resetStringInfo(buf);
	GovEncodeRow(buf, ledger, &meta, desc, values, nulls);
	if (leaf)
		GovLeafHash(ledger, buf->data, buf->len, leaf);
}

/*
 * Encode the row of tbl with entry id entry_id into buf; the common part
 * of canonical() and leaf_hash().  Returns the ledger.
 */
static GovLedger *
encode_entry(FunctionCallInfo fcinfo, StringInfo buf)
{
	Oid			relid;
	int64		entry_id;
	GovLedger  *ledger;
	Relation	rel;
	Relation	entryrel;
	Oid			idx;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	GovEntryRow e;
	Snapshot	snap = GetActiveSnapshot();
	Datum	   *values;
	bool	   *nulls;
	TupleDesc	desc;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be NULL")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("entry id must not be NULL")));
	relid = PG_GETARG_OID(0);
	entry_id = PG_GETARG_INT64(1);
	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	ledger = GovLookupLedger(relid, false);
	GovCheckReadable(relid);

	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	idx = GovEntryIndexOf(rel, ledger->entry_attnum, false);
	ScanKeyInit(&key, ledger->entry_attnum, BTEqualStrategyNumber,
				F_INT8EQ, Int64GetDatum(entry_id));
	scan = systable_beginscan(rel, idx, OidIsValid(idx), snap, 1, &key);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("ledger table \"%s\" has no row with entry id " INT64_FORMAT,
						ledger->name, entry_id)));
	values = palloc(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	heap_deform_tuple(tup, desc, values, nulls);

	entryrel = table_open(GovGetCatalog()->entry, AccessShareLock);
	if (!GovFetchEntry(entryrel, entry_id, snap, &e))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("entry " INT64_FORMAT " of ledger table \"%s\" does not exist",
						entry_id, ledger->name)));
	GovComputeLeaf(ledger, &e, desc, values, nulls, buf, NULL);
	table_close(entryrel, AccessShareLock);
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return ledger;
}

/* SQL function: govledger.canonical(tbl regclass, entry_id bigint) returns text */
PG_FUNCTION_INFO_V1(govledger_canonical);

Datum
govledger_canonical(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	initStringInfo(&buf);
	encode_entry(fcinfo, &buf);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}

/* SQL function: govledger.leaf_hash(tbl regclass, entry_id bigint) returns bytea */
PG_FUNCTION_INFO_V1(govledger_leaf_hash);

Datum
govledger_leaf_hash(PG_FUNCTION_ARGS)
{
	StringInfoData buf;
	GovLedger  *ledger;
	bytea	   *result;

	initStringInfo(&buf);
	ledger = encode_entry(fcinfo, &buf);
	result = palloc(VARHDRSZ + ledger->hash->size);
	SET_VARSIZE(result, VARHDRSZ + ledger->hash->size);
	GovLeafHash(ledger, buf.data, buf.len, (uint8 *) VARDATA(result));
	PG_RETURN_BYTEA_P(result);
}
