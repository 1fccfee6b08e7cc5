/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  Background sealing: a launcher that starts one sealer per database,
 *	  and the sealer, which seals every log of its database every
 *	  govledger.seal_interval milliseconds.
 *
 * Both run only when govledger is in shared_preload_libraries.  The
 * launcher connects to no database; every few seconds it lists the
 * databases that accept connections and starts a dynamic sealer for each
 * one that has none.  A sealer in a database without the extension exits
 * at once with status 0 (not restarted; the launcher tries that database
 * again later), so databases without govledger cost one short connection
 * now and then.  A sealer that stops otherwise is started again by the
 * launcher, a second after it stopped at the earliest, and only while its
 * database exists: the postmaster restarts none, since a sealer whose
 * database was dropped would fail and be restarted for ever.  A log whose
 * seal fails is logged and skipped for ten seconds while the other logs go
 * on being sealed.
 *
 * Each round is one transaction per log, taking the log's seal lock
 * without waiting: a concurrent govledger.seal() simply wins.  About once
 * a second the sealer also vacuums the queue govledger.unsealed, so that
 * seals do not rescan the rows earlier seals deleted.  A sealer stays
 * connected to its database; DROP DATABASE stops it first (an object
 * access hook, which runs before the drop counts the sessions still
 * connected), so the drop does not fail for its sake; so do ALTER
 * DATABASE ... RENAME and SET TABLESPACE and CREATE DATABASE ... TEMPLATE
 * (the library's utility hook), which also require the database's sessions
 * gone.  A
 * launcher that was restarted leaves alone the sealers its predecessor
 * started.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_node.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/bufmgr.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "govledger.h"
#include "seal.h"

int			gov_seal_interval = 25;

/*
 * An idle sealer skips its rounds until a transaction that queued entries
 * commits (seal_wake.c), but runs a round at least this often, for queue
 * rows written otherwise and for logs whose last seal failed.
 */
static int	gov_seal_idle_interval = 1000;

#define LAUNCHER_NAP_MS		2000
#define RETRY_MS			10000

/*
 * A sealer that stopped after running at least MIN_LIFE_MS is started
 * again RESTART_DELAY_MS after the launcher saw it stop; one that stopped
 * sooner (no govledger in its database, or failing at once) RETRY_MS after
 * it was started.  The delay lets a DROP DATABASE that stopped the sealer
 * finish first: a sealer started meanwhile would wait for the drop's
 * database lock and then fail once, "database ... does not exist".
 */
#define RESTART_DELAY_MS	1000
#define MIN_LIFE_MS			2000

/* How long DROP DATABASE waits for the sealer it stopped to exit */
#define DROP_WAIT_MS		5000

#define SEALER_TYPE			"govledger sealer"

static object_access_hook_type prev_object_access = NULL;
static void gov_object_access(ObjectAccessType access, Oid classId,
							  Oid objectId, int subId, void *arg);

/* Whether this process's cluster has sealers: the library was preloaded */
static bool sealers_run = false;

/*
 * How often the sealer vacuums the queue.  Every seal deletes what it
 * takes, so without vacuuming each seal would scan all the dead rows
 * left since the last (auto)vacuum; vacuumed, the queue's free space is
 * reused and a seal scans a few pages.
 */
#define QUEUE_VACUUM_MS		1000

/*
 * A queue that once held a large backlog (a sealer stopped for a while, a
 * bulk load) keeps its pages: VACUUM makes them reusable, but every seal
 * still scans them all.  When the queue has more than
 * QUEUE_COMPACT_MIN_PAGES pages and QUEUE_COMPACT_RATIO times the pages
 * its live rows need, the sealer rewrites it (VACUUM FULL) if it gets the
 * table's lock within QUEUE_COMPACT_LOCK_MS.  Ledger inserts wait for that
 * long at most, plus the rewrite itself (one read of the bloated pages,
 * copying the few live rows); an attempt that does not get the lock is
 * retried after QUEUE_COMPACT_RETRY_MS.
 */
#define QUEUE_COMPACT_MIN_PAGES	1024
#define QUEUE_COMPACT_RATIO		4
#define QUEUE_ROWS_PER_PAGE		40
#define QUEUE_COMPACT_LOCK_MS	"100"
#define QUEUE_COMPACT_RETRY_MS	10000
#define MAX_DATABASES		256

PGDLLEXPORT void GovLauncherMain(Datum arg);
PGDLLEXPORT void GovSealerMain(Datum arg);

/*
 * GovWorkerRegister
 *		Define govledger.seal_interval and, when preloading, register the
 *		launcher.  Called from _PG_init.
 */
void
GovWorkerRegister(void)
{
	BackgroundWorker w;

	DefineCustomIntVariable("govledger.seal_interval",
							"Milliseconds between sealing rounds of the background sealer.",
							NULL,
							&gov_seal_interval,
							25, 1, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("govledger.seal_idle_interval",
							"Longest pause between sealing rounds while no transaction that queued entries commits.",
							NULL,
							&gov_seal_idle_interval,
							1000, 1, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	if (!process_shared_preload_libraries_in_progress)
		return;
	sealers_run = true;
	prev_object_access = object_access_hook;
	object_access_hook = gov_object_access;
	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = 5;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "govledger");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "GovLauncherMain");
	snprintf(w.bgw_name, BGW_MAXLEN, "govledger launcher");
	snprintf(w.bgw_type, BGW_MAXLEN, "govledger launcher");
	RegisterBackgroundWorker(&w);
}

typedef struct DbSlot
{
	Oid			dboid;
	BackgroundWorkerHandle *handle;
	TimestampTz started_at;
	TimestampTz next_try;
	bool		listed;			/* in this round's list of databases */
	bool		foreign;		/* a sealer not started by us runs there */
} DbSlot;

static DbSlot slots[MAX_DATABASES];
static int	nslots = 0;

static DbSlot *
slot_for(Oid dboid)
{
	int			i;

	for (i = 0; i < nslots; i++)
		if (slots[i].dboid == dboid)
			return &slots[i];
	if (nslots == MAX_DATABASES)
		return NULL;
	memset(&slots[nslots], 0, sizeof(DbSlot));
	slots[nslots].dboid = dboid;
	return &slots[nslots++];
}

/* Start a sealer for the database unless one runs or it is too early. */
static void
ensure_sealer(DbSlot *s, TimestampTz now)
{
	BackgroundWorker w;
	pid_t		pid;

	if (s->handle != NULL)
	{
		BgwHandleStatus st = GetBackgroundWorkerPid(s->handle, &pid);

		if (st == BGWH_STARTED || st == BGWH_NOT_YET_STARTED)
			return;
		pfree(s->handle);
		s->handle = NULL;
		if (TimestampDifferenceExceeds(s->started_at, now, MIN_LIFE_MS))
			s->next_try = TimestampTzPlusMilliseconds(now, RESTART_DELAY_MS);
	}
	if (now < s->next_try || s->foreign)
		return;
	s->started_at = now;
	s->next_try = TimestampTzPlusMilliseconds(now, RETRY_MS);
	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "govledger");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "GovSealerMain");
	snprintf(w.bgw_name, BGW_MAXLEN, SEALER_TYPE " %u", s->dboid);
	snprintf(w.bgw_type, BGW_MAXLEN, SEALER_TYPE);
	w.bgw_main_arg = ObjectIdGetDatum(s->dboid);
	w.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&w, &s->handle))
	{
		s->handle = NULL;
		ereport(LOG,
				(errmsg("govledger: could not start a sealer for database %u (max_worker_processes?)",
						s->dboid)));
	}
}

