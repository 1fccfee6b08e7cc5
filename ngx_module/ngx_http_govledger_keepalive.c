
/*
 * Copyright (C) govledger contributors
 *
 * The per-worker pool of database connections: a fixed number of slots,
 * idle connections kept in LIFO order, a bounded queue of requests
 * waiting for one, reconnection with exponential backoff, and recycling
 * by age.  When every connection is busy, a request may instead be
 * pipelined behind the transaction one of them is running
 * (pipeline=on).  Only connections that finished their pipelines with
 * the transaction status PQTRANS_IDLE come back here.
 */


#include "ngx_http_govledger_module.h"


static ngx_int_t ngx_http_govledger_pool_pipeline(
    ngx_http_govledger_pool_t *pool, ngx_http_govledger_ctx_t *ctx);
static void ngx_http_govledger_pool_connect(ngx_http_govledger_pool_t *pool);
static void ngx_http_govledger_pool_wait_timeout(ngx_event_t *ev);
static void ngx_http_govledger_pool_fail_waiting(
    ngx_http_govledger_pool_t *pool);


ngx_int_t
ngx_http_govledger_pool_init(ngx_cycle_t *cycle,
    ngx_http_govledger_main_conf_t *gmcf)
{
    ngx_uint_t                  i;
    ngx_http_govledger_pool_t  *pool;
    ngx_http_govledger_conn_t  *conn;

    pool = ngx_pcalloc(cycle->pool, sizeof(ngx_http_govledger_pool_t));
    if (pool == NULL) {
        return NGX_ERROR;
    }

    pool->conns = ngx_pcalloc(cycle->pool,
                              gmcf->connections
                              * sizeof(ngx_http_govledger_conn_t));
    if (pool->conns == NULL) {
        return NGX_ERROR;
    }

    pool->gmcf = gmcf;
    pool->log = cycle->log;

    ngx_queue_init(&pool->idle);
    ngx_queue_init(&pool->free);
    ngx_queue_init(&pool->waiting);

    for (i = 0; i < gmcf->connections; i++) {
        conn = &pool->conns[i];

        conn->pool = pool;
        conn->state = NGX_HTTP_GOVLEDGER_CONN_FREE;
        conn->prepared = ngx_pcalloc(cycle->pool,
                                     gmcf->ncalls ? gmcf->ncalls : 1);
        if (conn->prepared == NULL) {
            return NGX_ERROR;
        }

        ngx_queue_insert_tail(&pool->free, &conn->queue);
    }

    gmcf->pool = pool;

    ngx_http_govledger_pool_stats(pool);

    return NGX_OK;
}


void
ngx_http_govledger_pool_done(ngx_http_govledger_main_conf_t *gmcf)
{
    ngx_uint_t                  i;
    ngx_http_govledger_pool_t  *pool;

    pool = gmcf->pool;
    if (pool == NULL) {
        return;
    }

    pool->exiting = 1;

    for (i = 0; i < gmcf->connections; i++) {
        if (pool->conns[i].state != NGX_HTTP_GOVLEDGER_CONN_FREE) {
            ngx_http_govledger_pq_close(&pool->conns[i],
                                        NGX_HTTP_GOVLEDGER_CLOSE_NORMAL);
        }
    }

    gmcf->pool = NULL;
}


/*
 * Finds a connection for the request: an idle one at once (the request
 * is dispatched and NGX_OK returned), or a place in the wait queue
 * (NGX_AGAIN), starting a new connection when there is a free slot.
 * NGX_DECLINED: no connection exists and none can be made now;
 * NGX_BUSY: the queue is full.
 */

