
/*
 * Copyright (C) govledger contributors
 *
 * The libpq state machine, driven only by nginx events: non-blocking
 * connect (PQconnectStartParams/PQconnectPoll with our own timer, the
 * socket re-read after every poll), then one pipeline per request:
 * statements prepared once per connection, BEGIN [READ ONLY], set_config
 * of role and claims, the call, COMMIT and a sync point, flushed with
 * PQflush until done while input is drained.  A second request's
 * pipeline may follow the first on the same connection; its results are
 * read once the first's sync point has arrived, and if it began inside
 * the first's failed transaction it is rolled back and sent again.  The
 * socket is registered level-triggered for reading, and for writing only
 * while libpq has output pending.
 */


#include "ngx_http_govledger_module.h"

#include <sys/stat.h>


#define NGX_HTTP_GOVLEDGER_NO_ITEM  ((ngx_uint_t) -1)

/* the call among BEGIN, the settings, the call and COMMIT */
#define NGX_HTTP_GOVLEDGER_CALL_ITEM  2

#define NGX_HTTP_GOVLEDGER_TEXTOID  25


static ngx_int_t ngx_http_govledger_pq_register(
    ngx_http_govledger_conn_t *conn);
static void ngx_http_govledger_pq_unregister(ngx_http_govledger_conn_t *conn);
static ngx_int_t ngx_http_govledger_pq_socket_check(
    ngx_http_govledger_conn_t *conn);
static ngx_int_t ngx_http_govledger_pq_want_write(
    ngx_http_govledger_conn_t *conn, ngx_uint_t on);
static void ngx_http_govledger_pq_handler(ngx_event_t *ev);
static void ngx_http_govledger_pq_timeout(ngx_event_t *ev);
static void ngx_http_govledger_pq_connect_poll(
    ngx_http_govledger_conn_t *conn);
static void ngx_http_govledger_pq_idle(ngx_http_govledger_conn_t *conn);
static void ngx_http_govledger_pq_process(ngx_http_govledger_conn_t *conn);
static void ngx_http_govledger_pq_row(ngx_http_govledger_conn_t *conn,
    PGresult *res);
static ngx_int_t ngx_http_govledger_pq_sync(ngx_http_govledger_conn_t *conn);
static ngx_int_t ngx_http_govledger_pq_rollback(
    ngx_http_govledger_conn_t *conn);
static void ngx_http_govledger_pq_started(ngx_http_govledger_conn_t *conn,
    ngx_uint_t call_item, ngx_uint_t stream, ngx_msec_t timeout);
static void ngx_http_govledger_pq_close_inert(
    ngx_http_govledger_conn_t *conn, ngx_uint_t reason);
static void ngx_http_govledger_pq_lost(ngx_http_govledger_conn_t *conn,
    const char *what);
static ngx_int_t ngx_http_govledger_pq_flush(ngx_http_govledger_conn_t *conn);
static void ngx_http_govledger_pq_log(ngx_http_govledger_conn_t *conn,
    ngx_uint_t level, const char *what);


static const char  *ngx_http_govledger_base_names[] = {
    "govledger_begin",
    "govledger_begin_ro",
    "govledger_setcfg",
    "govledger_commit"
};


static const char  *ngx_http_govledger_base_sql[] = {
    "BEGIN",
    "BEGIN READ ONLY",
    "SELECT set_config('role', coalesce($1, 'none'), true), "
    "set_config('request.jwt.claims', coalesce($2, '{}'), true), "
    "set_config('statement_timeout', $3, true), "
    "set_config('request.method', $4, true)",
    "COMMIT"
};


static const Oid  ngx_http_govledger_setcfg_types[] = {
    NGX_HTTP_GOVLEDGER_TEXTOID, NGX_HTTP_GOVLEDGER_TEXTOID,
    NGX_HTTP_GOVLEDGER_TEXTOID, NGX_HTTP_GOVLEDGER_TEXTOID
};


