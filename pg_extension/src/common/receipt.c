/*-------------------------------------------------------------------------
 *
 * receipt.c
 *	  Receipt, checkpoint and consistency verification shared by the
 *	  extension and the offline verifier.
 *
 * The order of the checks is fixed so that the first failure reported
 * names the member an attacker or a transmission error changed: format
 * and algorithm, the canonical row and what it binds (entry, ledger,
 * leaf hash), the checkpoint's signature and body (log, tree size), and
 * finally the inclusion proof (leaf index, proof).
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/receipt.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "encode.h"
#include "jcs.h"
#include "json.h"
#include "merkle.h"
#include "note.h"
#include "receipt.h"

/* Format "field: message" into err; returns GL_RECEIPT_BAD. */
static int
bad(char *err, size_t errcap, const char *field, const char *fmt,...)
	__attribute__((format(printf, 4, 5)));

static int
bad(char *err, size_t errcap, const char *field, const char *fmt,...)
{
	va_list		ap;
	int			n = 0;

	if (errcap == 0)
		return GL_RECEIPT_BAD;
	if (field)
		n = snprintf(err, errcap, "%s: ", field);
	if (n >= 0 && (size_t) n < errcap)
	{
		va_start(ap, fmt);
		vsnprintf(err + n, errcap - (size_t) n, fmt, ap);
		va_end(ap);
	}
	return GL_RECEIPT_BAD;
}

/* Member of obj of the given type, or NULL with err set. */
static const GlJson *
member(const GlJson *obj, const char *key, GlJsonType type, const char *ctx,
	   char *err, size_t errcap)
{
	const GlJson *v = GlJsonGet(obj, key);
	char		field[128];

	snprintf(field, sizeof(field), "%s%s", ctx, key);
	if (v == NULL)
	{
		bad(err, errcap, field, "missing");
		return NULL;
	}
	if (v->type != type)
	{
		bad(err, errcap, field, "has the wrong JSON type");
		return NULL;
	}
	return v;
}

static int
member_u64(const GlJson *obj, const char *key, const char *ctx, uint64_t *out,
		   char *err, size_t errcap)
{
	const GlJson *v = member(obj, key, GL_JSON_NUMBER, ctx, err, errcap);
	char		field[128];

	if (v == NULL)
		return GL_RECEIPT_BAD;
	snprintf(field, sizeof(field), "%s%s", ctx, key);
	if (GlJsonGetUint64(v, out) != 0)
		return bad(err, errcap, field, "is not a non-negative 64-bit integer");
	return 0;
}

/* Decode a hex string of exactly hashlen bytes. */
static int
hex_hash(const GlJson *v, size_t hashlen, uint8_t *out, const char *field,
		 char *err, size_t errcap)
{
	if (v->type != GL_JSON_STRING || v->len != 2 * hashlen ||
		GlHexDecode(v->str, v->len, out, hashlen) != (long) hashlen)
		return bad(err, errcap, field, "is not %zu bytes of lower-case hex", hashlen);
	return 0;
}

/* The "proof" array of obj into out (hashlen bytes each). */
static int
proof_array(const GlJson *obj, size_t hashlen, uint8_t *out, int *n,
			const char *ctx, char *err, size_t errcap)
{
	const GlJson *arr = member(obj, "proof", GL_JSON_ARRAY, ctx, err, errcap);
	char		field[128];
	size_t		i;

	if (arr == NULL)
		return GL_RECEIPT_BAD;
	snprintf(field, sizeof(field), "%sproof", ctx);
	if (arr->count > GL_MERKLE_MAX_PROOF)
		return bad(err, errcap, field, "has too many hashes");
	for (i = 0; i < arr->count; i++)
	{
		char		f2[160];

		snprintf(f2, sizeof(f2), "%s[%zu]", field, i);
		if (hex_hash(arr->items[i], hashlen, out + i * hashlen, f2, err, errcap) != 0)
			return GL_RECEIPT_BAD;
	}
	*n = (int) arr->count;
	return 0;
}

