/*-------------------------------------------------------------------------
 *
 * seal_wake.c
 *	  Telling a database's background sealer that there is something to
 *	  seal, so that an idle sealer does not scan the queue every round.
 *
 * Shared memory holds one slot per database that has a sealer: the
 * database's OID and a flag.  A transaction that queued entries raises
 * its database's flag when it commits (or is prepared); the sealer takes
 * the flag (an atomic exchange) before each round and skips the round
 * when nobody raised it.  Taking the flag before the round's snapshot
 * makes the protocol safe: an entry whose transaction committed before
 * the exchange is visible to the round, and one committed after it
 * raises the flag again.  Queue rows written otherwise (by hand, or by a
 * prepared transaction committed later) are found by the round the
 * sealer runs every govledger.seal_idle_interval (1 s by default)
 * whatever the flag says.
 *
 * A sealer claims its database's slot once it has found govledger
 * installed, and gives it back when it exits; claiming and giving back
 * take a spinlock, writers only read.  Without shared memory (the library
 * not preloaded) or a free slot there is no flag and the sealer seals
 * every round.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/seal_wake.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "govledger.h"

#define GOV_WAKE_SLOTS		256

typedef struct GovWakeSlot
{
	pg_atomic_uint32 dboid;		/* InvalidOid while free */
	pg_atomic_uint32 pending;	/* entries committed since the last take */
	int			refs;			/* sealers holding it (under the lock) */
} GovWakeSlot;

typedef struct GovWakeShared
{
	slock_t		lock;			/* claiming and giving back slots */
	GovWakeSlot slot[GOV_WAKE_SLOTS];
} GovWakeShared;

static GovWakeShared *wake = NULL;
static shmem_request_hook_type prev_shmem_request = NULL;
static shmem_startup_hook_type prev_shmem_startup = NULL;

/* This backend's slot, once found; whether this transaction queued entries */
static GovWakeSlot *my_slot = NULL;
static bool queued_in_xact = false;
static bool xact_callback_registered = false;

static void
wake_shmem_request(void)
{
	if (prev_shmem_request)
		prev_shmem_request();
	RequestAddinShmemSpace(sizeof(GovWakeShared));
}

static void
wake_shmem_startup(void)
{
	bool		found;
	int			i;

	if (prev_shmem_startup)
		prev_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	wake = ShmemInitStruct("govledger sealer wake-up", sizeof(GovWakeShared),
						   &found);
	if (!found)
	{
		SpinLockInit(&wake->lock);
		for (i = 0; i < GOV_WAKE_SLOTS; i++)
		{
			pg_atomic_init_u32(&wake->slot[i].dboid, InvalidOid);
			pg_atomic_init_u32(&wake->slot[i].pending, 0);
			wake->slot[i].refs = 0;
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * GovSealWakeInit
 *		Reserve the slots; called from _PG_init.  Only a preloaded library
 *		gets shared memory (and only then are there sealers).
 */
void
GovSealWakeInit(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request = shmem_request_hook;
	shmem_request_hook = wake_shmem_request;
	prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = wake_shmem_startup;
}

/* The slot of database dboid, or NULL (writers: no lock) */
static GovWakeSlot *
slot_of(Oid dboid)
{
	int			i;

	for (i = 0; i < GOV_WAKE_SLOTS; i++)
		if (pg_atomic_read_u32(&wake->slot[i].dboid) == dboid)
			return &wake->slot[i];
	return NULL;
}

/* on_shmem_exit callback of a sealer: give its slot back */
static void
release_slot(int code, Datum arg)
{
	GovWakeSlot *slot = (GovWakeSlot *) DatumGetPointer(arg);

	SpinLockAcquire(&wake->lock);
	if (--slot->refs == 0)
		pg_atomic_write_u32(&slot->dboid, InvalidOid);
	SpinLockRelease(&wake->lock);
}

/*
 * GovSealWakeClaim
 *		The sealer's slot for its database, held until the sealer exits, or
 *		NULL when there is none (no shared memory, or every slot taken):
 *		then every round seals.
 */
GovWakeSlot *
GovSealWakeClaim(Oid dboid)
{
	GovWakeSlot *slot = NULL;
	int			i;

	if (wake == NULL)
		return NULL;
	SpinLockAcquire(&wake->lock);
	slot = slot_of(dboid);
	for (i = 0; slot == NULL && i < GOV_WAKE_SLOTS; i++)
		if (pg_atomic_read_u32(&wake->slot[i].dboid) == InvalidOid)
		{
			slot = &wake->slot[i];
			pg_atomic_write_u32(&slot->pending, 1);
			pg_atomic_write_u32(&slot->dboid, dboid);
		}
	if (slot != NULL)
		slot->refs++;
	SpinLockRelease(&wake->lock);
	if (slot == NULL)
	{
		ereport(LOG,
				(errmsg("govledger sealer: no wake-up slot left for database %u; sealing every round",
						dboid)));
		return NULL;
	}
	on_shmem_exit(release_slot, PointerGetDatum(slot));
	return slot;
}

/*
 * GovSealWakeTake
 *		Whether entries were committed since the last take; lowers the
 *		flag.  A full barrier: call it before taking the round's snapshot.
 */
bool
GovSealWakeTake(GovWakeSlot *slot)
{
	return pg_atomic_exchange_u32(&slot->pending, 0) != 0;
}

static void
wake_xact_callback(XactEvent event, void *arg)
{
	if (!queued_in_xact)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PREPARE:
			/*
			 * The commit is visible to new snapshots by now.  A slot given
			 * back (the sealer restarted) may have gone to another database:
			 * look again.
			 */
			if (my_slot == NULL ||
				pg_atomic_read_u32(&my_slot->dboid) != MyDatabaseId)
				my_slot = slot_of(MyDatabaseId);
			if (my_slot != NULL && pg_atomic_read_u32(&my_slot->pending) == 0)
				(void) pg_atomic_exchange_u32(&my_slot->pending, 1);
			queued_in_xact = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			queued_in_xact = false;
			break;
		default:
			break;
	}
}

/*
 * GovSealWakeNoteQueued
 *		This transaction queued an entry: raise the flag when it commits.
 */
void
GovSealWakeNoteQueued(void)
{
	if (queued_in_xact || wake == NULL)
		return;
	if (!xact_callback_registered)
	{
		RegisterXactCallback(wake_xact_callback, NULL);
		xact_callback_registered = true;
	}
	queued_in_xact = true;
}
