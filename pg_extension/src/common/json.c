/*-------------------------------------------------------------------------
 *
 * json.c
 *	  Strict JSON parsing into an arena-allocated tree.
 *
 * Recursive descent with an explicit depth limit (the backend's stack is
 * checked, and a crafted receipt must not exhaust the verifier's).
 * Strings are decoded to UTF-8 as they are read; \u escapes must pair
 * surrogates exactly.  Numbers are checked against the RFC 8259 grammar
 * and converted with strtod in the C locale, so the session's LC_NUMERIC
 * never matters.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/json.c
 *
 *-------------------------------------------------------------------------
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE				/* newlocale, uselocale */
#endif
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "utf8.h"

/* Arena: a chain of blocks, freed together. */
typedef struct ArenaBlock
{
	struct ArenaBlock *next;
	size_t		used;
	size_t		cap;
	/* data follows, max_align_t-aligned */
} ArenaBlock;

#define ARENA_HDR	((sizeof(ArenaBlock) + 15) & ~(size_t) 15)
#define ARENA_MIN	8192

typedef struct Parser
{
	const char *s;
	size_t		len;
	size_t		pos;
	ArenaBlock *arena;
	const char *err;			/* static message */
	size_t		erroff;
	int			flags;			/* GL_JSON_* */
	GlBuf		scratch;		/* string decoding */
} Parser;

static void *
arena_alloc(Parser *p, size_t n)
{
	ArenaBlock *b = p->arena;
	void	   *r;

	n = (n + 15) & ~(size_t) 15;
	if (b == NULL || b->cap - b->used < n)
	{
		size_t		cap = n > ARENA_MIN ? n : ARENA_MIN;

		b = malloc(ARENA_HDR + cap);
		if (b == NULL)
			return NULL;
		b->next = p->arena;
		b->used = 0;
		b->cap = cap;
		p->arena = b;
	}
	r = (char *) b + ARENA_HDR + b->used;
	b->used += n;
	return r;
}

static void
arena_free(ArenaBlock *b)
{
	while (b)
	{
		ArenaBlock *next = b->next;

		free(b);
		b = next;
	}
}

static int
fail(Parser *p, const char *msg)
{
	if (p->err == NULL)
	{
		p->err = msg;
		p->erroff = p->pos;
	}
	return -1;
}

