
/*
 * Copyright (C) govledger contributors
 *
 * The access phase handler: bearer tokens (JWT) and client certificates
 * (mTLS) turned into a database role and request.jwt.claims; the
 * request context and the module's variables.
 */


#include "ngx_http_govledger_module.h"


static ngx_int_t ngx_http_govledger_auth_jwt(ngx_http_request_t *r,
    ngx_http_govledger_loc_conf_t *lcf, ngx_http_govledger_ctx_t *ctx);
static ngx_int_t ngx_http_govledger_auth_mtls(ngx_http_request_t *r,
    ngx_http_govledger_loc_conf_t *lcf, ngx_http_govledger_ctx_t *ctx);
static ngx_int_t ngx_http_govledger_auth_fail(ngx_http_request_t *r,
    ngx_uint_t status, ngx_uint_t reason);
static void ngx_http_govledger_ctx_cleanup(void *data);
static ngx_int_t ngx_http_govledger_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_govledger_str_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_govledger_vars[] = {

    { ngx_string("govledger_jwt_claim_"), NULL,
      ngx_http_govledger_claim_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

    { ngx_string("govledger_role"), NULL,
      ngx_http_govledger_str_variable,
      offsetof(ngx_http_govledger_ctx_t, role),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("govledger_jwt_claims"), NULL,
      ngx_http_govledger_str_variable,
      offsetof(ngx_http_govledger_ctx_t, claims),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("govledger_request_body"), NULL,
      ngx_http_govledger_str_variable,
      offsetof(ngx_http_govledger_ctx_t, body),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static const char  *ngx_http_govledger_af_text[] = {
    "missing bearer token",
    "malformed token",
    "algorithm not accepted",
    "unknown key id",
    "unsupported critical header",
    "invalid signature",
    "token expired",
    "token not yet valid",
    "issuer not accepted",
    "audience not accepted",
    "invalid claims",
    "client certificate not accepted",
    "token has no exp claim"
};


uint64_t
ngx_http_govledger_now_us(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


ngx_http_govledger_ctx_t *
ngx_http_govledger_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t        *cln;
    ngx_http_govledger_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_govledger_module);
    if (ctx) {
        return ctx;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_govledger_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     ctx->conn = NULL;
     *     ctx->waiting = 0;
     *     ctx->authenticated = 0;
     *     ctx->role = { 0, NULL };
     *     ctx->claims = { 0, NULL };
     *     ctx->claims_json = NULL;
     *     ctx->body = { 0, NULL };
     */

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_govledger_ctx_cleanup;
    cln->data = ctx;

    ctx->request = r;
    ctx->t_start = ngx_http_govledger_now_us();

    ngx_http_set_ctx(r, ctx, ngx_http_govledger_module);

    return ctx;
}


/*
 * Runs when the request is freed, normally or because the client went
 * away: the request leaves the wait queue, and a connection still
 * working for it finishes on its own and goes back to the pool.
 */

static void
ngx_http_govledger_ctx_cleanup(void *data)
{
    ngx_http_govledger_ctx_t *ctx = data;

    if (ctx->waiting) {
        ngx_http_govledger_pool_cancel(ctx);
    }

    if (ctx->wait.timer_set) {
        ngx_del_timer(&ctx->wait);
    }

    if (ctx->conn) {
        ngx_http_govledger_pq_detach(ctx->conn, ctx);
        ctx->conn = NULL;
    }

    if (ctx->claims_json) {
        json_decref(ctx->claims_json);
        ctx->claims_json = NULL;
    }
}


ngx_int_t
ngx_http_govledger_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_http_govledger_ctx_t       *ctx;
    ngx_http_govledger_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_govledger_module);

    if (lcf->auth == NGX_HTTP_GOVLEDGER_AUTH_OFF) {
        return NGX_DECLINED;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "govledger access handler");

    ctx = ngx_http_govledger_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->authenticated) {
        return NGX_OK;
    }

    if (lcf->auth == NGX_HTTP_GOVLEDGER_AUTH_JWT) {
        rc = ngx_http_govledger_auth_jwt(r, lcf, ctx);

    } else {
        rc = ngx_http_govledger_auth_mtls(r, lcf, ctx);
    }

    if (rc == NGX_DONE) {
        /* refused: the response is sent and the request may be gone */
        return NGX_DONE;
    }

    ctx->t_auth = ngx_http_govledger_now_us();

    if (rc == NGX_OK) {
        ctx->authenticated = 1;
    }

    return rc;
}