ngx_int_t
ngx_http_govledger_pool_acquire(ngx_http_govledger_pool_t *pool,
    ngx_http_govledger_ctx_t *ctx)
{
    ngx_queue_t                     *q;
    ngx_http_govledger_conn_t       *conn;
    ngx_http_govledger_main_conf_t  *gmcf;

    gmcf = pool->gmcf;

    if (!ngx_queue_empty(&pool->idle)) {
        q = ngx_queue_head(&pool->idle);
        ngx_queue_remove(q);

        conn = ngx_queue_data(q, ngx_http_govledger_conn_t, queue);

        pool->nidle--;
        pool->nbusy++;
        conn->state = NGX_HTTP_GOVLEDGER_CONN_BUSY;

        ngx_http_govledger_pool_stats(pool);
        ngx_http_govledger_dispatch(ctx, conn);

        return NGX_OK;
    }

    if (ngx_queue_empty(&pool->free) && pool->nwaiting == 0
        && ngx_http_govledger_pool_pipeline(pool, ctx) == NGX_OK)
    {
        return NGX_OK;
    }

    if (pool->nconnecting <= pool->nwaiting) {
        ngx_http_govledger_pool_connect(pool);
    }

    if (pool->nbusy + pool->nconnecting == 0) {
        return NGX_DECLINED;
    }

    if (pool->nwaiting >= gmcf->queue) {
        ngx_http_govledger_stat_inc(gmcf, queue_full);
        return NGX_BUSY;
    }

    ngx_queue_insert_tail(&pool->waiting, &ctx->queue);
    ctx->waiting = 1;
    pool->nwaiting++;

    ctx->wait.handler = ngx_http_govledger_pool_wait_timeout;
    ctx->wait.data = ctx;
    ctx->wait.log = ctx->request->connection->log;

    if (gmcf->queue_timeout) {
        ngx_add_timer(&ctx->wait, gmcf->queue_timeout);
    }

    ngx_http_govledger_pool_stats(pool);

    return NGX_AGAIN;
}


/*
 * Every connection is open and busy: the request is sent behind the
 * transaction of one of them instead of waiting for it to end, so that
 * the database finds its next transaction already there.  NGX_DECLINED
 * when none can take it (see ngx_http_govledger_pq_can_pipeline) or a
 * connection is being opened.
 */

