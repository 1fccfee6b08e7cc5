/*-------------------------------------------------------------------------
 *
 * entry.c
 *	  Recording an entry for one ledger row: a new entry id, the acting
 *	  principal, the canonical encoding, the leaf hash, and one direct
 *	  heap insert of the whole entry into the queue govledger.unsealed.
 *
 * This is the insert path of every ledger table, so it avoids all work a
 * row does not need: metadata comes from ledger_cache.c, the principal
 * is cached until the role or the claims setting changes, the encoding
 * buffer is reused, and no SPI is involved.  The entry goes only to the
 * unindexed queue; the sealer moves it to govledger.entry_sealed, in bulk
 * and off the writers' path.  Writers share no lock
 * beyond the ordinary relation and buffer locks of the tables they
 * insert into; the entry sequence hands out ids in per-backend blocks.
 *
 * Principal: the current role (current_user), and the gateway subject,
 * which is the "sub" member of the setting request.jwt.claims when it
 * is set (the setting PostgREST and our gateway use).
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/entry.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "nodes/execnodes.h"
#include "commands/sequence.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "govledger.h"

/* Cached name of the last role seen, reset when pg_authid changes */
static Oid	cached_role_id = InvalidOid;
static char *cached_role_name = NULL;
static bool role_callback_registered = false;

/* Cached subject of the last claims text seen */
static char *cached_claims = NULL;
static char *cached_subject = NULL;

/* Reused encoding buffer */
static StringInfo encode_buf = NULL;

static void
role_syscache_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	cached_role_id = InvalidOid;
}

/*
 * GovCurrentRole
 *		Name of the current role (current_user).  The result is cached and
 *		must not be freed.
 */
const char *
GovCurrentRole(void)
{
	Oid			roleid = GetUserId();

	if (!role_callback_registered)
	{
		CacheRegisterSyscacheCallback(AUTHOID, role_syscache_callback,
									  (Datum) 0);
		role_callback_registered = true;
	}
	if (roleid != cached_role_id || cached_role_name == NULL)
	{
		char	   *name = GetUserNameFromId(roleid, false);

		if (cached_role_name)
			pfree(cached_role_name);
		cached_role_name = MemoryContextStrdup(TopMemoryContext, name);
		cached_role_id = roleid;
	}
	return cached_role_name;
}

/*
 * GovCurrentSubject
 *		The "sub" of request.jwt.claims: a string as it is, a number as its
 *		text; NULL when the setting is unset or empty or has no such
 *		member.  Text that is not JSON raises an error.  The result is
 *		cached and must not be freed.
 */
const char *
GovCurrentSubject(void)
{
	const char *claims = GetConfigOption("request.jwt.claims", true, false);
	Jsonb	   *jb;
	JsonbValue *v;
	char	   *subject = NULL;

	if (claims == NULL || claims[0] == '\0')
		return NULL;
	if (cached_claims != NULL && strcmp(claims, cached_claims) == 0)
		return cached_subject;

	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(claims)));
	if (JB_ROOT_IS_OBJECT(jb))
	{
		v = getKeyJsonValueFromContainer(&jb->root, "sub", 3, NULL);
		if (v != NULL && v->type == jbvString)
			subject = pnstrdup(v->val.string.val, v->val.string.len);
		else if (v != NULL && v->type == jbvNumeric)
			subject = DatumGetCString(DirectFunctionCall1(numeric_out,
														  NumericGetDatum(v->val.numeric)));
	}
	if (cached_claims)
		pfree(cached_claims);
	if (cached_subject)
		pfree(cached_subject);
	cached_claims = MemoryContextStrdup(TopMemoryContext, claims);
	cached_subject = subject ? MemoryContextStrdup(TopMemoryContext, subject) : NULL;
	return cached_subject;
}

/*
 * GovLeafHash
 *		out = H(0x00 || data[0..len)) with the ledger's log algorithm; out
 *		holds ledger->hash->size bytes.
 */
void
GovLeafHash(GovLedger *ledger, const char *data, int len, uint8 *out)
{
	if (GlHashLeaf(ledger->hash, data, (size_t) len, out) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("OpenSSL failed to compute a %s hash",
						ledger->hash->name)));
}

