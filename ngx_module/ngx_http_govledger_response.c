
/*
 * Copyright (C) govledger contributors
 *
 * PGresult to HTTP: the function's json/jsonb/text value is the body as
 * it is, the values of a set-returning function a JSON array, or, under
 * govledger_content_type other than JSON (text/csv, say), lines of text,
 * one a row; errors become JSON {code, message, details, hint} with a status
 * from the SQLSTATE table below (documented in docs/nginx-module.md).
 * Server errors never show the database's own message to the client.
 */


#include "ngx_http_govledger_module.h"


#define NGX_HTTP_GOVLEDGER_VOIDOID  2278


typedef struct {
    const char                *sqlstate;  /* 5 characters, or a class */
    ngx_uint_t                 status;
} ngx_http_govledger_sqlstate_t;


static ngx_int_t ngx_http_govledger_add_header(ngx_http_request_t *r,
    const char *key, ngx_str_t *value);
static ngx_int_t ngx_http_govledger_server_timing(ngx_http_request_t *r);
static ngx_int_t ngx_http_govledger_send_body(ngx_http_request_t *r,
    ngx_uint_t status, u_char *data, size_t len);
static ngx_int_t ngx_http_govledger_send_lines(ngx_http_request_t *r,
    PGresult *res);
static void ngx_http_govledger_set_content_type(ngx_http_request_t *r,
    ngx_uint_t status);
static ngx_int_t ngx_http_govledger_stream_buf(ngx_http_request_t *r,
    ngx_buf_t *b, ngx_uint_t last);


/* exact codes first, then classes (two characters) */

static ngx_http_govledger_sqlstate_t  ngx_http_govledger_sqlstates[] = {
    { "23503", NGX_HTTP_CONFLICT },
    { "23505", NGX_HTTP_CONFLICT },
    { "25006", NGX_HTTP_NOT_ALLOWED },
    { "40001", NGX_HTTP_SERVICE_UNAVAILABLE },
    { "40P01", NGX_HTTP_SERVICE_UNAVAILABLE },
    { "42501", NGX_HTTP_FORBIDDEN },
    { "42883", NGX_HTTP_NOT_FOUND },
    { "42P01", NGX_HTTP_NOT_FOUND },
    { "57014", NGX_HTTP_GATEWAY_TIME_OUT },
    { "57P01", NGX_HTTP_SERVICE_UNAVAILABLE },
    { "57P02", NGX_HTTP_SERVICE_UNAVAILABLE },
    { "57P03", NGX_HTTP_SERVICE_UNAVAILABLE },
    { "P0001", NGX_HTTP_BAD_REQUEST },
    { "P0002", NGX_HTTP_NOT_FOUND },
    { "08", NGX_HTTP_SERVICE_UNAVAILABLE },
    { "0L", NGX_HTTP_FORBIDDEN },
    { "0P", NGX_HTTP_FORBIDDEN },
    { "22", NGX_HTTP_BAD_REQUEST },
    { "23", NGX_HTTP_CONFLICT },
    { "28", NGX_HTTP_FORBIDDEN },
    { "42", NGX_HTTP_BAD_REQUEST },
    { "53", NGX_HTTP_SERVICE_UNAVAILABLE },
    { NULL, 0 }
};


/*
 * The status for a SQLSTATE.  Class PT is for functions that choose
 * their status: SQLSTATE 'PT404' answers 404.  A permission error for
 * a request without credentials is 401, as it asks for them.
 */