static void
skip_ws(Parser *p)
{
	while (p->pos < p->len)
	{
		char		c = p->s[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int	parse_value(Parser *p, GlJson **out, int depth);

/* Four hex digits of a \u escape. */
static int
parse_hex4(Parser *p, uint32_t *v)
{
	int			i;

	if (p->len - p->pos < 4)
		return fail(p, "truncated \\u escape");
	*v = 0;
	for (i = 0; i < 4; i++)
	{
		char		c = p->s[p->pos + i];
		uint32_t	d;

		if (c >= '0' && c <= '9')
			d = (uint32_t) (c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (uint32_t) (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (uint32_t) (c - 'A' + 10);
		else
			return fail(p, "bad hex digit in \\u escape");
		*v = (*v << 4) | d;
	}
	p->pos += 4;
	return 0;
}

/*
 * Parse a string (p->pos at the opening quote) into arena memory.
 */
static int
parse_string(Parser *p, const char **str, size_t *slen)
{
	char	   *copy;

	p->scratch.len = 0;
	p->pos++;					/* opening quote */
	for (;;)
	{
		unsigned char c;

		if (p->pos >= p->len)
			return fail(p, "unterminated string");
		c = (unsigned char) p->s[p->pos];
		if (c == '"')
		{
			p->pos++;
			break;
		}
		if (c < 0x20)
			return fail(p, "control character in string");
		if (c == '\\')
		{
			char		e;
			uint32_t	cp;
			uint8_t		u8[4];

			if (p->pos + 1 >= p->len)
				return fail(p, "unterminated escape");
			e = p->s[p->pos + 1];
			p->pos += 2;
			switch (e)
			{
				case '"':
					GlBufAppendChar(&p->scratch, '"');
					break;
				case '\\':
					GlBufAppendChar(&p->scratch, '\\');
					break;
				case '/':
					GlBufAppendChar(&p->scratch, '/');
					break;
				case 'b':
					GlBufAppendChar(&p->scratch, '\b');
					break;
				case 'f':
					GlBufAppendChar(&p->scratch, '\f');
					break;
				case 'n':
					GlBufAppendChar(&p->scratch, '\n');
					break;
				case 'r':
					GlBufAppendChar(&p->scratch, '\r');
					break;
				case 't':
					GlBufAppendChar(&p->scratch, '\t');
					break;
				case 'u':
					if (parse_hex4(p, &cp) != 0)
						return -1;
					if (cp >= 0xdc00 && cp <= 0xdfff)
						return fail(p, "lone low surrogate in \\u escape");
					if (cp >= 0xd800 && cp <= 0xdbff)
					{
						uint32_t	lo;

						if (p->len - p->pos < 6 || p->s[p->pos] != '\\' ||
							p->s[p->pos + 1] != 'u')
							return fail(p, "lone high surrogate in \\u escape");
						p->pos += 2;
						if (parse_hex4(p, &lo) != 0)
							return -1;
						if (lo < 0xdc00 || lo > 0xdfff)
							return fail(p, "lone high surrogate in \\u escape");
						cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					}
					GlBufAppend(&p->scratch, u8, (size_t) GlUtf8Encode(cp, u8));
					break;
				default:
					p->pos -= 2;
					return fail(p, "invalid escape in string");
			}
			continue;
		}
		if (c < 0x80)
		{
			GlBufAppendChar(&p->scratch, (char) c);
			p->pos++;
		}
		else
		{
			uint32_t	cp;
			int			n = GlUtf8Decode((const uint8_t *) p->s + p->pos,
										 p->len - p->pos, &cp);

			if (n < 0)
				return fail(p, "invalid UTF-8 in string");
			GlBufAppend(&p->scratch, p->s + p->pos, (size_t) n);
			p->pos += (size_t) n;
		}
	}
	if (GlBufFailed(&p->scratch))
		return fail(p, "out of memory");
	copy = arena_alloc(p, p->scratch.len + 1);
	if (copy == NULL)
		return fail(p, "out of memory");
	if (p->scratch.len)
		memcpy(copy, p->scratch.data, p->scratch.len);
	copy[p->scratch.len] = '\0';
	*str = copy;
	*slen = p->scratch.len;
	return 0;
}

/* strtod in the C locale, whatever the process or thread locale is. */
static double
strtod_c(const char *s)
{
	static locale_t c_locale = (locale_t) 0;
	locale_t	old;
	double		d;

	if (c_locale == (locale_t) 0)
		c_locale = newlocale(LC_ALL_MASK, "C", (locale_t) 0);
	if (c_locale == (locale_t) 0)
		return strtod(s, NULL);
	old = uselocale(c_locale);
	d = strtod(s, NULL);
	uselocale(old);
	return d;
}

static int
parse_number(Parser *p, GlJson *node)
{
	size_t		start = p->pos;
	size_t		i = p->pos;
	char	   *text;

	if (i < p->len && p->s[i] == '-')
		i++;
	if (i >= p->len)
		return fail(p, "bad number");
	if (p->s[i] == '0')
		i++;
	else if (p->s[i] >= '1' && p->s[i] <= '9')
	{
		while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
	}
	else
		return fail(p, "bad number");
	if (i < p->len && p->s[i] == '.')
	{
		i++;
		if (i >= p->len || p->s[i] < '0' || p->s[i] > '9')
		{
			p->pos = i;
			return fail(p, "bad number: no digits after the decimal point");
		}
		while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
	}
	if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E'))
	{
		i++;
		if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		if (i >= p->len || p->s[i] < '0' || p->s[i] > '9')
		{
			p->pos = i;
			return fail(p, "bad number: no digits in the exponent");
		}
		while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
	}
	text = arena_alloc(p, i - start + 1);
	if (text == NULL)
		return fail(p, "out of memory");
	memcpy(text, p->s + start, i - start);
	text[i - start] = '\0';
	node->type = GL_JSON_NUMBER;
	node->str = text;
	node->len = i - start;
	node->num = strtod_c(text);
	if (!(p->flags & GL_JSON_EXACT_NUMBERS) && (isinf(node->num) || isnan(node->num)))
		return fail(p, "number out of the range of an IEEE 754 double");
	p->pos = i;
	return 0;
}

/* Sort helper: members by UTF-16 key order. */
static int
member_cmp(const void *a, const void *b)
{
	const GlJsonMember *x = a;
	const GlJsonMember *y = b;

	return GlJsonCompareUtf16(x->key, x->keylen, y->key, y->keylen);
}

/*
 * Double the capacity of the array *list (elements of elemsize bytes, *cap
 * of them).  On failure the array is freed and the parser's error set;
 * returns 0 or -1.
 */
static int
grow_list(Parser *p, void **list, size_t *cap, size_t elemsize)
{
	size_t		newcap = *cap ? *cap * 2 : 8;
	void	   *grown = realloc(*list, newcap * elemsize);

	if (grown == NULL)
	{
		free(*list);
		*list = NULL;
		return fail(p, "out of memory");
	}
	*list = grown;
	*cap = newcap;
	return 0;
}

/*
 * After an element of an object or array: consume ',' (returns 1, more
 * follow) or the closing character (returns 0); anything else sets the
 * parser's error and returns -1.
 */
static int
list_next(Parser *p, char close)
{
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == ',')
	{
		p->pos++;
		return 1;
	}
	if (p->pos < p->len && p->s[p->pos] == close)
	{
		p->pos++;
		return 0;
	}
	return close == '}' ? fail(p, "expected ',' or '}'")
		: fail(p, "expected ',' or ']'");
}

static int
parse_object(Parser *p, GlJson *node, int depth)
{
	GlJsonMember *tmp = NULL;
	size_t		n = 0;
	size_t		cap = 0;
	int			rc;
	size_t		i;

	p->pos++;					/* '{' */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == '}')
		p->pos++;
	else
	{
		for (;;)
		{
			GlJsonMember m;

			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != '"')
			{
				free(tmp);
				return fail(p, "expected a member name");
			}
			if (parse_string(p, &m.key, &m.keylen) != 0)
			{
				free(tmp);
				return -1;
			}
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
			{
				free(tmp);
				return fail(p, "expected ':'");
			}
			p->pos++;
			if (parse_value(p, &m.value, depth + 1) != 0)
			{
				free(tmp);
				return -1;
			}
			if (n == cap && grow_list(p, (void **) &tmp, &cap, sizeof(*tmp)) != 0)
				return -1;
			tmp[n++] = m;
			rc = list_next(p, '}');
			if (rc > 0)
				continue;
			if (rc == 0)
				break;
			free(tmp);
			return -1;
		}
	}
	node->type = GL_JSON_OBJECT;
	node->count = n;
	node->members = NULL;
	if (n > 0)
	{
		qsort(tmp, n, sizeof(*tmp), member_cmp);
		for (i = 1; i < n; i++)
		{
			if (tmp[i].keylen == tmp[i - 1].keylen &&
				memcmp(tmp[i].key, tmp[i - 1].key, tmp[i].keylen) == 0)
			{
				free(tmp);
				return fail(p, "duplicate member name in object");
			}
		}
		node->members = arena_alloc(p, n * sizeof(*tmp));
		if (node->members == NULL)
		{
			free(tmp);
			return fail(p, "out of memory");
		}
		memcpy(node->members, tmp, n * sizeof(*tmp));
	}
	free(tmp);
	return 0;
}

static int
parse_array(Parser *p, GlJson *node, int depth)
{
	GlJson	  **tmp = NULL;
	size_t		n = 0;
	size_t		cap = 0;
	int			rc;

	p->pos++;					/* '[' */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == ']')
		p->pos++;
	else
	{
		for (;;)
		{
			GlJson	   *v;

			if (parse_value(p, &v, depth + 1) != 0)
			{
				free(tmp);
				return -1;
			}
			if (n == cap && grow_list(p, (void **) &tmp, &cap, sizeof(*tmp)) != 0)
				return -1;
			tmp[n++] = v;
			rc = list_next(p, ']');
			if (rc > 0)
				continue;
			if (rc == 0)
				break;
			free(tmp);
			return -1;
		}
	}
	node->type = GL_JSON_ARRAY;
	node->count = n;
	node->items = NULL;
	if (n > 0)
	{
		node->items = arena_alloc(p, n * sizeof(*tmp));
		if (node->items == NULL)
		{
			free(tmp);
			return fail(p, "out of memory");
		}
		memcpy(node->items, tmp, n * sizeof(*tmp));
	}
	free(tmp);
	return 0;
}

/* Match a literal word at p->pos. */
static int
parse_word(Parser *p, const char *w)
{
	size_t		n = strlen(w);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, w, n) != 0)
		return fail(p, "unexpected character");
	p->pos += n;
	return 0;
}

