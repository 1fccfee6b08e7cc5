
/*
 * Copyright (C) govledger contributors
 *
 * ngx_http_govledger_module: directives, configuration structures and
 * the module definition; per-worker state is set up in init_process.
 */


#include "ngx_http_govledger_module.h"


static ngx_int_t ngx_http_govledger_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_govledger_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_govledger_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_govledger_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_govledger_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_govledger_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_govledger_init_process(ngx_cycle_t *cycle);
static void ngx_http_govledger_exit_process(ngx_cycle_t *cycle);

static char *ngx_http_govledger_database(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_govledger_auth(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_govledger_audience(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_govledger_mtls_role(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_govledger_call(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_govledger_methods(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_govledger_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_govledger_timeout_max(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_govledger_role_name(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_http_govledger_identifier(ngx_str_t *s);
static void ngx_http_govledger_free_conninfo(void *data);
static void ngx_http_govledger_check_hosts(ngx_conf_t *cf, char **keywords,
    char **values, ngx_uint_t n);


static ngx_conf_post_handler_pt  ngx_http_govledger_role_post =
    ngx_http_govledger_role_name;

static ngx_conf_post_handler_pt  ngx_http_govledger_timeout_post =
    ngx_http_govledger_timeout_max;


static ngx_command_t  ngx_http_govledger_commands[] = {

    { ngx_string("govledger_database"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_govledger_database,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("govledger_jwt_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_govledger_main_conf_t, cache_size),
      NULL },

    { ngx_string("govledger_auth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_govledger_auth,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("govledger_jwt_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_govledger_jwt_key,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("govledger_jwt_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_govledger_loc_conf_t, issuer),
      NULL },

    { ngx_string("govledger_jwt_audience"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_govledger_audience,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("govledger_jwt_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_govledger_loc_conf_t, leeway),
      NULL },

    { ngx_string("govledger_jwt_role_claim"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_govledger_loc_conf_t, role_claim),
      NULL },

    { ngx_string("govledger_jwt_claims"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_govledger_loc_conf_t, jwt_claims),
      NULL },

    { ngx_string("govledger_anonymous_role"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_govledger_loc_conf_t, anonymous_role),
      &ngx_http_govledger_role_post },

    { ngx_string("govledger_mtls_role"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_govledger_mtls_role,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("govledger_call"),
      NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_govledger_call,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("govledger_methods"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_govledger_methods,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("govledger_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_govledger_loc_conf_t, timeout),
      &ngx_http_govledger_timeout_post },

    { ngx_string("govledger_content_type"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_govledger_loc_conf_t, content_type),
      NULL },

    { ngx_string("govledger_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_govledger_status,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_govledger_module_ctx = {
    ngx_http_govledger_preconfiguration,   /* preconfiguration */
    ngx_http_govledger_postconfiguration,  /* postconfiguration */

    ngx_http_govledger_create_main_conf,   /* create main configuration */
    ngx_http_govledger_init_main_conf,     /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_govledger_create_loc_conf,    /* create location configuration */
    ngx_http_govledger_merge_loc_conf      /* merge location configuration */
};


ngx_module_t  ngx_http_govledger_module = {
    NGX_MODULE_V1,
    &ngx_http_govledger_module_ctx,        /* module context */
    ngx_http_govledger_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_govledger_init_process,       /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_govledger_exit_process,       /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_conf_bitmask_t  ngx_http_govledger_method_names[] = {
    { ngx_string("GET"), NGX_HTTP_GET },
    { ngx_string("HEAD"), NGX_HTTP_HEAD },
    { ngx_string("POST"), NGX_HTTP_POST },
    { ngx_string("PUT"), NGX_HTTP_PUT },
    { ngx_string("PATCH"), NGX_HTTP_PATCH },
    { ngx_string("DELETE"), NGX_HTTP_DELETE },
    { ngx_null_string, 0 }
};


static ngx_int_t
ngx_http_govledger_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_govledger_add_variables(cf);
}


static ngx_int_t
ngx_http_govledger_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt             *h;
    ngx_http_core_main_conf_t       *cmcf;
    ngx_http_govledger_main_conf_t  *gmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_govledger_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_govledger_access_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_govledger_log_handler;

    return ngx_http_govledger_status_init_zone(cf, gmcf);
}


static void *
ngx_http_govledger_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_govledger_main_conf_t  *gmcf;

    gmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_govledger_main_conf_t));
    if (gmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     gmcf->configured = 0;
     *     gmcf->conninfo = { 0, NULL };
     *     gmcf->keywords = NULL;
     *     gmcf->values = NULL;
     *     gmcf->ncalls = 0;
     *     gmcf->shm_zone = NULL;
     *     gmcf->stats = NULL;
     *     gmcf->pool = NULL;
     *     gmcf->cache = NULL;
     */

    gmcf->connections = NGX_CONF_UNSET_UINT;
    gmcf->queue = NGX_CONF_UNSET_UINT;
    gmcf->pipeline = NGX_CONF_UNSET_MSEC;
    gmcf->queue_timeout = NGX_CONF_UNSET_MSEC;
    gmcf->connect_timeout = NGX_CONF_UNSET_MSEC;
    gmcf->max_age = NGX_CONF_UNSET_MSEC;
    gmcf->backoff_max = NGX_CONF_UNSET_MSEC;
    gmcf->cache_size = NGX_CONF_UNSET_UINT;
    gmcf->ssl_verify_index = NGX_ERROR;
    gmcf->ssl_s_dn_index = NGX_ERROR;
    gmcf->ssl_fingerprint_index = NGX_ERROR;

    return gmcf;
}


static char *
ngx_http_govledger_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_govledger_main_conf_t *gmcf = conf;

    ngx_conf_init_uint_value(gmcf->connections, 8);
    ngx_conf_init_uint_value(gmcf->queue, 256);
    ngx_conf_init_msec_value(gmcf->pipeline,
                             NGX_HTTP_GOVLEDGER_PIPELINE_BEHIND);
    ngx_conf_init_msec_value(gmcf->queue_timeout, 5000);
    ngx_conf_init_msec_value(gmcf->connect_timeout, 5000);
    ngx_conf_init_msec_value(gmcf->max_age, 3600000);
    ngx_conf_init_msec_value(gmcf->backoff_max, 2000);
    ngx_conf_init_uint_value(gmcf->cache_size, 1024);

    return NGX_CONF_OK;
}


static void *
ngx_http_govledger_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_govledger_loc_conf_t  *lcf;

    lcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_govledger_loc_conf_t));
    if (lcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     lcf->issuer = { 0, NULL };
     *     lcf->role_claim = { 0, NULL };
     *     lcf->anonymous_role = { 0, NULL };
     *     lcf->calls = NULL;
     *     lcf->methods = 0;
     *     lcf->content_type = { 0, NULL };
     *     lcf->text_rows = 0;
     */

    lcf->auth = NGX_CONF_UNSET_UINT;
    lcf->keys = NGX_CONF_UNSET_PTR;
    lcf->audience = NGX_CONF_UNSET_PTR;
    lcf->mtls_roles = NGX_CONF_UNSET_PTR;
    lcf->leeway = NGX_CONF_UNSET;
    lcf->jwt_claims = NGX_CONF_UNSET;
    lcf->timeout = NGX_CONF_UNSET_MSEC;
    lcf->body_json = NGX_CONF_UNSET;

    return lcf;
}


static char *
ngx_http_govledger_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_govledger_loc_conf_t *prev = parent;
    ngx_http_govledger_loc_conf_t *conf = child;

    ngx_conf_merge_uint_value(conf->auth, prev->auth,
                              NGX_HTTP_GOVLEDGER_AUTH_OFF);
    ngx_conf_merge_ptr_value(conf->keys, prev->keys, NULL);
    ngx_conf_merge_str_value(conf->issuer, prev->issuer, "");
    ngx_conf_merge_ptr_value(conf->audience, prev->audience, NULL);
    ngx_conf_merge_value(conf->leeway, prev->leeway, 30);
    ngx_conf_merge_str_value(conf->role_claim, prev->role_claim, "role");
    ngx_conf_merge_str_value(conf->anonymous_role, prev->anonymous_role, "");
    ngx_conf_merge_value(conf->jwt_claims, prev->jwt_claims, 1);
    ngx_conf_merge_ptr_value(conf->mtls_roles, prev->mtls_roles, NULL);
    ngx_conf_merge_msec_value(conf->timeout, prev->timeout, 30000);
    ngx_conf_merge_value(conf->body_json, prev->body_json, 1);
    ngx_conf_merge_str_value(conf->content_type, prev->content_type,
                             "application/json");

    /* any other type than JSON: the rows of a result are lines of text */
    conf->text_rows = !(conf->content_type.len == 16
                        && ngx_strncasecmp(conf->content_type.data,
                                           (u_char *) "application/json",
                                           16) == 0);

    if (conf->methods == 0) {
        conf->methods = prev->methods ? prev->methods
                        : (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST);
    }

    if (conf->auth == NGX_HTTP_GOVLEDGER_AUTH_JWT && conf->keys == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"govledger_auth jwt\" requires "
                           "\"govledger_jwt_key\"");
        return NGX_CONF_ERROR;
    }

    if (conf->auth == NGX_HTTP_GOVLEDGER_AUTH_MTLS
        && conf->mtls_roles == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"govledger_auth mtls\" requires "
                           "\"govledger_mtls_role\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_govledger_init_process(ngx_cycle_t *cycle)
{
    ngx_http_govledger_main_conf_t  *gmcf;

    gmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_govledger_module);
    if (gmcf == NULL) {
        return NGX_OK;
    }

    if (ngx_http_govledger_cache_init(cycle, gmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!gmcf->configured) {
        return NGX_OK;
    }

    return ngx_http_govledger_pool_init(cycle, gmcf);
}


static void
ngx_http_govledger_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_govledger_main_conf_t  *gmcf;

    gmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_govledger_module);
    if (gmcf == NULL) {
        return;
    }

    ngx_http_govledger_pool_done(gmcf);
    ngx_http_govledger_cache_free(gmcf);
}


static char *
ngx_http_govledger_database(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_govledger_main_conf_t *gmcf = conf;

    char                *err, *cinfo;
    ngx_str_t           *value, s;
    ngx_int_t            n;
    ngx_uint_t           i, k;
    ngx_msec_t           ms;
    PQconninfoOption    *opts, *o;
    ngx_pool_cleanup_t  *cln;

    if (gmcf->configured) {
        return "is duplicate";
    }

    value = cf->args->elts;

    cinfo = ngx_pnalloc(cf->pool, value[1].len + 1);
    if (cinfo == NULL) {
        return NGX_CONF_ERROR;
    }

    (void) ngx_cpystrn((u_char *) cinfo, value[1].data, value[1].len + 1);

    err = NULL;
    opts = PQconninfoParse(cinfo, &err);

    if (opts == NULL) {
        /* the message may quote the conninfo: it is not repeated here */
        if (err) {
            PQfreemem(err);
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid connection string in "
                           "\"govledger_database\"");
        return NGX_CONF_ERROR;
    }

    n = 1;
    for (o = opts; o->keyword; o++) {
        if (o->val && o->val[0]) {
            n++;
        }
    }

    gmcf->keywords = ngx_pcalloc(cf->pool, (n + 1) * sizeof(char *));
    gmcf->values = ngx_pcalloc(cf->pool, (n + 1) * sizeof(char *));
    if (gmcf->keywords == NULL || gmcf->values == NULL) {
        PQconninfoFree(opts);
        return NGX_CONF_ERROR;
    }

    k = 0;
    for (o = opts; o->keyword; o++) {
        if (o->val == NULL || o->val[0] == '\0') {
            continue;
        }

        gmcf->keywords[k] = (char *) ngx_pstrdup(cf->pool,
                                        &(ngx_str_t) { ngx_strlen(o->keyword)
                                                       + 1,
                                                       (u_char *) o->keyword });
        gmcf->values[k] = (char *) ngx_pstrdup(cf->pool,
                                        &(ngx_str_t) { ngx_strlen(o->val) + 1,
                                                       (u_char *) o->val });
        if (gmcf->keywords[k] == NULL || gmcf->values[k] == NULL) {
            PQconninfoFree(opts);
            return NGX_CONF_ERROR;
        }

        k++;
    }

    ngx_http_govledger_check_hosts(cf, gmcf->keywords, gmcf->values, k);

    gmcf->keywords[k] = "fallback_application_name";
    gmcf->values[k] = "govledger-nginx";

    PQconninfoFree(opts);

    /* wipe our copy of the connection string, it may hold a password */
    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_explicit_memzero(cinfo, value[1].len);
    cln->handler = ngx_http_govledger_free_conninfo;
    cln->data = gmcf;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "connections=", 12) == 0) {
            n = ngx_atoi(value[i].data + 12, value[i].len - 12);
            if (n <= 0 || n > 4096) {
                goto invalid;
            }

            gmcf->connections = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "queue=", 6) == 0) {
            n = ngx_atoi(value[i].data + 6, value[i].len - 6);
            if (n < 0 || n > 1000000) {
                goto invalid;
            }

            gmcf->queue = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "pipeline=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            if (s.len == 2 && ngx_strncmp(s.data, "on", 2) == 0) {
                gmcf->pipeline = NGX_HTTP_GOVLEDGER_PIPELINE_BEHIND;

            } else if (s.len == 3 && ngx_strncmp(s.data, "off", 3) == 0) {
                gmcf->pipeline = 0;

            } else {
                ms = ngx_parse_time(&s, 0);
                if (ms == (ngx_msec_t) NGX_ERROR || ms == 0) {
                    goto invalid;
                }

                gmcf->pipeline = ms;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "queue_timeout=", 14) == 0
            || ngx_strncmp(value[i].data, "connect_timeout=", 16) == 0
            || ngx_strncmp(value[i].data, "max_age=", 8) == 0
            || ngx_strncmp(value[i].data, "backoff_max=", 12) == 0)
        {
            s.data = (u_char *) ngx_strchr(value[i].data, '=') + 1;
            s.len = value[i].data + value[i].len - s.data;

            ms = ngx_parse_time(&s, 0);
            if (ms == (ngx_msec_t) NGX_ERROR) {
                goto invalid;
            }

            switch (value[i].data[0]) {
            case 'q':
                gmcf->queue_timeout = ms;
                break;
            case 'c':
                if (ms == 0) {
                    goto invalid;
                }
                gmcf->connect_timeout = ms;
                break;
            case 'm':
                gmcf->max_age = ms;
                break;
            default:
                gmcf->backoff_max = ms;
                break;
            }

            continue;
        }

        goto invalid;
    }

    ngx_explicit_memzero(value[1].data, value[1].len);
    gmcf->configured = 1;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"govledger_database\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


/*
 * libpq resolves host names synchronously inside PQconnectStartParams():
 * warn when a host is neither a socket directory nor an address.
 */

static void
ngx_http_govledger_check_hosts(ngx_conf_t *cf, char **keywords,
    char **values, ngx_uint_t n)
{
    u_char      *p, *last, *end;
#if (NGX_HAVE_INET6)
    u_char       addr6[16];
#endif
    ngx_uint_t   i, host;

    host = n;

    for (i = 0; i < n; i++) {
        if (ngx_strcmp(keywords[i], "hostaddr") == 0) {
            return;
        }

        if (ngx_strcmp(keywords[i], "host") == 0) {
            host = i;
        }
    }

    if (host == n) {
        return;
    }

    p = (u_char *) values[host];
    last = p + ngx_strlen(p);

    while (p < last) {
        end = ngx_strlchr(p, last, ',');
        if (end == NULL) {
            end = last;
        }

        if (end > p && *p != '/' && *p != '@'
            && ngx_inet_addr(p, end - p) == INADDR_NONE
#if (NGX_HAVE_INET6)
            && ngx_inet6_addr(p, end - p, addr6) != NGX_OK
#endif
           )
        {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "\"govledger_database\": host \"%*s\" is a "
                               "name; resolving it blocks the worker, use an "
                               "address or \"hostaddr=\"", end - p, p);
        }

        p = end + 1;
    }
}


static void
ngx_http_govledger_free_conninfo(void *data)
{
    ngx_http_govledger_main_conf_t *gmcf = data;

    ngx_uint_t  i;

    if (gmcf->values == NULL) {
        return;
    }

    for (i = 0; gmcf->keywords[i]; i++) {
        if (ngx_strcmp(gmcf->keywords[i], "password") == 0) {
            ngx_explicit_memzero(gmcf->values[i],
                                 ngx_strlen(gmcf->values[i]));
        }
    }
}


static char *
ngx_http_govledger_auth(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_govledger_loc_conf_t *lcf = conf;

    ngx_str_t                       *value, name;
    ngx_http_govledger_main_conf_t  *gmcf;

    if (lcf->auth != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        lcf->auth = NGX_HTTP_GOVLEDGER_AUTH_OFF;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[1].data, "jwt") == 0) {
        lcf->auth = NGX_HTTP_GOVLEDGER_AUTH_JWT;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[1].data, "mtls") != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"govledger_auth\", "
                           "it must be \"jwt\", \"mtls\" or \"off\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    lcf->auth = NGX_HTTP_GOVLEDGER_AUTH_MTLS;

    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_govledger_module);

    if (gmcf->ssl_verify_index == NGX_ERROR) {
        ngx_str_set(&name, "ssl_client_verify");
        gmcf->ssl_verify_index = ngx_http_get_variable_index(cf, &name);

        ngx_str_set(&name, "ssl_client_s_dn");
        gmcf->ssl_s_dn_index = ngx_http_get_variable_index(cf, &name);

        ngx_str_set(&name, "ssl_client_fingerprint");
        gmcf->ssl_fingerprint_index = ngx_http_get_variable_index(cf, &name);

        if (gmcf->ssl_verify_index == NGX_ERROR
            || gmcf->ssl_s_dn_index == NGX_ERROR
            || gmcf->ssl_fingerprint_index == NGX_ERROR)
        {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_govledger_audience(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_govledger_loc_conf_t *lcf = conf;

    ngx_str_t   *value, *aud;
    ngx_uint_t   i;

    if (lcf->audience != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    lcf->audience = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                     sizeof(ngx_str_t));
    if (lcf->audience == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0) {
            return "has an empty audience";
        }

        aud = ngx_array_push(lcf->audience);
        if (aud == NULL) {
            return NGX_CONF_ERROR;
        }

        *aud = value[i];
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_govledger_mtls_role(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_govledger_loc_conf_t *lcf = conf;

    ngx_str_t                       *value;
    ngx_uint_t                       i;
    ngx_http_govledger_mtls_role_t  *mr;

    value = cf->args->elts;

    if (lcf->mtls_roles == NGX_CONF_UNSET_PTR) {
        lcf->mtls_roles = ngx_array_create(cf->pool, 4,
                                     sizeof(ngx_http_govledger_mtls_role_t));
        if (lcf->mtls_roles == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    mr = ngx_array_push(lcf->mtls_roles);
    if (mr == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_strncmp(value[1].data, "subject=", 8) == 0
        && value[1].len > 8)
    {
        mr->fingerprint = 0;
        mr->match.data = value[1].data + 8;
        mr->match.len = value[1].len - 8;

    } else if (ngx_strncmp(value[1].data, "fingerprint=", 12) == 0
               && value[1].len == 12 + 40)
    {
        mr->fingerprint = 1;
        mr->match.data = value[1].data + 12;
        mr->match.len = 40;

        for (i = 0; i < 40; i++) {
            mr->match.data[i] = ngx_tolower(mr->match.data[i]);

            if (!((mr->match.data[i] >= '0' && mr->match.data[i] <= '9')
                  || (mr->match.data[i] >= 'a' && mr->match.data[i] <= 'f')))
            {
                goto invalid;
            }
        }

    } else {
        goto invalid;
    }

    mr->role = value[2];

    if (ngx_http_govledger_role_name(cf, NULL, &mr->role) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid match \"%V\" in \"govledger_mtls_role\", "
                       "it must be \"subject=DN\" or "
                       "\"fingerprint=<40 hex digits>\"", &value[1]);
    return NGX_CONF_ERROR;
}


/* PostgreSQL's statement_timeout takes at most INT_MAX milliseconds */

static char *
ngx_http_govledger_timeout_max(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *ms = data;

    if (*ms > NGX_MAX_INT32_VALUE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"govledger_timeout\" must be at most "
                           "2147483647ms (24d), the most statement_timeout "
                           "takes");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_govledger_role_name(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *role = data;

    ngx_uint_t  i;

    if (role->len == 0 || role->len > 63) {
        goto invalid;
    }

    for (i = 0; i < role->len; i++) {
        if (role->data[i] < 0x20 || role->data[i] == 0x7f) {
            goto invalid;
        }
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid role name \"%V\"", role);
    return NGX_CONF_ERROR;
}


/* an SQL identifier we accept unquoted: [A-Za-z_][A-Za-z0-9_]* */

static ngx_int_t
ngx_http_govledger_identifier(ngx_str_t *s)
{
    ngx_uint_t  i;
    u_char      ch;

    if (s->len == 0 || s->len > 63) {
        return NGX_ERROR;
    }

    for (i = 0; i < s->len; i++) {
        ch = s->data[i];

        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
            || ch == '_' || (i > 0 && ch >= '0' && ch <= '9'))
        {
            continue;
        }

        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * govledger_call [METHOD[|METHOD...]] schema.function [value ...]
 *
 * A location may have one call without methods (it answers the methods
 * of govledger_methods) and calls for given methods, tried in order.
 */

static char *
ngx_http_govledger_call(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_govledger_loc_conf_t *lcf = conf;

    u_char                            *p, *dot, *q, *last;
    ngx_str_t                         *value, schema, func, name, word;
    ngx_uint_t                         i, n, first, methods;
    ngx_conf_bitmask_t                *m;
    ngx_http_govledger_arg_t          *arg;
    ngx_http_govledger_call_t         *call, *c;
    ngx_http_core_loc_conf_t          *clcf;
    ngx_http_govledger_main_conf_t    *gmcf;
    ngx_http_compile_complex_value_t   ccv;

    value = cf->args->elts;
    first = 1;
    methods = 0;

    if (ngx_strlchr(value[1].data, value[1].data + value[1].len, '.')
        == NULL && cf->args->nelts > 2)
    {
        /* a method list: GET, GET|HEAD, POST,PUT */

        q = value[1].data;
        last = value[1].data + value[1].len;

        while (q < last) {
            word.data = q;

            while (q < last && *q != '|' && *q != ',') {
                q++;
            }

            word.len = q - word.data;
            q++;

            for (m = ngx_http_govledger_method_names; m->name.len; m++) {
                if (m->name.len == word.len
                    && ngx_strncmp(m->name.data, word.data, word.len) == 0)
                {
                    break;
                }
            }

            if (m->name.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid method \"%V\" in "
                                   "\"govledger_call\"", &word);
                return NGX_CONF_ERROR;
            }

            methods |= m->mask;
        }

        if (methods & NGX_HTTP_GET) {
            methods |= NGX_HTTP_HEAD;
        }

        first = 2;
    }

    if (lcf->calls == NULL) {
        lcf->calls = ngx_array_create(cf->pool, 2,
                                      sizeof(ngx_http_govledger_call_t));
        if (lcf->calls == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    c = lcf->calls->elts;

    for (i = 0; i < lcf->calls->nelts; i++) {
        if ((c[i].methods == 0 && methods == 0)
            || (c[i].methods & methods))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"govledger_call\" for these methods "
                               "is duplicate");
            return NGX_CONF_ERROR;
        }
    }

    dot = ngx_strlchr(value[first].data, value[first].data + value[first].len,
                      '.');
    if (dot == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"govledger_call\" needs a schema-qualified "
                           "function name, not \"%V\"", &value[first]);
        return NGX_CONF_ERROR;
    }

    schema.data = value[first].data;
    schema.len = dot - value[first].data;
    func.data = dot + 1;
    func.len = value[first].data + value[first].len - func.data;

    if (ngx_http_govledger_identifier(&schema) != NGX_OK
        || ngx_http_govledger_identifier(&func) != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid function name \"%V\" in "
                           "\"govledger_call\"", &value[first]);
        return NGX_CONF_ERROR;
    }

    call = ngx_array_push(lcf->calls);
    if (call == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(call, sizeof(ngx_http_govledger_call_t));
    call->methods = methods;

    call->args = ngx_array_create(cf->pool, cf->args->nelts,
                                  sizeof(ngx_http_govledger_arg_t));
    if (call->args == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = first + 1; i < cf->args->nelts; i++) {
        arg = ngx_array_push(call->args);
        if (arg == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(arg, sizeof(ngx_http_govledger_arg_t));

        if (value[i].len > 1 && value[i].data[0] == '$'
            && ngx_http_govledger_identifier(&(ngx_str_t) {
                   value[i].len - 1, value[i].data + 1 }) == NGX_OK)
        {
            name.data = value[i].data + 1;
            name.len = value[i].len - 1;

            if ((name.len == 12
                 && ngx_strncmp(name.data, "request_body", 12) == 0)
                || (name.len == 22
                    && ngx_strncmp(name.data, "govledger_request_body", 22)
                       == 0))
            {
                arg->type = NGX_HTTP_GOVLEDGER_ARG_BODY;
                continue;
            }

            arg->type = NGX_HTTP_GOVLEDGER_ARG_VAR;
            arg->index = ngx_http_get_variable_index(cf, &name);
            if (arg->index == NGX_ERROR) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        arg->type = NGX_HTTP_GOVLEDGER_ARG_COMPLEX;
        arg->cv = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
        if (arg->cv == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &value[i];
        ccv.complex_value = arg->cv;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    n = call->args->nelts;

    /* SELECT "schema"."function"($1, ..., $n) */

    call->sql.len = sizeof("SELECT \"\".\"\"()") - 1 + schema.len + func.len
                    + n * (NGX_INT_T_LEN + 3);
    call->sql.data = ngx_pnalloc(cf->pool, call->sql.len + 1);
    if (call->sql.data == NULL) {
        return NGX_CONF_ERROR;
    }

    p = ngx_sprintf(call->sql.data, "SELECT \"%V\".\"%V\"(", &schema, &func);

    for (i = 1; i <= n; i++) {
        p = ngx_sprintf(p, i == 1 ? "$%ui" : ", $%ui", i);
    }

    *p++ = ')';
    *p = '\0';
    call->sql.len = p - call->sql.data;

    call->function = value[first];

    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_govledger_module);
    call->call_index = gmcf->ncalls++;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_govledger_call_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_govledger_methods(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_govledger_loc_conf_t *lcf = conf;

    ngx_str_t           *value;
    ngx_uint_t           i;
    ngx_conf_bitmask_t  *m;

    if (lcf->methods) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        for (m = ngx_http_govledger_method_names; m->name.len; m++) {
            if (m->name.len == value[i].len
                && ngx_strncmp(m->name.data, value[i].data, value[i].len)
                   == 0)
            {
                break;
            }
        }

        if (m->name.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid method \"%V\" in "
                               "\"govledger_methods\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        lcf->methods |= m->mask;
    }

    if (lcf->methods & NGX_HTTP_GET) {
        lcf->methods |= NGX_HTTP_HEAD;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_govledger_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_govledger_status_handler;

    return NGX_CONF_OK;
}
