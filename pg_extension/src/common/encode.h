/*-------------------------------------------------------------------------
 *
 * encode.h
 *	  Hex, standard base64 and base64url encoders with strict decoders.
 *
 * Encoders write into caller-provided buffers whose size the caller
 * computes with the *_LEN macros (which include room for a NUL).
 * Decoders accept only the canonical form: lower-case hex of even
 * length; base64 in the exact alphabet, with exactly the required
 * padding when padding is requested (and none otherwise), and with the
 * unused low bits of the last character zero.  Anything else, including
 * white space, is rejected.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/encode.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVLEDGER_ENCODE_H
#define GOVLEDGER_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Output sizes including the terminating NUL. */
#define GL_HEX_LEN(n)		((n) * 2 + 1)
#define GL_BASE64_LEN(n)	((((n) + 2) / 3) * 4 + 1)

/* Upper bound of decoded size for an encoded text of length n. */
#define GL_HEX_DECODED_MAX(n)		((n) / 2)
#define GL_BASE64_DECODED_MAX(n)	(((n) + 3) / 4 * 3)

/*
 * Write the lower-case hex of in[0..len) and a NUL into out, which must
 * hold GL_HEX_LEN(len) bytes.  Returns the text length (2 * len).
 */
extern size_t GlHexEncode(const uint8_t *in, size_t len, char *out);

/*
 * Decode lower-case hex text in[0..inlen) into out (capacity outcap).
 * Returns the decoded length, or -1 when the text is not canonical hex
 * (odd length, a character outside 0-9a-f) or does not fit.
 */
extern long GlHexDecode(const char *in, size_t inlen, uint8_t *out,
						size_t outcap);

/*
 * Base64 of in[0..len) into out (GL_BASE64_LEN(len) bytes), NUL
 * terminated.  'url' selects the RFC 4648 section 5 alphabet; 'pad'
 * appends '=' padding.  Returns the text length.
 */
extern size_t GlBase64Encode(const uint8_t *in, size_t len, char *out,
							 bool url, bool pad);

/*
 * Strict base64 decoding of in[0..inlen) into out (capacity outcap);
 * 'url' and 'pad' as for GlBase64Encode.  Returns the decoded length,
 * or -1 for any non-canonical input or when the result does not fit.
 */
extern long GlBase64Decode(const char *in, size_t inlen, uint8_t *out,
						   size_t outcap, bool url, bool pad);

#endif							/* GOVLEDGER_ENCODE_H */