static int
parse_value(Parser *p, GlJson **out, int depth)
{
	GlJson	   *node;
	char		c;

	if (depth > GL_JSON_MAX_DEPTH)
		return fail(p, "nesting too deep");
	node = arena_alloc(p, sizeof(GlJson));
	if (node == NULL)
		return fail(p, "out of memory");
	memset(node, 0, sizeof(*node));
	*out = node;
	skip_ws(p);
	if (p->pos >= p->len)
		return fail(p, "unexpected end of input");
	c = p->s[p->pos];
	switch (c)
	{
		case '{':
			return parse_object(p, node, depth);
		case '[':
			return parse_array(p, node, depth);
		case '"':
			node->type = GL_JSON_STRING;
			return parse_string(p, &node->str, &node->len);
		case 't':
			node->type = GL_JSON_TRUE;
			return parse_word(p, "true");
		case 'f':
			node->type = GL_JSON_FALSE;
			return parse_word(p, "false");
		case 'n':
			node->type = GL_JSON_NULL;
			return parse_word(p, "null");
		default:
			if (c == '-' || (c >= '0' && c <= '9'))
				return parse_number(p, node);
			return fail(p, "unexpected character");
	}
}

int
GlJsonParse(GlJsonDoc *doc, const char *text, size_t len, char *errbuf,
			size_t errcap)
{
	return GlJsonParseFlags(doc, text, len, 0, errbuf, errcap);
}