static ngx_int_t
ngx_http_govledger_auth_jwt(ngx_http_request_t *r,
    ngx_http_govledger_loc_conf_t *lcf, ngx_http_govledger_ctx_t *ctx)
{
    ngx_int_t         rc;
    ngx_str_t         token;
    ngx_table_elt_t  *h;

    h = r->headers_in.authorization;

    if (h == NULL) {
        if (lcf->anonymous_role.len) {
            ctx->role = lcf->anonymous_role;
            ctx->anonymous = 1;
            return NGX_OK;
        }

        return ngx_http_govledger_auth_fail(r, NGX_HTTP_UNAUTHORIZED,
                                            NGX_HTTP_GOVLEDGER_AF_MISSING);
    }

    token = h->value;

    if (token.len < 7 || ngx_strncasecmp(token.data, (u_char *) "Bearer ", 7)
                         != 0)
    {
        return ngx_http_govledger_auth_fail(r, NGX_HTTP_UNAUTHORIZED,
                                            NGX_HTTP_GOVLEDGER_AF_MISSING);
    }

    token.data += 7;
    token.len -= 7;

    while (token.len && token.data[0] == ' ') {
        token.data++;
        token.len--;
    }

    rc = ngx_http_govledger_jwt_verify(r, lcf, &token, ctx);

    if (rc == NGX_OK) {
        return NGX_OK;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "govledger: token refused: %s",
                  ngx_http_govledger_af_text[rc]);

    return ngx_http_govledger_auth_fail(r, NGX_HTTP_UNAUTHORIZED, rc);
}


