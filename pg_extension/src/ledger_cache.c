/*-------------------------------------------------------------------------
 *
 * ledger_cache.c
 *	  Per-backend caches of what the insert path needs: the OIDs of the
 *	  extension's relations, each ledger table's metadata (registered
 *	  name, log, hash algorithm, column encodings in key order) and the
 *	  OpenSSL digest of each hash algorithm.
 *
 * A ledger's metadata is built on first use from govledger.ledger and
 * govledger.log and kept until a relcache invalidation of the table (any
 * DDL on it, including protect, add_column and drop_ledger) marks it
 * stale.  An invalidation of one of the extension's own relations, or a
 * full reset, forgets the catalog OIDs too (DROP/CREATE EXTENSION).
 * Hash contexts live for the life of the backend.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/ledger_cache.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "govledger.h"

static HTAB *ledger_cache = NULL;
static MemoryContext ledger_cache_cxt = NULL;
static GovCatalog catalog;
static bool catalog_valid = false;

/* Opened hash algorithms, for the life of the backend */
static GlHash hash_sha256;
static bool hash_sha256_open = false;
static GlHash hash_sm3;
static bool hash_sm3_open = false;

/*
 * Relcache callback: mark a ledger's metadata stale, or everything on a
 * full reset (relid InvalidOid).
 */
static void
gov_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	GovLedger  *l;

	if (!OidIsValid(relid) ||
		(catalog_valid &&
		 (relid == catalog.entry || relid == catalog.ledger ||
		  relid == catalog.log || relid == catalog.unsealed ||
		  relid == catalog.ddl_event || relid == catalog.entry_pkey)))
		catalog_valid = false;
	if (ledger_cache == NULL)
		return;
	if (OidIsValid(relid))
	{
		l = hash_search(ledger_cache, &relid, HASH_FIND, NULL);
		if (l != NULL)
			l->valid = false;
		return;
	}
	hash_seq_init(&status, ledger_cache);
	while ((l = hash_seq_search(&status)) != NULL)
		l->valid = false;
}

/* Register the invalidation callbacks; called from _PG_init. */
void
GovCacheInit(void)
{
	CacheRegisterRelcacheCallback(gov_relcache_callback, (Datum) 0);
}

/* OID of relation govledger.<name>, or an error naming what is missing */
static Oid
catalog_relid(Oid nsp, const char *name)
{
	Oid			relid = get_relname_relid(name, nsp);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation govledger.%s does not exist", name),
				 errhint("Is the govledger extension installed?")));
	return relid;
}

/*
 * GovGetCatalog
 *		The OIDs of the extension's relations, looked up once per backend
 *		and after invalidations.  The result is static; callers must not
 *		free or change it.
 */
const GovCatalog *
GovGetCatalog(void)
{
	Oid			nsp;

	if (catalog_valid)
		return &catalog;
	nsp = get_namespace_oid("govledger", true);
	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("schema govledger does not exist"),
				 errhint("Run CREATE EXTENSION govledger.")));
	catalog.nsp = nsp;
	catalog.log = catalog_relid(nsp, "log");
	catalog.ledger = catalog_relid(nsp, "ledger");
	catalog.ledger_seq = catalog_relid(nsp, "ledger_id_seq");
	catalog.entry = catalog_relid(nsp, "entry_sealed");
	catalog.entry_pkey = catalog_relid(nsp, "entry_sealed_pkey");
	catalog.entry_seq = catalog_relid(nsp, "entry_id_seq");
	catalog.unsealed = catalog_relid(nsp, "unsealed");
	catalog.ddl_event = get_relname_relid("ddl_event", nsp);
	catalog.generation++;
	catalog_valid = true;
	return &catalog;
}

/*
 * GovGetHash
 *		The hash context of algorithm alg ("sha256" or "sm3"), opened on
 *		first use and kept for the life of the backend.
 */
GlHash *
GovGetHash(const char *alg)
{
	GlHash	   *h;
	bool	   *is_open;

	if (strcmp(alg, "sha256") == 0)
	{
		h = &hash_sha256;
		is_open = &hash_sha256_open;
	}
	else if (strcmp(alg, "sm3") == 0)
	{
		h = &hash_sm3;
		is_open = &hash_sm3_open;
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unsupported hash algorithm \"%s\"", alg)));
	if (!*is_open)
	{
		if (GlHashOpen(h, alg) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_SYSTEM_ERROR),
					 errmsg("OpenSSL cannot provide hash algorithm \"%s\"", alg)));
		*is_open = true;
	}
	return h;
}

/*
 * GovTypeSupported
 *		Whether columns of type typid (domains resolved to their base
 *		type) have a canonical encoding; sets kind, is_array and the
 *		array's element type.
 */
