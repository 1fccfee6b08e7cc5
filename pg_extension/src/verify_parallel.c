/*-------------------------------------------------------------------------
 *
 * verify_parallel.c
 *	  Run verify()'s registered check groups (the logs' leaf, tree, block
 *	  and sealed-entry checks) in a parallel worker while the leader
 *	  checks the rows of the ledger tables.
 *
 * The two halves read disjoint relations and cost about the same, so on
 * a machine with a free core verify() takes about the time of the longer
 * one.  The worker runs in the leader's transaction with its active
 * snapshot, which is the snapshot the checks use when run in the leader,
 * so the results are the same either way.  It writes them to shared
 * memory; when no worker can be registered (max_worker_processes or
 * max_parallel_workers reached, govledger.verify_parallel off) or the
 * results do not fit, the leader runs the checks itself.  An error in
 * the worker, or a worker that was registered but failed to start, is
 * raised in the leader.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/verify_parallel.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "storage/shm_toc.h"
#include "utils/guc.h"

#include "govledger.h"

#define VERIFY_SHARED_KEY	UINT64CONST(0x676f766c65646701)

/* Room for the serialised results; more makes the leader run the checks */
#define VERIFY_RESULT_BYTES	(1024 * 1024)

/* govledger.verify_parallel */
bool		gov_verify_parallel = true;

typedef struct VerifyShared
{
	int32		only_log;		/* the log verify() was asked about, or -1 */
	bool		complete;		/* set by the worker when all results fit */
	int			nresults;
	Size		used;
	char		data[FLEXIBLE_ARRAY_MEMBER];	/* VERIFY_RESULT_BYTES */
} VerifyShared;

struct GovParallelChecks
{
	ParallelContext *pcxt;
	VerifyShared *shared;
};

PGDLLEXPORT void GovVerifyParallelMain(dsm_segment *seg, shm_toc *toc);

void
GovVerifyParallelInit(void)
{
	DefineCustomBoolVariable("govledger.verify_parallel",
							 "Whether verify() checks the logs in a parallel worker while it checks the rows.",
							 NULL,
							 &gov_verify_parallel,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
}

/* Append len bytes to the result area; false when they do not fit */
static bool
put_bytes(VerifyShared *sh, const void *p, Size len)
{
	if (len > VERIFY_RESULT_BYTES - sh->used)
		return false;
	memcpy(sh->data + sh->used, p, len);
	sh->used += len;
	return true;
}

static bool
put_string(VerifyShared *sh, const char *s)
{
	int32		len = s ? (int32) strlen(s) : -1;

	return put_bytes(sh, &len, sizeof(len)) &&
		(len <= 0 || put_bytes(sh, s, len));
}

static void
get_bytes(const VerifyShared *sh, Size *pos, void *p, Size len)
{
	if (len > sh->used - *pos)
		elog(ERROR, "verify: truncated results from the parallel worker");
	memcpy(p, sh->data + *pos, len);
	*pos += len;
}

static char *
get_string(const VerifyShared *sh, Size *pos)
{
	int32		len;
	char	   *s;

	get_bytes(sh, pos, &len, sizeof(len));
	if (len < 0)
		return NULL;
	s = palloc(len + 1);
	get_bytes(sh, pos, s, len);
	s[len] = '\0';
	return s;
}

/*
 * GovParallelChecksStart
 *		Start the registered check groups for log only_log (-1: all) in a
 *		parallel worker.  Returns NULL when none was started; the caller
 *		then runs them itself.  Leaves the transaction in parallel mode
 *		until GovParallelChecksFinish.
 */
GovParallelChecks *
GovParallelChecksStart(int32 only_log)
{
	GovParallelChecks *pc;
	ParallelContext *pcxt;
	Size		size = add_size(offsetof(VerifyShared, data), VERIFY_RESULT_BYTES);

	if (!gov_verify_parallel || IsInParallelMode())
		return NULL;

	EnterParallelMode();
	pcxt = CreateParallelContext("$libdir/govledger", "GovVerifyParallelMain", 1);
	shm_toc_estimate_chunk(&pcxt->estimator, size);
	shm_toc_estimate_keys(&pcxt->estimator, 1);
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		/* no dynamic shared memory: no worker either */
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return NULL;
	}

	pc = palloc0(sizeof(GovParallelChecks));
	pc->pcxt = pcxt;
	pc->shared = shm_toc_allocate(pcxt->toc, size);
	pc->shared->only_log = only_log;
	pc->shared->complete = false;
	pc->shared->nresults = 0;
	pc->shared->used = 0;
	shm_toc_insert(pcxt->toc, VERIFY_SHARED_KEY, pc->shared);

	LaunchParallelWorkers(pcxt);
	if (pcxt->nworkers_launched == 0)
	{
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		pfree(pc);
		return NULL;
	}
	return pc;
}

/*
 * GovParallelChecksFinish
 *		Wait for the worker and append its results to *results.  Returns
 *		false (appending nothing) when they did not fit, so the caller
 *		must run the checks itself.  Leaves parallel mode.
 */
bool
GovParallelChecksFinish(GovParallelChecks *pc, List **results)
{
	VerifyShared *sh = pc->shared;
	bool		complete;

	WaitForParallelWorkersToFinish(pc->pcxt);
	complete = sh->complete;
	if (complete)
	{
		Size		pos = 0;
		int			i;

		for (i = 0; i < sh->nresults; i++)
		{
			GovCheckResult *r = palloc0(sizeof(GovCheckResult));

			get_bytes(sh, &pos, &r->ledger, sizeof(r->ledger));
			get_bytes(sh, &pos, &r->checked, sizeof(r->checked));
			get_bytes(sh, &pos, &r->failed, sizeof(r->failed));
			r->check_name = get_string(sh, &pos);
			r->first_failure = get_string(sh, &pos);
			*results = lappend(*results, r);
		}
	}
	DestroyParallelContext(pc->pcxt);
	ExitParallelMode();
	pfree(pc);
	elog(DEBUG1, complete ? "verify: the logs were checked by a parallel worker"
		 : "verify: the parallel worker's results did not fit; checking the logs here");
	return complete;
}

/*
 * GovVerifyParallelMain
 *		Entry point of the parallel worker: run the check groups and write
 *		their results to shared memory.
 */
void
GovVerifyParallelMain(dsm_segment *seg, shm_toc *toc)
{
	VerifyShared *sh = shm_toc_lookup(toc, VERIFY_SHARED_KEY, false);
	List	   *results = NIL;
	ListCell   *lc;

	GovRunRegisteredChecks(sh->only_log, &results);
	foreach(lc, results)
	{
		GovCheckResult *r = (GovCheckResult *) lfirst(lc);

		if (!put_bytes(sh, &r->ledger, sizeof(r->ledger)) ||
			!put_bytes(sh, &r->checked, sizeof(r->checked)) ||
			!put_bytes(sh, &r->failed, sizeof(r->failed)) ||
			!put_string(sh, r->check_name) ||
			!put_string(sh, r->first_failure))
			return;				/* too much: the leader runs the checks */
		sh->nresults++;
	}
	sh->complete = true;
}
