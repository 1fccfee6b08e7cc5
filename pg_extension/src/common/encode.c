/*-------------------------------------------------------------------------
 *
 * encode.c
 *	  Hex and base64 (standard and URL-safe) with strict decoding.
 *
 * Strictness matters here because the decoded bytes are hashed or
 * compared: two different texts must never decode to the same bytes, so
 * a decoder that tolerated upper-case hex, missing padding or non-zero
 * spare bits would let a receipt or checkpoint be altered without its
 * bytes changing.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/encode.c
 *
 *-------------------------------------------------------------------------
 */
#include "encode.h"

static const char hex_digits[] = "0123456789abcdef";
static const char b64_std[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
GlHexEncode(const uint8_t *in, size_t len, char *out)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		out[2 * i] = hex_digits[in[i] >> 4];
		out[2 * i + 1] = hex_digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
	return 2 * len;
}

/* Value of one lower-case hex digit, or -1. */
static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

long
GlHexDecode(const char *in, size_t inlen, uint8_t *out, size_t outcap)
{
	size_t		i;

	if (inlen % 2 != 0 || inlen / 2 > outcap || inlen / 2 > (size_t) 0x7fffffff)
		return -1;
	for (i = 0; i < inlen; i += 2)
	{
		int			hi = hex_value(in[i]);
		int			lo = hex_value(in[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t) ((hi << 4) | lo);
	}
	return (long) (inlen / 2);
}

size_t
GlBase64Encode(const uint8_t *in, size_t len, char *out, bool url, bool pad)
{
	const char *alpha = url ? b64_url : b64_std;
	size_t		i;
	size_t		o = 0;

	for (i = 0; i + 3 <= len; i += 3)
	{
		uint32_t	v = ((uint32_t) in[i] << 16) | ((uint32_t) in[i + 1] << 8) | in[i + 2];

		out[o++] = alpha[(v >> 18) & 63];
		out[o++] = alpha[(v >> 12) & 63];
		out[o++] = alpha[(v >> 6) & 63];
		out[o++] = alpha[v & 63];
	}
	if (len - i == 1)
	{
		uint32_t	v = (uint32_t) in[i] << 16;

		out[o++] = alpha[(v >> 18) & 63];
		out[o++] = alpha[(v >> 12) & 63];
		if (pad)
		{
			out[o++] = '=';
			out[o++] = '=';
		}
	}
	else if (len - i == 2)
	{
		uint32_t	v = ((uint32_t) in[i] << 16) | ((uint32_t) in[i + 1] << 8);

		out[o++] = alpha[(v >> 18) & 63];
		out[o++] = alpha[(v >> 12) & 63];
		out[o++] = alpha[(v >> 6) & 63];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* Value of one base64 character in the chosen alphabet, or -1. */
static int
b64_value(char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

long
GlBase64Decode(const char *in, size_t inlen, uint8_t *out, size_t outcap,
			   bool url, bool pad)
{
	size_t		ndata = inlen;	/* characters that carry data */
	size_t		rem;
	size_t		outlen;
	size_t		i;
	size_t		o = 0;
	uint32_t	acc = 0;
	int			bits = 0;

	if (pad)
	{
		if (inlen % 4 != 0)
			return -1;
		if (ndata > 0 && in[ndata - 1] == '=')
			ndata--;
		if (ndata > 0 && in[ndata - 1] == '=')
			ndata--;
	}
	rem = ndata % 4;
	if (rem == 1)
		return -1;
	/* with padding, the pad count must be exactly what the data needs */
	if (pad && inlen - ndata != (rem == 0 ? 0 : 4 - rem))
		return -1;
	outlen = ndata / 4 * 3 + (rem == 2 ? 1 : rem == 3 ? 2 : 0);
	if (outlen > outcap || outlen > (size_t) 0x7fffffff)
		return -1;

	for (i = 0; i < ndata; i++)
	{
		int			v = b64_value(in[i], url);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			out[o++] = (uint8_t) (acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* the spare low bits of the final character must be zero */
	if (acc != 0)
		return -1;
	return (long) o;
}