static ngx_int_t
ngx_http_govledger_pool_pipeline(ngx_http_govledger_pool_t *pool,
    ngx_http_govledger_ctx_t *ctx)
{
    ngx_uint_t                  i;
    ngx_http_govledger_conn_t  *conn, *best;

    if (pool->nconnecting) {
        /* a connection of its own is coming */
        return NGX_DECLINED;
    }

    /* behind the call that started first: the likeliest to end first */
    best = NULL;

    for (i = 0; i < pool->gmcf->connections; i++) {
        conn = &pool->conns[i];

        if (ngx_http_govledger_pq_can_pipeline(conn, ctx)
            && (best == NULL || conn->started < best->started))
        {
            best = conn;
        }
    }

    if (best != NULL) {
        conn = best;
        ctx->conn = conn;
        ctx->t_queued = ngx_http_govledger_now_us();

        if (ngx_http_govledger_pq_send_next(conn, ctx) != NGX_OK) {
            /* part of it may have reached the server: it is not retried */
            ngx_http_govledger_pq_cut_off(ctx, 1);
        }

        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * conn went on to the transaction pipelined behind its last one: the
 * oldest waiting request, when it can, is pipelined behind that in turn.
 */

void
ngx_http_govledger_pool_refill(ngx_http_govledger_conn_t *conn)
{
    ngx_queue_t                *q;
    ngx_http_govledger_ctx_t   *ctx;
    ngx_http_govledger_pool_t  *pool;

    pool = conn->pool;

    if (ngx_queue_empty(&pool->waiting) || pool->nconnecting) {
        return;
    }

    q = ngx_queue_head(&pool->waiting);
    ctx = ngx_queue_data(q, ngx_http_govledger_ctx_t, queue);

    if (!ngx_http_govledger_pq_can_pipeline(conn, ctx)) {
        return;
    }

    ngx_queue_remove(q);
    ctx->waiting = 0;
    pool->nwaiting--;

    if (ctx->wait.timer_set) {
        ngx_del_timer(&ctx->wait);
    }

    ngx_http_govledger_pool_stats(pool);

    ctx->conn = conn;
    ctx->t_queued = ngx_http_govledger_now_us();

    if (ngx_http_govledger_pq_send_next(conn, ctx) != NGX_OK) {
        /* part of it may have reached the server: it is not retried */
        ngx_http_govledger_pq_cut_off(ctx, 1);
    }
}


void
ngx_http_govledger_pool_cancel(ngx_http_govledger_ctx_t *ctx)
{
    ngx_http_govledger_pool_t       *pool;
    ngx_http_govledger_main_conf_t  *gmcf;

    gmcf = ngx_http_get_module_main_conf(ctx->request,
                                         ngx_http_govledger_module);
    pool = gmcf->pool;

    if (!ctx->waiting) {
        return;
    }

    ngx_queue_remove(&ctx->queue);
    ctx->waiting = 0;

    if (pool) {
        pool->nwaiting--;
        ngx_http_govledger_pool_stats(pool);
    }
}


static void
ngx_http_govledger_pool_wait_timeout(ngx_event_t *ev)
{
    ngx_http_govledger_ctx_t *ctx = ev->data;

    ngx_http_govledger_main_conf_t  *gmcf;

    gmcf = ngx_http_get_module_main_conf(ctx->request,
                                         ngx_http_govledger_module);

    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "govledger: no database connection within "
                  "queue_timeout");

    ngx_http_govledger_stat_inc(gmcf, queue_timeout);
    ngx_http_govledger_pool_cancel(ctx);

    ngx_http_govledger_fail(ctx, NGX_HTTP_SERVICE_UNAVAILABLE, "GL503",
                            "database busy");
}


static void
ngx_http_govledger_pool_connect(ngx_http_govledger_pool_t *pool)
{
    ngx_queue_t                *q;
    ngx_http_govledger_conn_t  *conn;

    if (pool->exiting || ngx_queue_empty(&pool->free)) {
        return;
    }

    if (pool->failed
        && (ngx_msec_int_t) (ngx_current_msec - pool->retry_at) < 0)
    {
        /* backing off after failures */
        return;
    }

    q = ngx_queue_head(&pool->free);
    ngx_queue_remove(q);

    conn = ngx_queue_data(q, ngx_http_govledger_conn_t, queue);

    conn->state = NGX_HTTP_GOVLEDGER_CONN_CONNECTING;
    pool->nconnecting++;

    ngx_http_govledger_stat_inc(pool->gmcf, connects);

    if (ngx_http_govledger_pq_connect(conn) != NGX_OK) {
        ngx_http_govledger_pool_closed(conn, NGX_HTTP_GOVLEDGER_CLOSE_FAILED);
        return;
    }

    ngx_http_govledger_pool_stats(pool);
}


void
ngx_http_govledger_pool_connected(ngx_http_govledger_conn_t *conn)
{
    ngx_http_govledger_pool_t  *pool;

    pool = conn->pool;

    if (pool->failed) {
        ngx_http_govledger_stat_inc(pool->gmcf, reconnects);
        ngx_log_error(NGX_LOG_NOTICE, pool->log, 0,
                      "govledger: database connection re-established");
    }

    pool->failed = 0;
    pool->backoff = 0;

    pool->nconnecting--;
    pool->nbusy++;
    conn->state = NGX_HTTP_GOVLEDGER_CONN_BUSY;
    conn->created = ngx_current_msec;

    ngx_http_govledger_pool_release(conn);
}


/*
 * Takes back a connection whose pipeline is complete and whose
 * transaction status is PQTRANS_IDLE: it serves the oldest waiting
 * request, or becomes idle, or is closed when too old.
 */

void
ngx_http_govledger_pool_release(ngx_http_govledger_conn_t *conn)
{
    ngx_queue_t                     *q;
    ngx_http_govledger_ctx_t        *ctx;
    ngx_http_govledger_pool_t       *pool;
    ngx_http_govledger_main_conf_t  *gmcf;

    pool = conn->pool;
    gmcf = pool->gmcf;

    if (pool->exiting || conn->broken
        || (gmcf->max_age
            && ngx_current_msec - conn->created >= gmcf->max_age))
    {
        if (!conn->broken && !pool->exiting) {
            ngx_http_govledger_stat_inc(gmcf, recycled);
        }

        ngx_http_govledger_pq_close(conn, NGX_HTTP_GOVLEDGER_CLOSE_NORMAL);
        return;
    }

    if (!ngx_queue_empty(&pool->waiting)) {
        q = ngx_queue_head(&pool->waiting);
        ngx_queue_remove(q);

        ctx = ngx_queue_data(q, ngx_http_govledger_ctx_t, queue);
        ctx->waiting = 0;
        pool->nwaiting--;

        if (ctx->wait.timer_set) {
            ngx_del_timer(&ctx->wait);
        }

        ngx_http_govledger_pool_stats(pool);
        ngx_http_govledger_dispatch(ctx, conn);

        if (conn->state == NGX_HTTP_GOVLEDGER_CONN_BUSY && conn->ctx == ctx) {
            /* more are waiting: the next goes behind it */
            ngx_http_govledger_pool_refill(conn);
        }

        return;
    }

    pool->nbusy--;
    pool->nidle++;
    conn->state = NGX_HTTP_GOVLEDGER_CONN_IDLE;
    ngx_queue_insert_head(&pool->idle, &conn->queue);

    ngx_http_govledger_pool_stats(pool);
}


/*
 * Called after the connection's PGconn is gone: the slot becomes free.
 * A failed connect extends the backoff; requests still waiting get a
 * new connection, or a 503 when none can be made.
 */

void
ngx_http_govledger_pool_closed(ngx_http_govledger_conn_t *conn,
    ngx_uint_t reason)
{
    ngx_http_govledger_pool_t       *pool;
    ngx_http_govledger_main_conf_t  *gmcf;

    pool = conn->pool;
    gmcf = pool->gmcf;

    switch (conn->state) {

    case NGX_HTTP_GOVLEDGER_CONN_CONNECTING:
        pool->nconnecting--;
        break;

    case NGX_HTTP_GOVLEDGER_CONN_IDLE:
        ngx_queue_remove(&conn->queue);
        pool->nidle--;
        break;

    case NGX_HTTP_GOVLEDGER_CONN_BUSY:
        pool->nbusy--;
        break;

    default:
        return;
    }

    conn->state = NGX_HTTP_GOVLEDGER_CONN_FREE;
    conn->broken = 0;
    ngx_queue_insert_tail(&pool->free, &conn->queue);

    if (reason == NGX_HTTP_GOVLEDGER_CLOSE_FAILED) {
        ngx_http_govledger_stat_inc(gmcf, connect_failures);

        pool->backoff = pool->backoff ? ngx_min(pool->backoff * 2,
                                                gmcf->backoff_max)
                                      : ngx_min(100, gmcf->backoff_max);
        pool->retry_at = ngx_current_msec + pool->backoff;
        pool->failed = 1;

    } else if (reason == NGX_HTTP_GOVLEDGER_CLOSE_LOST) {
        ngx_http_govledger_stat_inc(gmcf, lost);
        pool->failed = 1;
    }

    ngx_http_govledger_pool_stats(pool);

    if (pool->exiting || ngx_queue_empty(&pool->waiting)) {
        return;
    }

    if (pool->nconnecting < pool->nwaiting) {
        ngx_http_govledger_pool_connect(pool);
    }

    if (pool->nbusy + pool->nconnecting == 0) {
        ngx_http_govledger_pool_fail_waiting(pool);
    }
}


static void
ngx_http_govledger_pool_fail_waiting(ngx_http_govledger_pool_t *pool)
{
    ngx_queue_t               *q;
    ngx_http_govledger_ctx_t  *ctx;

    while (!ngx_queue_empty(&pool->waiting)) {
        q = ngx_queue_head(&pool->waiting);
        ngx_queue_remove(q);

        ctx = ngx_queue_data(q, ngx_http_govledger_ctx_t, queue);
        ctx->waiting = 0;
        pool->nwaiting--;

        if (ctx->wait.timer_set) {
            ngx_del_timer(&ctx->wait);
        }

        ngx_http_govledger_fail(ctx, NGX_HTTP_SERVICE_UNAVAILABLE, "GL503",
                                "database unavailable");
    }

    ngx_http_govledger_pool_stats(pool);
}


/* seconds a client should wait before retrying, for Retry-After */

ngx_msec_t
ngx_http_govledger_pool_retry_after(ngx_http_govledger_pool_t *pool)
{
    ngx_msec_int_t  left;

    if (pool == NULL || !pool->failed) {
        return 1;
    }

    left = (ngx_msec_int_t) (pool->retry_at - ngx_current_msec);

    if (left <= 1000) {
        return 1;
    }

    return (left + 999) / 1000;
}


void
ngx_http_govledger_pool_stats(ngx_http_govledger_pool_t *pool)
{
    ngx_http_govledger_stats_t         *stats;
    ngx_http_govledger_worker_stats_t  *w;

    stats = pool->gmcf->stats;

    if (stats == NULL || ngx_worker >= NGX_HTTP_GOVLEDGER_MAX_WORKERS) {
        return;
    }

    w = &stats->workers[ngx_worker];

    w->pid = ngx_pid;
    w->in_use = pool->nbusy;
    w->idle = pool->nidle;
    w->connecting = pool->nconnecting;
    w->waiting = pool->nwaiting;
}
