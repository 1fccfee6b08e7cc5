/*-------------------------------------------------------------------------
 *
 * json.h
 *	  A strict RFC 8259 / I-JSON parser producing a read-only tree.
 *
 * The parser is the front half of the RFC 8785 canonicaliser (jcs.h) and
 * also reads receipts in the offline verifier.  It refuses everything
 * I-JSON (RFC 7493) refuses: invalid UTF-8, lone surrogates in escapes,
 * duplicate member names, numbers that overflow a double; and anything
 * outside RFC 8259 (comments, trailing commas, leading zeros, a BOM,
 * trailing garbage).  Nesting is limited to GL_JSON_MAX_DEPTH.
 *
 * Object members are kept sorted by their names as UTF-16 code unit
 * sequences (the JCS order), which is also how duplicates are found.
 *
 * All nodes live in the document's arena; GlJsonFree releases them at
 * once.  Memory comes from malloc.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/json.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVLEDGER_JSON_H
#define GOVLEDGER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GL_JSON_MAX_DEPTH	256

typedef enum GlJsonType
{
	GL_JSON_NULL,
	GL_JSON_FALSE,
	GL_JSON_TRUE,
	GL_JSON_NUMBER,
	GL_JSON_STRING,
	GL_JSON_ARRAY,
	GL_JSON_OBJECT
} GlJsonType;

typedef struct GlJson GlJson;

typedef struct GlJsonMember
{
	const char *key;			/* decoded UTF-8, NUL-terminated */
	size_t		keylen;			/* bytes (keys may contain U+0000) */
	GlJson	   *value;
} GlJsonMember;

struct GlJson
{
	GlJsonType	type;
	const char *str;			/* STRING: decoded UTF-8, NUL-terminated;
								 * NUMBER: the number's source text */
	size_t		len;			/* bytes in str */
	double		num;			/* NUMBER: value as a double */
	size_t		count;			/* ARRAY, OBJECT: number of elements */
	GlJson	  **items;			/* ARRAY: elements in order */
	GlJsonMember *members;		/* OBJECT: members sorted by key */
};

typedef struct GlJsonDoc
{
	GlJson	   *root;
	void	   *arena;			/* private */
} GlJsonDoc;

/*
 * GlJsonParseFlags flag: keep numbers as their source text only, with no
 * range check (GlJson.num is still set, possibly to an infinity).  For
 * texts whose numbers are exact decimals, such as govledger's canonical
 * rows, where jsonb numbers keep their stored digits.
 */
#define GL_JSON_EXACT_NUMBERS	0x01

/*
 * Parse text[0..len) into doc.  Returns 0, or -1 with a message (naming
 * the byte offset) in errbuf (capacity errcap, may be 0); doc then holds
 * nothing and needs no GlJsonFree.
 */
extern int	GlJsonParse(GlJsonDoc *doc, const char *text, size_t len,
						char *errbuf, size_t errcap);

/* GlJsonParse with flags (GL_JSON_EXACT_NUMBERS). */
extern int	GlJsonParseFlags(GlJsonDoc *doc, const char *text, size_t len,
							 int flags, char *errbuf, size_t errcap);

/* Release everything a successful GlJsonParse allocated. */
extern void GlJsonFree(GlJsonDoc *doc);

/* The member 'key' of an object, or NULL (also for non-objects). */
extern GlJson *GlJsonGet(const GlJson *obj, const char *key);

/*
 * A NUMBER whose text is a plain non-negative integer (no sign, fraction
 * or exponent) that fits 64 bits: store it in *out and return 0, else -1.
 */
extern int	GlJsonGetUint64(const GlJson *num, uint64_t *out);

/*
 * Compare two UTF-8 strings as sequences of UTF-16 code units (the
 * property order of RFC 8785 section 3.2.3).  Inputs must be valid
 * UTF-8.  Returns <0, 0 or >0.
 */
extern int	GlJsonCompareUtf16(const char *a, size_t alen, const char *b,
							   size_t blen);

#endif							/* GOVLEDGER_JSON_H */
