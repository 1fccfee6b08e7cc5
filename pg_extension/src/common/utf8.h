/*-------------------------------------------------------------------------
 *
 * utf8.h
 *	  Strict UTF-8 decoding and the few Unicode properties the note and
 *	  JSON code need.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/utf8.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVLEDGER_UTF8_H
#define GOVLEDGER_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Decode one code point from s[0..len) (len > 0) into *cp.  Returns the
 * number of bytes used (1-4), or -1 for anything that is not the
 * shortest encoding of a Unicode scalar value: stray continuation bytes,
 * truncated sequences, overlong forms, surrogates (U+D800-U+DFFF) and
 * values above U+10FFFF.
 */
extern int	GlUtf8Decode(const uint8_t *s, size_t len, uint32_t *cp);

/* Encode scalar value cp (not a surrogate, <= U+10FFFF) into out[0..4); returns the byte count. */
extern int	GlUtf8Encode(uint32_t cp, uint8_t *out);

/* True when s[0..len) is entirely valid UTF-8. */
extern bool GlUtf8Valid(const char *s, size_t len);

/* True for code points with the Unicode White_Space property. */
extern bool GlUnicodeIsSpace(uint32_t cp);

#endif							/* GOVLEDGER_UTF8_H */