ngx_int_t
ngx_http_govledger_pq_connect(ngx_http_govledger_conn_t *conn)
{
    ngx_http_govledger_main_conf_t  *gmcf;

    gmcf = conn->pool->gmcf;

    conn->pg = PQconnectStartParams((const char * const *) gmcf->keywords,
                                    (const char * const *) gmcf->values, 0);
    if (conn->pg == NULL) {
        ngx_log_error(NGX_LOG_ALERT, conn->pool->log, 0,
                      "govledger: PQconnectStartParams() failed");
        return NGX_ERROR;
    }

    if (PQstatus(conn->pg) == CONNECTION_BAD) {
        ngx_http_govledger_pq_log(conn, NGX_LOG_ERR,
                                  "cannot connect to the database");
        goto failed;
    }

    if (PQsetnonblocking(conn->pg, 1) != 0) {
        ngx_http_govledger_pq_log(conn, NGX_LOG_ERR, "PQsetnonblocking()");
        goto failed;
    }

    if (ngx_http_govledger_pq_register(conn) != NGX_OK) {
        goto failed;
    }

    /* the socket becomes writable once the connect completes */

    if (ngx_http_govledger_pq_want_write(conn, 1) != NGX_OK) {
        ngx_http_govledger_pq_unregister(conn);
        goto failed;
    }

    conn->timer.handler = ngx_http_govledger_pq_timeout;
    conn->timer.data = conn;
    conn->timer.log = conn->pool->log;

    /* libpq's connect_timeout has no effect on PQconnectPoll() */
    ngx_add_timer(&conn->timer, gmcf->connect_timeout);

    conn->base_prepared = 0;
    conn->broken = 0;
    ngx_memzero(conn->prepared, gmcf->ncalls ? gmcf->ncalls : 1);

    return NGX_OK;

failed:

    PQfinish(conn->pg);
    conn->pg = NULL;

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_govledger_pq_register(ngx_http_govledger_conn_t *conn)
{
    int                fd;
    struct stat        st;
    ngx_connection_t  *c;

    fd = PQsocket(conn->pg);
    if (fd == -1) {
        return NGX_ERROR;
    }

    c = ngx_get_connection(fd, conn->pool->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = conn;
    c->log = conn->pool->log;
    c->read->log = c->log;
    c->write->log = c->log;
    c->read->handler = ngx_http_govledger_pq_handler;
    c->write->handler = ngx_http_govledger_pq_handler;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);

    conn->c = c;

    if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
        ngx_http_govledger_pq_unregister(conn);
        return NGX_ERROR;
    }

    if (fstat(fd, &st) == -1) {
        ngx_log_error(NGX_LOG_ALERT, c->log, ngx_errno, "fstat() failed");
        ngx_http_govledger_pq_unregister(conn);
        return NGX_ERROR;
    }

    conn->ino = st.st_ino;

    return NGX_OK;
}


/*
 * Forgets nginx's side of the socket without closing it: libpq owns the
 * descriptor and closes it in PQfinish() (or already closed it when it
 * switched sockets during connect).
 */

static void
ngx_http_govledger_pq_unregister(ngx_http_govledger_conn_t *conn)
{
    ngx_connection_t  *c;

    c = conn->c;
    if (c == NULL) {
        return;
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
    }

    c->read->closed = 1;
    c->write->closed = 1;

    ngx_free_connection(c);

    c->fd = (ngx_socket_t) -1;
    conn->c = NULL;
}


/*
 * PQconnectPoll() may close the socket and open another one (next host
 * or address, SSL or GSS fallback), possibly with the same number: the
 * inode tells them apart.
 */

