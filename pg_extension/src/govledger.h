/*-------------------------------------------------------------------------
 *
 * govledger.h
 *	  Declarations shared by the C files of the govledger extension:
 *	  ledger metadata cache, canonical encoding, entry recording, direct
 *	  catalog writes and verification checks.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/govledger.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVLEDGER_H
#define GOVLEDGER_H

#include "access/htup.h"
#include "access/tupdesc.h"
#include "nodes/pg_list.h"
#include "lib/stringinfo.h"
#include "port/atomics.h"
#include "storage/block.h"
#include "storage/shm_mq.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"
#include "utils/timestamp.h"

#include "common/hash.h"

/* Version of the canonical encoding, the "v" member of every object */
#define GOV_CANONICAL_VERSION	1

/* Name of the column protect() adds to a ledger table */
#define GOV_ENTRY_COLUMN		"ledger_entry_id"

/* Trigger names; the insert trigger sorts after ordinary names */
#define GOV_TRIGGER_INSERT		"zz_govledger_insert"
#define GOV_TRIGGER_MODIFY		"zz_govledger_append_only"
#define GOV_TRIGGER_TRUNCATE	"zz_govledger_no_truncate"

/* How one column type is encoded; see docs/canonical-encoding.md */
typedef enum GovTypeKind
{
	GOV_T_INT2,
	GOV_T_INT4,
	GOV_T_INT8,
	GOV_T_NUMERIC,
	GOV_T_FLOAT4,
	GOV_T_FLOAT8,
	GOV_T_BOOL,
	GOV_T_TEXT,					/* text, varchar, bpchar */
	GOV_T_UUID,
	GOV_T_DATE,
	GOV_T_TIMESTAMP,
	GOV_T_TIMESTAMPTZ,
	GOV_T_INTERVAL,
	GOV_T_BYTEA,
	GOV_T_JSONB
} GovTypeKind;

/* Encoding of one column, resolved once per ledger and backend */
typedef struct GovColumn
{
	AttrNumber	attnum;			/* column number in the table */
	GovTypeKind kind;			/* scalar kind, or element kind of array */
	bool		is_array;		/* one-dimensional array of kind */
	int16		elmlen;			/* element storage, arrays only */
	bool		elmbyval;
	char		elmalign;
	Oid			elmtype;		/* element type, arrays only */
	char	   *key;			/* "name": already JCS-escaped, with colon */
	int			keylen;
	char	   *name;			/* plain column name, for messages */
} GovColumn;

/* Everything the insert path needs about one ledger table */
typedef struct GovLedger
{
	Oid			relid;			/* hash key: the ledger table */
	bool		valid;			/* false once invalidated */
	int32		ledger_id;
	int32		log_id;
	char	   *name;			/* registered name */
	char	   *name_json;		/* registered name, JCS-escaped and quoted */
	GlHash	   *hash;			/* the log's hash algorithm */
	AttrNumber	entry_attnum;	/* attnum of ledger_entry_id */
	bool		record_before;	/* the BEFORE trigger may record entries */
	int			ncolumns;		/* encoded columns, in key order */
	GovColumn  *columns;
} GovLedger;

/* Principal and time bound into an entry */
typedef struct GovEntryMeta
{
	int64		entry_id;
	TimestampTz recorded_at;
	const char *db_role;
	const char *subject;		/* NULL when none */
} GovEntryMeta;

/* OIDs of the extension's own relations, looked up once per backend */
typedef struct GovCatalog
{
	Oid			nsp;
	Oid			log;
	Oid			ledger;
	Oid			ledger_seq;
	Oid			entry;			/* govledger.entry_sealed */
	Oid			entry_pkey;		/* its primary key */
	Oid			entry_seq;
	Oid			unsealed;
	Oid			ddl_event;
	uint64		generation;		/* changes each time the OIDs are looked up */
} GovCatalog;

/*
 * Column numbers of the catalog tables created by sql/00_catalog.sql;
 * govledger.entry_sealed has the columns of govledger.entry.
 */
