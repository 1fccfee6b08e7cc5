/*
 * note.c
 *	  Unit tests of the signed-note code (pg_extension/src/common/
 *	  note.c, notekey.c, checkpoint.c) against signed-note.json: key IDs
 *	  and key strings, every valid note (parse, verify, re-sign), every
 *	  must-reject note, invalid verifier key and bad checkpoint text; then
 *	  our ECDSA P-256 and SM2 signature types end to end.
 *
 * Copyright (c) 2026, govledger contributors
 */
#include <jansson.h>
#include <string.h>

#include <openssl/evp.h>

#include "checkpoint.h"
#include "encode.h"
#include "note.h"
#include "tap.h"

#define MAXKEYS 16

static int
load_keys(json_t *list, GlNoteKey *keys)
{
	size_t		i;
	json_t	   *v;
	const char *err = NULL;

	json_array_foreach(list, i, v)
	{
		const char *s = json_string_value(v);

		if (i >= MAXKEYS || GlNoteKeyParseVerifier(&keys[i], s, strlen(s), &err) != 0)
			tap_bail("cannot parse a verifier key of a valid vector");
	}
	return (int) json_array_size(list);
}

static void
free_keys(GlNoteKey *keys, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		GlNoteKeyFree(&keys[i]);
}

/* Is name among the strings of a JSON array? */
static int
in_list(json_t *list, const char *name, size_t len)
{
	size_t		i;
	json_t	   *v;

	json_array_foreach(list, i, v)
	{
		const char *s = json_string_value(v);

		if (strlen(s) == len && memcmp(s, name, len) == 0)
			return 1;
	}
	return 0;
}

static void
key_tests(json_t *keys)
{
	size_t		i;
	json_t	   *k;

	json_array_foreach(keys, i, k)
	{
		const char *name = json_string_value(json_object_get(k, "name"));
		const char *vk = json_string_value(json_object_get(k, "verifier_key"));
		const char *sk = json_string_value(json_object_get(k, "signer_key"));
		const char *idhex = json_string_value(json_object_get(k, "key_id_hex"));
		const char *pubhex = json_string_value(json_object_get(k, "ed25519_public_key_hex"));
		GlNoteKey	key;
		const char *err = "";
		char		out[GL_VERIFIER_KEY_MAX];
		char		id[9];
		uint8_t		pub[32];
		size_t		plen = 32;
		char		pubout[65];

		tap_ok(GlNoteKeyParseVerifier(&key, vk, strlen(vk), &err) == 0, "parse verifier key %s", name);
		snprintf(id, sizeof(id), "%08x", (unsigned int) key.key_id);
		tap_is_str(id, idhex, "key ID");
		tap_ok(key.alg == GL_SIG_ED25519 && !key.has_private, "Ed25519 public key");
		EVP_PKEY_get_raw_public_key(key.pkey, pub, &plen);
		GlHexEncode(pub, 32, pubout);
		tap_is_str(pubout, pubhex, "public key bytes");
		GlNoteKeyVerifierString(&key, out, sizeof(out));
		tap_is_str(out, vk, "verifier key string round trip");
		GlNoteKeyFree(&key);
		if (sk)
		{
			tap_ok(GlNoteKeyParseSigner(&key, sk, strlen(sk), &err) == 0 && key.has_private,
				   "parse signer key %s", name);
			GlNoteKeyVerifierString(&key, out, sizeof(out));
			tap_is_str(out, vk, "signer key yields the published verifier key");
			GlNoteKeyFree(&key);
		}
	}
}

static const char *
signer_for(json_t *keys, const char *name)
{
	size_t		i;
	json_t	   *k;

	json_array_foreach(keys, i, k)
	{
		if (strcmp(json_string_value(json_object_get(k, "name")), name) == 0)
			return json_string_value(json_object_get(k, "signer_key"));
	}
	return NULL;
}

