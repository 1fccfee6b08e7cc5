/*-------------------------------------------------------------------------
 *
 * verify_parallel.c
 *	  A parallel worker for verify(): it runs the registered check groups
 *	  (the logs' leaf, tree, block and sealed-entry checks), then helps
 *	  the leader check the rows of the ledger tables.
 *
 * The log checks cannot be divided, the row checks can: the leader and
 * the worker take ranges of a ledger table's blocks from a shared
 * counter until none is left (verify.c), so on a machine with a free
 * core verify() takes about half the time of both halves together.  The
 * worker runs in the leader's transaction with its active snapshot, the
 * snapshot verify() reads everything with, so the results are the same
 * either way.  It writes the log checks' results to shared memory and
 * sends its share of the row checks' results through a message queue.
 * When no worker can be registered (max_worker_processes or
 * max_parallel_workers reached, govledger.verify_parallel off) the
 * leader does all the work; when the log checks' results do not fit, it
 * runs those checks again itself.  An error in the worker, or a worker
 * that was registered but failed to start, is raised in the leader.
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
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
#include "utils/guc.h"
#include "utils/wait_event.h"

#include "govledger.h"

#define VERIFY_SHARED_KEY	UINT64CONST(0x676f766c65646701)
#define VERIFY_RANGES_KEY	UINT64CONST(0x676f766c65646702)
#define VERIFY_QUEUE_KEY	UINT64CONST(0x676f766c65646703)

/* The queue of the worker's row-check results */
#define VERIFY_QUEUE_BYTES	(256 * 1024)

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
	GovRowRanges *ranges;
	shm_mq_handle *queue;		/* the worker's row-check results */
};

PGDLLEXPORT void GovVerifyParallelMain(dsm_segment *seg, shm_toc *toc);

