
/*
 * Copyright (C) govledger contributors
 *
 * Metrics in Prometheus text format.  Counters and the latency histogram
 * live in a shared memory zone, so every worker adds to the same numbers
 * and any worker answers a scrape with the totals; pool gauges are kept
 * per worker in the same zone and reported by pid.
 */


#include "ngx_http_govledger_module.h"


static ngx_int_t ngx_http_govledger_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);


/* upper bounds of the latency buckets, in microseconds */

static uint64_t  ngx_http_govledger_buckets[NGX_HTTP_GOVLEDGER_NBUCKETS] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000, 5000000, 10000000
};


static const char  *ngx_http_govledger_af_labels[NGX_HTTP_GOVLEDGER_AF_N] = {
    "missing", "malformed", "alg", "kid", "crit", "signature", "expired",
    "not_yet_valid", "issuer", "audience", "claims", "mtls", "no_exp"
};


ngx_int_t
ngx_http_govledger_status_init_zone(ngx_conf_t *cf,
    ngx_http_govledger_main_conf_t *gmcf)
{
    ngx_str_t        name = ngx_string("govledger_status");
    ngx_shm_zone_t  *zone;

    if (gmcf->ncalls && !gmcf->configured) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"govledger_call\" requires "
                           "\"govledger_database\" in the http block");
        return NGX_ERROR;
    }

    zone = ngx_shared_memory_add(cf, &name,
                                 8 * ngx_pagesize
                                 + sizeof(ngx_http_govledger_stats_t),
                                 &ngx_http_govledger_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_http_govledger_init_zone;
    zone->data = gmcf;
    gmcf->shm_zone = zone;

    return NGX_OK;
}


static ngx_int_t
ngx_http_govledger_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_govledger_main_conf_t  *ogmcf = data;

    ngx_slab_pool_t                 *shpool;
    ngx_http_govledger_main_conf_t  *gmcf;

    gmcf = shm_zone->data;

    if (ogmcf) {
        /* counters survive a reload */
        gmcf->stats = ogmcf->stats;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        gmcf->stats = shpool->data;
        return NGX_OK;
    }

    gmcf->stats = ngx_slab_calloc(shpool, sizeof(ngx_http_govledger_stats_t));
    if (gmcf->stats == NULL) {
        return NGX_ERROR;
    }

    shpool->data = gmcf->stats;

    return NGX_OK;
}


void
ngx_http_govledger_stat_latency(ngx_http_govledger_main_conf_t *gmcf,
    uint64_t us)
{
    ngx_uint_t  i;

    if (gmcf->stats == NULL) {
        return;
    }

    for (i = 0; i < NGX_HTTP_GOVLEDGER_NBUCKETS; i++) {
        if (us <= ngx_http_govledger_buckets[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&gmcf->stats->latency[i], 1);
    (void) ngx_atomic_fetch_add(&gmcf->stats->latency_sum_us, us);
    (void) ngx_atomic_fetch_add(&gmcf->stats->latency_count, 1);
}


void
ngx_http_govledger_stat_auth_failure(ngx_http_request_t *r, ngx_uint_t reason)
{
    ngx_http_govledger_main_conf_t  *gmcf;

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_govledger_module);

    if (gmcf->stats && reason < NGX_HTTP_GOVLEDGER_AF_N) {
        (void) ngx_atomic_fetch_add(&gmcf->stats->auth_failures[reason], 1);
    }
}


/* counts responses of locations where the module authenticates or calls */

ngx_int_t
ngx_http_govledger_log_handler(ngx_http_request_t *r)
{
    ngx_uint_t                       status;
    ngx_http_govledger_loc_conf_t   *lcf;
    ngx_http_govledger_main_conf_t  *gmcf;

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_govledger_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_govledger_module);

    if (gmcf->stats == NULL
        || (lcf->calls == NULL && lcf->auth == NGX_HTTP_GOVLEDGER_AUTH_OFF))
    {
        return NGX_OK;
    }

    status = r->err_status ? r->err_status : r->headers_out.status;

    if (status >= 600) {
        status = 0;
    }

    (void) ngx_atomic_fetch_add(&gmcf->stats->requests[status], 1);

    return NGX_OK;
}


