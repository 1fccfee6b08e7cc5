
/*
 * Copyright (C) govledger contributors
 *
 * The content handler of "govledger_call" locations: method check, the
 * request body read and checked (media type, JSON syntax) before any SQL
 * runs, nginx variables evaluated into text parameters, then a pooled
 * connection.
 */


#include "ngx_http_govledger_module.h"


static void ngx_http_govledger_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_govledger_prepare(ngx_http_request_t *r,
    ngx_http_govledger_ctx_t *ctx, char **message, char **details);
static ngx_int_t ngx_http_govledger_read_body(ngx_http_request_t *r,
    ngx_http_govledger_ctx_t *ctx);
static ngx_int_t ngx_http_govledger_json_type(ngx_http_request_t *r);
static ngx_int_t ngx_http_govledger_param(ngx_http_request_t *r,
    ngx_str_t *value, char **param);


ngx_int_t
ngx_http_govledger_call_handler(ngx_http_request_t *r)
{
    u_char                         *p;
    ngx_int_t                       rc;
    ngx_uint_t                      i, mask, allowed;
    ngx_table_elt_t                *h;
    ngx_conf_bitmask_t             *m;
    ngx_http_govledger_ctx_t       *ctx;
    ngx_http_govledger_call_t      *call, *found;
    ngx_http_govledger_loc_conf_t  *lcf;

    static ngx_conf_bitmask_t  methods[] = {
        { ngx_string("GET"), NGX_HTTP_GET },
        { ngx_string("HEAD"), NGX_HTTP_HEAD },
        { ngx_string("POST"), NGX_HTTP_POST },
        { ngx_string("PUT"), NGX_HTTP_PUT },
        { ngx_string("PATCH"), NGX_HTTP_PATCH },
        { ngx_string("DELETE"), NGX_HTTP_DELETE },
        { ngx_null_string, 0 }
    };

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "govledger call handler");

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_govledger_module);

    /* the first call whose methods include the request's */

    allowed = 0;
    call = lcf->calls->elts;
    found = NULL;

    for (i = 0; i < lcf->calls->nelts; i++) {
        mask = call[i].methods ? call[i].methods : lcf->methods;
        allowed |= mask;

        if (found == NULL && (r->method & mask)) {
            found = &call[i];
        }
    }

    if (found == NULL) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            r->keepalive = 0;
        }

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_pnalloc(r->pool, sizeof("GET, HEAD, POST, PUT, PATCH, DELETE"));
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        h->value.data = p;

        for (m = methods; m->name.len; m++) {
            if (allowed & m->mask) {
                if (p != h->value.data) {
                    *p++ = ',';
                    *p++ = ' ';
                }

                p = ngx_cpymem(p, m->name.data, m->name.len);
            }
        }

        h->value.len = p - h->value.data;

        return ngx_http_govledger_send_error(r, NGX_HTTP_NOT_ALLOWED, "GL405",
                                             "method not allowed", NULL,
                                             NULL);
    }

    ctx = ngx_http_govledger_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->lcf = lcf;
    ctx->call = found;
    ctx->read_only = (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) ? 1 : 0;

    if (!ctx->authenticated && lcf->anonymous_role.len) {
        ctx->role = lcf->anonymous_role;
        ctx->anonymous = 1;
    }

    if (ctx->t_auth == 0) {
        ctx->t_auth = ctx->t_start;
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_govledger_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_govledger_body_handler(ngx_http_request_t *r)
{
    char                            *message, *details, code[8];
    ngx_int_t                        rc;
    ngx_http_govledger_ctx_t        *ctx;
    ngx_http_govledger_main_conf_t  *gmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_govledger_module);
    gmcf = ngx_http_get_module_main_conf(r, ngx_http_govledger_module);

    message = NULL;
    details = NULL;

    rc = ngx_http_govledger_prepare(r, ctx, &message, &details);

    if (rc != NGX_OK) {
        if (message) {
            (void) ngx_sprintf((u_char *) code, "GL%03i%Z", rc);
            rc = ngx_http_govledger_send_error(r, rc, code, message, details,
                                               NULL);
        }

        ngx_http_finalize_request(r, rc);
        return;
    }

    ctx->t_ready = ngx_http_govledger_now_us();

    /* notice a client that closes the connection while we wait */
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    if (gmcf->pool == NULL) {
        ngx_http_govledger_fail(ctx, NGX_HTTP_SERVICE_UNAVAILABLE, "GL503",
                                "database unavailable");
        return;
    }

    rc = ngx_http_govledger_pool_acquire(gmcf->pool, ctx);

    switch (rc) {

    case NGX_DECLINED:
        ngx_http_govledger_fail(ctx, NGX_HTTP_SERVICE_UNAVAILABLE, "GL503",
                                "database unavailable");
        return;

    case NGX_BUSY:
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "govledger: wait queue full");
        ngx_http_govledger_fail(ctx, NGX_HTTP_SERVICE_UNAVAILABLE, "GL503",
                                "database busy");
        return;

    default:
        /* dispatched or queued; finished from the connection's events */
        return;
    }
}