int
GlCheckpointVerify(const char *note, size_t len, const GlNoteKey *key,
				   size_t hashlen, const char *origin, GlCheckpoint *cp,
				   const char *field, char *err, size_t errcap)
{
	GlNote	   *n;
	const char *msg = "";
	int			rc;

	n = malloc(sizeof(GlNote));
	if (n == NULL)
	{
		bad(err, errcap, field, "out of memory");
		return -1;
	}
	rc = GlNoteParse(n, note, len, &msg);
	if (rc == GL_NOTE_OK)
		rc = GlNoteVerify(n, key, 1, NULL, &msg);
	if (rc != GL_NOTE_OK)
	{
		free(n);
		bad(err, errcap, field, "%s (key %s)", msg, key->name);
		return rc < 0 ? -1 : GL_RECEIPT_BAD;
	}
	rc = GlCheckpointParse(cp, n->text, n->textlen, hashlen, NULL, &msg);
	free(n);
	if (rc != 0)
		return bad(err, errcap, field, "%s", msg);
	if (origin != NULL &&
		(cp->originlen != strlen(origin) ||
		 memcmp(cp->origin, origin, cp->originlen) != 0))
		return bad(err, errcap, field, "checkpoint origin \"%.*s\" is not \"%s\"",
				   (int) (cp->originlen > 200 ? 200 : cp->originlen), cp->origin,
				   origin);
	return 0;
}

