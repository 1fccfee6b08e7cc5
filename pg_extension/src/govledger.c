/*-------------------------------------------------------------------------
 *
 * govledger.c
 *	  Module entry point of the govledger extension: ledger tables whose
 *	  rows are hashed in a canonical encoding at insert and can be
 *	  verified later.
 *
 * The library works both loaded on demand (by the first call of one of
 * its functions) and from shared_preload_libraries.  It has one utility
 * hook, for the two things utility statements need from it.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/govledger.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "tcop/utility.h"

#include "govledger.h"
#include "seal.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static ProcessUtility_hook_type prev_process_utility = NULL;

/*
 * Before the statement, stop the sealers of a database it requires without
 * sessions (ALTER DATABASE ... RENAME and the like; worker.c); after it,
 * record the ledger rows it noted to record once stored (COPY FROM into a
 * table with a later BEFORE trigger; ledger_trigger.c).
 */
static void
gov_process_utility(PlannedStmt *pstmt, const char *queryString,
					bool readOnlyTree, ProcessUtilityContext context,
					ParamListInfo params, QueryEnvironment *queryEnv,
					DestReceiver *dest, QueryCompletion *qc)
{
	int			from = GovDeferredMark();

	GovSealersLeaveFor(pstmt->utilityStmt);
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context,
							 params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
	GovDeferredRecordSince(from);
}

/*
 * Module load: settings, callbacks, hooks and (preloaded) the background
 * workers.
 */
void
_PG_init(void)
{
	GovCacheInit();
	GovTriggerInit();
	GovKeysInit();
	GovWorkerRegister();
	GovSealWakeInit();
	GovVerifyRegister(GovSealChecks);
	GovVerifyInit();
	GovVerifyParallelInit();
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = gov_process_utility;
}
