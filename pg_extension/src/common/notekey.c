/*-------------------------------------------------------------------------
 *
 * notekey.c
 *	  Signed-note keys: key IDs, verifier and signer key strings, and
 *	  one-signature signing and checking through OpenSSL EVP.
 *
 * The algorithm of a key is pinned when the key is made (from the type
 * bytes of its verifier string or from the EVP_PKEY itself); signatures
 * are only ever checked with that algorithm, whatever a note claims.
 * See notekey.h for the type bytes and encodings.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/notekey.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "encode.h"
#include "notekey.h"
#include "utf8.h"

#define SM2_TYPE		"\xffgovledger.sm2"
#define SM2_TYPE_LEN	14
#define SM2_DISTID		"1234567812345678"
#define KEY_BYTES_MAX	512		/* type bytes plus DER public key */

const char *
GlSigAlgName(GlSigAlg alg)
{
	switch (alg)
	{
		case GL_SIG_ED25519:
			return "ed25519";
		case GL_SIG_ECDSA_P256:
			return "ecdsa-p256";
		case GL_SIG_SM2:
			return "sm2";
		default:
			return NULL;
	}
}

GlSigAlg
GlSigAlgFromName(const char *name)
{
	if (name == NULL)
		return GL_SIG_NONE;
	if (strcmp(name, "ed25519") == 0)
		return GL_SIG_ED25519;
	if (strcmp(name, "ecdsa-p256") == 0)
		return GL_SIG_ECDSA_P256;
	if (strcmp(name, "sm2") == 0)
		return GL_SIG_SM2;
	return GL_SIG_NONE;
}

bool
GlNoteKeyNameValid(const char *name, size_t len)
{
	const uint8_t *p = (const uint8_t *) name;
	size_t		i = 0;

	if (len == 0 || len > GL_KEY_NAME_MAX)
		return false;
	while (i < len)
	{
		uint32_t	cp;
		int			n = GlUtf8Decode(p + i, len - i, &cp);

		if (n < 0 || cp == '+' || cp < 0x20 || cp == 0x7f ||
			GlUnicodeIsSpace(cp))
			return false;
		i += (size_t) n;
	}
	return true;
}

int
GlNoteKeyGenerate(GlSigAlg alg, EVP_PKEY **pkey)
{
	*pkey = NULL;
	switch (alg)
	{
		case GL_SIG_ED25519:
			*pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
			break;
		case GL_SIG_ECDSA_P256:
			*pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
			break;
		case GL_SIG_SM2:
			*pkey = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
			break;
		default:
			break;
	}
	return *pkey ? 0 : -1;
}

/* Algorithm of an EVP_PKEY, or GL_SIG_NONE when we do not support it. */
static GlSigAlg
pkey_alg(EVP_PKEY *pkey)
{
	char		group[64];
	size_t		glen = 0;

	if (EVP_PKEY_is_a(pkey, "ED25519"))
		return GL_SIG_ED25519;
	if (EVP_PKEY_is_a(pkey, "SM2"))
		return GL_SIG_SM2;
	if (EVP_PKEY_is_a(pkey, "EC") &&
		EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
									   group, sizeof(group), &glen) == 1)
	{
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
			return GL_SIG_ECDSA_P256;
		if (strcmp(group, "SM2") == 0)
			return GL_SIG_SM2;
	}
	return GL_SIG_NONE;
}

/*
 * The type bytes followed by the public key encoding, as carried in a
 * verifier key string.  Returns the length, or -1.
 */
static int
key_bytes(GlSigAlg alg, EVP_PKEY *pkey, uint8_t *out, size_t cap)
{
	size_t		len;
	int			der;
	uint8_t    *p;

	switch (alg)
	{
		case GL_SIG_ED25519:
			if (cap < 33)
				return -1;
			out[0] = 0x01;
			len = 32;
			if (EVP_PKEY_get_raw_public_key(pkey, out + 1, &len) != 1 || len != 32)
				return -1;
			return 33;
		case GL_SIG_ECDSA_P256:
		case GL_SIG_SM2:
			{
				size_t		tl = alg == GL_SIG_SM2 ? SM2_TYPE_LEN : 1;

				der = i2d_PUBKEY(pkey, NULL);
				if (der <= 0 || (size_t) der + tl > cap)
					return -1;
				memcpy(out, alg == GL_SIG_SM2 ? SM2_TYPE : "\x02", tl);
				p = out + tl;
				if (i2d_PUBKEY(pkey, &p) != der)
					return -1;
				return (int) tl + der;
			}
		default:
			return -1;
	}
}

