
/*
 * Copyright (C) govledger contributors
 *
 * JSON Web Tokens: verification keys from PEM and JWKS files (parsed at
 * configuration time, each pinned to one algorithm), strict parsing of
 * the compact serialization, signature verification through OpenSSL EVP,
 * registered claim checks and the per-worker cache of verified tokens.
 */


#include "ngx_http_govledger_module.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>


typedef struct {
    ngx_str_t                  name;
    ngx_uint_t                 alg;
    const char                *md;
} ngx_http_govledger_alg_t;


typedef struct {
    u_char                     hash[32];
    void                      *lcf;        /* configuration verified for */
    time_t                     exp;
    time_t                     nbf;
    unsigned                   used:1;
    unsigned                   has_exp:1;
    unsigned                   has_nbf:1;
    unsigned                   anonymous:1;
    u_char                    *role;
    size_t                     role_len;
    u_char                    *claims;
    size_t                     claims_len;
} ngx_http_govledger_cache_entry_t;


struct ngx_http_govledger_cache_s {
    ngx_uint_t                         size;
    ngx_http_govledger_cache_entry_t  *entries;
};


static ngx_http_govledger_alg_t *ngx_http_govledger_alg_by_name(
    const u_char *name, size_t len);
static ngx_http_govledger_alg_t *ngx_http_govledger_alg_by_id(
    ngx_uint_t alg);
static ngx_int_t ngx_http_govledger_claim_time(json_t *v, time_t *t);
static ngx_int_t ngx_http_govledger_b64url_decode(ngx_pool_t *pool,
    u_char *src, size_t len, ngx_str_t *dst);
static ngx_int_t ngx_http_govledger_key_check(ngx_conf_t *cf,
    ngx_http_govledger_jwt_key_t *key);
static char *ngx_http_govledger_load_pem(ngx_conf_t *cf,
    ngx_http_govledger_jwt_key_t *key, ngx_str_t *path);
static char *ngx_http_govledger_load_jwks(ngx_conf_t *cf, ngx_array_t *keys,
    ngx_str_t *path, ngx_uint_t alg, ngx_str_t *kid);
static EVP_PKEY *ngx_http_govledger_jwk_pkey(ngx_conf_t *cf, json_t *jwk,
    const char *kty);
static ngx_int_t ngx_http_govledger_jwk_bytes(ngx_conf_t *cf, json_t *jwk,
    const char *member, ngx_str_t *out);
static void ngx_http_govledger_free_pkey(void *data);
static ngx_int_t ngx_http_govledger_verify_sig(ngx_http_request_t *r,
    ngx_http_govledger_jwt_key_t *key, u_char *input, size_t len,
    ngx_str_t *sig);
static ngx_int_t ngx_http_govledger_check_claims(ngx_http_request_t *r,
    ngx_http_govledger_loc_conf_t *lcf, json_t *claims,
    ngx_http_govledger_ctx_t *ctx, ngx_http_govledger_cache_entry_t *e);
static ngx_int_t ngx_http_govledger_check_times(
    ngx_http_govledger_loc_conf_t *lcf, ngx_http_govledger_cache_entry_t *e);
static ngx_int_t ngx_http_govledger_kid_safe(const char *kid, size_t len);


static ngx_http_govledger_alg_t  ngx_http_govledger_algs[] = {
    { ngx_string("HS256"), NGX_HTTP_GOVLEDGER_ALG_HS256, "SHA256" },
    { ngx_string("HS384"), NGX_HTTP_GOVLEDGER_ALG_HS384, "SHA384" },
    { ngx_string("HS512"), NGX_HTTP_GOVLEDGER_ALG_HS512, "SHA512" },
    { ngx_string("RS256"), NGX_HTTP_GOVLEDGER_ALG_RS256, "SHA256" },
    { ngx_string("RS384"), NGX_HTTP_GOVLEDGER_ALG_RS384, "SHA384" },
    { ngx_string("RS512"), NGX_HTTP_GOVLEDGER_ALG_RS512, "SHA512" },
    { ngx_string("PS256"), NGX_HTTP_GOVLEDGER_ALG_PS256, "SHA256" },
    { ngx_string("PS384"), NGX_HTTP_GOVLEDGER_ALG_PS384, "SHA384" },
    { ngx_string("PS512"), NGX_HTTP_GOVLEDGER_ALG_PS512, "SHA512" },
    { ngx_string("ES256"), NGX_HTTP_GOVLEDGER_ALG_ES256, "SHA256" },
    { ngx_string("ES384"), NGX_HTTP_GOVLEDGER_ALG_ES384, "SHA384" },
    { ngx_string("EdDSA"), NGX_HTTP_GOVLEDGER_ALG_EDDSA, NULL },
    { ngx_null_string, 0, NULL }
};


#define ngx_http_govledger_alg_hmac(a)                                      \
    ((a) >= NGX_HTTP_GOVLEDGER_ALG_HS256 && (a) <= NGX_HTTP_GOVLEDGER_ALG_HS512)
#define ngx_http_govledger_alg_rsa(a)                                       \
    ((a) >= NGX_HTTP_GOVLEDGER_ALG_RS256 && (a) <= NGX_HTTP_GOVLEDGER_ALG_PS512)