void
GovVerifyParallelInit(void)
{
	DefineCustomBoolVariable("govledger.verify_parallel",
							 "Whether verify() uses a parallel worker to check the logs and share the row checks.",
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

/*
 * GovReadBytes
 *		Copy len bytes at *pos of a result area of size bytes into p and
 *		advance *pos; a short area is an error.
 */
void
GovReadBytes(const char *data, Size size, Size *pos, void *p, Size len)
{
	if (len > size - *pos)
		elog(ERROR, "verify: truncated results from the parallel worker");
	memcpy(p, data + *pos, len);
	*pos += len;
}

/*
 * GovReadString
 *		A string written as an int32 length (-1: NULL) and its bytes,
 *		palloc'd in cxt.
 */
char *
GovReadString(const char *data, Size size, Size *pos, MemoryContext cxt)
{
	int32		len;
	char	   *s;

	GovReadBytes(data, size, pos, &len, sizeof(len));
	if (len < 0)
		return NULL;
	s = MemoryContextAlloc(cxt, len + 1);
	GovReadBytes(data, size, pos, s, len);
	s[len] = '\0';
	return s;
}

/*
 * GovParallelChecksStart
 *		Start a parallel worker for the registered check groups of log
 *		only_log (-1: all) and a share of the row checks of ranges, which
 *		is copied to shared memory (see GovParallelRowRanges).  Returns
 *		NULL when none was started; the caller then does all the work.
 *		Leaves the transaction in parallel mode until
 *		GovParallelChecksFinish.
 */
GovParallelChecks *
GovParallelChecksStart(int32 only_log, const GovRowRanges *ranges)
{
	GovParallelChecks *pc;
	ParallelContext *pcxt;
	Size		size = add_size(offsetof(VerifyShared, data), VERIFY_RESULT_BYTES);
	Size		rsize = GovRowRangesSize(ranges->nledgers);
	shm_mq	   *mq;
	int			i;

	if (!gov_verify_parallel || IsInParallelMode())
		return NULL;

	EnterParallelMode();
	pcxt = CreateParallelContext("$libdir/govledger", "GovVerifyParallelMain", 1);
	shm_toc_estimate_chunk(&pcxt->estimator, size);
	shm_toc_estimate_chunk(&pcxt->estimator, rsize);
	shm_toc_estimate_chunk(&pcxt->estimator, VERIFY_QUEUE_BYTES);
	shm_toc_estimate_keys(&pcxt->estimator, 3);
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

	pc->ranges = shm_toc_allocate(pcxt->toc, rsize);
	pc->ranges->nledgers = ranges->nledgers;
	for (i = 0; i < ranges->nledgers; i++)
	{
		GovRowRange *r = &pc->ranges->ledger[i];

		r->relid = ranges->ledger[i].relid;
		r->nblocks = ranges->ledger[i].nblocks;
		pg_atomic_init_u64(&r->next_block, 0);
		pg_atomic_init_u64(&r->rows_seen, 0);
	}
	shm_toc_insert(pcxt->toc, VERIFY_RANGES_KEY, pc->ranges);

	mq = shm_mq_create(shm_toc_allocate(pcxt->toc, VERIFY_QUEUE_BYTES),
					   VERIFY_QUEUE_BYTES);
	shm_mq_set_receiver(mq, MyProc);
	shm_toc_insert(pcxt->toc, VERIFY_QUEUE_KEY, mq);

	LaunchParallelWorkers(pcxt);
	if (pcxt->nworkers_launched == 0)
	{
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		pfree(pc);
		return NULL;
	}
	pc->queue = shm_mq_attach(mq, pcxt->seg, pcxt->worker[0].bgwhandle);
	return pc;
}

/*
 * GovParallelRowRanges
 *		The shared copy of the row ranges, which the leader takes its
 *		ranges from.
 */
GovRowRanges *
GovParallelRowRanges(GovParallelChecks *pc)
{
	return pc->ranges;
}

/*
 * GovParallelRowsReceive
 *		The worker's next message of row-check results, waiting at most
 *		about timeout_ms for it (so that the caller can report progress
 *		meanwhile).  An error the worker raised is raised here.
 */
GovRowsReceipt
GovParallelRowsReceive(GovParallelChecks *pc, long timeout_ms, Size *nbytes,
					   void **data)
{
	bool		waited = false;

	for (;;)
	{
		switch (shm_mq_receive(pc->queue, nbytes, data, true))
		{
			case SHM_MQ_SUCCESS:
				return GOV_ROWS_RECEIVED;
			case SHM_MQ_DETACHED:
				WaitForParallelWorkersToFinish(pc->pcxt);
				return GOV_ROWS_ENDED;
			case SHM_MQ_WOULD_BLOCK:
				break;
		}
		if (waited)
			return GOV_ROWS_PENDING;
		/* the worker sets our latch when it sends or detaches */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		waited = true;
	}
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

	shm_mq_detach(pc->queue);
	WaitForParallelWorkersToFinish(pc->pcxt);
	complete = sh->complete;
	if (complete)
	{
		Size		pos = 0;
		int			i;

		for (i = 0; i < sh->nresults; i++)
		{
			GovCheckResult *r = palloc0(sizeof(GovCheckResult));

			GovReadBytes(sh->data, sh->used, &pos, &r->ledger, sizeof(r->ledger));
			GovReadBytes(sh->data, sh->used, &pos, &r->checked, sizeof(r->checked));
			GovReadBytes(sh->data, sh->used, &pos, &r->failed, sizeof(r->failed));
			r->check_name = GovReadString(sh->data, sh->used, &pos,
										  CurrentMemoryContext);
			r->first_failure = GovReadString(sh->data, sh->used, &pos,
											 CurrentMemoryContext);
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
 *		their results to shared memory, then take row ranges and send
 *		those results through the queue.
 */
void
GovVerifyParallelMain(dsm_segment *seg, shm_toc *toc)
{
	VerifyShared *sh = shm_toc_lookup(toc, VERIFY_SHARED_KEY, false);
	GovRowRanges *ranges = shm_toc_lookup(toc, VERIFY_RANGES_KEY, false);
	shm_mq	   *mq = shm_toc_lookup(toc, VERIFY_QUEUE_KEY, false);
	shm_mq_handle *queue;
	List	   *results = NIL;
	ListCell   *lc;
	bool		fits = true;

	shm_mq_set_sender(mq, MyProc);
	queue = shm_mq_attach(mq, seg, NULL);

	GovRunRegisteredChecks(sh->only_log, &results);
	foreach(lc, results)
	{
		GovCheckResult *r = (GovCheckResult *) lfirst(lc);

		if (!put_bytes(sh, &r->ledger, sizeof(r->ledger)) ||
			!put_bytes(sh, &r->checked, sizeof(r->checked)) ||
			!put_bytes(sh, &r->failed, sizeof(r->failed)) ||
			!put_string(sh, r->check_name) ||
			!put_string(sh, r->first_failure))
		{
			fits = false;		/* too much: the leader runs the checks */
			break;
		}
		sh->nresults++;
	}
	sh->complete = fits;

	GovCheckRowsInWorker(ranges, queue);
	shm_mq_detach(queue);
}