ngx_uint_t
ngx_http_govledger_sqlstate_status(const char *sqlstate, ngx_uint_t anonymous)
{
    ngx_int_t                       n;
    ngx_http_govledger_sqlstate_t  *s;

    if (sqlstate == NULL || ngx_strlen(sqlstate) != 5) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (sqlstate[0] == 'P' && sqlstate[1] == 'T') {
        n = ngx_atoi((u_char *) sqlstate + 2, 3);
        if (n >= 400 && n <= 599) {
            return n;
        }

        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (anonymous && ngx_strcmp(sqlstate, "42501") == 0) {
        return NGX_HTTP_UNAUTHORIZED;
    }

    for (s = ngx_http_govledger_sqlstates; s->sqlstate; s++) {
        if (ngx_strlen(s->sqlstate) == 5) {
            if (ngx_strcmp(s->sqlstate, sqlstate) == 0) {
                return s->status;
            }

        } else if (ngx_strncmp(s->sqlstate, sqlstate, 2) == 0) {
            return s->status;
        }
    }

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


ngx_int_t
ngx_http_govledger_send_result(ngx_http_request_t *r,
    ngx_http_govledger_ctx_t *ctx, PGresult *res)
{
    u_char                         *p, *data;
    size_t                          len;
    ngx_int_t                       i, n;
    ngx_uint_t                      status;
    const char                     *sqlstate, *message, *detail, *hint;
    ngx_http_govledger_loc_conf_t  *glcf;

    if (res == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "govledger: the call returned no result");
        return ngx_http_govledger_send_error(r,
                                             NGX_HTTP_INTERNAL_SERVER_ERROR,
                                             "GL500", "internal error",
                                             NULL, NULL);
    }

    if (PQresultStatus(res) == PGRES_FATAL_ERROR) {
        sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
        hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);

        status = ngx_http_govledger_sqlstate_status(sqlstate, ctx->anonymous);

        if (status >= NGX_HTTP_INTERNAL_SERVER_ERROR
            && !(sqlstate && sqlstate[0] == 'P' && sqlstate[1] == 'T'))
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "govledger: %V failed: SQLSTATE %s: %s",
                          &ctx->call->function, sqlstate ? sqlstate : "-",
                          message ? message : "-");

            /* the database's own words stay in the log */
            detail = NULL;
            hint = NULL;

            switch (status) {
            case NGX_HTTP_SERVICE_UNAVAILABLE:
                message = "database unavailable";
                break;
            case NGX_HTTP_GATEWAY_TIME_OUT:
                message = "statement timeout";
                break;
            default:
                message = "internal error";
                break;
            }
        }

        if (status == NGX_HTTP_FORBIDDEN && hint == NULL && ctx->role.len
            && ngx_strcmp(sqlstate, "42501") == 0)
        {
            /* the database names its object; say whose request it refused */
            p = ngx_pnalloc(r->pool, ctx->role.len + 64);
            if (p == NULL) {
                return NGX_ERROR;
            }

            (void) ngx_sprintf(p, "The token's role %V may not make this call.%Z",
                               &ctx->role);
            hint = (const char *) p;
        }

        if (status == NGX_HTTP_UNAUTHORIZED) {
            ngx_str_t  v = ngx_string("Bearer realm=\"govledger\"");

            if (ngx_http_govledger_add_header(r, "WWW-Authenticate", &v)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        return ngx_http_govledger_send_error(r, status,
                                             sqlstate ? sqlstate : "GL500",
                                             message ? message : "error",
                                             detail, hint);
    }

    if ((PQresultStatus(res) != PGRES_TUPLES_OK
         && PQresultStatus(res) != PGRES_SINGLE_TUPLE)
        || PQnfields(res) != 1)
    {
        return ngx_http_govledger_send_error(r,
                                             NGX_HTTP_INTERNAL_SERVER_ERROR,
                                             "GL500", "internal error",
                                             NULL, NULL);
    }

    n = PQntuples(res);

    if (n == 1 && PQftype(res, 0) == NGX_HTTP_GOVLEDGER_VOIDOID) {
        return ngx_http_govledger_send_body(r, NGX_HTTP_NO_CONTENT, NULL, 0);
    }

    glcf = ngx_http_get_module_loc_conf(r, ngx_http_govledger_module);

    if (glcf->text_rows) {
        return ngx_http_govledger_send_lines(r, res);
    }

    if (n == 1) {
        if (PQgetisnull(res, 0, 0)) {
            return ngx_http_govledger_send_body(r, NGX_HTTP_OK,
                                                (u_char *) "null", 4);
        }

        len = PQgetlength(res, 0, 0);

        data = ngx_pnalloc(r->pool, len);
        if (data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(data, PQgetvalue(res, 0, 0), len);

        return ngx_http_govledger_send_body(r, NGX_HTTP_OK, data, len);
    }

    /* a set-returning function: its values as a JSON array */

    len = 2;

    for (i = 0; i < n; i++) {
        len += (PQgetisnull(res, i, 0) ? 4 : PQgetlength(res, i, 0)) + 1;
    }

    data = ngx_pnalloc(r->pool, len);
    if (data == NULL) {
        return NGX_ERROR;
    }

    p = data;
    *p++ = '[';

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
        }

        if (PQgetisnull(res, i, 0)) {
            p = ngx_cpymem(p, "null", 4);

        } else {
            p = ngx_cpymem(p, PQgetvalue(res, i, 0), PQgetlength(res, i, 0));
        }
    }

    *p++ = ']';

    return ngx_http_govledger_send_body(r, NGX_HTTP_OK, data, p - data);
}


/* the values of a result as lines of text, each ending in a newline */

