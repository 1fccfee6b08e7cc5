
/*
 * Copyright (C) govledger contributors
 *
 * Types and cross-file interface of ngx_http_govledger_module.
 */


#ifndef _NGX_HTTP_GOVLEDGER_MODULE_H_INCLUDED_
#define _NGX_HTTP_GOVLEDGER_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <libpq-fe.h>
#include <jansson.h>
#include <openssl/evp.h>


#define NGX_HTTP_GOVLEDGER_AUTH_OFF       0
#define NGX_HTTP_GOVLEDGER_AUTH_JWT       1
#define NGX_HTTP_GOVLEDGER_AUTH_MTLS      2

#define NGX_HTTP_GOVLEDGER_ALG_HS256      1
#define NGX_HTTP_GOVLEDGER_ALG_HS384      2
#define NGX_HTTP_GOVLEDGER_ALG_HS512      3
#define NGX_HTTP_GOVLEDGER_ALG_RS256      4
#define NGX_HTTP_GOVLEDGER_ALG_RS384      5
#define NGX_HTTP_GOVLEDGER_ALG_RS512      6
#define NGX_HTTP_GOVLEDGER_ALG_PS256      7
#define NGX_HTTP_GOVLEDGER_ALG_PS384      8
#define NGX_HTTP_GOVLEDGER_ALG_PS512      9
#define NGX_HTTP_GOVLEDGER_ALG_ES256      10
#define NGX_HTTP_GOVLEDGER_ALG_ES384      11
#define NGX_HTTP_GOVLEDGER_ALG_EDDSA      12

/* reasons of authentication failures, also metric labels */
#define NGX_HTTP_GOVLEDGER_AF_MISSING     0
#define NGX_HTTP_GOVLEDGER_AF_MALFORMED   1
#define NGX_HTTP_GOVLEDGER_AF_ALG         2
#define NGX_HTTP_GOVLEDGER_AF_KID         3
#define NGX_HTTP_GOVLEDGER_AF_CRIT        4
#define NGX_HTTP_GOVLEDGER_AF_SIGNATURE   5
#define NGX_HTTP_GOVLEDGER_AF_EXPIRED     6
#define NGX_HTTP_GOVLEDGER_AF_NBF         7
#define NGX_HTTP_GOVLEDGER_AF_ISSUER      8
#define NGX_HTTP_GOVLEDGER_AF_AUDIENCE    9
#define NGX_HTTP_GOVLEDGER_AF_CLAIMS      10
#define NGX_HTTP_GOVLEDGER_AF_MTLS        11
#define NGX_HTTP_GOVLEDGER_AF_NO_EXP      12
#define NGX_HTTP_GOVLEDGER_AF_N           13

#define NGX_HTTP_GOVLEDGER_ARG_VAR        0
#define NGX_HTTP_GOVLEDGER_ARG_COMPLEX    1
#define NGX_HTTP_GOVLEDGER_ARG_BODY       2

/* statements prepared on every connection before any call */
#define NGX_HTTP_GOVLEDGER_STMT_BEGIN     0
#define NGX_HTTP_GOVLEDGER_STMT_BEGIN_RO  1
#define NGX_HTTP_GOVLEDGER_STMT_SETCFG    2
#define NGX_HTTP_GOVLEDGER_STMT_COMMIT    3
#define NGX_HTTP_GOVLEDGER_STMT_N         4

#define NGX_HTTP_GOVLEDGER_CONN_FREE        0
#define NGX_HTTP_GOVLEDGER_CONN_CONNECTING  1
#define NGX_HTTP_GOVLEDGER_CONN_IDLE        2
#define NGX_HTTP_GOVLEDGER_CONN_BUSY        3

#define NGX_HTTP_GOVLEDGER_CLOSE_NORMAL    0
#define NGX_HTTP_GOVLEDGER_CLOSE_FAILED    1
#define NGX_HTTP_GOVLEDGER_CLOSE_LOST      2

#define NGX_HTTP_GOVLEDGER_MAX_WORKERS    64
#define NGX_HTTP_GOVLEDGER_NBUCKETS       14


/*
 * pipeline=on: a request is pipelined only behind a call that started
 * less than this long ago (ms): pipelining is for short calls under
 * load, and a request must not sit behind a slow one while another
 * connection may free up.
 */
#define NGX_HTTP_GOVLEDGER_PIPELINE_BEHIND  50


typedef struct ngx_http_govledger_conn_s  ngx_http_govledger_conn_t;
typedef struct ngx_http_govledger_pool_s  ngx_http_govledger_pool_t;
typedef struct ngx_http_govledger_cache_s ngx_http_govledger_cache_t;


