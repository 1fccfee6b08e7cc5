/*-------------------------------------------------------------------------
 *
 * jcs.h
 *	  RFC 8785 JSON Canonicalization Scheme: canonical text of any JSON
 *	  text, ECMAScript number serialisation, and JCS string escaping.
 *
 * Output is UTF-8 in a GlBuf (malloc); see buf.h for ownership.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/jcs.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVLEDGER_JCS_H
#define GOVLEDGER_JCS_H

#include <stddef.h>

#include "buf.h"
#include "json.h"

/* Room for any number GlJcsFormatNumber writes, with its NUL. */
#define GL_JCS_NUMBER_MAX	32

/*
 * Canonicalise the JSON text in[0..len) and append the result to out.
 * Returns 0, or -1 with a message in errbuf (capacity errcap): every
 * input the parser refuses (json.h: duplicate names, lone surrogates,
 * invalid UTF-8, overflowing numbers, bad syntax), or out of memory.
 */
extern int	GlJcsCanonicalize(const char *in, size_t len, GlBuf *out,
							  char *errbuf, size_t errcap);

/* Append the canonical form of a parsed value to out.  Returns 0 or -1. */
extern int	GlJcsSerialize(const GlJson *v, GlBuf *out);

/*
 * GlJcsSerializeFlags flag: write numbers as their source text instead
 * of the ECMAScript form.  This is the canonical form of govledger's
 * rows (docs/canonical-encoding.md): RFC 8785 in every other respect,
 * but numbers inside jsonb values keep their exact decimal digits.
 */
#define GL_JCS_EXACT_NUMBERS	0x01

/* GlJcsSerialize with flags (GL_JCS_EXACT_NUMBERS). */
extern int	GlJcsSerializeFlags(const GlJson *v, GlBuf *out, int flags);

/*
 * Write the ECMAScript Number.prototype.toString form of d (shortest
 * round-trip digits, RFC 8785 section 3.2.2.3) into buf (at least
 * GL_JCS_NUMBER_MAX bytes).  -0 becomes "0".  Returns the length, or -1
 * for NaN and infinities, which JSON cannot represent.
 */
extern int	GlJcsFormatNumber(double d, char *buf);

/*
 * Append s[0..len) (UTF-8) to out as a JCS string literal with its
 * quotes: '"' and '\' escaped with a backslash, \b \f \n \r \t for those
 * controls, other characters below U+0020 as \u00xx (lower-case hex),
 * everything else as is.  Returns 0, or -1 for invalid UTF-8 (nothing
 * appended) or out of memory.
 */
extern int	GlJcsEscapeString(const char *s, size_t len, GlBuf *out);

#endif							/* GOVLEDGER_JCS_H */