/*
 * GovNextEntryId
 *		A new entry id from govledger.entry_id_seq.
 */
int64
GovNextEntryId(void)
{
	return nextval_internal(GovGetCatalog()->entry_seq, false);
}

/*
 * GovRecordEntry
 *		Record the row desc/values/nulls of ledger as entry entry_id (a new
 *		id when entry_id is 0 or less), inserted now by the current role
 *		and subject: hash its canonical encoding and queue the entry.
 *		Returns the entry id, which the row's ledger_entry_id must hold.
 *		Runs in the caller's (per-row) memory context.
 */
int64
GovRecordEntry(GovLedger *ledger, int64 entry_id, TupleDesc desc,
			   Datum *values, bool *nulls)
{
	GovEntryMeta meta;

	meta.entry_id = entry_id > 0 ? entry_id :
		nextval_internal(GovGetCatalog()->entry_seq, false);
	meta.recorded_at = GetCurrentTransactionStartTimestamp();
	meta.db_role = GovCurrentRole();
	meta.subject = GovCurrentSubject();
	GovRecordEntryMeta(ledger, &meta, desc, values, nulls);
	return meta.entry_id;
}

/*
 * GovRecordEntryMeta
 *		Record the row desc/values/nulls of ledger as the entry meta
 *		describes (id, time, role, subject), as GovRecordEntry does.
 */
void
GovRecordEntryMeta(GovLedger *ledger, const GovEntryMeta *m, TupleDesc desc,
				   Datum *values, bool *nulls)
{
	const GovCatalog *cat = GovGetCatalog();
	GovEntryMeta meta = *m;
	uint8		leaf[GL_HASH_MAX_SIZE];
	bytea	   *leafd;
	Relation	rel;
	Datum		uv[Natts_gov_unsealed];
	bool		un[Natts_gov_unsealed];
	HeapTuple	tup;

	if (encode_buf == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		encode_buf = makeStringInfo();
		MemoryContextSwitchTo(old);
	}
	resetStringInfo(encode_buf);
	GovEncodeRow(encode_buf, ledger, &meta, desc, values, nulls);
	GovLeafHash(ledger, encode_buf->data, encode_buf->len, leaf);
	/* do not keep a huge row's buffer for the rest of the session */
	if (encode_buf->maxlen > 1024 * 1024)
	{
		pfree(encode_buf->data);
		pfree(encode_buf);
		encode_buf = NULL;
	}

	leafd = palloc(VARHDRSZ + ledger->hash->size);
	SET_VARSIZE(leafd, VARHDRSZ + ledger->hash->size);
	memcpy(VARDATA(leafd), leaf, ledger->hash->size);

	memset(un, false, sizeof(un));
	uv[Anum_gov_unsealed_entry_id - 1] = Int64GetDatum(meta.entry_id);
	uv[Anum_gov_unsealed_log_id - 1] = Int32GetDatum(ledger->log_id);
	uv[Anum_gov_unsealed_leaf_hash - 1] = PointerGetDatum(leafd);
	uv[Anum_gov_unsealed_ledger_id - 1] = Int32GetDatum(ledger->ledger_id);
	uv[Anum_gov_unsealed_recorded_at - 1] = TimestampTzGetDatum(meta.recorded_at);
	uv[Anum_gov_unsealed_db_role - 1] = CStringGetTextDatum(meta.db_role);
	if (meta.subject)
		uv[Anum_gov_unsealed_subject - 1] = CStringGetTextDatum(meta.subject);
	else
	{
		uv[Anum_gov_unsealed_subject - 1] = (Datum) 0;
		un[Anum_gov_unsealed_subject - 1] = true;
	}
	rel = table_open(cat->unsealed, RowExclusiveLock);
	tup = heap_form_tuple(RelationGetDescr(rel), uv, un);
	simple_heap_insert(rel, tup);
	heap_freetuple(tup);
	/* held until the end of the transaction, like any DML lock */
	table_close(rel, NoLock);
	GovSealWakeNoteQueued();
}
