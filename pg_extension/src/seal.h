/*-------------------------------------------------------------------------
 *
 * seal.h
 *	  Declarations shared by the sealing files of the govledger
 *	  extension: log keys (keys.c), the sealer (seal.c), the background
 *	  worker (worker.c), tree access and proofs (proof.c) and the tree
 *	  and block checks of verify() (sealcheck.c).
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/seal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVLEDGER_SEAL_H
#define GOVLEDGER_SEAL_H

#include "nodes/pg_list.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"
#include "utils/timestamp.h"

#include "common/hash.h"
#include "common/notekey.h"

/* A log as the sealer and the proof functions need it */
typedef struct GovLog
{
	int32		log_id;
	char		name[NAMEDATALEN * 2];	/* also the checkpoint origin and key name */
	char		hash_alg[16];
	char		sig_alg[16];
	GlHash	   *hash;			/* backend-lifetime context (GovGetHash) */
} GovLog;

/* The latest block of a log */
typedef struct GovBlock
{
	bool		exists;
	int64		block_no;
	int64		tree_size;
	uint8		root[GL_HASH_MAX_SIZE];
	uint8		block_hash[GL_HASH_MAX_SIZE];
	char	   *checkpoint;		/* palloc'd */
} GovBlock;

/* OIDs of the sealing tables and their indexes, looked up per call */
typedef struct GovSealRels
{
	Oid			leaf;
	Oid			leaf_pkey;
	Oid			subtree;
	Oid			subtree_pkey;
	Oid			block;
	Oid			block_pkey;
	Oid			block_size;
} GovSealRels;

/* GUCs (keys.c, worker.c) */
extern char *gov_key_dir;
extern int	gov_seal_interval;

/* keys.c */
extern void GovKeysInit(void);
extern const GlNoteKey *GovLogSigner(const GovLog *log);
extern const GlNoteKey *GovLogVerifier(const GovLog *log);

/* seal.c */
extern void GovSealRelsLookup(GovSealRels *r);
extern bool GovLogByName(const char *name, GovLog *log, bool missing_ok);
extern bool GovLogById(int32 log_id, GovLog *log);
extern void GovLatestBlock(const GovSealRels *r, int32 log_id, Snapshot snap,
						   GovBlock *b);
extern bool GovBlockAtSize(const GovSealRels *r, int32 log_id, int64 size,
						   Snapshot snap, GovBlock *b);
extern int64 GovSealLog(const GovLog *log, bool wait, bool *sealed,
						bool *more);
extern void GovBlockHash(const GovLog *log, int64 block_no, int64 tree_size,
						 const uint8 *root, const uint8 *prev, TimestampTz at,
						 uint8 *out);

/*
 * Complete subtrees are stored from this level up; one of level L below it
 * is recomputed from its 2^L leaves when needed (at most 14 leaf lookups
 * for a proof), which spares the sealer a row and an index entry for
 * nearly every leaf.
 */
#define GOV_SUBTREE_MIN_LEVEL	4

/* proof.c */
typedef struct GovTreeReader
{
	const GovSealRels *rels;
	int32		log_id;
	Snapshot	snap;
	Relation	leaf;
	Relation	subtree;
	Relation	leaf_idx;
	Relation	subtree_idx;
	struct IndexScanDescData *leaf_scan;	/* reused for every lookup */
	struct IndexScanDescData *subtree_scan;
	struct TupleTableSlot *leaf_slot;
	struct TupleTableSlot *subtree_slot;
	size_t		hsize;			/* the log's digest length */
	GlHash	   *hash;			/* the log's hash, for subtrees not stored */
	int64		lookups;
} GovTreeReader;

extern void GovTreeReaderOpen(GovTreeReader *tr, const GovSealRels *rels,
							  int32 log_id, Snapshot snap);
extern void GovTreeReaderClose(GovTreeReader *tr);
extern int	GovTreeLookup(void *arg, int level, uint64_t index, uint8_t *out);

/* worker.c */
extern void GovWorkerRegister(void);
extern void GovSealersLeaveFor(Node *stmt);

/* sealcheck.c */
extern void GovSealChecks(int32 only_log, List **results);

#endif							/* GOVLEDGER_SEAL_H */
