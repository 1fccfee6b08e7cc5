/*-------------------------------------------------------------------------
 *
 * utf8.c
 *	  Strict UTF-8 decoding and encoding, and Unicode white space.
 *
 * Signed notes and canonical JSON both hash or sign UTF-8 bytes as
 * they are, so there must be exactly one accepted encoding of each
 * character: this decoder refuses every non-shortest form.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/utf8.c
 *
 *-------------------------------------------------------------------------
 */
#include "utf8.h"

int
GlUtf8Decode(const uint8_t *s, size_t len, uint32_t *cp)
{
	uint32_t	c = s[0];
	uint32_t	min;
	int			n;
	int			i;

	if (c < 0x80)
	{
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
	{
		n = 2;
		c &= 0x1f;
		min = 0x80;
	}
	else if (c >= 0xe0 && c <= 0xef)
	{
		n = 3;
		c &= 0x0f;
		min = 0x800;
	}
	else if (c >= 0xf0 && c <= 0xf4)
	{
		n = 4;
		c &= 0x07;
		min = 0x10000;
	}
	else
		return -1;				/* continuation byte, 0xc0/0xc1, 0xf5.. */
	if (len < (size_t) n)
		return -1;
	for (i = 1; i < n; i++)
	{
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*cp = c;
	return n;
}

int
GlUtf8Encode(uint32_t cp, uint8_t *out)
{
	if (cp < 0x80)
	{
		out[0] = (uint8_t) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (uint8_t) (0xc0 | (cp >> 6));
		out[1] = (uint8_t) (0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (uint8_t) (0xe0 | (cp >> 12));
		out[1] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
		out[2] = (uint8_t) (0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t) (0xf0 | (cp >> 18));
	out[1] = (uint8_t) (0x80 | ((cp >> 12) & 0x3f));
	out[2] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
	out[3] = (uint8_t) (0x80 | (cp & 0x3f));
	return 4;
}

bool
GlUtf8Valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *) s;
	size_t		i = 0;

	while (i < len)
	{
		uint32_t	cp;
		int			n;

		if (p[i] < 0x80)
		{
			i++;
			continue;
		}
		n = GlUtf8Decode(p + i, len - i, &cp);
		if (n < 0)
			return false;
		i += (size_t) n;
	}
	return true;
}

bool
GlUnicodeIsSpace(uint32_t cp)
{
	switch (cp)
	{
		case 0x09:
		case 0x0a:
		case 0x0b:
		case 0x0c:
		case 0x0d:
		case 0x20:
		case 0x85:
		case 0xa0:
		case 0x1680:
		case 0x2028:
		case 0x2029:
		case 0x202f:
		case 0x205f:
		case 0x3000:
			return true;
		default:
			return cp >= 0x2000 && cp <= 0x200a;
	}
}