#define ngx_http_govledger_alg_pss(a)                                       \
    ((a) >= NGX_HTTP_GOVLEDGER_ALG_PS256 && (a) <= NGX_HTTP_GOVLEDGER_ALG_PS512)
#define ngx_http_govledger_alg_ec(a)                                        \
    ((a) == NGX_HTTP_GOVLEDGER_ALG_ES256 || (a) == NGX_HTTP_GOVLEDGER_ALG_ES384)


static ngx_http_govledger_alg_t *
ngx_http_govledger_alg_by_name(const u_char *name, size_t len)
{
    ngx_http_govledger_alg_t  *a;

    /* algorithm names are case-sensitive (RFC 7515, section 4.1.1) */

    for (a = ngx_http_govledger_algs; a->name.len; a++) {
        if (a->name.len == len && ngx_strncmp(a->name.data, name, len) == 0) {
            return a;
        }
    }

    return NULL;
}


static ngx_http_govledger_alg_t *
ngx_http_govledger_alg_by_id(ngx_uint_t alg)
{
    ngx_http_govledger_alg_t  *a;

    for (a = ngx_http_govledger_algs; a->name.len; a++) {
        if (a->alg == alg) {
            return a;
        }
    }

    return NULL;
}


/*
 * Strict base64url (RFC 7515, section 2): the URL-safe alphabet only, no
 * padding, no whitespace, a length that is not 1 modulo 4 and zero unused
 * bits, so that each octet string has exactly one text form.  The result
 * is allocated from pool and NUL-terminated.  Returns NGX_ERROR on any
 * malformed input.
 */