static void
checkpoint_matches(json_t *cpj, const char *text, size_t len, const char *id)
{
	GlCheckpoint cp;
	const char *err = "";
	char		hex[GL_HEX_LEN(GL_HASH_MAX_SIZE)];
	const char *origin = json_string_value(json_object_get(cpj, "origin"));

	tap_ok(GlCheckpointParse(&cp, text, len, 32, origin, &err) == 0, "%s: checkpoint body parses", id);
	GlHexEncode(cp.root, cp.rootlen, hex);
	tap_ok(cp.originlen == strlen(origin) && memcmp(cp.origin, origin, cp.originlen) == 0 &&
		   cp.size == (uint64_t) json_integer_value(json_object_get(cpj, "tree_size")) &&
		   strcmp(hex, json_string_value(json_object_get(cpj, "root_hash_hex"))) == 0 &&
		   cp.ext == NULL,
		   "%s: origin, size and root as published", id);
	{
		GlBuf		b;

		GlBufInit(&b);
		GlCheckpointFormat(&b, origin, cp.size, cp.root, cp.rootlen, NULL, &err);
		tap_ok(b.len == len && memcmp(b.data, text, len) == 0, "%s: formatting gives the same body", id);
		GlBufFree(&b);
	}
}

static void
note_tests(json_t *notes, json_t *allkeys)
{
	size_t		i;
	json_t	   *e;

	json_array_foreach(notes, i, e)
	{
		const char *id = json_string_value(json_object_get(e, "id"));
		const char *msg = json_string_value(json_object_get(e, "note"));
		const char *text = json_string_value(json_object_get(e, "text"));
		json_t	   *sigs = json_object_get(e, "signatures");
		json_t	   *vexp = json_object_get(e, "verified_signatures_expected");
		json_t	   *uexp = json_object_get(e, "unverified_signatures_expected");
		GlNoteKey	keys[MAXKEYS];
		int			nkeys = load_keys(json_object_get(e, "verifier_keys"), keys);
		static GlNote note;
		const char *err = "";
		int			nver = 0;
		int			j;
		int			setok = 1;

		tap_ok(GlNoteParse(&note, msg, strlen(msg), &err) == GL_NOTE_OK, "%s: parses", id);
		tap_ok(note.textlen == strlen(text) && memcmp(note.text, text, note.textlen) == 0,
			   "%s: text is split at the last blank line", id);
		tap_ok(note.nsigs == (int) json_array_size(sigs), "%s: %d signature lines", id, note.nsigs);
		tap_ok(GlNoteVerify(&note, keys, nkeys, &nver, &err) == GL_NOTE_OK, "%s: verifies", id);
		for (j = 0; j < note.nsigs; j++)
		{
			GlNoteSig  *s = &note.sigs[j];

			if (vexp && s->verified != in_list(vexp, s->name, s->namelen))
				setok = 0;
			if (uexp && s->verified && in_list(uexp, s->name, s->namelen))
				setok = 0;
			if (!vexp && !s->verified)
				setok = 0;
		}
		tap_ok(setok, "%s: exactly the expected signatures verified (%d)", id, nver);
		if (json_object_get(e, "checkpoint"))
			checkpoint_matches(json_object_get(e, "checkpoint"), note.text, note.textlen, id);
		/* Ed25519 is deterministic: re-signing reproduces single-signature notes */
		if (json_array_size(sigs) == 1)
		{
			const char *kn = json_string_value(json_object_get(json_array_get(sigs, 0), "key_name"));
			const char *sk = signer_for(allkeys, kn);

			if (sk)
			{
				GlNoteKey	signer;
				GlBuf		b;

				GlBufInit(&b);
				GlNoteKeyParseSigner(&signer, sk, strlen(sk), &err);
				tap_ok(GlNoteSign(text, strlen(text), &signer, 1, &b, &err) == 0 &&
					   b.len == strlen(msg) && memcmp(b.data, msg, b.len) == 0,
					   "%s: signing the text reproduces the note", id);
				GlBufFree(&b);
				GlNoteKeyFree(&signer);
			}
		}
		free_keys(keys, nkeys);
	}
}