bool
GovTypeSupported(Oid typid, GovTypeKind *kind, bool *is_array, Oid *elmtype)
{
	Oid			base = getBaseType(typid);
	Oid			elem = get_element_type(base);

	*is_array = false;
	*elmtype = InvalidOid;
	if (OidIsValid(elem))
	{
		GovTypeKind ek;
		bool		nested;
		Oid			dummy;

		if (!GovTypeSupported(elem, &ek, &nested, &dummy) || nested)
			return false;
		*kind = ek;
		*is_array = true;
		*elmtype = elem;
		return true;
	}
	switch (base)
	{
		case INT2OID:
			*kind = GOV_T_INT2;
			break;
		case INT4OID:
			*kind = GOV_T_INT4;
			break;
		case INT8OID:
			*kind = GOV_T_INT8;
			break;
		case NUMERICOID:
			*kind = GOV_T_NUMERIC;
			break;
		case FLOAT4OID:
			*kind = GOV_T_FLOAT4;
			break;
		case FLOAT8OID:
			*kind = GOV_T_FLOAT8;
			break;
		case BOOLOID:
			*kind = GOV_T_BOOL;
			break;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			*kind = GOV_T_TEXT;
			break;
		case UUIDOID:
			*kind = GOV_T_UUID;
			break;
		case DATEOID:
			*kind = GOV_T_DATE;
			break;
		case TIMESTAMPOID:
			*kind = GOV_T_TIMESTAMP;
			break;
		case TIMESTAMPTZOID:
			*kind = GOV_T_TIMESTAMPTZ;
			break;
		case INTERVALOID:
			*kind = GOV_T_INTERVAL;
			break;
		case BYTEAOID:
			*kind = GOV_T_BYTEA;
			break;
		case JSONBOID:
			*kind = GOV_T_JSONB;
			break;
		default:
			return false;
	}
	return true;
}

static int
column_cmp(const void *a, const void *b)
{
	const GovColumn *ca = (const GovColumn *) a;
	const GovColumn *cb = (const GovColumn *) b;

	return GovUtf16Compare(ca->name, strlen(ca->name),
						   cb->name, strlen(cb->name));
}

/*
 * Fill l from the ledger's catalog row and the relation's columns.
 * Allocates in ledger_cache_cxt.  Returns false when relid is not an
 * active ledger.
 */
static bool
build_ledger(GovLedger *l, Oid relid)
{
	const GovCatalog *cat = GovGetCatalog();
	Relation	lrel;
	TableScanDesc scan;
	HeapTuple	tup;
	Snapshot	snap;
	bool		found = false;
	char	   *alg = NULL;
	Relation	rel;
	TupleDesc	desc;
	int			i;
	MemoryContext old;

	snap = RegisterSnapshot(GovReadSnapshot());
	lrel = table_open(cat->ledger, AccessShareLock);
	scan = table_beginscan(lrel, snap, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_gov_ledger_relid,
									 RelationGetDescr(lrel), &isnull);

		if (isnull || DatumGetObjectId(d) != relid)
			continue;
		l->ledger_id = DatumGetInt32(heap_getattr(tup, Anum_gov_ledger_ledger_id,
												  RelationGetDescr(lrel), &isnull));
		l->log_id = DatumGetInt32(heap_getattr(tup, Anum_gov_ledger_log_id,
											   RelationGetDescr(lrel), &isnull));
		d = heap_getattr(tup, Anum_gov_ledger_name, RelationGetDescr(lrel),
						 &isnull);
		l->name = MemoryContextStrdup(ledger_cache_cxt, TextDatumGetCString(d));
		found = true;
		break;
	}
	table_endscan(scan);
	table_close(lrel, AccessShareLock);
	if (!found)
	{
		UnregisterSnapshot(snap);
		return false;
	}

	lrel = table_open(cat->log, AccessShareLock);
	scan = table_beginscan(lrel, snap, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_gov_log_log_id,
									 RelationGetDescr(lrel), &isnull);

		if (DatumGetInt32(d) != l->log_id)
			continue;
		d = heap_getattr(tup, Anum_gov_log_hash_alg, RelationGetDescr(lrel),
						 &isnull);
		alg = TextDatumGetCString(d);
		break;
	}
	table_endscan(scan);
	table_close(lrel, AccessShareLock);
	UnregisterSnapshot(snap);
	if (alg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("log %d of ledger \"%s\" does not exist",
						l->log_id, l->name)));
	l->hash = GovGetHash(alg);

	old = MemoryContextSwitchTo(ledger_cache_cxt);
	{
		StringInfoData s;

		initStringInfo(&s);
		GovJsonString(&s, l->name, strlen(l->name));
		l->name_json = s.data;
	}

	rel = relation_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	l->columns = palloc0(sizeof(GovColumn) * Max(desc->natts, 1));
	l->ncolumns = 0;
	l->entry_attnum = InvalidAttrNumber;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		GovColumn  *c;
		StringInfoData s;

		if (att->attisdropped)
			continue;
		if (strcmp(NameStr(att->attname), GOV_ENTRY_COLUMN) == 0)
		{
			l->entry_attnum = att->attnum;
			continue;
		}
		c = &l->columns[l->ncolumns];
		c->attnum = att->attnum;
		c->name = pstrdup(NameStr(att->attname));
		if (!GovTypeSupported(att->atttypid, &c->kind, &c->is_array,
							  &c->elmtype))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("column \"%s\" of ledger table \"%s\" has type %s, which has no canonical encoding",
							c->name, l->name, format_type_be(att->atttypid))));
		if (c->is_array)
			get_typlenbyvalalign(c->elmtype, &c->elmlen, &c->elmbyval,
								 &c->elmalign);
		initStringInfo(&s);
		GovJsonString(&s, c->name, strlen(c->name));
		appendStringInfoChar(&s, ':');
		c->key = s.data;
		c->keylen = s.len;
		l->ncolumns++;
	}
	/*
	 * The BEFORE trigger may record the entry only when it is the last
	 * BEFORE INSERT row trigger and no stored generated column is computed
	 * after it; otherwise the row is recorded once stored.
	 */
	l->record_before = !(desc->constr && desc->constr->has_generated_stored);
	for (i = 0; rel->trigdesc && i < rel->trigdesc->numtriggers; i++)
	{
		Trigger    *t = &rel->trigdesc->triggers[i];

		if (TRIGGER_FOR_ROW(t->tgtype) && TRIGGER_FOR_INSERT(t->tgtype) &&
			TRIGGER_FOR_BEFORE(t->tgtype) &&
			strcmp(t->tgname, GOV_TRIGGER_INSERT) > 0)
			l->record_before = false;
	}
	relation_close(rel, AccessShareLock);
	MemoryContextSwitchTo(old);

	if (l->entry_attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ledger table \"%s\" has no column %s",
						l->name, GOV_ENTRY_COLUMN)));
	qsort(l->columns, l->ncolumns, sizeof(GovColumn), column_cmp);
	return true;
}