/* Key ID of name and key bytes (type || key), per the rule for alg. */
static int
compute_key_id(GlSigAlg alg, const char *name, size_t namelen,
			   const uint8_t *kb, size_t kblen, uint32_t *id)
{
	uint8_t		md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int			ok;

	if (ctx == NULL)
		return -1;
	if (alg == GL_SIG_ECDSA_P256)
		ok = EVP_DigestInit_ex2(ctx, EVP_sha256(), NULL) == 1 &&
			EVP_DigestUpdate(ctx, kb + 1, kblen - 1) == 1;
	else
		ok = EVP_DigestInit_ex2(ctx, EVP_sha256(), NULL) == 1 &&
			EVP_DigestUpdate(ctx, name, namelen) == 1 &&
			EVP_DigestUpdate(ctx, "\n", 1) == 1 &&
			EVP_DigestUpdate(ctx, kb, kblen) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= 4;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	*id = ((uint32_t) md[0] << 24) | ((uint32_t) md[1] << 16) |
		((uint32_t) md[2] << 8) | md[3];
	return 0;
}

int
GlNoteKeyFromPkey(GlNoteKey *k, const char *name, EVP_PKEY *pkey,
				  const char **err)
{
	uint8_t		kb[KEY_BYTES_MAX];
	int			kblen;
	size_t		namelen = strlen(name);

	memset(k, 0, sizeof(*k));
	if (!GlNoteKeyNameValid(name, namelen))
	{
		*err = "invalid key name";
		return -1;
	}
	k->alg = pkey_alg(pkey);
	if (k->alg == GL_SIG_NONE)
	{
		*err = "unsupported key type (need Ed25519, ECDSA P-256 or SM2)";
		return -1;
	}
	kblen = key_bytes(k->alg, pkey, kb, sizeof(kb));
	if (kblen < 0 || compute_key_id(k->alg, name, namelen, kb, (size_t) kblen,
									&k->key_id) != 0)
	{
		*err = "cannot encode public key";
		return -1;
	}
	if (EVP_PKEY_up_ref(pkey) != 1)
	{
		*err = "out of memory";
		return -1;
	}
	memcpy(k->name, name, namelen + 1);
	k->pkey = pkey;
	/* a key with private parts can sign: ask for the private half */
	{
		EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

		k->has_private = pctx != NULL && EVP_PKEY_private_check(pctx) == 1;
		if (!k->has_private && k->alg == GL_SIG_ED25519)
		{
			uint8_t		seed[32];
			size_t		slen = sizeof(seed);

			k->has_private = EVP_PKEY_get_raw_private_key(pkey, seed, &slen) == 1;
			memset(seed, 0, sizeof(seed));
		}
		EVP_PKEY_CTX_free(pctx);
	}
	return 0;
}

/* Split s[0..len) at the first '+': head and the rest.  -1 when none. */
static int
chop_plus(const char *s, size_t len, size_t *headlen)
{
	const char *p = memchr(s, '+', len);

	if (p == NULL)
		return -1;
	*headlen = (size_t) (p - s);
	return 0;
}

/* Parse exactly 8 lower-case hex digits. */
static int
parse_key_id(const char *s, size_t len, uint32_t *id)
{
	uint8_t		b[4];

	if (len != 8 || GlHexDecode(s, len, b, sizeof(b)) != 4)
		return -1;
	*id = ((uint32_t) b[0] << 24) | ((uint32_t) b[1] << 16) |
		((uint32_t) b[2] << 8) | b[3];
	return 0;
}