/* Everything after parsing: r is the receipt object. */
static int
verify_parsed(const GlJson *r, const GlNoteKey *key, GlReceiptInfo *info,
			  char *err, size_t errcap)
{
	const GlJson *v;
	const GlJson *canonical;
	const GlJson *ledger;
	GlHash		h;
	uint8_t		leaf[GL_HASH_MAX_SIZE];
	uint8_t		computed[GL_HASH_MAX_SIZE];
	uint8_t		proof[GL_MERKLE_MAX_PROOF * GL_HASH_MAX_SIZE];
	int			nproof = 0;
	GlCheckpoint cp;
	int			rc;

	if (r->type != GL_JSON_OBJECT)
		return bad(err, errcap, "receipt", "not a JSON object");
	if ((v = member(r, "format", GL_JSON_STRING, "", err, errcap)) == NULL)
		return GL_RECEIPT_BAD;
	if (strcmp(v->str, GL_RECEIPT_FORMAT) != 0)
		return bad(err, errcap, "format", "is not \"%s\"", GL_RECEIPT_FORMAT);
	if ((v = member(r, "hash_alg", GL_JSON_STRING, "", err, errcap)) == NULL)
		return GL_RECEIPT_BAD;
	if (!GlHashNameValid(v->str))
		return bad(err, errcap, "hash_alg", "unsupported hash algorithm \"%.32s\"", v->str);
	strcpy(info->hash_alg, v->str);
	if ((v = member(r, "log", GL_JSON_STRING, "", err, errcap)) == NULL)
		return GL_RECEIPT_BAD;
	if (v->len >= sizeof(info->origin) || strlen(v->str) != v->len)
		return bad(err, errcap, "log", "is not a valid log origin");
	memcpy(info->origin, v->str, v->len + 1);
	if ((ledger = member(r, "ledger", GL_JSON_STRING, "", err, errcap)) == NULL)
		return GL_RECEIPT_BAD;
	snprintf(info->ledger, sizeof(info->ledger), "%s", ledger->str);
	if (member_u64(r, "entry_id", "", &info->entry_id, err, errcap) != 0 ||
		member_u64(r, "leaf_index", "", &info->leaf_index, err, errcap) != 0 ||
		member_u64(r, "tree_size", "", &info->tree_size, err, errcap) != 0)
		return GL_RECEIPT_BAD;

	/*
	 * The canonical row: a JSON object in govledger's canonical form (RFC
	 * 8785, numbers with their exact digits), bound to entry_id and ledger.
	 */
	if ((canonical = member(r, "canonical", GL_JSON_STRING, "", err, errcap)) == NULL)
		return GL_RECEIPT_BAD;
	{
		GlBuf		canon;
		GlJsonDoc	cdoc;
		const GlJson *e;
		char		jerr[160];
		char		idbuf[32];
		int			same;

		if (GlJsonParseFlags(&cdoc, canonical->str, canonical->len, GL_JSON_EXACT_NUMBERS,
							 jerr, sizeof(jerr)) != 0)
			return bad(err, errcap, "canonical", "not valid I-JSON: %s", jerr);
		if (cdoc.root->type != GL_JSON_OBJECT)
		{
			GlJsonFree(&cdoc);
			return bad(err, errcap, "canonical", "is not a JSON object");
		}
		GlBufInit(&canon);
		same = GlJcsSerializeFlags(cdoc.root, &canon, GL_JCS_EXACT_NUMBERS) == 0 &&
			canon.len == canonical->len &&
			memcmp(canon.data, canonical->str, canon.len) == 0;
		GlBufFree(&canon);
		if (!same)
		{
			GlJsonFree(&cdoc);
			return bad(err, errcap, "canonical", "is not in canonical form (RFC 8785 with exact numbers)");
		}
		snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long) info->entry_id);
		e = GlJsonGet(cdoc.root, "entry");
		rc = e == NULL || e->type != GL_JSON_STRING || strcmp(e->str, idbuf) != 0;
		if (rc)
		{
			GlJsonFree(&cdoc);
			return bad(err, errcap, "entry_id", "does not match the entry in the canonical row");
		}
		e = GlJsonGet(cdoc.root, "ledger");
		rc = e == NULL || e->type != GL_JSON_STRING || e->len != ledger->len ||
			memcmp(e->str, ledger->str, e->len) != 0;
		GlJsonFree(&cdoc);
		if (rc)
			return bad(err, errcap, "ledger", "does not match the ledger in the canonical row");
	}

	if (GlHashOpen(&h, info->hash_alg) != 0)
	{
		bad(err, errcap, "hash_alg", "OpenSSL cannot provide \"%s\"", info->hash_alg);
		return -1;
	}
	info->hashlen = h.size;
	if ((v = member(r, "leaf_hash", GL_JSON_STRING, "", err, errcap)) == NULL ||
		hex_hash(v, h.size, leaf, "leaf_hash", err, errcap) != 0)
	{
		GlHashClose(&h);
		return GL_RECEIPT_BAD;
	}
	if (GlHashLeaf(&h, canonical->str, canonical->len, computed) != 0)
	{
		GlHashClose(&h);
		return -1;
	}
	if (memcmp(computed, leaf, h.size) != 0)
	{
		GlHashClose(&h);
		return bad(err, errcap, "leaf_hash", "differs from H(0x00 || canonical) under %s",
				   info->hash_alg);
	}

	/* the signed checkpoint */
	if ((v = member(r, "checkpoint", GL_JSON_STRING, "", err, errcap)) == NULL)
	{
		GlHashClose(&h);
		return GL_RECEIPT_BAD;
	}
	rc = GlCheckpointVerify(v->str, v->len, key, h.size, NULL, &cp, "checkpoint",
							err, errcap);
	if (rc != 0)
	{
		GlHashClose(&h);
		return rc;
	}
	if (cp.originlen != strlen(info->origin) ||
		memcmp(cp.origin, info->origin, cp.originlen) != 0)
	{
		GlHashClose(&h);
		return bad(err, errcap, "log", "\"%s\" is not the origin of the checkpoint",
				   info->origin);
	}
	if (cp.size != info->tree_size)
	{
		GlHashClose(&h);
		return bad(err, errcap, "tree_size", "is %llu but the checkpoint is for size %llu",
				   (unsigned long long) info->tree_size, (unsigned long long) cp.size);
	}
	memcpy(info->root, cp.root, h.size);

	/* the inclusion proof */
	if (proof_array(r, h.size, proof, &nproof, "", err, errcap) != 0)
	{
		GlHashClose(&h);
		return GL_RECEIPT_BAD;
	}
	if (info->leaf_index >= info->tree_size)
	{
		GlHashClose(&h);
		return bad(err, errcap, "leaf_index", "is not below tree_size");
	}
	rc = GlMerkleVerifyInclusion(&h, info->leaf_index, info->tree_size, leaf,
								 proof, nproof, cp.root);
	GlHashClose(&h);
	if (rc < 0)
		return -1;
	if (rc != 0)
		return bad(err, errcap, "proof", "does not prove leaf_hash as leaf %llu of the checkpoint's tree",
				   (unsigned long long) info->leaf_index);
	return 0;
}