/* Free what build_ledger allocated for l. */
static void
free_ledger(GovLedger *l)
{
	int			i;

	if (l->name)
		pfree(l->name);
	if (l->name_json)
		pfree(l->name_json);
	for (i = 0; i < l->ncolumns; i++)
	{
		pfree(l->columns[i].name);
		pfree(l->columns[i].key);
	}
	if (l->columns)
		pfree(l->columns);
	l->name = NULL;
	l->name_json = NULL;
	l->columns = NULL;
	l->ncolumns = 0;
}

/*
 * GovLookupLedger
 *		The cached metadata of ledger table relid, rebuilt when stale.
 *		Returns NULL when relid is not an active ledger and missing_ok,
 *		otherwise raises an error.  The result belongs to the cache and
 *		stays valid until the next invalidation is processed.
 */
GovLedger *
GovLookupLedger(Oid relid, bool missing_ok)
{
	GovLedger  *l;
	bool		found;

	if (ledger_cache == NULL)
	{
		HASHCTL		ctl;

		ledger_cache_cxt = AllocSetContextCreate(CacheMemoryContext,
												 "govledger ledger cache",
												 ALLOCSET_SMALL_SIZES);
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(GovLedger);
		ctl.hcxt = ledger_cache_cxt;
		ledger_cache = hash_create("govledger ledgers", 16, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	l = hash_search(ledger_cache, &relid, HASH_ENTER, &found);
	if (!found)
	{
		memset(((char *) l) + sizeof(Oid), 0, sizeof(GovLedger) - sizeof(Oid));
		l->valid = false;
	}
	if (l->valid)
		return l;
	free_ledger(l);
	PG_TRY();
	{
		found = build_ledger(l, relid);
	}
	PG_CATCH();
	{
		hash_search(ledger_cache, &relid, HASH_REMOVE, NULL);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (!found)
	{
		free_ledger(l);
		hash_search(ledger_cache, &relid, HASH_REMOVE, NULL);
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("table \"%s\" is not a ledger table",
						get_rel_name(relid) ? get_rel_name(relid) : "?"),
				 errhint("Use govledger.protect() to make it one.")));
	}
	/*
	 * An entry built in parallel mode was read with the query's snapshot,
	 * which may be older than the latest: use it, but build it afresh at
	 * the next lookup.
	 */
	l->valid = !IsInParallelMode();
	return l;
}

/*
 * GovReadSnapshot
 *		The latest snapshot, for reading the catalog; in a parallel worker
 *		of verify(), which cannot take one, the query's snapshot.
 */
Snapshot
GovReadSnapshot(void)
{
	return IsInParallelMode() ? GetActiveSnapshot() : GetLatestSnapshot();
}
