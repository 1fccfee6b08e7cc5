/*-------------------------------------------------------------------------
 *
 * signature.c
 *	  govledger.verify_signature: check one signature of a message under
 *	  a public key given as bytes, for schemas that accept only signed
 *	  rows (agency attestations, revocations).
 *
 * Algorithms and key formats:
 *	  ed25519		public key: the 32 raw bytes (RFC 8032); signature: 64
 *					bytes over the message
 *	  ecdsa-p256	public key: 65-byte uncompressed point (0x04 || X || Y)
 *					or DER SubjectPublicKeyInfo; signature: ASN.1 DER
 *					ECDSA-Sig-Value over SHA-256 of the message
 *	  sm2			public key: as for ecdsa-p256 on the SM2 curve;
 *					signature: ASN.1 DER over SM3 with the default
 *					distinguishing ID "1234567812345678" (GB/T 32918)
 *
 * A key or signature that is malformed, of the wrong type or length, or
 * does not verify gives false; only an unknown algorithm name is an
 * error.  The checking itself is the shared code that also checks
 * checkpoint signatures (src/common/notekey.c), through OpenSSL's EVP.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/signature.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "common/notekey.h"

PG_FUNCTION_INFO_V1(govledger_verify_signature);

/*
 * Build a public key of 'alg' from key[0..len).  Returns NULL when the
 * bytes are not such a key.  The caller frees the result.
 */
static EVP_PKEY *
public_key_from_bytes(GlSigAlg alg, const unsigned char *key, size_t len)
{
	EVP_PKEY   *pkey = NULL;

	if (alg == GL_SIG_ED25519)
	{
		if (len != 32)
			return NULL;
		return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key, len);
	}

	if (len == 65 && key[0] == 0x04)
	{
		const char *group = alg == GL_SIG_SM2 ? "SM2" : "prime256v1";
		const char *keytype = alg == GL_SIG_SM2 ? "SM2" : "EC";
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		OSSL_PARAM *params = NULL;
		EVP_PKEY_CTX *ctx = NULL;

		if (bld != NULL &&
			OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
											group, 0) == 1 &&
			OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
											 key, len) == 1 &&
			(params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
			(ctx = EVP_PKEY_CTX_new_from_name(NULL, keytype, NULL)) != NULL &&
			EVP_PKEY_fromdata_init(ctx) == 1)
		{
			if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
				pkey = NULL;
		}
		EVP_PKEY_CTX_free(ctx);
		OSSL_PARAM_free(params);
		OSSL_PARAM_BLD_free(bld);
	}
	else
	{
		const unsigned char *p = key;

		pkey = d2i_PUBKEY(NULL, &p, (long) len);
		if (pkey != NULL && p != key + len)
		{
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	return pkey;
}

/* SQL function: verify_signature(alg text, pubkey bytea, msg bytea, sig bytea) returns bool */
Datum
govledger_verify_signature(PG_FUNCTION_ARGS)
{
	char	   *algname = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bytea	   *pub = PG_GETARG_BYTEA_PP(1);
	bytea	   *msg = PG_GETARG_BYTEA_PP(2);
	bytea	   *sig = PG_GETARG_BYTEA_PP(3);
	GlSigAlg	alg = GlSigAlgFromName(algname);
	EVP_PKEY   *pkey;
	GlNoteKey	key;
	const char *err = NULL;
	int			rc;

	if (alg == GL_SIG_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown signature algorithm \"%s\"", algname),
				 errhint("Use ed25519, ecdsa-p256 or sm2.")));

	pkey = public_key_from_bytes(alg,
								 (const unsigned char *) VARDATA_ANY(pub),
								 VARSIZE_ANY_EXHDR(pub));
	if (pkey == NULL)
		PG_RETURN_BOOL(false);

	/* the key must be of the algorithm asked for (pinned, never guessed) */
	if (GlNoteKeyFromPkey(&key, "signature", pkey, &err) != 0 ||
		key.alg != alg)
	{
		GlNoteKeyFree(&key);	/* zeroed on failure, so always safe */
		EVP_PKEY_free(pkey);
		PG_RETURN_BOOL(false);
	}
	EVP_PKEY_free(pkey);

	rc = GlNoteKeyVerify(&key, VARDATA_ANY(msg), VARSIZE_ANY_EXHDR(msg),
						 (const uint8_t *) VARDATA_ANY(sig),
						 VARSIZE_ANY_EXHDR(sig));
	GlNoteKeyFree(&key);
	if (rc < 0)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not check a %s signature", algname)));
	PG_RETURN_BOOL(rc == 0);
}