#define Anum_gov_log_log_id			1
#define Anum_gov_log_name			2
#define Anum_gov_log_hash_alg		3
#define Natts_gov_log				6

#define Anum_gov_ledger_ledger_id	1
#define Anum_gov_ledger_relid		2
#define Anum_gov_ledger_name		3
#define Anum_gov_ledger_log_id		4
#define Anum_gov_ledger_protected_at 5
#define Anum_gov_ledger_dropped_at	6
#define Natts_gov_ledger			6

#define Anum_gov_entry_entry_id		1
#define Anum_gov_entry_ledger_id	2
#define Anum_gov_entry_log_id		3
#define Anum_gov_entry_recorded_at	4
#define Anum_gov_entry_db_role		5
#define Anum_gov_entry_subject		6
#define Anum_gov_entry_leaf_hash	7
#define Anum_gov_entry_leaf_index	8
#define Natts_gov_entry				8

#define Anum_gov_unsealed_entry_id	1
#define Anum_gov_unsealed_log_id	2
#define Anum_gov_unsealed_leaf_hash	3
#define Anum_gov_unsealed_ledger_id	4
#define Anum_gov_unsealed_recorded_at 5
#define Anum_gov_unsealed_db_role	6
#define Anum_gov_unsealed_subject	7
#define Natts_gov_unsealed			7

/* ledger_cache.c */
extern const GovCatalog *GovGetCatalog(void);
extern GovLedger *GovLookupLedger(Oid relid, bool missing_ok);
extern GlHash *GovGetHash(const char *alg);
extern Snapshot GovReadSnapshot(void);
extern void GovCacheInit(void);
extern bool GovTypeSupported(Oid typid, GovTypeKind *kind, bool *is_array,
							 Oid *elmtype);

/* ledger_trigger.c */
extern void GovTriggerInit(void);
extern int	GovDeferredMark(void);
extern void GovDeferredRecordSince(int from);

/* seal_wake.c: waking the background sealer when entries were committed */
typedef struct GovWakeSlot GovWakeSlot;
extern void GovSealWakeInit(void);
extern GovWakeSlot *GovSealWakeClaim(Oid dboid);
extern bool GovSealWakeTake(GovWakeSlot *slot);
extern void GovSealWakeNoteQueued(void);

/* canonical.c */
extern void GovJsonString(StringInfo out, const char *s, int len);
extern int	GovUtf16Compare(const char *a, int alen, const char *b, int blen);
extern void GovEncodeRow(StringInfo out, GovLedger *ledger,
						 const GovEntryMeta *meta, TupleDesc desc,
						 Datum *values, bool *nulls);

/* entry.c */
extern const char *GovCurrentRole(void);
extern const char *GovCurrentSubject(void);
extern int64 GovNextEntryId(void);
extern int64 GovRecordEntry(GovLedger *ledger, int64 entry_id, TupleDesc desc,
							Datum *values, bool *nulls);
extern void GovRecordEntryMeta(GovLedger *ledger, const GovEntryMeta *meta,
							   TupleDesc desc, Datum *values, bool *nulls);
extern void GovLeafHash(GovLedger *ledger, const char *data, int len,
						uint8 *out);

/* catalog_write.c */
extern void GovInsertTuple(Relation rel, HeapTuple tup);
extern void GovUpdateTuple(Relation rel, ItemPointer otid, HeapTuple tup);

/* An entry as read back from govledger.entry_sealed or the queue */
typedef struct GovEntryRow
{
	int64		entry_id;
	int32		ledger_id;
	int32		log_id;
	TimestampTz recorded_at;
	char	   *db_role;
	char	   *subject;		/* NULL when none */
	bytea	   *leaf;			/* stored leaf hash, possibly short-header */
	int64		leaf_index;		/* its leaf in the log's tree; -1 when queued */
} GovEntryRow;

/* inspect.c */
extern void GovCheckReadable(Oid relid);
extern void GovEntryFromTuple(HeapTuple tup, TupleDesc desc, GovEntryRow *e);
extern bool GovEntryFromQueueTuple(HeapTuple tup, TupleDesc desc,
								   GovEntryRow *e);