static void
unverifiable_tests(json_t *list)
{
	size_t		i;
	json_t	   *e;

	json_array_foreach(list, i, e)
	{
		const char *id = json_string_value(json_object_get(e, "id"));
		const char *msg = json_string_value(json_object_get(e, "note"));
		const char *text = json_string_value(json_object_get(e, "text"));
		json_t	   *sig = json_object_get(e, "signature");
		static GlNote note;
		const char *err = "";
		char		kid[9];
		uint8_t		raw[128];
		long		rawlen;

		tap_ok(GlNoteParse(&note, msg, strlen(msg), &err) == GL_NOTE_OK, "%s: parses", id);
		tap_ok(note.textlen == strlen(text) && memcmp(note.text, text, note.textlen) == 0,
			   "%s: text is split at the last blank line", id);
		snprintf(kid, sizeof(kid), "%08x", (unsigned int) note.sigs[0].key_id);
		rawlen = GlBase64Decode(note.sigs[0].b64, note.sigs[0].b64len, raw, sizeof(raw), false, true);
		tap_ok(note.nsigs == 1 &&
			   note.sigs[0].namelen == strlen(json_string_value(json_object_get(sig, "key_name"))) &&
			   memcmp(note.sigs[0].name, json_string_value(json_object_get(sig, "key_name")), note.sigs[0].namelen) == 0 &&
			   strcmp(kid, json_string_value(json_object_get(sig, "key_id_hex"))) == 0 &&
			   rawlen == 4 + json_integer_value(json_object_get(sig, "signature_length_octets")),
			   "%s: key name, key ID and signature length", id);
		if (json_object_get(e, "checkpoint"))
			checkpoint_matches(json_object_get(e, "checkpoint"), note.text, note.textlen, id);
	}
}

static void
reject_tests(json_t *list)
{
	size_t		i;
	json_t	   *e;

	json_array_foreach(list, i, e)
	{
		const char *id = json_string_value(json_object_get(e, "id"));
		const char *msg = json_string_value(json_object_get(e, "note"));
		const char *nhex = json_string_value(json_object_get(e, "note_hex"));
		GlNoteKey	keys[MAXKEYS];
		int			nkeys = load_keys(json_object_get(e, "verifier_keys"), keys);
		static GlNote note;
		const char *err = "";
		uint8_t    *raw = NULL;
		size_t		len;
		int			rc;

		if (msg == NULL)
		{
			raw = malloc(strlen(nhex) / 2 + 1);
			len = (size_t) GlHexDecode(nhex, strlen(nhex), raw, strlen(nhex) / 2 + 1);
			msg = (const char *) raw;
		}
		else
			len = strlen(msg);
		rc = GlNoteParse(&note, msg, len, &err);
		if (rc == GL_NOTE_OK)
			rc = GlNoteVerify(&note, keys, nkeys, NULL, &err);
		tap_ok(rc != GL_NOTE_OK, "%s: rejected (%s)", id, err);
		free(raw);
		free_keys(keys, nkeys);
	}
}

static void
bad_key_tests(json_t *list)
{
	size_t		i;
	json_t	   *e;

	json_array_foreach(list, i, e)
	{
		const char *vk = json_string_value(json_object_get(e, "verifier_key"));
		GlNoteKey	key;
		const char *err = "";

		int			rc = GlNoteKeyParseVerifier(&key, vk, strlen(vk), &err);

		tap_ok(rc != 0, "invalid verifier key rejected: %s (%s)",
			   json_string_value(json_object_get(e, "reason")), err);
	}
}

static void
checkpoint_reject_tests(json_t *list)
{
	size_t		i;
	json_t	   *e;

	json_array_foreach(list, i, e)
	{
		const char *id = json_string_value(json_object_get(e, "id"));
		const char *text = json_string_value(json_object_get(e, "text"));
		const char *origin = json_string_value(json_object_get(e, "expected_origin"));
		GlCheckpoint cp;
		const char *err = "";

		int			rc = GlCheckpointParse(&cp, text, strlen(text), 32, origin, &err);

		tap_ok(rc != 0, "checkpoint %s rejected (%s)", id, err);
	}
}