/*
 * Everything that can be refused before the database is asked.  Returns
 * NGX_OK, or an HTTP status with the message to send (none for a 500).
 */

static ngx_int_t
ngx_http_govledger_prepare(ngx_http_request_t *r,
    ngx_http_govledger_ctx_t *ctx, char **message, char **details)
{
    char                           *err;
    const char                     *what;
    json_t                         *doc;
    ngx_int_t                       rc;
    ngx_str_t                       value;
    ngx_uint_t                      i;
    json_error_t                    jerr;
    ngx_http_govledger_arg_t       *args;
    ngx_http_variable_value_t      *vv;
    ngx_http_govledger_loc_conf_t  *lcf;

    lcf = ctx->lcf;

    if (ngx_http_govledger_read_body(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->body.len && lcf->body_json) {

        if (ngx_http_govledger_json_type(r) != NGX_OK) {
            *message = "request body must be application/json";
            return NGX_HTTP_UNSUPPORTED_MEDIA_TYPE;
        }

        doc = json_loadb((char *) ctx->body.data, ctx->body.len,
                         JSON_DECODE_ANY|JSON_REJECT_DUPLICATES, &jerr);
        if (doc == NULL) {
            err = ngx_pnalloc(r->pool, sizeof(jerr.text) + 64);
            if (err == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            what = jerr.text;

            if (json_error_code(&jerr) == json_error_null_character) {
                /* jansson's own wording names one of its flags */
                what = "\\u0000 (a NUL character) is not accepted";
            }

            (void) ngx_snprintf((u_char *) err, sizeof(jerr.text) + 63,
                                "%s at line %d, column %d%Z",
                                what, jerr.line, jerr.column);

            *message = "malformed JSON body";
            *details = err;
            return NGX_HTTP_BAD_REQUEST;
        }

        json_decref(doc);
    }

    ctx->nparams = ctx->call->args->nelts;
    ctx->params = ngx_pcalloc(r->pool, (ctx->nparams + 1) * sizeof(char *));
    if (ctx->params == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    args = ctx->call->args->elts;

    for (i = 0; i < ctx->nparams; i++) {

        switch (args[i].type) {

        case NGX_HTTP_GOVLEDGER_ARG_BODY:
            ctx->params[i] = ctx->body.len ? (char *) ctx->body.data : NULL;
            continue;

        case NGX_HTTP_GOVLEDGER_ARG_VAR:
            vv = ngx_http_get_indexed_variable(r, args[i].index);

            if (vv == NULL || vv->not_found) {
                /* an absent variable is SQL NULL */
                ctx->params[i] = NULL;
                continue;
            }

            value.data = vv->data;
            value.len = vv->len;
            break;

        default:
            if (ngx_http_complex_value(r, args[i].cv, &value) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            break;
        }

        rc = ngx_http_govledger_param(r, &value, &ctx->params[i]);

        if (rc == NGX_DECLINED) {
            *message = "invalid parameter";
            return NGX_HTTP_BAD_REQUEST;
        }

        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ctx->method.len = r->method_name.len;
    ctx->method.data = ngx_pnalloc(r->pool, r->method_name.len + 1);
    if (ctx->method.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_cpymem(ctx->method.data, r->method_name.data, r->method_name.len)
        = '\0';

    (void) ngx_sprintf((u_char *) ctx->timeout, "%M%Z", lcf->timeout);

    return NGX_OK;
}


/* a text parameter: a NUL-terminated copy; an embedded NUL is refused */

static ngx_int_t
ngx_http_govledger_param(ngx_http_request_t *r, ngx_str_t *value,
    char **param)
{
    u_char  *p;

    if (ngx_strlchr(value->data, value->data + value->len, '\0') != NULL) {
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(r->pool, value->len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem(p, value->data, value->len) = '\0';
    *param = (char *) p;

    return NGX_OK;
}


/* the whole body in one NUL-terminated buffer, also when in a file */

static ngx_int_t
ngx_http_govledger_read_body(ngx_http_request_t *r,
    ngx_http_govledger_ctx_t *ctx)
{
    u_char       *p;
    off_t         len, size;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->body.data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        size = ngx_buf_size(b);

        if (b->in_file && !ngx_buf_in_memory(b)) {
            n = ngx_read_file(b->file, p, size, b->file_pos);
            if (n != size) {
                return NGX_ERROR;
            }

            p += size;

        } else {
            p = ngx_cpymem(p, b->pos, size);
        }
    }

    *p = '\0';
    ctx->body.len = p - ctx->body.data;

    return NGX_OK;
}


/* application/json or application/<something>+json, any parameters */

static ngx_int_t
ngx_http_govledger_json_type(ngx_http_request_t *r)
{
    u_char     *p, *last;
    ngx_str_t   type;

    if (r->headers_in.content_type == NULL) {
        return NGX_DECLINED;
    }

    type = r->headers_in.content_type->value;
    last = ngx_strlchr(type.data, type.data + type.len, ';');
    if (last == NULL) {
        last = type.data + type.len;
    }

    while (last > type.data && last[-1] == ' ') {
        last--;
    }

    type.len = last - type.data;

    if (type.len == sizeof("application/json") - 1
        && ngx_strncasecmp(type.data, (u_char *) "application/json",
                           type.len) == 0)
    {
        return NGX_OK;
    }

    if (type.len > sizeof("application/+json") - 1
        && ngx_strncasecmp(type.data, (u_char *) "application/", 12) == 0
        && ngx_strncasecmp(last - 5, (u_char *) "+json", 5) == 0)
    {
        for (p = type.data + 12; p < last - 5; p++) {
            if (*p == '/' || *p == ' ') {
                return NGX_DECLINED;
            }
        }

        return NGX_OK;
    }

    return NGX_DECLINED;
}


void
ngx_http_govledger_dispatch(ngx_http_govledger_ctx_t *ctx,
    ngx_http_govledger_conn_t *conn)
{
    ctx->conn = conn;
    conn->ctx = ctx;
    ctx->t_queued = ngx_http_govledger_now_us();

    if (ngx_http_govledger_pq_send(conn, ctx) == NGX_OK) {
        return;
    }

    ctx->conn = NULL;
    conn->ctx = NULL;

    ngx_http_govledger_pq_close(conn, NGX_HTTP_GOVLEDGER_CLOSE_LOST);

    ngx_http_govledger_fail(ctx, NGX_HTTP_SERVICE_UNAVAILABLE, "GL503",
                            "database unavailable");
}


void
ngx_http_govledger_fail(ngx_http_govledger_ctx_t *ctx, ngx_uint_t status,
    char *code, char *message)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = ctx->request;

    if (r->header_sent) {
        /* a streamed response cannot change its status: cut it short */
        ngx_http_govledger_finish(ctx, NGX_ERROR);
        return;
    }

    rc = ngx_http_govledger_send_error(r, status, code, message, NULL, NULL);

    ngx_http_govledger_finish(ctx, rc);
}


void
ngx_http_govledger_finish(ngx_http_govledger_ctx_t *ctx, ngx_int_t rc)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    /* ctx may be gone after this */
    ngx_http_finalize_request(r, rc);

    ngx_http_run_posted_requests(c);
}