int
GlNoteKeyParseVerifier(GlNoteKey *k, const char *vkey, size_t len,
					   const char **err)
{
	size_t		namelen;
	size_t		idlen;
	const char *rest;
	size_t		restlen;
	uint32_t	id;
	uint8_t		kb[KEY_BYTES_MAX];
	long		kblen;
	uint32_t	want;
	EVP_PKEY   *pkey = NULL;
	GlSigAlg	alg;

	memset(k, 0, sizeof(*k));
	if (chop_plus(vkey, len, &namelen) != 0 ||
		!GlNoteKeyNameValid(vkey, namelen))
	{
		*err = "malformed verifier key: bad key name";
		return -1;
	}
	rest = vkey + namelen + 1;
	restlen = len - namelen - 1;
	if (chop_plus(rest, restlen, &idlen) != 0 ||
		parse_key_id(rest, idlen, &id) != 0)
	{
		*err = "malformed verifier key: key ID is not 8 lower-case hex digits";
		return -1;
	}
	rest += idlen + 1;
	restlen -= idlen + 1;
	kblen = GlBase64Decode(rest, restlen, kb, sizeof(kb), false, true);
	if (kblen < 1)
	{
		*err = "malformed verifier key: key material is not base64";
		return -1;
	}

	if (kb[0] == 0x01)
	{
		alg = GL_SIG_ED25519;
		if (kblen != 33)
		{
			*err = "malformed verifier key: Ed25519 key is not 32 bytes";
			return -1;
		}
		pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL,
											  kb + 1, 32);
	}
	else if (kb[0] == 0x02 ||
			 (kblen > SM2_TYPE_LEN && memcmp(kb, SM2_TYPE, SM2_TYPE_LEN) == 0))
	{
		size_t		tl = kb[0] == 0x02 ? 1 : SM2_TYPE_LEN;
		const uint8_t *p = kb + tl;

		alg = kb[0] == 0x02 ? GL_SIG_ECDSA_P256 : GL_SIG_SM2;
		pkey = d2i_PUBKEY(NULL, &p, kblen - (long) tl);
		/* trailing bytes after the DER, or the wrong curve, are errors */
		if (pkey != NULL && (p != kb + kblen || pkey_alg(pkey) != alg))
		{
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	else
	{
		*err = "unsupported verifier key signature type";
		return -1;
	}
	if (pkey == NULL)
	{
		*err = "malformed verifier key: bad public key";
		return -1;
	}
	if (compute_key_id(alg, vkey, namelen, kb, (size_t) kblen, &want) != 0 ||
		want != id)
	{
		EVP_PKEY_free(pkey);
		*err = "verifier key ID does not match the key";
		return -1;
	}
	memcpy(k->name, vkey, namelen);
	k->name[namelen] = '\0';
	k->key_id = id;
	k->alg = alg;
	k->pkey = pkey;
	k->has_private = false;
	return 0;
}

int
GlNoteKeyParseSigner(GlNoteKey *k, const char *skey, size_t len,
					 const char **err)
{
	static const char prefix[] = "PRIVATE+KEY+";
	size_t		plen = sizeof(prefix) - 1;
	size_t		namelen;
	size_t		idlen;
	const char *rest;
	size_t		restlen;
	uint32_t	id;
	uint8_t		kb[64];
	long		kblen;
	char		name[GL_KEY_NAME_MAX + 1];
	EVP_PKEY   *pkey;
	int			rc;

	memset(k, 0, sizeof(*k));
	if (len < plen || memcmp(skey, prefix, plen) != 0)
	{
		*err = "malformed signer key: missing PRIVATE+KEY+ prefix";
		return -1;
	}
	rest = skey + plen;
	restlen = len - plen;
	if (chop_plus(rest, restlen, &namelen) != 0 ||
		!GlNoteKeyNameValid(rest, namelen))
	{
		*err = "malformed signer key: bad key name";
		return -1;
	}
	memcpy(name, rest, namelen);
	name[namelen] = '\0';
	rest += namelen + 1;
	restlen -= namelen + 1;
	if (chop_plus(rest, restlen, &idlen) != 0 ||
		parse_key_id(rest, idlen, &id) != 0)
	{
		*err = "malformed signer key: bad key ID";
		return -1;
	}
	rest += idlen + 1;
	restlen -= idlen + 1;
	kblen = GlBase64Decode(rest, restlen, kb, sizeof(kb), false, true);
	if (kblen != 33 || kb[0] != 0x01)
	{
		memset(kb, 0, sizeof(kb));
		*err = "malformed signer key: not an Ed25519 seed";
		return -1;
	}
	pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, kb + 1, 32);
	memset(kb, 0, sizeof(kb));
	if (pkey == NULL)
	{
		*err = "malformed signer key: bad Ed25519 seed";
		return -1;
	}
	rc = GlNoteKeyFromPkey(k, name, pkey, err);
	EVP_PKEY_free(pkey);
	if (rc != 0)
		return -1;
	if (k->key_id != id)
	{
		GlNoteKeyFree(k);
		*err = "signer key ID does not match the key";
		return -1;
	}
	k->has_private = true;
	return 0;
}