typedef struct {
    ngx_str_t                  kid;        /* empty when the key has none */
    ngx_uint_t                 alg;        /* the only algorithm accepted */
    EVP_PKEY                  *pkey;       /* NULL for HMAC keys */
    u_char                    *secret;     /* HMAC secret */
    size_t                     secret_len;
} ngx_http_govledger_jwt_key_t;


typedef struct {
    ngx_uint_t                 fingerprint;  /* match on SHA-1 fingerprint */
    ngx_str_t                  match;
    ngx_str_t                  role;
} ngx_http_govledger_mtls_role_t;


typedef struct {
    ngx_uint_t                 type;       /* NGX_HTTP_GOVLEDGER_ARG_* */
    ngx_int_t                  index;      /* variable index */
    ngx_http_complex_value_t  *cv;
} ngx_http_govledger_arg_t;


typedef struct {
    ngx_uint_t                 methods;    /* 0: those of govledger_methods */
    ngx_str_t                  function;   /* as written: schema.function */
    ngx_array_t               *args;       /* ngx_http_govledger_arg_t */
    ngx_str_t                  sql;        /* SELECT ... ($1, ...) */
    ngx_uint_t                 call_index; /* prepared statement number */
} ngx_http_govledger_call_t;


typedef struct {
    ngx_atomic_t               pid;
    ngx_atomic_t               in_use;
    ngx_atomic_t               idle;
    ngx_atomic_t               connecting;
    ngx_atomic_t               waiting;
} ngx_http_govledger_worker_stats_t;


typedef struct {
    ngx_atomic_t               requests[600];
    ngx_atomic_t               latency[NGX_HTTP_GOVLEDGER_NBUCKETS + 1];
    ngx_atomic_t               latency_sum_us;
    ngx_atomic_t               latency_count;
    ngx_atomic_t               auth_failures[NGX_HTTP_GOVLEDGER_AF_N];
    ngx_atomic_t               connects;
    ngx_atomic_t               connect_failures;
    ngx_atomic_t               reconnects;
    ngx_atomic_t               lost;
    ngx_atomic_t               recycled;
    ngx_atomic_t               queue_full;
    ngx_atomic_t               queue_timeout;
    ngx_atomic_t               db_timeouts;
    ngx_atomic_t               jwt_cache_hits;
    ngx_atomic_t               pipelined;
    ngx_atomic_t               pipeline_retries;
    ngx_http_govledger_worker_stats_t  workers[NGX_HTTP_GOVLEDGER_MAX_WORKERS];
} ngx_http_govledger_stats_t;


typedef struct {
    ngx_uint_t                 configured;
    char                     **keywords;
    char                     **values;
    ngx_uint_t                 connections;
    ngx_uint_t                 queue;
    ngx_msec_t                 pipeline;   /* pipeline behind calls younger
                                              than this; 0: never */
    ngx_msec_t                 queue_timeout;
    ngx_msec_t                 connect_timeout;
    ngx_msec_t                 max_age;
    ngx_msec_t                 backoff_max;
    ngx_uint_t                 ncalls;     /* prepared call statements */
    ngx_uint_t                 cache_size; /* verified tokens per worker */
    ngx_shm_zone_t            *shm_zone;
    ngx_http_govledger_stats_t *stats;
    ngx_http_govledger_pool_t  *pool;      /* per worker */
    ngx_http_govledger_cache_t *cache;     /* per worker */
    ngx_int_t                  ssl_verify_index;
    ngx_int_t                  ssl_s_dn_index;
    ngx_int_t                  ssl_fingerprint_index;
    ngx_log_t                 *log;
} ngx_http_govledger_main_conf_t;


typedef struct {
    ngx_uint_t                 auth;
    ngx_array_t               *keys;       /* ngx_http_govledger_jwt_key_t */
    ngx_str_t                  issuer;
    ngx_array_t               *audience;   /* ngx_str_t */
    ngx_int_t                  leeway;
    ngx_str_t                  role_claim;
    ngx_str_t                  anonymous_role;
    ngx_flag_t                 jwt_claims;
    ngx_array_t               *mtls_roles; /* ngx_http_govledger_mtls_role_t */

    ngx_array_t               *calls;      /* ngx_http_govledger_call_t */
    ngx_uint_t                 methods;
    ngx_msec_t                 timeout;    /* statement timeout */
    ngx_flag_t                 body_json;
    ngx_str_t                  content_type; /* of successful results */
    ngx_flag_t                 text_rows;  /* rows as lines, not JSON */
} ngx_http_govledger_loc_conf_t;