int
GlJsonParseFlags(GlJsonDoc *doc, const char *text, size_t len, int flags,
				 char *errbuf, size_t errcap)
{
	Parser		p;
	int			rc;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	p.s = text;
	p.len = len;
	GlBufInit(&p.scratch);
	doc->root = NULL;
	doc->arena = NULL;
	rc = parse_value(&p, &doc->root, 1);
	if (rc == 0)
	{
		skip_ws(&p);
		if (p.pos != p.len)
			rc = fail(&p, "trailing characters after the JSON value");
	}
	GlBufFree(&p.scratch);
	if (rc != 0)
	{
		if (errcap > 0)
			snprintf(errbuf, errcap, "%s at byte %zu", p.err, p.erroff);
		arena_free(p.arena);
		doc->root = NULL;
		return -1;
	}
	doc->arena = p.arena;
	return 0;
}

void
GlJsonFree(GlJsonDoc *doc)
{
	arena_free(doc->arena);
	doc->arena = NULL;
	doc->root = NULL;
}

GlJson *
GlJsonGet(const GlJson *obj, const char *key)
{
	size_t		klen = strlen(key);
	size_t		i;

	if (obj == NULL || obj->type != GL_JSON_OBJECT)
		return NULL;
	for (i = 0; i < obj->count; i++)
	{
		if (obj->members[i].keylen == klen &&
			memcmp(obj->members[i].key, key, klen) == 0)
			return obj->members[i].value;
	}
	return NULL;
}

int
GlJsonGetUint64(const GlJson *num, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (num == NULL || num->type != GL_JSON_NUMBER || num->len == 0 ||
		num->len > 20 || (num->str[0] == '0' && num->len > 1))
		return -1;
	for (i = 0; i < num->len; i++)
	{
		unsigned int d;

		if (num->str[i] < '0' || num->str[i] > '9')
			return -1;
		d = (unsigned int) (num->str[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/*
 * Next UTF-16 code unit of a UTF-8 string: *pos advances over a code
 * point when its last unit is returned; *low holds a pending low
 * surrogate.  Returns -1 at the end.
 */
static int32_t
next_unit(const char *s, size_t len, size_t *pos, uint32_t *low)
{
	uint32_t	cp;
	int			n;

	if (*low)
	{
		int32_t		u = (int32_t) *low;

		*low = 0;
		return u;
	}
	if (*pos >= len)
		return -1;
	n = GlUtf8Decode((const uint8_t *) s + *pos, len - *pos, &cp);
	if (n < 0)
	{
		/* invalid input is not expected; order by the raw byte */
		cp = (unsigned char) s[*pos];
		n = 1;
	}
	*pos += (size_t) n;
	if (cp >= 0x10000)
	{
		cp -= 0x10000;
		*low = 0xdc00 + (cp & 0x3ff);
		return (int32_t) (0xd800 + (cp >> 10));
	}
	return (int32_t) cp;
}

int
GlJsonCompareUtf16(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t		ap = 0;
	size_t		bp = 0;
	uint32_t	alow = 0;
	uint32_t	blow = 0;

	for (;;)
	{
		int32_t		ua = next_unit(a, alen, &ap, &alow);
		int32_t		ub = next_unit(b, blen, &bp, &blow);

		if (ua != ub)
			return ua < ub ? -1 : 1;
		if (ua < 0)
			return 0;
	}
}
