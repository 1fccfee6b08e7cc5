/*-------------------------------------------------------------------------
 *
 * jcs.c
 *	  RFC 8785 canonical JSON: serialiser, ECMAScript number formatting
 *	  and string escaping.
 *
 * Numbers.  ECMAScript prints the shortest decimal that reads back as
 * the same double.  We find it by trial: for 1..17 significant digits,
 * print with "%.*e" (correctly rounded by glibc) and keep the first that
 * strtod maps back to the same double.  Where the nearest p-digit
 * decimal misses but a neighbour one unit in the last place away hits
 * (possible at a power-of-two boundary, where the rounding interval is
 * lopsided), the neighbour is taken.  The digits and exponent are then
 * laid out by the rules of Number::toString (ECMA-262 section 7.1.12.1):
 * plain integers up to 21 digits, plain fractions down to 1e-6, else
 * exponent form with an explicit sign.  All conversions run in the C
 * locale.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/jcs.c
 *
 *-------------------------------------------------------------------------
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE				/* newlocale, uselocale */
#endif
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jcs.h"
#include "utf8.h"

static locale_t
c_locale(void)
{
	static locale_t loc = (locale_t) 0;

	if (loc == (locale_t) 0)
		loc = newlocale(LC_ALL_MASK, "C", (locale_t) 0);
	return loc;
}

/*
 * Parse "d.ddddde[+-]x" as printed by %e into digits (no point, no
 * trailing zeros) and a decimal exponent n such that the value is
 * 0.digits x 10^n.  Returns the digit count.
 */
static int
split_e(const char *s, char *digits, int *n)
{
	int			k = 0;
	const char *e;

	for (; *s && *s != 'e'; s++)
	{
		if (*s >= '0' && *s <= '9')
			digits[k++] = *s;
	}
	e = s + 1;
	*n = atoi(e) + 1;
	while (k > 1 && digits[k - 1] == '0')
		k--;
	digits[k] = '\0';
	return k;
}

/* Add delta (+1/-1) to the last digit of a decimal digit string in place. */
static int
bump_digits(char *digits, int p, int delta, int *n)
{
	int			i = p - 1;

	if (delta > 0)
	{
		while (i >= 0 && digits[i] == '9')
			digits[i--] = '0';
		if (i < 0)
		{
			memmove(digits + 1, digits, (size_t) p);
			digits[0] = '1';
			digits[p] = '\0';	/* keep p digits: drop the last zero */
			(*n)++;
			return 0;
		}
		digits[i]++;
	}
	else
	{
		while (i >= 0 && digits[i] == '0')
			digits[i--] = '9';
		if (i < 0 || (i == 0 && digits[0] == '1' && p > 1))
			return -1;			/* would lose a digit; not a candidate */
		digits[i]--;
	}
	return 0;
}

/* Does 0.digits x 10^n read back as d? */
static int
reads_back(const char *digits, int n, double d)
{
	char		buf[64];

	snprintf(buf, sizeof(buf), "0.%se%d", digits, n);
	return strtod(buf, NULL) == d;
}

int
GlJcsFormatNumber(double d, char *buf)
{
	char		tmp[64];
	char		digits[32];
	int			k = 0;
	int			n = 0;
	int			p;
	int			found = 0;
	char	   *o = buf;
	locale_t	old = (locale_t) 0;
	locale_t	loc = c_locale();

	if (isnan(d) || isinf(d))
		return -1;
	if (d == 0)
	{
		strcpy(buf, "0");
		return 1;
	}
	if (loc != (locale_t) 0)
		old = uselocale(loc);
	if (d < 0)
	{
		*o++ = '-';
		d = -d;
	}
	for (p = 1; p <= 17 && !found; p++)
	{
		int			delta;

		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, d);
		k = split_e(tmp, digits, &n);
		if (strtod(tmp, NULL) == d)
		{
			found = 1;
			break;
		}
		for (delta = -1; delta <= 1 && !found; delta += 2)
		{
			char		cand[32];
			int			cn;
			int			ck;

			/* work on the full p digits, trailing zeros included */
			{
				char		full[32];

				split_e(tmp, full, &cn);
				ck = (int) strlen(full);
				while (ck < p)
					full[ck++] = '0';
				full[ck] = '\0';
				memcpy(cand, full, (size_t) ck + 1);
			}
			if (bump_digits(cand, p, delta, &cn) != 0)
				continue;
			ck = p;
			while (ck > 1 && cand[ck - 1] == '0')
				ck--;
			cand[ck] = '\0';
			if (reads_back(cand, cn, d))
			{
				memcpy(digits, cand, (size_t) ck + 1);
				k = ck;
				n = cn;
				found = 1;
			}
		}
	}
	if (loc != (locale_t) 0)
		uselocale(old);
	if (!found)
		return -1;				/* cannot happen: 17 digits always round-trip */

	/* lay out digits[0..k) x 10^(n-k) per Number::toString */
	if (k <= n && n <= 21)
	{
		memcpy(o, digits, (size_t) k);
		o += k;
		memset(o, '0', (size_t) (n - k));
		o += n - k;
	}
	else if (0 < n && n <= 21)
	{
		memcpy(o, digits, (size_t) n);
		o += n;
		*o++ = '.';
		memcpy(o, digits + n, (size_t) (k - n));
		o += k - n;
	}
	else if (-6 < n && n <= 0)
	{
		*o++ = '0';
		*o++ = '.';
		memset(o, '0', (size_t) -n);
		o += -n;
		memcpy(o, digits, (size_t) k);
		o += k;
	}
	else
	{
		int			e = n - 1;

		*o++ = digits[0];
		if (k > 1)
		{
			*o++ = '.';
			memcpy(o, digits + 1, (size_t) (k - 1));
			o += k - 1;
		}
		o += sprintf(o, "e%c%d", e < 0 ? '-' : '+', e < 0 ? -e : e);
	}
	*o = '\0';
	return (int) (o - buf);
}