typedef struct {
    ngx_http_request_t        *request;
    ngx_queue_t                queue;      /* in the pool's waiting list */
    ngx_event_t                wait;       /* queue timeout */
    ngx_http_govledger_conn_t *conn;
    ngx_http_govledger_loc_conf_t *lcf;
    ngx_http_govledger_call_t *call;

    unsigned                   waiting:1;
    unsigned                   authenticated:1;
    unsigned                   anonymous:1;
    unsigned                   read_only:1;

    ngx_str_t                  role;       /* NUL-terminated */
    ngx_str_t                  claims;     /* JSON text, NUL-terminated */
    json_t                    *claims_json;

    ngx_str_t                  body;       /* NUL-terminated */
    ngx_buf_t                 *stream;     /* rows gathered for sending */
    ngx_uint_t                 text_rows;  /* streaming lines, not JSON */
    ngx_uint_t                 nparams;
    char                     **params;

    ngx_str_t                  method;     /* NUL-terminated */
    char                       timeout[32];

    uint64_t                   t_start;    /* microseconds, monotonic */
    uint64_t                   t_auth;
    uint64_t                   t_ready;
    uint64_t                   t_queued;
    uint64_t                   t_sent;
    uint64_t                   t_done;
} ngx_http_govledger_ctx_t;


struct ngx_http_govledger_conn_s {
    ngx_queue_t                queue;      /* idle or free list */
    ngx_http_govledger_pool_t *pool;
    PGconn                    *pg;
    ngx_connection_t          *c;
    ngx_uint_t                 ino;        /* socket inode, to see swaps */
    ngx_uint_t                 state;
    ngx_msec_t                 created;
    ngx_event_t                timer;      /* connect and query deadline */

    u_char                    *prepared;   /* per call statement */
    ngx_uint_t                 base_prepared;

    ngx_http_govledger_ctx_t  *ctx;        /* NULL while draining */
    ngx_uint_t                 item;       /* pipeline item being read */
    ngx_uint_t                 item_seen;  /* a result of item arrived */
    ngx_uint_t                 call_item;
    ngx_uint_t                 prep_call_item; /* item preparing the call */
    ngx_uint_t                 prep_call_idx;
    ngx_uint_t                 prep_base_item; /* item preparing base */
    ngx_uint_t                 nprep_base;
    ngx_uint_t                 rollback;   /* draining a ROLLBACK */
    ngx_uint_t                 flushing;
    ngx_uint_t                 broken;     /* close after this pipeline */
    ngx_uint_t                 stream;     /* rows of the call one by one */
    ngx_uint_t                 streaming;  /* response started */
    ngx_int_t                  stream_rc;
    ngx_http_govledger_ctx_t  *next;       /* pipelined behind ctx, or to
                                              send again after a ROLLBACK;
                                              NULL when it left */
    ngx_uint_t                 has_next;
    uint64_t                   started;    /* ctx's call began, us */
    ngx_uint_t                 begun;      /* ctx's BEGIN ran */
    ngx_uint_t                 ended;      /* its COMMIT ran, or failed */
    ngx_uint_t                 begin_aborted; /* its BEGIN met an aborted
                                              transaction block (25P02) */
    ngx_uint_t                 after_abort;  /* ctx was sent behind a
                                              transaction that failed */
    ngx_msec_t                 next_timeout;
    PGresult                  *first_row;  /* held until a second arrives */
    PGresult                  *result;     /* the call's rows */
    PGresult                  *error;      /* the first error */
    ngx_uint_t                 error_item; /* the item it came from */
};


struct ngx_http_govledger_pool_s {
    ngx_http_govledger_main_conf_t *gmcf;
    ngx_http_govledger_conn_t *conns;
    ngx_queue_t                idle;
    ngx_queue_t                free;
    ngx_queue_t                waiting;
    ngx_uint_t                 nwaiting;
    ngx_uint_t                 nbusy;
    ngx_uint_t                 nidle;
    ngx_uint_t                 nconnecting;
    ngx_uint_t                 exiting;
    ngx_uint_t                 failed;     /* since the last good connect */
    ngx_msec_t                 backoff;
    ngx_msec_t                 retry_at;
    ngx_log_t                 *log;
};


extern ngx_module_t  ngx_http_govledger_module;


/* auth */
ngx_int_t ngx_http_govledger_access_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_govledger_add_variables(ngx_conf_t *cf);
ngx_http_govledger_ctx_t *ngx_http_govledger_get_ctx(ngx_http_request_t *r);

/* jwt */
char *ngx_http_govledger_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_govledger_jwt_verify(ngx_http_request_t *r,
    ngx_http_govledger_loc_conf_t *lcf, ngx_str_t *token,
    ngx_http_govledger_ctx_t *ctx);