static ngx_int_t
ngx_http_govledger_send_lines(ngx_http_request_t *r, PGresult *res)
{
    u_char     *p, *data;
    size_t      len;
    ngx_int_t   i, n;

    n = PQntuples(res);
    len = 0;

    for (i = 0; i < n; i++) {
        len += PQgetlength(res, i, 0) + 1;
    }

    if (len == 0) {
        return ngx_http_govledger_send_body(r, NGX_HTTP_OK, NULL, 0);
    }

    data = ngx_pnalloc(r->pool, len);
    if (data == NULL) {
        return NGX_ERROR;
    }

    p = data;

    for (i = 0; i < n; i++) {
        p = ngx_cpymem(p, PQgetvalue(res, i, 0), PQgetlength(res, i, 0));
        *p++ = LF;
    }

    return ngx_http_govledger_send_body(r, NGX_HTTP_OK, data, len);
}


/*
 * Content-Type of a response: the location's govledger_content_type for
 * a successful result, JSON for anything else (errors are JSON always).
 */

static void
ngx_http_govledger_set_content_type(ngx_http_request_t *r, ngx_uint_t status)
{
    ngx_http_govledger_loc_conf_t  *glcf;

    glcf = ngx_http_get_module_loc_conf(r, ngx_http_govledger_module);

    if (status < NGX_HTTP_SPECIAL_RESPONSE) {
        r->headers_out.content_type = glcf->content_type;

    } else {
        ngx_str_set(&r->headers_out.content_type, "application/json");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
}


/*
 * Streaming of a read-only call's rows (single-row mode): the first call
 * sends the header and "[row", the next ",row" each, the end "]".  Rows
 * are gathered into buffers of NGX_HTTP_GOVLEDGER_STREAM_BUF bytes before
 * they go to the output filters; data the client cannot take yet is sent
 * from the request's write handler.  There is no Content-Length; HTTP/1.1
 * clients get a chunked body.
 */

#define NGX_HTTP_GOVLEDGER_STREAM_BUF  65536


ngx_int_t
ngx_http_govledger_stream_row(ngx_http_request_t *r,
    ngx_http_govledger_ctx_t *ctx, PGresult *res, ngx_uint_t first)
{
    size_t                          len;
    ngx_int_t                       rc;
    ngx_buf_t                      *b;
    ngx_http_govledger_loc_conf_t  *glcf;

    if (first) {
        r->headers_out.status = NGX_HTTP_OK;
        r->headers_out.content_length_n = -1;
        ngx_http_govledger_set_content_type(r, NGX_HTTP_OK);

        if (ngx_http_govledger_server_timing(r) != NGX_OK) {
            return NGX_ERROR;
        }

        rc = ngx_http_send_header(r);

        if (rc == NGX_ERROR || rc > NGX_OK) {
            return NGX_ERROR;
        }

        r->write_event_handler = ngx_http_govledger_stream_writer;
    }

    if (r->header_only) {
        return NGX_OK;
    }

    if (first) {
        glcf = ngx_http_get_module_loc_conf(r, ngx_http_govledger_module);
        ctx->text_rows = glcf->text_rows;
    }

    if (ctx->text_rows) {
        len = 1 + (size_t) PQgetlength(res, 0, 0);

    } else {
        len = 1 + (PQgetisnull(res, 0, 0) ? 4
                                          : (size_t) PQgetlength(res, 0, 0));
    }

    b = ctx->stream;

    if (b && (size_t) (b->end - b->last) < len) {
        ctx->stream = NULL;

        if (ngx_http_govledger_stream_buf(r, b, 0) == NGX_ERROR) {
            return NGX_ERROR;
        }

        b = NULL;
    }

    if (b == NULL) {
        b = ngx_create_temp_buf(r->pool,
                                ngx_max(len, NGX_HTTP_GOVLEDGER_STREAM_BUF));
        if (b == NULL) {
            return NGX_ERROR;
        }

        ctx->stream = b;
    }

    if (ctx->text_rows) {
        b->last = ngx_cpymem(b->last, PQgetvalue(res, 0, 0), len - 1);
        *b->last++ = LF;

        return NGX_OK;
    }

    *b->last++ = first ? '[' : ',';

    if (PQgetisnull(res, 0, 0)) {
        b->last = ngx_cpymem(b->last, "null", 4);

    } else {
        b->last = ngx_cpymem(b->last, PQgetvalue(res, 0, 0), len - 1);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_govledger_stream_end(ngx_http_request_t *r)
{
    ngx_buf_t                 *b;
    ngx_http_govledger_ctx_t  *ctx;

    if (r->header_only) {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_govledger_module);

    b = ctx->stream;
    ctx->stream = NULL;

    if (b == NULL || b->last == b->end) {
        if (b && ngx_http_govledger_stream_buf(r, b, 0) == NGX_ERROR) {
            return NGX_ERROR;
        }

        b = ngx_create_temp_buf(r->pool, 1);
        if (b == NULL) {
            return NGX_ERROR;
        }
    }

    if (!ctx->text_rows) {
        *b->last++ = ']';
    }

    return ngx_http_govledger_stream_buf(r, b, 1);
}


static ngx_int_t
ngx_http_govledger_stream_buf(ngx_http_request_t *r, ngx_buf_t *b,
    ngx_uint_t last)
{
    ngx_chain_t  out;

    if (last) {
        b->last_buf = (r == r->main) ? 1 : 0;
        b->last_in_chain = 1;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* the client can take more of a streamed response */

void
ngx_http_govledger_stream_writer(ngx_http_request_t *r)
{
    ngx_http_govledger_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_govledger_module);

    if (r->connection->write->timedout) {
        r->connection->timedout = 1;
        ngx_http_govledger_finish(ctx, NGX_HTTP_REQUEST_TIME_OUT);
        return;
    }

    if (ngx_http_output_filter(r, NULL) == NGX_ERROR) {
        if (ctx->conn) {
            ngx_http_govledger_pq_detach(ctx->conn, ctx);
            ctx->conn = NULL;
        }

        ngx_http_govledger_finish(ctx, NGX_ERROR);
    }
}


ngx_int_t
ngx_http_govledger_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message, const char *details,
    const char *hint)
{
    char                            *text;
    u_char                          *data, *p;
    size_t                           len;
    json_t                          *doc;
    ngx_str_t                        v;
    ngx_http_govledger_main_conf_t  *gmcf;

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE) {
        gmcf = ngx_http_get_module_main_conf(r, ngx_http_govledger_module);

        v.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
        if (v.data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_sprintf(v.data, "%M",
                        ngx_http_govledger_pool_retry_after(gmcf->pool));
        v.len = p - v.data;

        if (ngx_http_govledger_add_header(r, "Retry-After", &v) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    doc = json_pack("{s:s, s:s, s:s?, s:s?}", "code", code,
                    "message", message, "details", details, "hint", hint);
    if (doc == NULL) {
        return NGX_ERROR;
    }

    text = json_dumps(doc, JSON_COMPACT|JSON_PRESERVE_ORDER);
    json_decref(doc);

    if (text == NULL) {
        return NGX_ERROR;
    }

    len = ngx_strlen(text);

    data = ngx_pnalloc(r->pool, len);
    if (data == NULL) {
        free(text);
        return NGX_ERROR;
    }

    ngx_memcpy(data, text, len);
    free(text);

    return ngx_http_govledger_send_body(r, status, data, len);
}


static ngx_int_t
ngx_http_govledger_send_body(ngx_http_request_t *r, ngx_uint_t status,
    u_char *data, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (r->header_sent) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "govledger: response already started");
        return NGX_ERROR;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    if (status != NGX_HTTP_NO_CONTENT) {
        ngx_http_govledger_set_content_type(r, status);
    }

    if (ngx_http_govledger_server_timing(r) != NGX_OK) {
        return NGX_ERROR;
    }

    if (len == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_govledger_add_header(ngx_http_request_t *r, const char *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.len = ngx_strlen(key);
    h->key.data = (u_char *) key;
    h->value = *value;

    return NGX_OK;
}


/* Server-Timing: auth, queue (waiting for a connection) and db, in ms */

static ngx_int_t
ngx_http_govledger_server_timing(ngx_http_request_t *r)
{
    u_char                    *p;
    uint64_t                   now, auth, queue, db;
    ngx_str_t                  v;
    ngx_http_govledger_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_govledger_module);
    if (ctx == NULL) {
        return NGX_OK;
    }

    now = ngx_http_govledger_now_us();

    auth = ctx->t_auth > ctx->t_start ? ctx->t_auth - ctx->t_start : 0;
    queue = (ctx->t_ready && ctx->t_queued > ctx->t_ready)
            ? ctx->t_queued - ctx->t_ready : 0;
    db = ctx->t_queued ? (ctx->t_done ? ctx->t_done : now) - ctx->t_queued
                       : 0;

    v.data = ngx_pnalloc(r->pool, 3 * (NGX_INT64_LEN + 16) + 8);
    if (v.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(v.data, "auth;dur=%uL.%03uL, queue;dur=%uL.%03uL, "
                    "db;dur=%uL.%03uL",
                    auth / 1000, auth % 1000, queue / 1000, queue % 1000,
                    db / 1000, db % 1000);
    v.len = p - v.data;

    return ngx_http_govledger_add_header(r, "Server-Timing", &v);
}