int
GlNoteKeyVerifierString(const GlNoteKey *k, char *out, size_t cap)
{
	uint8_t		kb[KEY_BYTES_MAX];
	char		b64[GL_BASE64_LEN(KEY_BYTES_MAX)];
	int			kblen;
	int			n;

	kblen = key_bytes(k->alg, k->pkey, kb, sizeof(kb));
	if (kblen < 0)
		return -1;
	GlBase64Encode(kb, (size_t) kblen, b64, false, true);
	n = snprintf(out, cap, "%s+%08x+%s", k->name, (unsigned int) k->key_id, b64);
	if (n < 0 || (size_t) n >= cap)
		return -1;
	return n;
}

/*
 * Set up a digest sign or verify operation for k on ctx: the digest
 * each algorithm uses, and SM2's distinguishing ID.
 */
static int
init_md_ctx(const GlNoteKey *k, EVP_MD_CTX *ctx, bool sign)
{
	EVP_PKEY_CTX *pctx = NULL;
	const char *mdname = NULL;
	int			ok;

	if (k->alg == GL_SIG_ECDSA_P256)
		mdname = "SHA256";
	else if (k->alg == GL_SIG_SM2)
		mdname = "SM3";
	if (sign)
		ok = EVP_DigestSignInit_ex(ctx, &pctx, mdname, NULL, NULL, k->pkey, NULL);
	else
		ok = EVP_DigestVerifyInit_ex(ctx, &pctx, mdname, NULL, NULL, k->pkey, NULL);
	if (ok != 1)
		return -1;
	if (k->alg == GL_SIG_SM2 &&
		EVP_PKEY_CTX_set1_id(pctx, SM2_DISTID, strlen(SM2_DISTID)) != 1)
		return -1;
	return 0;
}

int
GlNoteKeySign(const GlNoteKey *k, const void *msg, size_t len, uint8_t *sig,
			  size_t *siglen)
{
	EVP_MD_CTX *ctx;
	size_t		outlen = 0;
	int			rc = -1;

	if (k->pkey == NULL || !k->has_private)
		return -1;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -1;
	if (init_md_ctx(k, ctx, true) == 0 &&
		EVP_DigestSign(ctx, NULL, &outlen, msg, len) == 1 &&
		outlen <= GL_SIG_MAX)
	{
		if (EVP_DigestSign(ctx, sig, &outlen, msg, len) == 1)
		{
			*siglen = outlen;
			rc = 0;
		}
	}
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
GlNoteKeyVerify(const GlNoteKey *k, const void *msg, size_t len,
				const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *ctx;
	int			rc;

	if (k->pkey == NULL)
		return -1;
	if (k->alg == GL_SIG_ED25519 && siglen != 64)
		return 1;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -1;
	if (init_md_ctx(k, ctx, false) != 0)
		rc = -1;
	else
		rc = EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1 ? 0 : 1;
	EVP_MD_CTX_free(ctx);
	return rc;
}

void
GlNoteKeyFree(GlNoteKey *k)
{
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}