/* Our own algorithms: generate, sign a checkpoint, verify, tamper. */
static void
alg_tests(GlSigAlg alg)
{
	const char *an = GlSigAlgName(alg);
	EVP_PKEY   *pk = NULL;
	GlNoteKey	signer;
	GlNoteKey	verifier;
	GlNoteKey	other;
	char		vks[GL_VERIFIER_KEY_MAX];
	const char *err = "";
	GlBuf		text;
	GlBuf		signed_note;
	static GlNote note;
	uint8_t		root[32];
	int			n;

	memset(root, 0x42, sizeof(root));
	GlBufInit(&text);
	GlBufInit(&signed_note);
	tap_ok(GlNoteKeyGenerate(alg, &pk) == 0, "%s: generate key", an);
	tap_ok(GlNoteKeyFromPkey(&signer, "gov.example/ledger/main", pk, &err) == 0 &&
		   signer.alg == alg && signer.has_private, "%s: signer from EVP_PKEY", an);
	EVP_PKEY_free(pk);
	n = GlNoteKeyVerifierString(&signer, vks, sizeof(vks));
	tap_ok(n > 0, "%s: verifier key string %s", an, vks);
	tap_ok(GlNoteKeyParseVerifier(&verifier, vks, (size_t) n, &err) == 0 &&
		   verifier.alg == alg && verifier.key_id == signer.key_id && !verifier.has_private,
		   "%s: verifier key string parses back (%s)", an, err);
	GlCheckpointFormat(&text, "gov.example/ledger/main", 12345, root, 32, "ext line\n", &err);
	tap_ok(GlNoteSign(text.data, text.len, &signer, 1, &signed_note, &err) == 0, "%s: sign a checkpoint", an);
	tap_ok(GlNoteParse(&note, signed_note.data, signed_note.len, &err) == GL_NOTE_OK &&
		   GlNoteVerify(&note, &verifier, 1, NULL, &err) == GL_NOTE_OK, "%s: signature verifies", an);
	{
		GlCheckpoint cp;

		tap_ok(GlCheckpointParse(&cp, note.text, note.textlen, 32, "gov.example/ledger/main", &err) == 0 &&
			   cp.size == 12345 && memcmp(cp.root, root, 32) == 0 && cp.extlen == 9,
			   "%s: checkpoint body reads back with its extension line", an);
	}
	/* change one character of the text: the signature must fail */
	signed_note.data[25] ^= 1;
	tap_ok(GlNoteParse(&note, signed_note.data, signed_note.len, &err) == GL_NOTE_OK &&
		   GlNoteVerify(&note, &verifier, 1, NULL, &err) == GL_NOTE_BAD_SIGNATURE,
		   "%s: altered text fails", an);
	signed_note.data[25] ^= 1;
	/* another key of the same algorithm and name: unknown key ID */
	GlNoteKeyGenerate(alg, &pk);
	GlNoteKeyFromPkey(&other, "gov.example/ledger/main", pk, &err);
	EVP_PKEY_free(pk);
	GlNoteParse(&note, signed_note.data, signed_note.len, &err);
	tap_ok(GlNoteVerify(&note, &other, 1, NULL, &err) == GL_NOTE_UNVERIFIED,
		   "%s: another key does not verify it", an);
	/* forged key ID: other key claims signer's ID: signature must fail */
	other.key_id = signer.key_id;
	tap_ok(GlNoteVerify(&note, &other, 1, NULL, &err) == GL_NOTE_BAD_SIGNATURE,
		   "%s: a key with a colliding ID fails the signature", an);
	GlNoteKeyFree(&other);
	{
		GlBuf		b;

		GlBufInit(&b);
		tap_ok(GlNoteSign(text.data, text.len, &verifier, 1, &b, &err) != 0,
			   "%s: a public key cannot sign", an);
		GlBufFree(&b);
	}
	GlNoteKeyFree(&signer);
	GlNoteKeyFree(&verifier);
	GlBufFree(&text);
	GlBufFree(&signed_note);
}

