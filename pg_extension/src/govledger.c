/*-------------------------------------------------------------------------
 *
 * govledger.c
 *	  Module entry point of the govledger extension: ledger tables whose
 *	  rows are hashed in a canonical encoding at insert and can be
 *	  verified later.
 *
 * The library works both loaded on demand (by the first call of one of
 * its functions) and from shared_preload_libraries.
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

#include "govledger.h"
#include "seal.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Module load: register the cache invalidation callbacks.
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
}