static ngx_int_t
ngx_http_govledger_b64url_decode(ngx_pool_t *pool, u_char *src, size_t len,
    ngx_str_t *dst)
{
    size_t     i;
    u_char    *d, ch;
    uint32_t   acc, v;
    ngx_uint_t bits;

    if (len % 4 == 1) {
        return NGX_ERROR;
    }

    d = ngx_pnalloc(pool, len * 3 / 4 + 1);
    if (d == NULL) {
        return NGX_ERROR;
    }

    dst->data = d;
    acc = 0;
    bits = 0;

    for (i = 0; i < len; i++) {
        ch = src[i];

        if (ch >= 'A' && ch <= 'Z') {
            v = ch - 'A';
        } else if (ch >= 'a' && ch <= 'z') {
            v = ch - 'a' + 26;
        } else if (ch >= '0' && ch <= '9') {
            v = ch - '0' + 52;
        } else if (ch == '-') {
            v = 62;
        } else if (ch == '_') {
            v = 63;
        } else {
            return NGX_ERROR;
        }

        acc = (acc << 6) | v;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            *d++ = (u_char) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }

    if (acc != 0) {
        /* non-zero unused bits */
        return NGX_ERROR;
    }

    *d = '\0';
    dst->len = d - dst->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_govledger_kid_safe(const char *kid, size_t len)
{
    size_t  i;

    if (len == 0 || len > 256) {
        return NGX_ERROR;
    }

    for (i = 0; i < len; i++) {
        if (kid[i] == '/' || kid[i] == '\\' || (u_char) kid[i] < 0x20
            || kid[i] == 0x7f)
        {
            return NGX_ERROR;
        }

        if (kid[i] == '.' && i + 1 < len && kid[i + 1] == '.') {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* govledger_jwt_key file=PATH|jwks=PATH [alg=ALG] [kid=KID] */

char *
ngx_http_govledger_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_govledger_loc_conf_t *lcf = conf;

    char                          *rv;
    ngx_str_t                     *value, file, jwks, kid;
    ngx_uint_t                     i, alg;
    ngx_http_govledger_alg_t      *a;
    ngx_http_govledger_jwt_key_t  *key;

    value = cf->args->elts;

    ngx_str_null(&file);
    ngx_str_null(&jwks);
    ngx_str_null(&kid);
    alg = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "file=", 5) == 0 && value[i].len > 5) {
            file.data = value[i].data + 5;
            file.len = value[i].len - 5;
            continue;
        }

        if (ngx_strncmp(value[i].data, "jwks=", 5) == 0 && value[i].len > 5) {
            jwks.data = value[i].data + 5;
            jwks.len = value[i].len - 5;
            continue;
        }

        if (ngx_strncmp(value[i].data, "alg=", 4) == 0) {
            a = ngx_http_govledger_alg_by_name(value[i].data + 4,
                                               value[i].len - 4);
            if (a == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "unsupported algorithm \"%V\" in "
                                   "\"govledger_jwt_key\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            alg = a->alg;
            continue;
        }

        if (ngx_strncmp(value[i].data, "kid=", 4) == 0 && value[i].len > 4) {
            kid.data = value[i].data + 4;
            kid.len = value[i].len - 4;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in "
                           "\"govledger_jwt_key\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if ((file.len == 0) == (jwks.len == 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"govledger_jwt_key\" needs exactly one of "
                           "\"file=\" or \"jwks=\"");
        return NGX_CONF_ERROR;
    }

    if (lcf->keys == NGX_CONF_UNSET_PTR) {
        lcf->keys = ngx_array_create(cf->pool, 4,
                                     sizeof(ngx_http_govledger_jwt_key_t));
        if (lcf->keys == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_conf_full_name(cf->cycle, file.len ? &file : &jwks, 1)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (jwks.len) {
        return ngx_http_govledger_load_jwks(cf, lcf->keys, &jwks, alg, &kid);
    }

    key = ngx_array_push(lcf->keys);
    if (key == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(key, sizeof(ngx_http_govledger_jwt_key_t));
    key->kid = kid;
    key->alg = alg;

    rv = ngx_http_govledger_load_pem(cf, key, &file);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (ngx_http_govledger_key_check(cf, key) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_govledger_load_pem(ngx_conf_t *cf, ngx_http_govledger_jwt_key_t *key,
    ngx_str_t *path)
{
    BIO                 *bio;
    X509                *x509;
    ssize_t              n;
    ngx_fd_t             fd;
    ngx_file_t           file;
    ngx_file_info_t      fi;
    ngx_pool_cleanup_t  *cln;

    fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"govledger_jwt_key\" cannot open \"%s\"",
                           path->data);
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.fd = fd;
    file.name = *path;
    file.log = cf->log;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > 65536)
    {
        ngx_close_file(fd);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"govledger_jwt_key\" \"%s\" is not a key file",
                           path->data);
        return NGX_CONF_ERROR;
    }

    key->secret = ngx_pnalloc(cf->pool, ngx_file_size(&fi) + 1);
    if (key->secret == NULL) {
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_file(&file, key->secret, ngx_file_size(&fi), 0);
    ngx_close_file(fd);

    if (n != (ssize_t) ngx_file_size(&fi)) {
        return NGX_CONF_ERROR;
    }

    key->secret_len = n;

    if (ngx_http_govledger_alg_hmac(key->alg)) {

        /*
         * the file holds the raw secret octets; a PEM file here is a
         * public key about to become a MAC secret (algorithm confusion)
         */

        if (ngx_strlcasestrn(key->secret, key->secret + n,
                             (u_char *) "-----BEGIN", 10 - 1)
            != NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"govledger_jwt_key\": \"%s\" is a PEM file, "
                               "not an HMAC secret", path->data);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    bio = BIO_new_mem_buf(key->secret, n);
    if (bio == NULL) {
        return NGX_CONF_ERROR;
    }

    key->pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);

    if (key->pkey == NULL) {
        (void) BIO_reset(bio);
        x509 = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (x509) {
            key->pkey = X509_get_pubkey(x509);
            X509_free(x509);
        }
    }

    BIO_free(bio);
    ERR_clear_error();

    ngx_explicit_memzero(key->secret, key->secret_len);
    key->secret = NULL;
    key->secret_len = 0;

    if (key->pkey == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"govledger_jwt_key\" \"%s\" holds no PEM public "
                           "key or certificate (an HMAC secret needs "
                           "\"alg=HS256|HS384|HS512\")", path->data);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        EVP_PKEY_free(key->pkey);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_govledger_free_pkey;
    cln->data = key->pkey;

    return NGX_CONF_OK;
}


static void
ngx_http_govledger_free_pkey(void *data)
{
    EVP_PKEY_free(data);
}


/*
 * Pins the key to one algorithm: the one given, or the only one its type
 * allows; checks that type, curve and size fit that algorithm.
 */

static ngx_int_t
ngx_http_govledger_key_check(ngx_conf_t *cf, ngx_http_govledger_jwt_key_t *key)
{
    int                        type;
    char                       curve[64];
    size_t                     len;
    ngx_http_govledger_alg_t  *a;

    if (key->pkey == NULL) {
        if (!ngx_http_govledger_alg_hmac(key->alg)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"govledger_jwt_key\": a secret key needs "
                               "\"alg=HS256|HS384|HS512\"");
            return NGX_ERROR;
        }

        a = ngx_http_govledger_alg_by_id(key->alg);

        /* RFC 7518, section 3.2: a key at least as long as the hash */
        if (key->secret_len
            < (size_t) EVP_MD_get_size(EVP_get_digestbyname(a->md)))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"govledger_jwt_key\": %V secret shorter "
                               "than the hash output", &a->name);
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    type = EVP_PKEY_get_base_id(key->pkey);

    switch (type) {

    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
        if (key->alg == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"govledger_jwt_key\": an RSA key needs "
                               "\"alg=RS256|RS384|RS512|PS256|PS384|PS512\"");
            return NGX_ERROR;
        }

        if (!ngx_http_govledger_alg_rsa(key->alg)
            || (type == EVP_PKEY_RSA_PSS
                && !ngx_http_govledger_alg_pss(key->alg)))
        {
            goto mismatch;
        }

        if (EVP_PKEY_get_bits(key->pkey) < 2048) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"govledger_jwt_key\": RSA key shorter than "
                               "2048 bits");
            return NGX_ERROR;
        }

        return NGX_OK;

    case EVP_PKEY_EC:
        if (EVP_PKEY_get_utf8_string_param(key->pkey,
                                           OSSL_PKEY_PARAM_GROUP_NAME,
                                           curve, sizeof(curve), &len)
            != 1)
        {
            goto mismatch;
        }

        if (ngx_strcmp(curve, "prime256v1") == 0) {
            if (key->alg == 0) {
                key->alg = NGX_HTTP_GOVLEDGER_ALG_ES256;
            }

            if (key->alg != NGX_HTTP_GOVLEDGER_ALG_ES256) {
                goto mismatch;
            }

            return NGX_OK;
        }

        if (ngx_strcmp(curve, "secp384r1") == 0) {
            if (key->alg == 0) {
                key->alg = NGX_HTTP_GOVLEDGER_ALG_ES384;
            }

            if (key->alg != NGX_HTTP_GOVLEDGER_ALG_ES384) {
                goto mismatch;
            }

            return NGX_OK;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"govledger_jwt_key\": unsupported curve \"%s\"",
                           curve);
        return NGX_ERROR;

    case EVP_PKEY_ED25519:
        if (key->alg == 0) {
            key->alg = NGX_HTTP_GOVLEDGER_ALG_EDDSA;
        }

        if (key->alg != NGX_HTTP_GOVLEDGER_ALG_EDDSA) {
            goto mismatch;
        }

        return NGX_OK;

    default:
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"govledger_jwt_key\": unsupported key type");
        return NGX_ERROR;
    }