static ngx_int_t
ngx_http_govledger_pq_socket_check(ngx_http_govledger_conn_t *conn)
{
    int          fd;
    ngx_uint_t   want_write;
    struct stat  st;

    fd = PQsocket(conn->pg);

    if (conn->c && fd == conn->c->fd
        && fstat(fd, &st) == 0 && (ngx_uint_t) st.st_ino == conn->ino)
    {
        return NGX_OK;
    }

    want_write = conn->c && conn->c->write->active;

    ngx_http_govledger_pq_unregister(conn);

    if (fd == -1) {
        return NGX_ERROR;
    }

    if (ngx_http_govledger_pq_register(conn) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_govledger_pq_want_write(conn, want_write);
}


static ngx_int_t
ngx_http_govledger_pq_want_write(ngx_http_govledger_conn_t *conn,
    ngx_uint_t on)
{
    ngx_event_t  *wev;

    wev = conn->c->write;

    if (on && !wev->active) {
        return ngx_add_event(wev, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }

    if (!on && wev->active) {
        return ngx_del_event(wev, NGX_WRITE_EVENT, 0);
    }

    return NGX_OK;
}


/* closes the connection; the pool gets the slot back */

void
ngx_http_govledger_pq_close(ngx_http_govledger_conn_t *conn,
    ngx_uint_t reason)
{
    ngx_uint_t                 unknown;
    ngx_http_govledger_ctx_t  *next;

    if (conn->timer.timer_set) {
        ngx_del_timer(&conn->timer);
    }

    ngx_http_govledger_pq_unregister(conn);

    if (conn->result) {
        PQclear(conn->result);
        conn->result = NULL;
    }

    if (conn->error) {
        PQclear(conn->error);
        conn->error = NULL;
    }

    if (conn->first_row) {
        PQclear(conn->first_row);
        conn->first_row = NULL;
    }

    if (conn->pg) {
        PQfinish(conn->pg);
        conn->pg = NULL;
    }

    next = conn->has_next ? conn->next : NULL;

    /*
     * A request waiting to be sent again after a ROLLBACK (or closed
     * behind an aborted transaction, ngx_http_govledger_pq_close_inert)
     * did nothing and may be retried; one pipelined behind the current
     * call is on the wire, and the server may still run it after the
     * connection is gone: its outcome is unknown, like that of a call
     * cut off.
     */
    unknown = !conn->rollback;

    conn->ctx = NULL;
    conn->next = NULL;
    conn->has_next = 0;
    conn->after_abort = 0;
    conn->rollback = 0;
    conn->flushing = 0;
    conn->streaming = 0;

    ngx_http_govledger_pool_closed(conn, reason);

    if (next) {
        ngx_http_govledger_pq_cut_off(next, unknown);
    }
}


/*
 * Answers a request whose connection went before its answer came: 502
 * "outcome unknown", without Retry-After, when what was sent may have
 * committed (in_doubt), else 503 with Retry-After.
 */

void
ngx_http_govledger_pq_cut_off(ngx_http_govledger_ctx_t *ctx,
    ngx_uint_t in_doubt)
{
    ctx->conn = NULL;

    if (in_doubt) {
        ngx_http_govledger_fail(ctx, NGX_HTTP_BAD_GATEWAY, "GL502",
                                "database connection lost: outcome unknown");
    } else {
        ngx_http_govledger_fail(ctx, NGX_HTTP_SERVICE_UNAVAILABLE, "GL503",
                                "database unavailable");
    }
}


/* the request went away: the pipeline completes without it */

void
ngx_http_govledger_pq_detach(ngx_http_govledger_conn_t *conn,
    ngx_http_govledger_ctx_t *ctx)
{
    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, conn->pool->log, 0,
                   "govledger: request left, connection drains");

    if (conn->next == ctx) {
        conn->next = NULL;
        return;
    }

    if (conn->ctx == ctx) {
        conn->ctx = NULL;
    }
}


static void
ngx_http_govledger_pq_handler(ngx_event_t *ev)
{
    ngx_connection_t           *c;
    ngx_http_govledger_conn_t  *conn;

    c = ev->data;
    conn = c->data;

    switch (conn->state) {

    case NGX_HTTP_GOVLEDGER_CONN_CONNECTING:
        ngx_http_govledger_pq_connect_poll(conn);
        break;

    case NGX_HTTP_GOVLEDGER_CONN_IDLE:
        ngx_http_govledger_pq_idle(conn);
        break;

    case NGX_HTTP_GOVLEDGER_CONN_BUSY:
        ngx_http_govledger_pq_process(conn);
        break;

    default:
        break;
    }
}


static void
ngx_http_govledger_pq_timeout(ngx_event_t *ev)
{
    ngx_http_govledger_conn_t *conn = ev->data;

    ngx_http_govledger_ctx_t        *ctx;
    ngx_http_govledger_main_conf_t  *gmcf;

    gmcf = conn->pool->gmcf;

    if (conn->state == NGX_HTTP_GOVLEDGER_CONN_CONNECTING) {
        ngx_log_error(NGX_LOG_ERR, ev->log, NGX_ETIMEDOUT,
                      "govledger: connecting to the database timed out");
        ngx_http_govledger_pq_close(conn, NGX_HTTP_GOVLEDGER_CLOSE_FAILED);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, ev->log, NGX_ETIMEDOUT,
                  "govledger: database did not answer in time");

    ngx_http_govledger_stat_inc(gmcf, db_timeouts);

    ctx = conn->ctx;
    conn->ctx = NULL;

    ngx_http_govledger_pq_close(conn, NGX_HTTP_GOVLEDGER_CLOSE_LOST);

    if (ctx) {
        ctx->conn = NULL;
        ngx_http_govledger_fail(ctx, NGX_HTTP_GATEWAY_TIME_OUT, "57014",
                                "statement timeout");
    }
}


static void
ngx_http_govledger_pq_connect_poll(ngx_http_govledger_conn_t *conn)
{
    PostgresPollingStatusType  st;

    st = PQconnectPoll(conn->pg);

    if (st == PGRES_POLLING_FAILED) {
        ngx_http_govledger_pq_log(conn, NGX_LOG_ERR,
                                  "cannot connect to the database");
        ngx_http_govledger_pq_close(conn, NGX_HTTP_GOVLEDGER_CLOSE_FAILED);
        return;
    }

    if (ngx_http_govledger_pq_socket_check(conn) != NGX_OK) {
        ngx_http_govledger_pq_close(conn, NGX_HTTP_GOVLEDGER_CLOSE_FAILED);
        return;
    }

    switch (st) {

    case PGRES_POLLING_WRITING:
        if (ngx_http_govledger_pq_want_write(conn, 1) != NGX_OK) {
            ngx_http_govledger_pq_close(conn,
                                        NGX_HTTP_GOVLEDGER_CLOSE_FAILED);
        }
        return;

    case PGRES_POLLING_READING:
        if (ngx_http_govledger_pq_want_write(conn, 0) != NGX_OK) {
            ngx_http_govledger_pq_close(conn,
                                        NGX_HTTP_GOVLEDGER_CLOSE_FAILED);
        }
        return;

    case PGRES_POLLING_OK:
        break;

    default:
        return;
    }

    if (conn->timer.timer_set) {
        ngx_del_timer(&conn->timer);
    }

    if (ngx_http_govledger_pq_want_write(conn, 0) != NGX_OK
        || PQsetnonblocking(conn->pg, 1) != 0
        || PQenterPipelineMode(conn->pg) != 1)
    {
        ngx_http_govledger_pq_log(conn, NGX_LOG_ERR,
                                  "cannot set up the database connection");
        ngx_http_govledger_pq_close(conn, NGX_HTTP_GOVLEDGER_CLOSE_FAILED);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, conn->pool->log, 0,
                   "govledger: connected, backend pid %d",
                   PQbackendPID(conn->pg));

    ngx_http_govledger_pool_connected(conn);
}


/* an idle connection: notices are dropped, EOF or errors close it */

static void
ngx_http_govledger_pq_idle(ngx_http_govledger_conn_t *conn)
{
    PGnotify  *n;

    if (!PQconsumeInput(conn->pg) || PQstatus(conn->pg) == CONNECTION_BAD) {
        ngx_http_govledger_pq_log(conn, NGX_LOG_WARN,
                                  "idle database connection closed");
        ngx_http_govledger_pq_close(conn, NGX_HTTP_GOVLEDGER_CLOSE_LOST);
        return;
    }

    while ((n = PQnotifies(conn->pg)) != NULL) {
        PQfreemem(n);
    }
}


/*
 * The transaction of one request, its statements already prepared:
 * BEGIN, the settings, the call (item NGX_HTTP_GOVLEDGER_CALL_ITEM of
 * these), COMMIT and the sync point.
 */

static ngx_int_t
ngx_http_govledger_pq_send_calls(PGconn *pg, ngx_http_govledger_ctx_t *ctx,
    char *name)
{
    const char  *cfg[4];

    if (!PQsendQueryPrepared(pg, ngx_http_govledger_base_names[
                                    ctx->read_only
                                    ? NGX_HTTP_GOVLEDGER_STMT_BEGIN_RO
                                    : NGX_HTTP_GOVLEDGER_STMT_BEGIN],
                             0, NULL, NULL, NULL, 0))
    {
        return NGX_ERROR;
    }

    cfg[0] = ctx->role.len ? (char *) ctx->role.data : NULL;
    cfg[1] = ctx->claims.len ? (char *) ctx->claims.data : NULL;
    cfg[2] = ctx->timeout;
    cfg[3] = (char *) ctx->method.data;

    if (!PQsendQueryPrepared(pg, ngx_http_govledger_base_names[
                                    NGX_HTTP_GOVLEDGER_STMT_SETCFG],
                             4, cfg, NULL, NULL, 0))
    {
        return NGX_ERROR;
    }

    if (!PQsendQueryPrepared(pg, name, (int) ctx->nparams,
                             (const char * const *) ctx->params,
                             NULL, NULL, 0))
    {
        return NGX_ERROR;
    }

    if (!PQsendQueryPrepared(pg, ngx_http_govledger_base_names[
                                    NGX_HTTP_GOVLEDGER_STMT_COMMIT],
                             0, NULL, NULL, NULL, 0))
    {
        return NGX_ERROR;
    }

    if (!PQpipelineSync(pg)) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Whether request ctx may be pipelined behind the one conn is serving:
 * both are plain calls (no rows streamed), the one running started
 * recently, and everything ctx needs is prepared, so nothing it sends
 * can fail for the connection's sake.
 */

ngx_int_t
ngx_http_govledger_pq_can_pipeline(ngx_http_govledger_conn_t *conn,
    ngx_http_govledger_ctx_t *ctx)
{
    ngx_http_govledger_main_conf_t  *gmcf;

    gmcf = conn->pool->gmcf;

    return gmcf->pipeline
           && conn->state == NGX_HTTP_GOVLEDGER_CONN_BUSY
           && conn->ctx != NULL
           && !conn->has_next
           && !conn->rollback
           && !conn->after_abort
           && !conn->pool->exiting
           && ngx_http_govledger_now_us() - conn->started
              < (uint64_t) gmcf->pipeline * 1000
           && !(gmcf->max_age
                && ngx_current_msec - conn->created >= gmcf->max_age)
           && !conn->broken
           && !conn->stream
           && !ctx->read_only
           && conn->base_prepared
           && conn->prep_base_item == NGX_HTTP_GOVLEDGER_NO_ITEM
           && conn->prep_call_item == NGX_HTTP_GOVLEDGER_NO_ITEM
           && conn->prepared[ctx->call->call_index];
}


/*
 * Sends the pipeline of request ctx behind the one conn is serving (see
 * ngx_http_govledger_pq_can_pipeline).  Its results are read once those
 * of the first have been.
 */

ngx_int_t
ngx_http_govledger_pq_send_next(ngx_http_govledger_conn_t *conn,
    ngx_http_govledger_ctx_t *ctx)
{
    char  name[32];

    (void) ngx_sprintf((u_char *) name, "govledger_call_%ui%Z",
                       ctx->call->call_index);

    if (ngx_http_govledger_pq_send_calls(conn->pg, ctx, name) == NGX_OK
        && ngx_http_govledger_pq_flush(conn) == NGX_OK)
    {
        conn->next = ctx;
        conn->has_next = 1;
        conn->next_timeout = ctx->lcf->timeout;
        ngx_http_govledger_stat_inc(conn->pool->gmcf, pipelined);
        return NGX_OK;
    }

    /* what was sent is in doubt: the connection goes, with its request */
    ngx_http_govledger_pq_lost(conn, "cannot send the query");

    return NGX_ERROR;
}


/*
 * Sends the whole pipeline of one request.  Returns NGX_ERROR when the
 * connection is unusable; the caller closes it.
 */

ngx_int_t
ngx_http_govledger_pq_send(ngx_http_govledger_conn_t *conn,
    ngx_http_govledger_ctx_t *ctx)
{
    char                           name[32];
    PGconn                        *pg;
    ngx_uint_t                     i, item, idx;
    ngx_http_govledger_call_t     *call;
    ngx_http_govledger_loc_conf_t *lcf;

    pg = conn->pg;
    lcf = ctx->lcf;
    call = ctx->call;
    idx = call->call_index;
    item = 0;

    conn->prep_base_item = NGX_HTTP_GOVLEDGER_NO_ITEM;
    conn->prep_call_item = NGX_HTTP_GOVLEDGER_NO_ITEM;
    conn->nprep_base = 0;

    if (!conn->base_prepared) {
        conn->prep_base_item = item;

        for (i = 0; i < NGX_HTTP_GOVLEDGER_STMT_N; i++) {
            if (!PQsendPrepare(pg, ngx_http_govledger_base_names[i],
                               ngx_http_govledger_base_sql[i],
                               i == NGX_HTTP_GOVLEDGER_STMT_SETCFG ? 4 : 0,
                               i == NGX_HTTP_GOVLEDGER_STMT_SETCFG
                               ? ngx_http_govledger_setcfg_types : NULL))
            {
                goto failed;
            }

            item++;
        }
    }

    (void) ngx_sprintf((u_char *) name, "govledger_call_%ui%Z", idx);

    if (!conn->prepared[idx]) {
        if (!PQsendPrepare(pg, name, (char *) call->sql.data,
                           (int) ctx->nparams, NULL))
        {
            goto failed;
        }

        conn->prep_call_item = item++;
        conn->prep_call_idx = idx;
    }

    if (ngx_http_govledger_pq_send_calls(pg, ctx, name) != NGX_OK) {
        goto failed;
    }

    if (ngx_http_govledger_pq_flush(conn) != NGX_OK) {
        return NGX_ERROR;
    }

    conn->rollback = 0;
    ngx_http_govledger_pq_started(conn, item + NGX_HTTP_GOVLEDGER_CALL_ITEM,
                                  ctx->read_only, lcf->timeout);

    return NGX_OK;

failed:

    ngx_http_govledger_pq_log(conn, NGX_LOG_ERR, "cannot send the query");

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_govledger_pq_flush(ngx_http_govledger_conn_t *conn)
{
    int  rc;

    rc = PQflush(conn->pg);

    if (rc == -1) {
        return NGX_ERROR;
    }

    conn->flushing = (rc == 1);

    return ngx_http_govledger_pq_want_write(conn, conn->flushing);
}


static void
ngx_http_govledger_pq_process(ngx_http_govledger_conn_t *conn)
{
    char        *state;
    PGresult    *res;
    ngx_uint_t   item;

    if (!PQconsumeInput(conn->pg)) {
        ngx_http_govledger_pq_lost(conn, "database connection lost");
        return;
    }

    if (conn->flushing && ngx_http_govledger_pq_flush(conn) != NGX_OK) {
        ngx_http_govledger_pq_lost(conn, "database connection lost");
        return;
    }

    while (!PQisBusy(conn->pg)) {

        res = PQgetResult(conn->pg);

        if (res == NULL) {
            if (!conn->item_seen) {
                /* nothing more to read now */
                break;
            }

            conn->item++;
            conn->item_seen = 0;

            if (conn->stream && conn->item == conn->call_item) {
                /* before the first PQgetResult() of the call */
                (void) PQsetSingleRowMode(conn->pg);
            }

            continue;
        }

        conn->item_seen = 1;
        item = conn->item;

        switch (PQresultStatus(res)) {

        case PGRES_PIPELINE_SYNC:
            PQclear(res);

            if (ngx_http_govledger_pq_sync(conn) == NGX_AGAIN) {
                /* the results of the pipeline behind it follow */
                continue;
            }

            return;

        case PGRES_FATAL_ERROR:
            if (conn->call_item != NGX_HTTP_GOVLEDGER_NO_ITEM) {
                state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

                if (item == conn->call_item - 2 && state
                    && ngx_strcmp(state, "25P02") == 0)
                {
                    /* BEGIN inside a transaction block that failed */
                    conn->begin_aborted = 1;

                } else if (item == conn->call_item + 1) {
                    /* a COMMIT that fails ends the transaction */
                    conn->ended = 1;
                }
            }

            if (conn->prep_base_item != NGX_HTTP_GOVLEDGER_NO_ITEM
                && item >= conn->prep_base_item
                && item < conn->prep_base_item + NGX_HTTP_GOVLEDGER_STMT_N)
            {
                /* the statements' names are now in doubt */
                conn->broken = 1;
            }

            if (item == conn->call_item) {
                state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

                /*
                 * 0A000: "cached plan must not change result type" after
                 * the function was replaced; 26000: the statement is gone
                 * (DISCARD).  A new connection prepares it afresh.
                 */

                if (state && (ngx_strcmp(state, "0A000") == 0
                              || ngx_strcmp(state, "26000") == 0))
                {
                    conn->broken = 1;
                }
            }

            if (conn->error == NULL && !conn->rollback) {
                conn->error = res;
                conn->error_item = item;

            } else {
                PQclear(res);
            }

            break;

        case PGRES_COMMAND_OK:
            if (conn->call_item != NGX_HTTP_GOVLEDGER_NO_ITEM) {
                if (item == conn->call_item - 2) {
                    conn->begun = 1;

                } else if (item == conn->call_item + 1) {
                    conn->ended = 1;
                }
            }

            if (item == conn->prep_call_item) {
                conn->prepared[conn->prep_call_idx] = 1;

            } else if (conn->prep_base_item != NGX_HTTP_GOVLEDGER_NO_ITEM
                       && item >= conn->prep_base_item
                       && item < conn->prep_base_item
                                 + NGX_HTTP_GOVLEDGER_STMT_N)
            {
                if (++conn->nprep_base == NGX_HTTP_GOVLEDGER_STMT_N) {
                    conn->base_prepared = 1;
                }
            }

            PQclear(res);
            break;

        case PGRES_SINGLE_TUPLE:
            ngx_http_govledger_pq_row(conn, res);
            break;

        case PGRES_TUPLES_OK:
            if (item == conn->call_item && conn->result == NULL
                && !conn->rollback)
            {
                if (conn->streaming) {
                    /* the end of the rows */
                    PQclear(res);

                    if (conn->ctx) {
                        conn->stream_rc = ngx_http_govledger_stream_end(
                                                       conn->ctx->request);
                    }

                } else if (conn->first_row) {
                    /* one row: answered like a scalar, with its length */
                    PQclear(res);
                    conn->result = conn->first_row;
                    conn->first_row = NULL;

                } else {
                    conn->result = res;
                }

            } else {
                PQclear(res);
            }

            break;

        default:
            PQclear(res);
            break;
        }
    }

    if (PQstatus(conn->pg) == CONNECTION_BAD) {
        ngx_http_govledger_pq_lost(conn, "database connection lost");
    }
}


/*
 * A row of a read-only call in single-row mode.  The first is held back:
 * a single row is answered with its Content-Length as usual; from the
 * second on, the rows are sent as they come, as a JSON array.
 */

static void
ngx_http_govledger_pq_row(ngx_http_govledger_conn_t *conn, PGresult *res)
{
    ngx_int_t                  rc;
    ngx_http_govledger_ctx_t  *ctx;

    ctx = conn->ctx;

    if (ctx == NULL || conn->rollback || conn->item != conn->call_item) {
        PQclear(res);
        return;
    }

    if (!conn->streaming && conn->first_row == NULL) {
        conn->first_row = res;
        return;
    }

    rc = NGX_OK;

    if (!conn->streaming) {
        conn->streaming = 1;
        ctx->t_done = ngx_http_govledger_now_us();

        rc = ngx_http_govledger_stream_row(ctx->request, ctx,
                                           conn->first_row, 1);
        PQclear(conn->first_row);
        conn->first_row = NULL;
    }

    if (rc != NGX_ERROR) {
        rc = ngx_http_govledger_stream_row(ctx->request, ctx, res, 0);
    }

    PQclear(res);

    if (rc == NGX_ERROR) {
        /* the client is gone: the rest of the rows are dropped */
        ctx->conn = NULL;
        conn->ctx = NULL;
        ngx_http_govledger_finish(ctx, NGX_ERROR);
    }
}


/*
 * The sync point arrived: the request gets its answer, and the
 * connection goes back to the pool only when its transaction is idle;
 * an aborted transaction is rolled back first, anything else closes it.
 */

static ngx_int_t
ngx_http_govledger_pq_sync(ngx_http_govledger_conn_t *conn)
{
    PGconn                          *pg;
    PGresult                        *result, *error;
    ngx_int_t                        rc, conn_rc, more;
    char                            *msg, *state;
    ngx_uint_t                       streaming, role_refused;
    PGTransactionStatusType          ts;
    ngx_http_govledger_ctx_t        *ctx, *retry;
    ngx_http_govledger_main_conf_t  *gmcf;

    gmcf = conn->pool->gmcf;
    pg = conn->pg;

    if (conn->timer.timer_set) {
        ngx_del_timer(&conn->timer);
    }

    if (conn->rollback) {
        /* the ROLLBACK's sync; nothing was pipelined behind it */
        ts = PQtransactionStatus(conn->pg);

        if (ts != PQTRANS_IDLE) {
            ngx_http_govledger_pq_close_inert(conn,
                                              NGX_HTTP_GOVLEDGER_CLOSE_NORMAL);
            return NGX_OK;
        }

        conn->rollback = 0;
        retry = conn->has_next ? conn->next : NULL;
        conn->has_next = 0;
        conn->next = NULL;

        if (retry) {
            /* it did nothing the first time: it is sent again, alone */
            ngx_http_govledger_stat_inc(gmcf, pipeline_retries);
            ngx_http_govledger_dispatch(retry, conn);

        } else {
            ngx_http_govledger_pool_release(conn);
        }

        return NGX_OK;
    }

    if (conn->has_next) {
        /*
         * libpq reports "active" while another pipeline is pending: the
         * status follows from the results.  A failed BEGIN opened no
         * transaction block; a COMMIT that ran, or failed, closed it.
         */
        ts = (!conn->begun || conn->ended) ? PQTRANS_IDLE : PQTRANS_INERROR;

    } else {
        ts = PQtransactionStatus(conn->pg);
    }

    ctx = conn->ctx;
    conn->ctx = NULL;
    result = conn->result;
    error = conn->error;

    /*
     * The settings statement (just before the call) failed because the
     * database refused the role the request was authenticated as (a
     * token's role claim naming no role, or one the gateway may not
     * become).  Its other settings cannot fail: govledger_timeout is
     * bounded to what statement_timeout takes.
     */
    role_refused = 0;

    if (error != NULL && ctx != NULL && ctx->role.len
        && conn->call_item != NGX_HTTP_GOVLEDGER_NO_ITEM
        && conn->error_item + 1 == conn->call_item)
    {
        state = PQresultErrorField(error, PG_DIAG_SQLSTATE);

        /* 22023: no such role; 42501: not a member of it */
        role_refused = state != NULL && (ngx_strcmp(state, "22023") == 0
                                         || ngx_strcmp(state, "42501") == 0);
    }

    conn->result = NULL;
    conn->error = NULL;
    streaming = conn->streaming;
    conn->streaming = 0;
    conn_rc = conn->stream_rc;

    if (conn->first_row) {
        PQclear(conn->first_row);
        conn->first_row = NULL;
    }

    if (conn->after_abort && conn->begin_aborted) {
        /*
         * This pipeline was sent behind a transaction that failed: its
         * BEGIN met the aborted transaction block, so it did nothing.
         * It is rolled back and sent again.
         */
        conn->after_abort = 0;
        conn->has_next = 1;
        conn->next = ctx;

        if (result) {
            PQclear(result);
        }

        if (error) {
            PQclear(error);
        }

        if (ngx_http_govledger_pq_rollback(conn) != NGX_OK) {
            ngx_http_govledger_pq_close_inert(conn,
                                              NGX_HTTP_GOVLEDGER_CLOSE_LOST);
            return NGX_OK;
        }

        return NGX_AGAIN;
    }

    conn->after_abort = 0;

    if (ctx) {
        ctx->conn = NULL;

        if (!streaming) {
            ctx->t_done = ngx_http_govledger_now_us();
        }

        ngx_http_govledger_stat_latency(gmcf, ngx_http_govledger_now_us()
                                              - ctx->t_queued);
    }

    more = NGX_OK;

    if (conn->has_next
        && (ts == PQTRANS_IDLE || (ts == PQTRANS_INERROR && !conn->broken)))
    {
        /*
         * The pipeline behind it is now the connection's.  Behind a
         * failed transaction it will find the block aborted: nothing is
         * sent behind it until that is settled.
         */
        conn->after_abort = (ts == PQTRANS_INERROR);
        conn->ctx = conn->next;
        conn->next = NULL;
        conn->has_next = 0;
        conn->prep_base_item = NGX_HTTP_GOVLEDGER_NO_ITEM;
        conn->prep_call_item = NGX_HTTP_GOVLEDGER_NO_ITEM;
        ngx_http_govledger_pq_started(conn, NGX_HTTP_GOVLEDGER_CALL_ITEM, 0,
                                      conn->next_timeout);

        if (!conn->after_abort) {
            ngx_http_govledger_pool_refill(conn);
        }

        /* refilling may have lost the connection */
        more = conn->state == NGX_HTTP_GOVLEDGER_CONN_BUSY ? NGX_AGAIN
                                                            : NGX_OK;

    } else if (ts == PQTRANS_IDLE) {
        ngx_http_govledger_pool_release(conn);

    } else if (ts == PQTRANS_INERROR && !conn->broken) {
        if (ngx_http_govledger_pq_rollback(conn) != NGX_OK) {
            ngx_http_govledger_pq_close(conn, NGX_HTTP_GOVLEDGER_CLOSE_LOST);
        }

    } else if (ts == PQTRANS_INERROR) {
        /* a call sent behind meets the aborted block and does nothing */
        ngx_http_govledger_pq_close_inert(conn,
                                          NGX_HTTP_GOVLEDGER_CLOSE_NORMAL);

    } else {
        ngx_http_govledger_pq_close(conn, NGX_HTTP_GOVLEDGER_CLOSE_NORMAL);
    }

    if (ctx && streaming) {
        if (error) {
            /* too late for a status: the response is cut short */
            ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                          "govledger: %V failed after its first rows: %s",
                          &ctx->call->function,
                          PQresultErrorField(error, PG_DIAG_SQLSTATE));
        }

        ngx_http_govledger_finish(ctx, error ? NGX_ERROR : conn_rc);

    } else if (ctx && role_refused) {
        msg = PQresultErrorField(error, PG_DIAG_MESSAGE_PRIMARY);
        state = PQresultErrorField(error, PG_DIAG_SQLSTATE);

        ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                      "govledger: the database refused role \"%V\": "
                      "%s (SQLSTATE %s)", &ctx->role, msg ? msg : "",
                      state ? state : "");
        ngx_http_govledger_fail(ctx, NGX_HTTP_FORBIDDEN, "GL403",
                                "the authenticated role may not be used");

    } else if (ctx) {
        rc = ngx_http_govledger_send_result(ctx->request, ctx,
                                            error ? error : result);
        ngx_http_govledger_finish(ctx, rc);
    }

    if (result) {
        PQclear(result);
    }

    if (error) {
        PQclear(error);
    }

    /* finishing a request runs posted ones, which may close this one */
    if (more == NGX_AGAIN
        && (conn->state != NGX_HTTP_GOVLEDGER_CONN_BUSY || conn->pg != pg))
    {
        more = NGX_OK;
    }

    return more;
}


/*
 * Sends ROLLBACK and a sync point after an aborted transaction; its
 * results are drained, then the sync settles the connection.  NGX_ERROR
 * when it cannot be sent: the caller closes the connection.
 */

static ngx_int_t
ngx_http_govledger_pq_rollback(ngx_http_govledger_conn_t *conn)
{
    if (!PQsendQueryParams(conn->pg, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0)
        || !PQpipelineSync(conn->pg)
        || ngx_http_govledger_pq_flush(conn) != NGX_OK)
    {
        return NGX_ERROR;
    }

    conn->rollback = 1;
    conn->stream = 0;
    conn->item = 0;
    conn->item_seen = 0;
    conn->prep_base_item = NGX_HTTP_GOVLEDGER_NO_ITEM;
    conn->prep_call_item = NGX_HTTP_GOVLEDGER_NO_ITEM;
    conn->call_item = NGX_HTTP_GOVLEDGER_NO_ITEM;
    ngx_add_timer(&conn->timer, 10000);

    return NGX_OK;
}


/*
 * The connection's current pipeline is now that of a call, its result
 * item call_item (streamed row by row when stream is set); timeout is
 * the call's statement timeout, 0 for none.
 */

static void
ngx_http_govledger_pq_started(ngx_http_govledger_conn_t *conn,
    ngx_uint_t call_item, ngx_uint_t stream, ngx_msec_t timeout)
{
    conn->started = ngx_http_govledger_now_us();
    conn->call_item = call_item;
    conn->item = 0;
    conn->item_seen = 0;
    conn->begun = 0;
    conn->ended = 0;
    conn->begin_aborted = 0;
    conn->stream = stream;
    conn->streaming = 0;
    conn->stream_rc = NGX_OK;

    /* statement_timeout ends the query; this catches a silent server */
    ngx_add_timer(&conn->timer, timeout ? timeout + 2000 : 24 * 3600 * 1000);
}


/*
 * Closes the connection when the call pipelined behind its current one,
 * if any, certainly did nothing: that call is answered 503, to be
 * retried, not 502.
 */

static void
ngx_http_govledger_pq_close_inert(ngx_http_govledger_conn_t *conn,
    ngx_uint_t reason)
{
    conn->rollback = 1;
    ngx_http_govledger_pq_close(conn, reason);
}


static void
ngx_http_govledger_pq_lost(ngx_http_govledger_conn_t *conn, const char *what)
{
    ngx_uint_t                 in_doubt;
    ngx_http_govledger_ctx_t  *ctx;

    ngx_http_govledger_pq_log(conn, NGX_LOG_ERR, what);

    ctx = conn->ctx;
    conn->ctx = NULL;

    /*
     * A call that may write, whose pipeline (its COMMIT included) may have
     * reached the server and of which no error came back, may have
     * committed: like a pipelined call cut off, it is answered 502
     * "outcome unknown", without Retry-After.  A read-only call, one
     * whose transaction is known to have failed, or one sent behind a
     * failed transaction (its BEGIN meets the aborted block) is safe to
     * retry: 503.
     */
    in_doubt = ctx != NULL && !ctx->read_only && conn->error == NULL
               && !conn->after_abort;

    ngx_http_govledger_pq_close(conn, NGX_HTTP_GOVLEDGER_CLOSE_LOST);

    if (ctx) {
        ngx_http_govledger_pq_cut_off(ctx, in_doubt);
    }
}


/* logs libpq's message, which names host and port but never secrets */

static void
ngx_http_govledger_pq_log(ngx_http_govledger_conn_t *conn, ngx_uint_t level,
    const char *what)
{
    size_t   len;
    char    *msg;

    msg = conn->pg ? PQerrorMessage(conn->pg) : "";
    len = ngx_strlen(msg);

    while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' ')) {
        len--;
    }

    ngx_log_error(level, conn->pool->log, 0, "govledger: %s: %*s",
                  what, len, msg);
}