/*
 * Forget the databases that were dropped (or no longer accept
 * connections) once their sealer has stopped, so that their slots serve
 * databases created later.
 */
static void
forget_unlisted(void)
{
	int			i = 0;

	while (i < nslots)
	{
		DbSlot	   *s = &slots[i];
		pid_t		pid;

		if (s->listed ||
			(s->handle != NULL &&
			 GetBackgroundWorkerPid(s->handle, &pid) != BGWH_STOPPED))
		{
			i++;
			continue;
		}
		if (s->handle != NULL)
			pfree(s->handle);
		slots[i] = slots[--nslots];
	}
}

/*
 * Pids of the sealers connected to database dboid (any database when
 * InvalidOid) and their databases, from the backend status array; at
 * most max.  Call inside a transaction: the array is read once in each.
 */
static int
running_sealers(Oid dboid, pid_t *pids, Oid *dbs, int max)
{
	int			n = pgstat_fetch_stat_numbackends();
	int			found = 0;
	int			i;

	for (i = 1; i <= n && found < max; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);
		PgBackendStatus *be = local ? &local->backendStatus : NULL;
		const char *type;

		if (be == NULL || be->st_backendType != B_BG_WORKER ||
			(OidIsValid(dboid) && be->st_databaseid != dboid))
			continue;
		type = GetBackgroundWorkerTypeByPid(be->st_procpid);
		if (type == NULL || strcmp(type, SEALER_TYPE) != 0)
			continue;
		pids[found] = be->st_procpid;
		dbs[found] = be->st_databaseid;
		found++;
	}
	return found;
}