mismatch:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"govledger_jwt_key\": the key does not fit "
                       "the algorithm");
    return NGX_ERROR;
}


static char *
ngx_http_govledger_load_jwks(ngx_conf_t *cf, ngx_array_t *keys,
    ngx_str_t *path, ngx_uint_t alg, ngx_str_t *kid)
{
    size_t                         i;
    json_t                        *root, *arr, *jwk, *m;
    ngx_str_t                      secret;
    const char                    *kty, *s;
    json_error_t                   err;
    ngx_http_govledger_alg_t      *a;
    ngx_pool_cleanup_t            *cln;
    ngx_http_govledger_jwt_key_t  *key;

    root = json_load_file((char *) path->data, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"govledger_jwt_key\" cannot read JWKS \"%s\": "
                           "%s (line %d)", path->data, err.text, err.line);
        return NGX_CONF_ERROR;
    }

    arr = json_object_get(root, "keys");
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"govledger_jwt_key\": \"%s\" has no \"keys\" "
                           "array", path->data);
        goto failed;
    }

    json_array_foreach(arr, i, jwk) {

        kty = json_string_value(json_object_get(jwk, "kty"));
        if (kty == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"govledger_jwt_key\": key %uz of \"%s\" "
                               "has no \"kty\"", i, path->data);
            goto failed;
        }

        s = json_string_value(json_object_get(jwk, "use"));
        if (s && ngx_strcmp(s, "sig") != 0) {
            continue;
        }

        key = ngx_array_push(keys);
        if (key == NULL) {
            goto failed;
        }

        ngx_memzero(key, sizeof(ngx_http_govledger_jwt_key_t));
        key->alg = alg;

        m = json_object_get(jwk, "alg");
        if (m) {
            s = json_string_value(m);
            a = s ? ngx_http_govledger_alg_by_name((u_char *) s,
                                                   ngx_strlen(s))
                  : NULL;
            if (a == NULL || (alg && a->alg != alg)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"govledger_jwt_key\": key %uz of \"%s\" "
                                   "has an unsupported or conflicting "
                                   "\"alg\"", i, path->data);
                goto failed;
            }

            key->alg = a->alg;
        }

        m = json_object_get(jwk, "kid");
        if (m) {
            s = json_string_value(m);
            if (s == NULL || s[0] == '\0') {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"govledger_jwt_key\": key %uz of \"%s\" "
                                   "has an invalid \"kid\"", i, path->data);
                goto failed;
            }

            key->kid.len = ngx_strlen(s);
            key->kid.data = ngx_pnalloc(cf->pool, key->kid.len);
            if (key->kid.data == NULL) {
                goto failed;
            }

            ngx_memcpy(key->kid.data, s, key->kid.len);

        } else if (kid->len) {
            key->kid = *kid;
        }

        if (ngx_strcmp(kty, "oct") == 0) {
            if (ngx_http_govledger_jwk_bytes(cf, jwk, "k", &secret)
                != NGX_OK)
            {
                goto failed;
            }

            key->secret = secret.data;
            key->secret_len = secret.len;

        } else {
            key->pkey = ngx_http_govledger_jwk_pkey(cf, jwk, kty);
            if (key->pkey == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"govledger_jwt_key\": key %uz of \"%s\" "
                                   "is not a valid %s public key", i,
                                   path->data, kty);
                goto failed;
            }

            cln = ngx_pool_cleanup_add(cf->pool, 0);
            if (cln == NULL) {
                EVP_PKEY_free(key->pkey);
                goto failed;
            }

            cln->handler = ngx_http_govledger_free_pkey;
            cln->data = key->pkey;
        }

        if (ngx_http_govledger_key_check(cf, key) != NGX_OK) {
            goto failed;
        }
    }

    json_decref(root);

    return NGX_CONF_OK;