static void
misc_tests(void)
{
	GlNoteKey	k;
	const char *err = "";
	EVP_PKEY   *pk;
	GlBuf		b;

	tap_ok(GlSigAlgFromName("ed25519") == GL_SIG_ED25519 && GlSigAlgFromName("sm2") == GL_SIG_SM2 &&
		   GlSigAlgFromName("ecdsa-p256") == GL_SIG_ECDSA_P256 && GlSigAlgFromName("rsa") == GL_SIG_NONE,
		   "algorithm names");
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	tap_ok(GlNoteKeyFromPkey(&k, "x", pk, &err) != 0, "P-384 keys are refused (%s)", err);
	EVP_PKEY_free(pk);
	GlNoteKeyGenerate(GL_SIG_ED25519, &pk);
	tap_ok(GlNoteKeyFromPkey(&k, "bad name", pk, &err) != 0, "key names with spaces are refused");
	tap_ok(GlNoteKeyFromPkey(&k, "bad+name", pk, &err) != 0, "key names with '+' are refused");
	tap_ok(GlNoteKeyFromPkey(&k, "", pk, &err) != 0, "empty key names are refused");
	tap_ok(GlNoteKeyFromPkey(&k, "name\xe2\x80\x83wide", pk, &err) != 0, "key names with U+2003 are refused");
	GlNoteKeyFromPkey(&k, "ok", pk, &err);
	EVP_PKEY_free(pk);
	GlBufInit(&b);
	tap_ok(GlNoteSign("no newline", 10, &k, 1, &b, &err) != 0, "note text must end in a newline");
	tap_ok(GlNoteSign("a\rb\n", 4, &k, 1, &b, &err) != 0, "note text must not hold control characters");
	tap_ok(GlNoteSign("a\n", 2, &k, 0, &b, &err) != 0, "signing needs a key");
	GlBufFree(&b);
	GlNoteKeyFree(&k);
	GlBufInit(&b);
	tap_ok(GlCheckpointFormat(&b, "", 1, (const uint8_t *) "0123456789abcdef0123456789abcdef", 32, NULL, &err) != 0,
		   "checkpoint with empty origin is refused");
	tap_ok(GlCheckpointFormat(&b, "o", 1, (const uint8_t *) "0123456789abcdef0123456789abcdef", 32, "\n", &err) != 0,
		   "checkpoint with empty extension line is refused");
	tap_ok(GlCheckpointFormat(&b, "o\nx", 1, (const uint8_t *) "0123456789abcdef0123456789abcdef", 32, NULL, &err) != 0,
		   "checkpoint origin with a newline is refused");
	GlBufFree(&b);
	{
		GlCheckpoint cp;
		const char *t = "o\n18446744073709551615\nMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n";
		const char *t2 = "o\n18446744073709551616\nMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n";
		const char *t3 = "o\n0\nMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\nx\n";

		tap_ok(GlCheckpointParse(&cp, t, strlen(t), 32, NULL, &err) == 0 && cp.size == UINT64_MAX,
			   "tree size 2^64-1 parses");
		tap_ok(GlCheckpointParse(&cp, t2, strlen(t2), 32, NULL, &err) != 0, "tree size 2^64 is refused");
		tap_ok(GlCheckpointParse(&cp, t3, strlen(t3), 32, NULL, &err) == 0 && cp.size == 0 && cp.extlen == 2,
			   "size 0 with an extension line parses");
		tap_ok(GlCheckpointParse(&cp, t3, strlen(t3), 32, "p", &err) != 0, "origin mismatch is refused");
	}
}

int
main(int argc, char **argv)
{
	json_error_t jerr;
	json_t	   *vec;

	(void) argc;
	vec = json_load_file(tap_vector_path(argv[0], "signed-note.json"), 0, &jerr);
	if (vec == NULL)
		tap_bail("cannot read signed-note.json (set GOVLEDGER_VECTORS)");
	key_tests(json_object_get(vec, "keys"));
	note_tests(json_object_get(vec, "signed_notes"), json_object_get(vec, "keys"));
	unverifiable_tests(json_object_get(vec, "format_examples_unverifiable"));
	reject_tests(json_object_get(vec, "must_reject"));
	bad_key_tests(json_object_get(vec, "invalid_verifier_keys"));
	checkpoint_reject_tests(json_object_get(vec, "checkpoint_text_must_reject"));
	alg_tests(GL_SIG_ED25519);
	alg_tests(GL_SIG_ECDSA_P256);
	alg_tests(GL_SIG_SM2);
	misc_tests();
	json_decref(vec);
	return tap_done();
}
