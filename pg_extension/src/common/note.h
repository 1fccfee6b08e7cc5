/*-------------------------------------------------------------------------
 *
 * note.h
 *	  C2SP signed notes (c2sp.org/signed-note): parse, sign, verify.
 *
 * A signed note is a text ending in a newline, a blank line, and one or
 * more lines "U+2014 EM DASH, space, key name, space, base64(4-byte
 * big-endian key ID || signature), newline".  The signed message is the
 * text including its final newline, without the blank line.
 *
 * Parsing does not copy: a GlNote points into the caller's input, which
 * must outlive it, and holds no other resources (no free function).
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/note.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVLEDGER_NOTE_H
#define GOVLEDGER_NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "notekey.h"

/* The specification requires accepting at least 16 signatures. */
#define GL_NOTE_MAX_SIGS	100
/* Largest note we accept (bytes); post-quantum signatures are ~5 kB. */
#define GL_NOTE_MAX_SIZE	(1024 * 1024)

/* Outcomes of GlNoteParse and GlNoteVerify */
#define GL_NOTE_OK				0
#define GL_NOTE_MALFORMED		1	/* not a well-formed signed note */
#define GL_NOTE_BAD_SIGNATURE	2	/* a known key's signature fails */
#define GL_NOTE_UNVERIFIED		3	/* no signature from a known key */

typedef struct GlNoteSig
{
	const char *name;			/* key name, into the input */
	size_t		namelen;
	uint32_t	key_id;
	const char *b64;			/* base64(key ID || signature), into input */
	size_t		b64len;
	bool		verified;		/* set by GlNoteVerify */
} GlNoteSig;

typedef struct GlNote
{
	const char *text;			/* signed text, into the input */
	size_t		textlen;		/* includes the final newline */
	int			nsigs;
	GlNoteSig	sigs[GL_NOTE_MAX_SIGS];
} GlNote;

/*
 * Parse msg[0..len).  Returns GL_NOTE_OK, or GL_NOTE_MALFORMED with
 * *err naming the problem: invalid UTF-8, a control character other
 * than newline, no blank line before the signatures, no signature, a
 * signature line not of the required form (em dash, valid key name,
 * canonical base64 of more than four bytes), a missing final newline,
 * more than GL_NOTE_MAX_SIGS signatures or GL_NOTE_MAX_SIZE bytes.
 */
extern int	GlNoteParse(GlNote *note, const char *msg, size_t len,
						const char **err);

/*
 * Check a parsed note against nkeys known keys.  A signature whose
 * (name, key ID) matches no key is ignored; one that matches must
 * verify, else GL_NOTE_BAD_SIGNATURE; with no verified signature the
 * result is GL_NOTE_UNVERIFIED.  Sets each signature's 'verified'.
 * *nverified (when not NULL) receives the number of verified
 * signatures.  Returns GL_NOTE_OK, one of those codes with *err set, or
 * -1 when OpenSSL failed.
 */
extern int	GlNoteVerify(GlNote *note, const GlNoteKey *keys, int nkeys,
						 int *nverified, const char **err);

/*
 * True when text[0..len) may be the text of a note: non-empty, valid
 * UTF-8, no control characters other than newline, ending in newline.
 */
extern bool GlNoteTextValid(const char *text, size_t len);

/*
 * Sign text[0..len) with each of nkeys private keys and append the whole
 * signed note to out.  Returns 0, or -1 with *err set (invalid text, a
 * key that cannot sign, out of memory).
 */
extern int	GlNoteSign(const char *text, size_t len, const GlNoteKey *keys,
					   int nkeys, GlBuf *out, const char **err);

#endif							/* GOVLEDGER_NOTE_H */