static ngx_int_t
ngx_http_govledger_auth_mtls(ngx_http_request_t *r,
    ngx_http_govledger_loc_conf_t *lcf, ngx_http_govledger_ctx_t *ctx)
{
    char                            *text;
    json_t                          *claims;
    ngx_uint_t                       i;
    ngx_str_t                        dn, fp;
    ngx_http_variable_value_t       *vv;
    ngx_http_govledger_mtls_role_t  *mr;
    ngx_http_govledger_main_conf_t  *gmcf;

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_govledger_module);

    vv = ngx_http_get_indexed_variable(r, gmcf->ssl_verify_index);

    if (vv == NULL || vv->not_found || vv->len != 7
        || ngx_strncmp(vv->data, "SUCCESS", 7) != 0)
    {
        return ngx_http_govledger_auth_fail(r, NGX_HTTP_FORBIDDEN,
                                            NGX_HTTP_GOVLEDGER_AF_MTLS);
    }

    vv = ngx_http_get_indexed_variable(r, gmcf->ssl_s_dn_index);
    if (vv == NULL || vv->not_found) {
        return ngx_http_govledger_auth_fail(r, NGX_HTTP_FORBIDDEN,
                                            NGX_HTTP_GOVLEDGER_AF_MTLS);
    }

    dn.data = vv->data;
    dn.len = vv->len;

    vv = ngx_http_get_indexed_variable(r, gmcf->ssl_fingerprint_index);
    if (vv == NULL || vv->not_found) {
        return ngx_http_govledger_auth_fail(r, NGX_HTTP_FORBIDDEN,
                                            NGX_HTTP_GOVLEDGER_AF_MTLS);
    }

    fp.data = vv->data;
    fp.len = vv->len;

    mr = lcf->mtls_roles->elts;

    for (i = 0; i < lcf->mtls_roles->nelts; i++) {
        if (mr[i].fingerprint) {
            if (fp.len == mr[i].match.len
                && ngx_strncasecmp(fp.data, mr[i].match.data, fp.len) == 0)
            {
                break;
            }

        } else if (dn.len == mr[i].match.len
                   && ngx_strncmp(dn.data, mr[i].match.data, dn.len) == 0)
        {
            break;
        }
    }

    if (i == lcf->mtls_roles->nelts) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "govledger: client certificate \"%V\" not mapped "
                      "to a role", &dn);
        return ngx_http_govledger_auth_fail(r, NGX_HTTP_FORBIDDEN,
                                            NGX_HTTP_GOVLEDGER_AF_MTLS);
    }

    ctx->role = mr[i].role;

    claims = json_pack("{s:s%,s:s%,s:s%}",
                       "sub", (char *) dn.data, dn.len,
                       "role", (char *) mr[i].role.data, mr[i].role.len,
                       "x5t", (char *) fp.data, fp.len);
    if (claims == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    text = json_dumps(claims, JSON_COMPACT);
    json_decref(claims);

    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->claims.len = ngx_strlen(text);
    ctx->claims.data = ngx_pnalloc(r->pool, ctx->claims.len + 1);
    if (ctx->claims.data == NULL) {
        free(text);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(ctx->claims.data, text, ctx->claims.len + 1);
    free(text);

    return NGX_OK;
}


/*
 * Refuses the request with a JSON body.  Under "satisfy any" the status
 * is handed back to the access phase instead, so another module may
 * still allow the request.
 */

static ngx_int_t
ngx_http_govledger_auth_fail(ngx_http_request_t *r, ngx_uint_t status,
    ngx_uint_t reason)
{
    u_char                    *p;
    size_t                     len;
    ngx_int_t                  rc;
    ngx_table_elt_t           *h;
    ngx_http_core_loc_conf_t  *clcf;

    ngx_http_govledger_stat_auth_failure(r, reason);

    if (status == NGX_HTTP_UNAUTHORIZED) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        len = sizeof("Bearer realm=\"govledger\", error=\"invalid_token\", "
                     "error_description=\"\"") - 1
              + ngx_strlen(ngx_http_govledger_af_text[reason]);

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "WWW-Authenticate");
        h->value.data = p;

        if (reason == NGX_HTTP_GOVLEDGER_AF_MISSING) {
            p = ngx_cpymem(p, "Bearer realm=\"govledger\"",
                           sizeof("Bearer realm=\"govledger\"") - 1);

        } else {
            p = ngx_sprintf(p, "Bearer realm=\"govledger\", "
                            "error=\"invalid_token\", "
                            "error_description=\"%s\"",
                            ngx_http_govledger_af_text[reason]);
        }

        h->value.len = p - h->value.data;
        r->headers_out.www_authenticate = h;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->satisfy != NGX_HTTP_SATISFY_ALL) {
        return status;
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    rc = ngx_http_govledger_send_error(r, status,
                                       status == NGX_HTTP_UNAUTHORIZED
                                       ? "GL401" : "GL403",
                                       ngx_http_govledger_af_text[reason],
                                       NULL, NULL);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


ngx_int_t
ngx_http_govledger_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_govledger_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_govledger_str_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                 *s;
    ngx_http_govledger_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_govledger_module);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((char *) ctx + data);

    if (s->data == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = s->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_govledger_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t *name = (ngx_str_t *) data;

    char                      *text, key[256];
    size_t                     len;
    json_t                    *claim;
    json_error_t               err;
    ngx_http_govledger_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_govledger_module);

    len = name->len - (sizeof("govledger_jwt_claim_") - 1);

    if (ctx == NULL || ctx->claims.len == 0 || len == 0 || len >= sizeof(key))
    {
        v->not_found = 1;
        return NGX_OK;
    }

    if (ctx->claims_json == NULL) {
        ctx->claims_json = json_loadb((char *) ctx->claims.data,
                                      ctx->claims.len, 0, &err);
        if (ctx->claims_json == NULL) {
            v->not_found = 1;
            return NGX_OK;
        }
    }

    ngx_memcpy(key, name->data + sizeof("govledger_jwt_claim_") - 1, len);
    key[len] = '\0';

    claim = json_object_get(ctx->claims_json, key);

    if (claim == NULL || json_is_null(claim)) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (json_is_string(claim)) {
        v->len = json_string_length(claim);
        v->data = (u_char *) json_string_value(claim);

    } else {
        text = json_dumps(claim, JSON_COMPACT|JSON_ENCODE_ANY);
        if (text == NULL) {
            return NGX_ERROR;
        }

        v->len = ngx_strlen(text);
        v->data = ngx_pnalloc(r->pool, v->len);
        if (v->data == NULL) {
            free(text);
            return NGX_ERROR;
        }

        ngx_memcpy(v->data, text, v->len);
        free(text);
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}