failed:

    json_decref(root);

    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_govledger_jwk_bytes(ngx_conf_t *cf, json_t *jwk, const char *member,
    ngx_str_t *out)
{
    const char  *s;

    s = json_string_value(json_object_get(jwk, member));
    if (s == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_govledger_b64url_decode(cf->pool, (u_char *) s,
                                            ngx_strlen(s), out);
}


static EVP_PKEY *
ngx_http_govledger_jwk_pkey(ngx_conf_t *cf, json_t *jwk, const char *kty)
{
    int              ok;
    u_char          *pt;
    BIGNUM          *n, *e;
    EVP_PKEY        *pkey;
    ngx_str_t        a, b;
    const char      *crv, *group;
    size_t           flen;
    OSSL_PARAM      *params;
    EVP_PKEY_CTX    *pctx;
    OSSL_PARAM_BLD  *bld;

    pkey = NULL;
    n = NULL;
    e = NULL;
    params = NULL;
    pctx = NULL;

    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL) {
        return NULL;
    }

    if (ngx_strcmp(kty, "RSA") == 0) {
        if (ngx_http_govledger_jwk_bytes(cf, jwk, "n", &a) != NGX_OK
            || ngx_http_govledger_jwk_bytes(cf, jwk, "e", &b) != NGX_OK)
        {
            goto done;
        }

        n = BN_bin2bn(a.data, a.len, NULL);
        e = BN_bin2bn(b.data, b.len, NULL);

        if (n == NULL || e == NULL
            || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
            || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
        {
            goto done;
        }

        pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);

    } else if (ngx_strcmp(kty, "EC") == 0) {
        crv = json_string_value(json_object_get(jwk, "crv"));
        if (crv == NULL) {
            goto done;
        }

        if (ngx_strcmp(crv, "P-256") == 0) {
            group = "prime256v1";
            flen = 32;

        } else if (ngx_strcmp(crv, "P-384") == 0) {
            group = "secp384r1";
            flen = 48;

        } else {
            goto done;
        }

        if (ngx_http_govledger_jwk_bytes(cf, jwk, "x", &a) != NGX_OK
            || ngx_http_govledger_jwk_bytes(cf, jwk, "y", &b) != NGX_OK
            || a.len != flen || b.len != flen)
        {
            goto done;
        }

        pt = ngx_pnalloc(cf->pool, 1 + 2 * flen);
        if (pt == NULL) {
            goto done;
        }

        pt[0] = 0x04;
        ngx_memcpy(pt + 1, a.data, flen);
        ngx_memcpy(pt + 1 + flen, b.data, flen);

        if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                             group, 0)
            || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                                 pt, 1 + 2 * flen))
        {
            goto done;
        }

        pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

    } else if (ngx_strcmp(kty, "OKP") == 0) {
        crv = json_string_value(json_object_get(jwk, "crv"));

        if (crv == NULL || ngx_strcmp(crv, "Ed25519") != 0
            || ngx_http_govledger_jwk_bytes(cf, jwk, "x", &a) != NGX_OK
            || a.len != 32)
        {
            goto done;
        }

        pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
                                           a.data, a.len);
        goto done;

    } else {
        goto done;
    }

    if (pctx == NULL) {
        goto done;
    }

    params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL) {
        goto done;
    }

    ok = EVP_PKEY_fromdata_init(pctx) == 1
         && EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;

    if (!ok) {
        pkey = NULL;
    }

done:

    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(pctx);
    BN_free(n);
    BN_free(e);
    ERR_clear_error();

    return pkey;
}


static ngx_int_t
ngx_http_govledger_verify_sig(ngx_http_request_t *r,
    ngx_http_govledger_jwt_key_t *key, u_char *input, size_t len,
    ngx_str_t *sig)
{
    int                        rc, derlen;
    size_t                     outlen, half;
    u_char                     mac[EVP_MAX_MD_SIZE], *der;
    BIGNUM                    *br, *bs;
    ECDSA_SIG                 *es;
    EVP_MD_CTX                *mctx;
    EVP_PKEY_CTX              *pctx;
    const EVP_MD              *md;
    ngx_http_govledger_alg_t  *a;

    a = ngx_http_govledger_alg_by_id(key->alg);

    if (ngx_http_govledger_alg_hmac(key->alg)) {
        if (EVP_Q_mac(NULL, "HMAC", NULL, a->md, NULL, key->secret,
                      key->secret_len, input, len, mac, sizeof(mac), &outlen)
            == NULL)
        {
            ERR_clear_error();
            return NGX_ERROR;
        }

        /* exact length, then a constant time comparison */

        if (sig->len != outlen) {
            return NGX_DECLINED;
        }

        return CRYPTO_memcmp(mac, sig->data, outlen) == 0 ? NGX_OK
                                                          : NGX_DECLINED;
    }

    md = a->md ? EVP_get_digestbyname(a->md) : NULL;
    der = NULL;
    derlen = 0;

    if (ngx_http_govledger_alg_ec(key->alg)) {
        half = (key->alg == NGX_HTTP_GOVLEDGER_ALG_ES256) ? 32 : 48;

        /* the JWS form is r || s, each exactly half of the octets */
        if (sig->len != 2 * half) {
            return NGX_DECLINED;
        }

        br = BN_bin2bn(sig->data, half, NULL);
        bs = BN_bin2bn(sig->data + half, half, NULL);
        es = ECDSA_SIG_new();

        if (br == NULL || bs == NULL || es == NULL) {
            BN_free(br);
            BN_free(bs);
            ECDSA_SIG_free(es);
            return NGX_ERROR;
        }

        if (BN_is_zero(br) || BN_is_zero(bs)) {
            BN_free(br);
            BN_free(bs);
            ECDSA_SIG_free(es);
            return NGX_DECLINED;
        }

        (void) ECDSA_SIG_set0(es, br, bs);

        derlen = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);

        if (derlen <= 0) {
            return NGX_ERROR;
        }

    } else if (key->alg == NGX_HTTP_GOVLEDGER_ALG_EDDSA) {
        if (sig->len != 64) {
            return NGX_DECLINED;
        }

    } else if ((int) sig->len != EVP_PKEY_get_size(key->pkey)) {
        return NGX_DECLINED;
    }

    mctx = EVP_MD_CTX_new();
    if (mctx == NULL) {
        OPENSSL_free(der);
        return NGX_ERROR;
    }

    rc = NGX_DECLINED;
    pctx = NULL;

    if (EVP_DigestVerifyInit(mctx, &pctx, md, NULL, key->pkey) != 1) {
        rc = NGX_ERROR;
        goto done;
    }

    if (ngx_http_govledger_alg_pss(key->alg)) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1
            || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST)
               != 1
            || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1)
        {
            rc = NGX_ERROR;
            goto done;
        }

    } else if (ngx_http_govledger_alg_rsa(key->alg)) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
            rc = NGX_ERROR;
            goto done;
        }
    }

    if (der) {
        rc = EVP_DigestVerify(mctx, der, derlen, input, len) == 1
             ? NGX_OK : NGX_DECLINED;

    } else {
        rc = EVP_DigestVerify(mctx, sig->data, sig->len, input, len) == 1
             ? NGX_OK : NGX_DECLINED;
    }