/*
 * Stop the sealers of database dboid (pg_terminate_backend's signal) and
 * wait for them to exit, so that a statement that requires the
 * database's sessions gone does not fail with "database is being accessed
 * by other users", nor, WITH (FORCE), try to terminate them itself, which
 * a database owner who is not a superuser may not do.  Should the
 * statement fail for another reason, the launcher starts the sealer
 * again.
 */
static void
stop_sealers(Oid dboid)
{
	pid_t		pids[8];
	Oid			dbs[8];
	int			n;
	int			i;
	int			waited;

	n = running_sealers(dboid, pids, dbs, lengthof(pids));
	for (i = 0; i < n; i++)
		(void) kill(pids[i], SIGTERM);
	for (waited = 0; n > 0 && waited < DROP_WAIT_MS; waited += 10)
	{
		bool		left = false;

		for (i = 0; i < n; i++)
			if (BackendPidGetProc(pids[i]) != NULL)
				left = true;
		if (!left)
			break;
		CHECK_FOR_INTERRUPTS();
		pg_usleep(10 * 1000L);
	}
}

/*
 * Object access hook: DROP DATABASE calls it after checking that the
 * dropping role owns the database and before it counts the sessions still
 * connected to it.
 */
static void
gov_object_access(ObjectAccessType access, Oid classId, Oid objectId,
				  int subId, void *arg)
{
	if (prev_object_access)
		prev_object_access(access, classId, objectId, subId, arg);
	if (access == OAT_DROP && classId == DatabaseRelationId)
		stop_sealers(objectId);
}

/* The value of option name of a statement's DefElem list, or NULL */
static const char *
string_option(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *d = lfirst(lc);

		if (strcmp(d->defname, name) == 0 && d->arg != NULL &&
			IsA(d->arg, String))
			return strVal(d->arg);
	}
	return NULL;
}

/*
 * The database whose sessions the utility statement requires gone, apart
 * from DROP DATABASE: the one ALTER DATABASE ... RENAME or SET TABLESPACE
 * changes, the template CREATE DATABASE copies.  Only one the current
 * role owns (as those statements require, but for templates, which have
 * no sealer); InvalidOid otherwise.
 */
static Oid
database_to_leave(Node *stmt)
{
	const char *name = NULL;
	Oid			dboid;

	if (IsA(stmt, RenameStmt) &&
		((RenameStmt *) stmt)->renameType == OBJECT_DATABASE)
		name = ((RenameStmt *) stmt)->subname;
	else if (IsA(stmt, CreatedbStmt))
		name = string_option(((CreatedbStmt *) stmt)->options, "template");
	else if (IsA(stmt, AlterDatabaseStmt) &&
			 string_option(((AlterDatabaseStmt *) stmt)->options, "tablespace"))
		name = ((AlterDatabaseStmt *) stmt)->dbname;
	if (name == NULL)
		return InvalidOid;
	dboid = get_database_oid(name, true);
	if (!OidIsValid(dboid) || !pg_database_ownercheck(dboid, GetUserId()))
		return InvalidOid;
	return dboid;
}

/*
 * GovSealersLeaveFor
 *		Before a utility statement: stop the sealers of the database it
 *		requires without sessions, if any.  Called by the library's
 *		utility hook (govledger.c).
 */
void
GovSealersLeaveFor(Node *stmt)
{
	Oid			dboid;

	if (!sealers_run)
		return;
	dboid = database_to_leave(stmt);
	if (OidIsValid(dboid))
		stop_sealers(dboid);
}

/* Scan pg_database and make sure each connectable database has a sealer. */
static void
launcher_round(void)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	TimestampTz now = GetCurrentTimestamp();
	MemoryContext cxt = CurrentMemoryContext;
	Oid			dbs[MAX_DATABASES];
	int			ndbs = 0;
	pid_t		running[MAX_DATABASES];
	Oid			running_db[MAX_DATABASES];
	int			nrunning;
	int			i;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL &&
		   ndbs < MAX_DATABASES)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (db->datallowconn && !db->datistemplate &&
			db->datconnlimit != -2)	/* -2: invalid, half-dropped */
			dbs[ndbs++] = db->oid;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	nrunning = running_sealers(InvalidOid, running, running_db, MAX_DATABASES);
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);

	for (i = 0; i < nslots; i++)
		slots[i].listed = false;
	for (i = 0; i < ndbs; i++)
	{
		DbSlot	   *s = slot_for(dbs[i]);
		int			j;

		if (s == NULL)
			continue;
		s->listed = true;
		/* one started by an earlier launcher (this one was restarted) */
		s->foreign = false;
		if (s->handle == NULL)
			for (j = 0; j < nrunning; j++)
				if (running_db[j] == s->dboid)
					s->foreign = true;
		ensure_sealer(s, now);
	}
	forget_unlisted();
}