extern bool GovFetchEntry(Relation entryrel, int64 entry_id, Snapshot snap,
						  GovEntryRow *e);
extern Oid	GovEntryIndexOf(Relation rel, AttrNumber attnum,
							bool require_unique);
extern void GovComputeLeaf(GovLedger *ledger, const GovEntryRow *e,
						   TupleDesc desc, Datum *values, bool *nulls,
						   StringInfo buf, uint8 *leaf);

/* ddl.c */
extern bool GovDdlPermitted(Oid relid);
extern int64 GovRecordDdlEvent(const char *event, const char *target,
							   const char *detail, const char *reason);

/* verify.c */
extern int	gov_verify_progress_interval;
extern void GovVerifyInit(void);

typedef struct GovCheckResult
{
	Oid			ledger;			/* InvalidOid for log-wide checks */
	const char *check_name;
	int64		checked;
	int64		failed;
	char	   *first_failure;	/* NULL when none */
} GovCheckResult;

/*
 * A group of checks run by verify() besides the per-ledger row checks (for
 * example the tree and block checks of sealing).  only_log is the log of
 * the table verify() was asked about, or -1 for all; the function appends
 * palloc'd GovCheckResult items to *results.  It may run in a parallel
 * worker (verify_parallel.c), so it must not write.
 */
typedef void (*GovVerifyFn) (int32 only_log, List **results);

extern void GovVerifyRegister(GovVerifyFn fn);
extern void GovRunRegisteredChecks(int32 only_log, List **results);

/*
 * The blocks of the ledger tables whose rows verify() checks, handed out a
 * range at a time to the backend and its parallel worker alike.
 */
typedef struct GovRowRange
{
	Oid			relid;
	BlockNumber nblocks;		/* as seen after verify()'s snapshot */
	pg_atomic_uint64 next_block;	/* first block not yet handed out */
	pg_atomic_uint64 rows_seen; /* by every process, for progress */
} GovRowRange;

typedef struct GovRowRanges
{
	int			nledgers;
	GovRowRange ledger[FLEXIBLE_ARRAY_MEMBER];
} GovRowRanges;

#define GovRowRangesSize(n) \
	add_size(offsetof(GovRowRanges, ledger), mul_size((n), sizeof(GovRowRange)))

extern void GovCheckRowsInWorker(GovRowRanges *ranges, shm_mq_handle *mqh);

/* verify_parallel.c */
typedef struct GovParallelChecks GovParallelChecks;

extern bool gov_verify_parallel;
extern void GovVerifyParallelInit(void);
extern GovParallelChecks *GovParallelChecksStart(int32 only_log,
												 const GovRowRanges *ranges);
extern GovRowRanges *GovParallelRowRanges(GovParallelChecks *pc);
/* what GovParallelRowsReceive found */
typedef enum GovRowsReceipt
{
	GOV_ROWS_RECEIVED,			/* a message of row results */
	GOV_ROWS_ENDED,				/* the worker ended and sent nothing more */
	GOV_ROWS_PENDING			/* nothing yet, timeout_ms passed */
} GovRowsReceipt;

extern GovRowsReceipt GovParallelRowsReceive(GovParallelChecks *pc,
											 long timeout_ms, Size *nbytes,
											 void **data);
extern bool GovParallelChecksFinish(GovParallelChecks *pc, List **results);
extern void GovReadBytes(const char *data, Size size, Size *pos, void *p,
						 Size len);
extern char *GovReadString(const char *data, Size size, Size *pos,
						   MemoryContext cxt);

/*
 * Count a failure of check c; the first one's description is formatted
 * into memory context cxt and kept in c->first_failure.
 */
extern char *GovFormatFailure(MemoryContext cxt, const char *fmt,
							  va_list args) pg_attribute_printf(2, 0);
extern void GovCheckFail(GovCheckResult *c, MemoryContext cxt,
						 const char *fmt,...) pg_attribute_printf(3, 4);

#endif							/* GOVLEDGER_H */