int
GlReceiptVerify(const char *text, size_t len, const GlNoteKey *key,
				GlReceiptInfo *info, char *err, size_t errcap)
{
	GlJsonDoc	doc;
	char		jerr[160];
	int			rc;

	memset(info, 0, sizeof(*info));
	if (errcap > 0)
		err[0] = '\0';
	if (GlJsonParse(&doc, text, len, jerr, sizeof(jerr)) != 0)
		return bad(err, errcap, "receipt", "not valid JSON: %s", jerr);
	rc = verify_parsed(doc.root, key, info, err, errcap);
	GlJsonFree(&doc);
	return rc;
}

int
GlReceiptVerifyConsistency(const GlReceiptInfo *info, const GlNoteKey *key,
						   const char *old_note, size_t oldlen,
						   const char *cons, size_t conslen,
						   char *err, size_t errcap)
{
	GlCheckpoint oldcp;
	GlJsonDoc	doc;
	char		jerr[160];
	uint64_t	old_size;
	uint64_t	new_size;
	uint8_t		proof[GL_MERKLE_MAX_PROOF * GL_HASH_MAX_SIZE];
	int			nproof = 0;
	GlHash		h;
	int			rc;

	rc = GlCheckpointVerify(old_note, oldlen, key, info->hashlen, info->origin,
							&oldcp, "old checkpoint", err, errcap);
	if (rc != 0)
		return rc;
	if (GlJsonParse(&doc, cons, conslen, jerr, sizeof(jerr)) != 0)
		return bad(err, errcap, "consistency", "not valid JSON: %s", jerr);
	if (doc.root->type != GL_JSON_OBJECT)
		rc = bad(err, errcap, "consistency", "not a JSON object");
	else if (member_u64(doc.root, "old_size", "consistency.", &old_size, err, errcap) != 0 ||
			 member_u64(doc.root, "new_size", "consistency.", &new_size, err, errcap) != 0)
		rc = GL_RECEIPT_BAD;
	else if (old_size != oldcp.size)
		rc = bad(err, errcap, "consistency.old_size", "does not match the old checkpoint's size");
	else if (new_size != info->tree_size)
		rc = bad(err, errcap, "consistency.new_size", "does not match the receipt's tree size");
	else
		rc = proof_array(doc.root, info->hashlen, proof, &nproof, "consistency.", err, errcap);
	GlJsonFree(&doc);
	if (rc != 0)
		return rc;
	if (GlHashOpen(&h, info->hash_alg) != 0)
		return -1;
	rc = GlMerkleVerifyConsistency(&h, old_size, new_size, oldcp.root, info->root,
								   proof, nproof);
	GlHashClose(&h);
	if (rc < 0)
		return -1;
	if (rc != 0)
		return bad(err, errcap, "consistency.proof",
				   "the receipt's tree is not an append-only extension of the old checkpoint");
	return 0;
}