void
GovLauncherMain(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("govledger launcher");

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		launcher_round();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 LAUNCHER_NAP_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* Ids of all logs of the database, read in the current transaction. */
static int
list_logs(int32 *ids, int max)
{
	Relation	rel = table_open(GovGetCatalog()->log, AccessShareLock);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	HeapTuple	tup;
	int			n = 0;

	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL && n < max)
	{
		bool		isnull;

		ids[n++] = DatumGetInt32(heap_getattr(tup, Anum_gov_log_log_id,
											  RelationGetDescr(rel), &isnull));
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return n;
}

/* Logs whose last seal failed, skipped until retry_at */
typedef struct FailedLog
{
	int32		log_id;
	TimestampTz retry_at;
} FailedLog;

#define MAX_FAILED_LOGS	64
static FailedLog failed_logs[MAX_FAILED_LOGS];
static int	nfailed = 0;

static bool
log_backing_off(int32 log_id, TimestampTz now)
{
	int			i;

	for (i = 0; i < nfailed; i++)
		if (failed_logs[i].log_id == log_id)
			return now < failed_logs[i].retry_at;
	return false;
}

static void
log_failed(int32 log_id, TimestampTz now)
{
	int			i;

	for (i = 0; i < nfailed; i++)
		if (failed_logs[i].log_id == log_id)
			break;
	if (i == nfailed)
	{
		if (nfailed == MAX_FAILED_LOGS)
			i = 0;
		else
			nfailed++;
	}
	failed_logs[i].log_id = log_id;
	failed_logs[i].retry_at = TimestampTzPlusMilliseconds(now, RETRY_MS);
}

/*
 * Seal one log in its own transaction.  A failure (say, an unreadable
 * key file or a damaged tree) is logged and the log is skipped for a
 * while, so that one broken log does not stop the others.
 */
static void
seal_one(int32 log_id, bool *more)
{
	MemoryContext cxt = CurrentMemoryContext;
	TimestampTz now = GetCurrentTimestamp();

	if (log_backing_off(log_id, now))
	{
		*more = true;			/* retried when the back-off ends */
		return;
	}
	PG_TRY();
	{
		GovLog		log;
		bool		sealed = false;
		bool		full = false;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "sealing");
		/* a full block, or the log held by a seal() call: more to do */
		if (GovLogById(log_id, &log) &&
			(GovSealLog(&log, false, &sealed, &full) < 0 || full))
			*more = true;
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		log_failed(log_id, now);
		ereport(LOG,
				(errmsg("govledger sealer: sealing log %d failed; retrying in %d s",
						log_id, RETRY_MS / 1000)));
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * One sealing round; returns false when the extension is not installed.
 * Sets *more when entries are known to be left for the next round.
 */
static bool
sealer_round(bool *more)
{
	int32		ids[256];
	int			n;
	int			i;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (!OidIsValid(get_extension_oid("govledger", true)))
	{
		PopActiveSnapshot();
		CommitTransactionCommand();
		return false;
	}
	n = list_logs(ids, lengthof(ids));
	PopActiveSnapshot();
	CommitTransactionCommand();

	for (i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		seal_one(ids[i], more);
	}
	return true;
}

/*
 * VACUUM govledger.unsealed as a top-level command outside any
 * transaction of the sealer: (TRUNCATE false, PROCESS_TOAST false), or
 * with full, VACUUM FULL under a lock timeout of QUEUE_COMPACT_LOCK_MS.
 * Truncation is off because waiting for its lock could stall sealing for
 * seconds.  A failure is logged (a lock timeout only at DEBUG1) and the
 * sealer goes on.  Returns whether the command completed.
 */
static bool
vacuum_queue(bool full)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool done = false;

	/*
	 * A session setting: VACUUM runs in transactions of its own, which
	 * would undo a transaction-local one before it takes its lock.
	 */
	if (full)
		SetConfigOption("lock_timeout", QUEUE_COMPACT_LOCK_MS, PGC_SUSET,
						PGC_S_SESSION);
	PG_TRY();
	{
		VacuumStmt *stmt = makeNode(VacuumStmt);

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		pgstat_report_activity(STATE_RUNNING, full ? "compacting the queue" :
							   "vacuuming the queue");
		if (full)
			stmt->options = list_make1(makeDefElem("full", (Node *) makeBoolean(true), -1));
		else
			stmt->options = list_make2(makeDefElem("truncate", (Node *) makeBoolean(false), -1),
									   makeDefElem("process_toast", (Node *) makeBoolean(false), -1));
		stmt->rels = list_make1(makeVacuumRelation(makeRangeVar("govledger", "unsealed", -1),
												   InvalidOid, NIL));
		stmt->is_vacuumcmd = true;
		ExecVacuum(make_parsestate(NULL), stmt, true);
		CommitTransactionCommand();
		done = true;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
			ereport(DEBUG1,
					(errmsg("govledger sealer: compacting the queue stopped: %s",
							edata->message)));
		else
			EmitErrorReport();
		FreeErrorData(edata);
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	/* back to the configured value, which a reload may change again */
	if (full)
		SetConfigOption("lock_timeout", NULL, PGC_SUSET, PGC_S_SESSION);
	pgstat_report_activity(STATE_IDLE, NULL);
	return done;
}

/*
 * Whether the queue has many more pages than its live rows need.  The
 * rows are counted, not taken from reltuples: a VACUUM that skipped the
 * pages it had already emptied (all-visible) keeps the estimate of an
 * earlier VACUUM, which ran while a backlog was half sealed.  The count
 * stops as soon as the queue is known not to be bloated, and runs only
 * when the queue has over QUEUE_COMPACT_MIN_PAGES pages, at most once in
 * QUEUE_COMPACT_RETRY_MS.
 */
static bool
queue_bloated(void)
{
	bool		bloated = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (OidIsValid(get_extension_oid("govledger", true)))
	{
		Relation	rel = table_open(GovGetCatalog()->unsealed, AccessShareLock);
		BlockNumber pages = RelationGetNumberOfBlocks(rel);

		if (pages > QUEUE_COMPACT_MIN_PAGES)
		{
			/* bloated while live / QUEUE_ROWS_PER_PAGE + 64 < pages / ratio */
			double		limit = ((double) pages / QUEUE_COMPACT_RATIO - 64) * QUEUE_ROWS_PER_PAGE;
			Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
			TableScanDesc scan = table_beginscan(rel, snap, 0, NULL);
			double		live = 0;

			while (live < limit && heap_getnext(scan, ForwardScanDirection) != NULL)
				live++;
			table_endscan(scan);
			UnregisterSnapshot(snap);
			bloated = live < limit;
		}
		table_close(rel, AccessShareLock);
	}
	CommitTransactionCommand();
	return bloated;
}

void
GovSealerMain(Datum arg)
{
	TimestampTz last_vacuum = 0;
	TimestampTz last_compact = 0;
	TimestampTz last_round = 0;
	bool		more = true;	/* the first round seals whatever the flag */
	bool		wake_claimed = false;
	Oid			dboid = DatumGetObjectId(arg);
	GovWakeSlot *wake = NULL;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("govledger sealer");

	for (;;)
	{
		TimestampTz now;
		bool		raised;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		/*
		 * Seal when a transaction that queued entries has committed since
		 * the last round (the flag is taken before the round's snapshot),
		 * when the last round left some, and every seal_idle_interval in
		 * any case.
		 */
		raised = wake == NULL || GovSealWakeTake(wake);
		now = GetCurrentTimestamp();
		if (raised || more ||
			TimestampDifferenceExceeds(last_round, now, gov_seal_idle_interval))
		{
			more = false;
			if (!sealer_round(&more))
				proc_exit(0);	/* no govledger here: not restarted */
			last_round = now;
			/* govledger is installed: from now on, wait for the flag */
			if (!wake_claimed)
			{
				wake = GovSealWakeClaim(dboid);
				wake_claimed = true;
			}
		}
		if (TimestampDifferenceExceeds(last_vacuum, GetCurrentTimestamp(),
									   QUEUE_VACUUM_MS))
		{
			/* the queue is checked for bloat at most once a retry interval */
			if (vacuum_queue(false) &&
				TimestampDifferenceExceeds(last_compact, GetCurrentTimestamp(),
										   QUEUE_COMPACT_RETRY_MS))
			{
				if (queue_bloated() && vacuum_queue(true))
					ereport(LOG,
							(errmsg("govledger sealer: compacted the queue after a backlog")));
				last_compact = GetCurrentTimestamp();
			}
			last_vacuum = GetCurrentTimestamp();
		}

		/*
		 * Report the rows written and deleted to the statistics system (at
		 * most once a second), as a backend does when it goes idle: the
		 * counts in pg_stat_all_tables, and the autovacuum and autoanalyze
		 * of the sealed tables that depend on them.
		 */
		pgstat_report_stat(false);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 gov_seal_interval, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