ngx_int_t ngx_http_govledger_cache_init(ngx_cycle_t *cycle,
    ngx_http_govledger_main_conf_t *gmcf);
void ngx_http_govledger_cache_free(ngx_http_govledger_main_conf_t *gmcf);

/* pool */
ngx_int_t ngx_http_govledger_pool_init(ngx_cycle_t *cycle,
    ngx_http_govledger_main_conf_t *gmcf);
void ngx_http_govledger_pool_done(ngx_http_govledger_main_conf_t *gmcf);
ngx_int_t ngx_http_govledger_pool_acquire(ngx_http_govledger_pool_t *pool,
    ngx_http_govledger_ctx_t *ctx);
void ngx_http_govledger_pool_cancel(ngx_http_govledger_ctx_t *ctx);
void ngx_http_govledger_pool_connected(ngx_http_govledger_conn_t *conn);
void ngx_http_govledger_pool_release(ngx_http_govledger_conn_t *conn);
void ngx_http_govledger_pool_closed(ngx_http_govledger_conn_t *conn,
    ngx_uint_t reason);
ngx_msec_t ngx_http_govledger_pool_retry_after(
    ngx_http_govledger_pool_t *pool);
void ngx_http_govledger_pool_stats(ngx_http_govledger_pool_t *pool);

/* pq */
ngx_int_t ngx_http_govledger_pq_connect(ngx_http_govledger_conn_t *conn);
ngx_int_t ngx_http_govledger_pq_send(ngx_http_govledger_conn_t *conn,
    ngx_http_govledger_ctx_t *ctx);
void ngx_http_govledger_pq_close(ngx_http_govledger_conn_t *conn,
    ngx_uint_t reason);
void ngx_http_govledger_pq_detach(ngx_http_govledger_conn_t *conn,
    ngx_http_govledger_ctx_t *ctx);
void ngx_http_govledger_pool_refill(ngx_http_govledger_conn_t *conn);
ngx_int_t ngx_http_govledger_pq_can_pipeline(
    ngx_http_govledger_conn_t *conn, ngx_http_govledger_ctx_t *ctx);
void ngx_http_govledger_pq_cut_off(ngx_http_govledger_ctx_t *ctx,
    ngx_uint_t in_doubt);
ngx_int_t ngx_http_govledger_pq_send_next(ngx_http_govledger_conn_t *conn,
    ngx_http_govledger_ctx_t *ctx);

/* request */
ngx_int_t ngx_http_govledger_call_handler(ngx_http_request_t *r);
void ngx_http_govledger_dispatch(ngx_http_govledger_ctx_t *ctx,
    ngx_http_govledger_conn_t *conn);
void ngx_http_govledger_fail(ngx_http_govledger_ctx_t *ctx,
    ngx_uint_t status, char *code, char *message);
uint64_t ngx_http_govledger_now_us(void);

/* response */
ngx_int_t ngx_http_govledger_send_result(ngx_http_request_t *r,
    ngx_http_govledger_ctx_t *ctx, PGresult *res);
ngx_int_t ngx_http_govledger_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, const char *message,
    const char *details, const char *hint);
ngx_int_t ngx_http_govledger_stream_row(ngx_http_request_t *r,
    ngx_http_govledger_ctx_t *ctx, PGresult *res, ngx_uint_t first);
ngx_int_t ngx_http_govledger_stream_end(ngx_http_request_t *r);
void ngx_http_govledger_stream_writer(ngx_http_request_t *r);
ngx_uint_t ngx_http_govledger_sqlstate_status(const char *sqlstate,
    ngx_uint_t anonymous);
void ngx_http_govledger_finish(ngx_http_govledger_ctx_t *ctx, ngx_int_t rc);

/* status */
ngx_int_t ngx_http_govledger_status_init_zone(ngx_conf_t *cf,
    ngx_http_govledger_main_conf_t *gmcf);
ngx_int_t ngx_http_govledger_status_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_govledger_log_handler(ngx_http_request_t *r);
void ngx_http_govledger_stat_latency(ngx_http_govledger_main_conf_t *gmcf,
    uint64_t us);
void ngx_http_govledger_stat_auth_failure(ngx_http_request_t *r,
    ngx_uint_t reason);

#define ngx_http_govledger_stat_inc(gmcf, field)                            \
    if ((gmcf)->stats) {                                                    \
        (void) ngx_atomic_fetch_add(&(gmcf)->stats->field, 1);              \
    }


#endif /* _NGX_HTTP_GOVLEDGER_MODULE_H_INCLUDED_ */