ngx_int_t
ngx_http_govledger_status_handler(ngx_http_request_t *r)
{
    u_char                             *p;
    size_t                              size;
    uint64_t                            cum;
    ngx_int_t                           rc;
    ngx_buf_t                          *b;
    ngx_uint_t                          i;
    ngx_chain_t                         out;
    ngx_http_govledger_stats_t         *st;
    ngx_http_govledger_worker_stats_t  *w;
    ngx_http_govledger_main_conf_t     *gmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_govledger_module);
    st = gmcf->stats;

    if (st == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    if (gmcf->pool) {
        ngx_http_govledger_pool_stats(gmcf->pool);
    }

    size = 64 * 1024;

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->last;

#define gl_end  (b->start + size)

    p = ngx_slprintf(p, gl_end,
              "# HELP govledger_http_requests_total Responses of govledger "
              "locations by status.\n"
              "# TYPE govledger_http_requests_total counter\n");

    for (i = 0; i < 600; i++) {
        if (st->requests[i]) {
            p = ngx_slprintf(p, gl_end,
                             "govledger_http_requests_total{status=\"%ui\"} "
                             "%uA\n", i, st->requests[i]);
        }
    }

    p = ngx_slprintf(p, gl_end,
              "# HELP govledger_db_latency_seconds Time from sending a "
              "request's pipeline to its sync point.\n"
              "# TYPE govledger_db_latency_seconds histogram\n");

    cum = 0;

    for (i = 0; i < NGX_HTTP_GOVLEDGER_NBUCKETS; i++) {
        cum += st->latency[i];
        p = ngx_slprintf(p, gl_end,
                         "govledger_db_latency_seconds_bucket{le=\"%uL.%06uL\"}"
                         " %uL\n",
                         ngx_http_govledger_buckets[i] / 1000000,
                         ngx_http_govledger_buckets[i] % 1000000, cum);
    }

    cum += st->latency[NGX_HTTP_GOVLEDGER_NBUCKETS];

    p = ngx_slprintf(p, gl_end,
                     "govledger_db_latency_seconds_bucket{le=\"+Inf\"} %uL\n"
                     "govledger_db_latency_seconds_sum %uL.%06uL\n"
                     "govledger_db_latency_seconds_count %uA\n",
                     cum, (uint64_t) st->latency_sum_us / 1000000,
                     (uint64_t) st->latency_sum_us % 1000000,
                     st->latency_count);

    p = ngx_slprintf(p, gl_end,
              "# HELP govledger_pool_connections Database connections by "
              "state, per worker.\n"
              "# TYPE govledger_pool_connections gauge\n");

    for (i = 0; i < NGX_HTTP_GOVLEDGER_MAX_WORKERS; i++) {
        w = &st->workers[i];
        if (w->pid == 0) {
            continue;
        }

        p = ngx_slprintf(p, gl_end,
                "govledger_pool_connections{worker=\"%uA\",state=\"in_use\"} "
                "%uA\n"
                "govledger_pool_connections{worker=\"%uA\",state=\"idle\"} "
                "%uA\n"
                "govledger_pool_connections{worker=\"%uA\","
                "state=\"connecting\"} %uA\n",
                w->pid, w->in_use, w->pid, w->idle, w->pid, w->connecting);
    }

    p = ngx_slprintf(p, gl_end,
              "# HELP govledger_pool_waiting Requests waiting for a "
              "connection, per worker.\n"
              "# TYPE govledger_pool_waiting gauge\n");

    for (i = 0; i < NGX_HTTP_GOVLEDGER_MAX_WORKERS; i++) {
        w = &st->workers[i];
        if (w->pid) {
            p = ngx_slprintf(p, gl_end,
                             "govledger_pool_waiting{worker=\"%uA\"} %uA\n",
                             w->pid, w->waiting);
        }
    }

    p = ngx_slprintf(p, gl_end,
              "# HELP govledger_db_connects_total Connection attempts.\n"
              "# TYPE govledger_db_connects_total counter\n"
              "govledger_db_connects_total %uA\n"
              "# HELP govledger_db_connect_failures_total Failed connection "
              "attempts.\n"
              "# TYPE govledger_db_connect_failures_total counter\n"
              "govledger_db_connect_failures_total %uA\n"
              "# HELP govledger_db_reconnects_total Connections established "
              "after a failure or a lost connection.\n"
              "# TYPE govledger_db_reconnects_total counter\n"
              "govledger_db_reconnects_total %uA\n"
              "# HELP govledger_db_connections_lost_total Connections closed "
              "by errors.\n"
              "# TYPE govledger_db_connections_lost_total counter\n"
              "govledger_db_connections_lost_total %uA\n"
              "# HELP govledger_db_connections_recycled_total Connections "
              "closed for age.\n"
              "# TYPE govledger_db_connections_recycled_total counter\n"
              "govledger_db_connections_recycled_total %uA\n"
              "# HELP govledger_db_timeouts_total Queries the database did "
              "not answer in time.\n"
              "# TYPE govledger_db_timeouts_total counter\n"
              "govledger_db_timeouts_total %uA\n"
              "# HELP govledger_queue_rejections_total Requests refused "
              "because the wait queue was full or the wait too long.\n"
              "# TYPE govledger_queue_rejections_total counter\n"
              "govledger_queue_rejections_total{reason=\"full\"} %uA\n"
              "govledger_queue_rejections_total{reason=\"timeout\"} %uA\n"
              "# HELP govledger_jwt_cache_hits_total Tokens found in the "
              "cache of verified tokens.\n"
              "# TYPE govledger_jwt_cache_hits_total counter\n"
              "govledger_jwt_cache_hits_total %uA\n"
              "# HELP govledger_db_pipelined_total Requests sent behind "
              "the transaction of a busy connection.\n"
              "# TYPE govledger_db_pipelined_total counter\n"
              "govledger_db_pipelined_total %uA\n"
              "# HELP govledger_db_pipeline_retries_total Pipelined requests "
              "sent again because the transaction before them failed.\n"
              "# TYPE govledger_db_pipeline_retries_total counter\n"
              "govledger_db_pipeline_retries_total %uA\n",
              st->connects, st->connect_failures, st->reconnects, st->lost,
              st->recycled, st->db_timeouts, st->queue_full,
              st->queue_timeout, st->jwt_cache_hits, st->pipelined,
              st->pipeline_retries);

    p = ngx_slprintf(p, gl_end,
              "# HELP govledger_auth_failures_total Refused credentials by "
              "reason.\n"
              "# TYPE govledger_auth_failures_total counter\n");

    for (i = 0; i < NGX_HTTP_GOVLEDGER_AF_N; i++) {
        p = ngx_slprintf(p, gl_end,
                         "govledger_auth_failures_total{reason=\"%s\"} %uA\n",
                         ngx_http_govledger_af_labels[i],
                         st->auth_failures[i]);
    }

#undef gl_end

    b->last = p;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
