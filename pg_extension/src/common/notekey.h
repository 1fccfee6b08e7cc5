/*-------------------------------------------------------------------------
 *
 * notekey.h
 *	  Signed-note keys: signature algorithms, key IDs, verifier and
 *	  signer key strings, signing and checking one signature.
 *
 * Signature types (the bytes that precede the public key in a verifier
 * key string and enter the key ID):
 *
 *	0x01		Ed25519 (c2sp.org/signed-note); public key: the 32 raw
 *				bytes; key ID = SHA-256(name || 0x0A || 0x01 || key)[:4];
 *				signature: 64 bytes (RFC 8032) over the note text.
 *	0x02		ECDSA on NIST P-256 with SHA-256, the type c2sp.org/
 *				signed-note assigns to ECDSA; public key: DER SubjectPublic-
 *				KeyInfo; key ID = SHA-256(that DER)[:4] as that
 *				specification requires for this type; signature: ASN.1 DER
 *				ECDSA-Sig-Value over SHA-256 of the note text.
 *	0xff "govledger.sm2"
 *				SM2 with SM3 (GB/T 32918, distinguishing ID
 *				"1234567812345678"), our private type under the 0xff
 *				escape that c2sp.org/signed-note reserves for types it
 *				does not assign: the 14 bytes 0xff followed by the ASCII
 *				text "govledger.sm2"; public key: DER SubjectPublicKeyInfo;
 *				key ID = SHA-256(name || 0x0A || those 14 bytes || DER)[:4]
 *				(the specification's recommended rule); signature: ASN.1
 *				DER SM2 signature of the note text.
 *
 * Verifier key string: name "+" 8 lower-case hex digits of the key ID
 * "+" base64(type bytes || public key).  Signer key string (Ed25519
 * only, as golang.org/x/mod/sumdb/note writes it): "PRIVATE+KEY+" name
 * "+" key ID "+" base64(0x01 || 32-byte seed).
 *
 * A GlNoteKey owns one reference to its EVP_PKEY; release it with
 * GlNoteKeyFree.  Errors are reported through a static message string.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/notekey.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVLEDGER_NOTEKEY_H
#define GOVLEDGER_NOTEKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GL_KEY_NAME_MAX		255		/* bytes, UTF-8 */
#define GL_SIG_MAX			160		/* largest signature we produce or check */
#define GL_VERIFIER_KEY_MAX	1024	/* longest verifier key string + NUL */

typedef enum GlSigAlg
{
	GL_SIG_NONE = 0,
	GL_SIG_ED25519,
	GL_SIG_ECDSA_P256,
	GL_SIG_SM2
} GlSigAlg;

typedef struct GlNoteKey
{
	char		name[GL_KEY_NAME_MAX + 1];	/* NUL-terminated key name */
	uint32_t	key_id;
	GlSigAlg	alg;
	bool		has_private;	/* pkey can sign */
	struct evp_pkey_st *pkey;	/* owned reference */
} GlNoteKey;

/* Our SQL-level names: "ed25519", "ecdsa-p256", "sm2"; NULL for NONE. */
extern const char *GlSigAlgName(GlSigAlg alg);

/* Inverse of GlSigAlgName; GL_SIG_NONE for an unknown name. */
extern GlSigAlg GlSigAlgFromName(const char *name);

/*
 * True when name[0..len) is a valid key name: non-empty, at most
 * GL_KEY_NAME_MAX bytes, valid UTF-8, no Unicode white space, no '+'
 * and no control characters.
 */
extern bool GlNoteKeyNameValid(const char *name, size_t len);

/*
 * Generate a new key pair for 'alg' into *pkey (caller frees with
 * EVP_PKEY_free).  Returns 0 or -1.
 */
extern int	GlNoteKeyGenerate(GlSigAlg alg, struct evp_pkey_st **pkey);

/*
 * Make k a key named 'name' around pkey (public or private), detecting
 * the algorithm from the key.  Takes its own reference to pkey.
 * Returns 0, or -1 with *err set (unsupported key type, bad name).
 */
extern int	GlNoteKeyFromPkey(GlNoteKey *k, const char *name,
							  struct evp_pkey_st *pkey, const char **err);

/* Parse a verifier key string.  Returns 0, or -1 with *err set. */
extern int	GlNoteKeyParseVerifier(GlNoteKey *k, const char *vkey, size_t len,
								   const char **err);

/* Parse an Ed25519 signer key string.  Returns 0, or -1 with *err set. */
extern int	GlNoteKeyParseSigner(GlNoteKey *k, const char *skey, size_t len,
								 const char **err);

/*
 * Write k's verifier key string and a NUL into out (capacity cap; 
 * GL_VERIFIER_KEY_MAX always suffices).  Returns its length or -1.
 */
extern int	GlNoteKeyVerifierString(const GlNoteKey *k, char *out, size_t cap);

/*
 * Sign msg[0..len) with k (which must hold a private key) into sig
 * (GL_SIG_MAX bytes); *siglen receives the length.  Returns 0 or -1.
 */
extern int	GlNoteKeySign(const GlNoteKey *k, const void *msg, size_t len,
						  uint8_t *sig, size_t *siglen);

/*
 * Check signature sig[0..siglen) of msg[0..len) under k.  Returns 0
 * when it verifies, 1 when it does not, -1 when OpenSSL failed.
 */
extern int	GlNoteKeyVerify(const GlNoteKey *k, const void *msg, size_t len,
							const uint8_t *sig, size_t siglen);

/* Release k's key reference; safe on a zeroed or freed key. */
extern void GlNoteKeyFree(GlNoteKey *k);

#endif							/* GOVLEDGER_NOTEKEY_H */