int
GlJcsEscapeString(const char *s, size_t len, GlBuf *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t		i;
	size_t		run = 0;		/* start of pending unescaped bytes */

	if (!GlUtf8Valid(s, len))
		return -1;
	GlBufAppendChar(out, '"');
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];
		char		esc[7];
		size_t		elen = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		GlBufAppend(out, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c)
		{
			case '"':
				esc[1] = '"';
				break;
			case '\\':
				esc[1] = '\\';
				break;
			case '\b':
				esc[1] = 'b';
				break;
			case '\f':
				esc[1] = 'f';
				break;
			case '\n':
				esc[1] = 'n';
				break;
			case '\r':
				esc[1] = 'r';
				break;
			case '\t':
				esc[1] = 't';
				break;
			default:
				esc[1] = 'u';
				esc[2] = '0';
				esc[3] = '0';
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				elen = 6;
				break;
		}
		GlBufAppend(out, esc, elen);
	}
	GlBufAppend(out, s + run, len - run);
	GlBufAppendChar(out, '"');
	return GlBufFailed(out) ? -1 : 0;
}

int
GlJcsSerialize(const GlJson *v, GlBuf *out)
{
	return GlJcsSerializeFlags(v, out, 0);
}

int
GlJcsSerializeFlags(const GlJson *v, GlBuf *out, int flags)
{
	char		num[GL_JCS_NUMBER_MAX];
	size_t		i;

	switch (v->type)
	{
		case GL_JSON_NULL:
			GlBufAppendStr(out, "null");
			break;
		case GL_JSON_TRUE:
			GlBufAppendStr(out, "true");
			break;
		case GL_JSON_FALSE:
			GlBufAppendStr(out, "false");
			break;
		case GL_JSON_NUMBER:
			if (flags & GL_JCS_EXACT_NUMBERS)
			{
				GlBufAppend(out, v->str, v->len);
				break;
			}
			if (GlJcsFormatNumber(v->num, num) < 0)
				return -1;
			GlBufAppendStr(out, num);
			break;
		case GL_JSON_STRING:
			if (GlJcsEscapeString(v->str, v->len, out) != 0)
				return -1;
			break;
		case GL_JSON_ARRAY:
			GlBufAppendChar(out, '[');
			for (i = 0; i < v->count; i++)
			{
				if (i > 0)
					GlBufAppendChar(out, ',');
				if (GlJcsSerializeFlags(v->items[i], out, flags) != 0)
					return -1;
			}
			GlBufAppendChar(out, ']');
			break;
		case GL_JSON_OBJECT:
			/* members are already in UTF-16 order (json.c) */
			GlBufAppendChar(out, '{');
			for (i = 0; i < v->count; i++)
			{
				if (i > 0)
					GlBufAppendChar(out, ',');
				if (GlJcsEscapeString(v->members[i].key, v->members[i].keylen,
									  out) != 0)
					return -1;
				GlBufAppendChar(out, ':');
				if (GlJcsSerializeFlags(v->members[i].value, out, flags) != 0)
					return -1;
			}
			GlBufAppendChar(out, '}');
			break;
	}
	return GlBufFailed(out) ? -1 : 0;
}

int
GlJcsCanonicalize(const char *in, size_t len, GlBuf *out, char *errbuf,
				  size_t errcap)
{
	GlJsonDoc	doc;
	int			rc;

	if (GlJsonParse(&doc, in, len, errbuf, errcap) != 0)
		return -1;
	rc = GlJcsSerialize(doc.root, out);
	GlJsonFree(&doc);
	if (rc != 0 && errcap > 0)
		snprintf(errbuf, errcap, "out of memory");
	return rc;
}