done:

    EVP_MD_CTX_free(mctx);
    OPENSSL_free(der);
    ERR_clear_error();

    return rc;
}


static ngx_int_t
ngx_http_govledger_check_times(ngx_http_govledger_loc_conf_t *lcf,
    ngx_http_govledger_cache_entry_t *e)
{
    time_t  now;

    now = ngx_time();

    if (!e->has_exp || now >= e->exp + lcf->leeway) {
        return NGX_HTTP_GOVLEDGER_AF_EXPIRED;
    }

    if (e->has_nbf && now + lcf->leeway < e->nbf) {
        return NGX_HTTP_GOVLEDGER_AF_NBF;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_govledger_claim_time(json_t *v, time_t *t)
{
    double  d;

    if (!json_is_number(v)) {
        return NGX_ERROR;
    }

    d = json_number_value(v);

    if (d != d || d < 0 || d > 253402300799.0) {
        return NGX_ERROR;
    }

    *t = (time_t) d;

    return NGX_OK;
}


/*
 * Registered claims: exp required, nbf optional, iss and aud when
 * configured; the role from the configured claim.  Fills e (times) and
 * ctx (role).
 */

static ngx_int_t
ngx_http_govledger_check_claims(ngx_http_request_t *r,
    ngx_http_govledger_loc_conf_t *lcf, json_t *claims,
    ngx_http_govledger_ctx_t *ctx, ngx_http_govledger_cache_entry_t *e)
{
    size_t       i, n;
    json_t      *v, *item;
    ngx_str_t   *aud;
    ngx_uint_t   j, found;
    const char  *s;

    v = json_object_get(claims, "exp");
    if (v == NULL || ngx_http_govledger_claim_time(v, &e->exp) != NGX_OK) {
        return v ? NGX_HTTP_GOVLEDGER_AF_CLAIMS : NGX_HTTP_GOVLEDGER_AF_NO_EXP;
    }

    e->has_exp = 1;

    v = json_object_get(claims, "nbf");
    if (v) {
        if (ngx_http_govledger_claim_time(v, &e->nbf) != NGX_OK) {
            return NGX_HTTP_GOVLEDGER_AF_CLAIMS;
        }

        e->has_nbf = 1;
    }

    if (lcf->issuer.len) {
        s = json_string_value(json_object_get(claims, "iss"));

        if (s == NULL || ngx_strlen(s) != lcf->issuer.len
            || ngx_strncmp(s, lcf->issuer.data, lcf->issuer.len) != 0)
        {
            return NGX_HTTP_GOVLEDGER_AF_ISSUER;
        }
    }

    if (lcf->audience) {
        v = json_object_get(claims, "aud");
        aud = lcf->audience->elts;
        found = 0;

        n = json_is_array(v) ? json_array_size(v) : 1;

        for (i = 0; i < n && !found; i++) {
            item = json_is_array(v) ? json_array_get(v, i) : v;
            s = json_string_value(item);
            if (s == NULL) {
                continue;
            }

            for (j = 0; j < lcf->audience->nelts; j++) {
                if (ngx_strlen(s) == aud[j].len
                    && ngx_strncmp(s, aud[j].data, aud[j].len) == 0)
                {
                    found = 1;
                    break;
                }
            }
        }

        if (!found) {
            return NGX_HTTP_GOVLEDGER_AF_AUDIENCE;
        }
    }

    v = json_object_get(claims, (char *) lcf->role_claim.data);

    if (v == NULL) {
        if (lcf->anonymous_role.len) {
            ctx->role = lcf->anonymous_role;
        }

        return NGX_OK;
    }

    /* "none" would mean the login role itself (RESET ROLE) */
    s = json_string_value(v);
    if (s == NULL || s[0] == '\0' || ngx_strlen(s) > 63
        || ngx_strcmp(s, "none") == 0)
    {
        return NGX_HTTP_GOVLEDGER_AF_CLAIMS;
    }

    ctx->role.len = ngx_strlen(s);
    ctx->role.data = ngx_pnalloc(r->pool, ctx->role.len + 1);
    if (ctx->role.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ctx->role.data, s, ctx->role.len + 1);

    return NGX_OK;
}


/*
 * Verifies a compact JWS token for the location's keys.  Returns NGX_OK
 * with ctx->role and ctx->claims set, one of NGX_HTTP_GOVLEDGER_AF_* when
 * the token is refused, or NGX_ERROR.
 */

ngx_int_t
ngx_http_govledger_jwt_verify(ngx_http_request_t *r,
    ngx_http_govledger_loc_conf_t *lcf, ngx_str_t *token,
    ngx_http_govledger_ctx_t *ctx)
{
    u_char                            *p, *dot1, *dot2, hash[32];
    size_t                             klen;
    json_t                            *header, *claims, *v;
    ngx_int_t                          rc;
    ngx_str_t                          hdr, payload, sig;
    ngx_uint_t                         i, alg, kid_match, idx;
    const char                        *kid, *s;
    unsigned int                       hlen;
    json_error_t                       err;
    ngx_http_govledger_alg_t          *a;
    ngx_http_govledger_cache_t        *cache;
    ngx_http_govledger_jwt_key_t      *keys;
    ngx_http_govledger_cache_entry_t  *e, tmp;
    ngx_http_govledger_main_conf_t    *gmcf;

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_govledger_module);
    cache = gmcf->cache;

    if (token->len == 0 || token->len > 16384) {
        return NGX_HTTP_GOVLEDGER_AF_MALFORMED;
    }

    e = NULL;

    if (cache && cache->size) {
        if (EVP_Digest(token->data, token->len, hash, &hlen, EVP_sha256(),
                       NULL)
            != 1)
        {
            return NGX_ERROR;
        }

        ngx_memcpy(&idx, hash, sizeof(ngx_uint_t));
        e = &cache->entries[idx % cache->size];

        if (e->used && e->lcf == lcf && ngx_memcmp(e->hash, hash, 32) == 0) {
            rc = ngx_http_govledger_check_times(lcf, e);
            if (rc != NGX_OK && lcf->jwt_claims) {
                return rc;
            }

            ngx_http_govledger_stat_inc(gmcf, jwt_cache_hits);

            ctx->role.len = e->role_len;
            ctx->role.data = ngx_pnalloc(r->pool, e->role_len + 1);
            ctx->claims.len = e->claims_len;
            ctx->claims.data = ngx_pnalloc(r->pool, e->claims_len + 1);

            if (ctx->role.data == NULL || ctx->claims.data == NULL) {
                return NGX_ERROR;
            }

            *ngx_cpymem(ctx->role.data, e->role, e->role_len) = '\0';
            *ngx_cpymem(ctx->claims.data, e->claims, e->claims_len) = '\0';
            ctx->anonymous = e->anonymous;

            return NGX_OK;
        }
    }

    /* exactly three segments: header.payload.signature */

    dot1 = ngx_strlchr(token->data, token->data + token->len, '.');
    if (dot1 == NULL) {
        return NGX_HTTP_GOVLEDGER_AF_MALFORMED;
    }

    dot2 = ngx_strlchr(dot1 + 1, token->data + token->len, '.');
    if (dot2 == NULL
        || ngx_strlchr(dot2 + 1, token->data + token->len, '.') != NULL)
    {
        return NGX_HTTP_GOVLEDGER_AF_MALFORMED;
    }

    p = dot2 + 1;

    if (dot1 == token->data || dot2 == dot1 + 1
        || p == token->data + token->len)
    {
        return NGX_HTTP_GOVLEDGER_AF_MALFORMED;
    }

    if (ngx_http_govledger_b64url_decode(r->pool, token->data,
                                         dot1 - token->data, &hdr)
        != NGX_OK
        || ngx_http_govledger_b64url_decode(r->pool, dot1 + 1,
                                            dot2 - dot1 - 1, &payload)
           != NGX_OK
        || ngx_http_govledger_b64url_decode(r->pool, p,
                                            token->data + token->len - p,
                                            &sig)
           != NGX_OK)
    {
        return NGX_HTTP_GOVLEDGER_AF_MALFORMED;
    }

    header = json_loadb((char *) hdr.data, hdr.len, JSON_REJECT_DUPLICATES,
                        &err);
    if (header == NULL || !json_is_object(header)) {
        json_decref(header);
        return NGX_HTTP_GOVLEDGER_AF_MALFORMED;
    }

    rc = NGX_OK;

    if (json_object_get(header, "crit") != NULL) {
        /* no extension is understood (RFC 7515, section 4.1.11) */
        rc = NGX_HTTP_GOVLEDGER_AF_CRIT;
        goto header_done;
    }

    s = json_string_value(json_object_get(header, "alg"));
    a = s ? ngx_http_govledger_alg_by_name((u_char *) s, ngx_strlen(s)) : NULL;

    if (a == NULL) {
        rc = NGX_HTTP_GOVLEDGER_AF_ALG;
        goto header_done;
    }

    alg = a->alg;

    v = json_object_get(header, "kid");
    kid = NULL;
    klen = 0;

    if (v) {
        kid = json_string_value(v);
        klen = kid ? json_string_length(v) : 0;

        if (kid == NULL
            || ngx_http_govledger_kid_safe(kid, klen) != NGX_OK)
        {
            rc = NGX_HTTP_GOVLEDGER_AF_KID;
            goto header_done;
        }
    }

    keys = lcf->keys->elts;

    /* kid selects among keys that carry one; otherwise keys without */

    kid_match = 0;

    if (kid) {
        for (i = 0; i < lcf->keys->nelts; i++) {
            if (keys[i].kid.len == klen
                && ngx_memcmp(keys[i].kid.data, kid, klen) == 0)
            {
                kid_match = 1;
                break;
            }
        }
    }

    rc = NGX_HTTP_GOVLEDGER_AF_ALG;

    for (i = 0; i < lcf->keys->nelts; i++) {

        if (kid_match) {
            if (keys[i].kid.len != klen
                || ngx_memcmp(keys[i].kid.data, kid, klen) != 0)
            {
                continue;
            }

        } else if (kid && keys[i].kid.len) {
            continue;
        }

        if (keys[i].alg != alg) {
            continue;
        }

        rc = ngx_http_govledger_verify_sig(r, &keys[i], token->data,
                                           dot2 - token->data, &sig);
        if (rc == NGX_OK || rc == NGX_ERROR) {
            break;
        }

        rc = NGX_HTTP_GOVLEDGER_AF_SIGNATURE;
    }

    if (rc == NGX_HTTP_GOVLEDGER_AF_ALG && kid && !kid_match) {
        rc = NGX_HTTP_GOVLEDGER_AF_KID;
    }

header_done:

    json_decref(header);

    if (rc != NGX_OK) {
        return rc;
    }

    ngx_memzero(&tmp, sizeof(ngx_http_govledger_cache_entry_t));

    ngx_str_null(&ctx->role);
    ngx_str_null(&ctx->claims);

    if (lcf->jwt_claims) {
        claims = json_loadb((char *) payload.data, payload.len,
                            JSON_REJECT_DUPLICATES, &err);
        if (claims == NULL || !json_is_object(claims)) {
            json_decref(claims);
            return NGX_HTTP_GOVLEDGER_AF_CLAIMS;
        }

        rc = ngx_http_govledger_check_claims(r, lcf, claims, ctx, &tmp);
        json_decref(claims);

        if (rc != NGX_OK) {
            return rc;
        }

        rc = ngx_http_govledger_check_times(lcf, &tmp);
        if (rc != NGX_OK) {
            return rc;
        }

        ctx->claims = payload;

    } else if (lcf->anonymous_role.len) {
        ctx->role = lcf->anonymous_role;
    }

    if (ctx->role.len == 0 || ctx->role.data == lcf->anonymous_role.data) {
        ctx->anonymous = 1;
    }

    if (e == NULL) {
        return NGX_OK;
    }

    /* remember the verified token, replacing whatever used that slot */

    ngx_free(e->role);
    ngx_free(e->claims);
    ngx_memzero(e, sizeof(ngx_http_govledger_cache_entry_t));

    e->role = ngx_alloc(ctx->role.len + 1, r->connection->log);
    e->claims = ngx_alloc(ctx->claims.len + 1, r->connection->log);

    if (e->role == NULL || e->claims == NULL) {
        ngx_free(e->role);
        ngx_free(e->claims);
        e->role = NULL;
        e->claims = NULL;
        return NGX_OK;
    }

    if (ctx->role.len) {
        ngx_memcpy(e->role, ctx->role.data, ctx->role.len);
    }

    if (ctx->claims.len) {
        ngx_memcpy(e->claims, ctx->claims.data, ctx->claims.len);
    }

    e->role_len = ctx->role.len;
    e->claims_len = ctx->claims.len;
    ngx_memcpy(e->hash, hash, 32);
    e->lcf = lcf;
    e->exp = tmp.exp;
    e->nbf = tmp.nbf;
    e->has_exp = tmp.has_exp;
    e->has_nbf = tmp.has_nbf;
    e->anonymous = ctx->anonymous;
    e->used = 1;

    return NGX_OK;
}


ngx_int_t
ngx_http_govledger_cache_init(ngx_cycle_t *cycle,
    ngx_http_govledger_main_conf_t *gmcf)
{
    ngx_http_govledger_cache_t  *cache;

    if (gmcf->cache_size == 0) {
        return NGX_OK;
    }

    cache = ngx_pcalloc(cycle->pool, sizeof(ngx_http_govledger_cache_t));
    if (cache == NULL) {
        return NGX_ERROR;
    }

    cache->entries = ngx_pcalloc(cycle->pool, gmcf->cache_size
                                 * sizeof(ngx_http_govledger_cache_entry_t));
    if (cache->entries == NULL) {
        return NGX_ERROR;
    }

    cache->size = gmcf->cache_size;
    gmcf->cache = cache;

    return NGX_OK;
}


void
ngx_http_govledger_cache_free(ngx_http_govledger_main_conf_t *gmcf)
{
    ngx_uint_t                         i;
    ngx_http_govledger_cache_entry_t  *e;

    if (gmcf->cache == NULL) {
        return;
    }

    for (i = 0; i < gmcf->cache->size; i++) {
        e = &gmcf->cache->entries[i];
        ngx_free(e->role);
        ngx_free(e->claims);
        e->role = NULL;
        e->claims = NULL;
        e->used = 0;
    }

    gmcf->cache = NULL;
}
