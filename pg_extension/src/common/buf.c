/*-------------------------------------------------------------------------
 *
 * buf.c
 *	  A growable, always NUL-terminated byte buffer on malloc.
 *
 * See buf.h for the contract.  This file is shared by the PostgreSQL
 * extension and the offline verifier, so it uses only libc: backend
 * callers must free what they receive (or copy it into a memory context
 * and free the original) before anything can raise an error.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/buf.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
GlBufInit(GlBuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = false;
}

void
GlBufFree(GlBuf *b)
{
	free(b->data);
	GlBufInit(b);
}

/*
 * Make room for at least 'extra' more bytes plus the terminating NUL.
 * Returns 0, or -1 (and marks the buffer failed) on overflow or ENOMEM.
 */
static int
buf_reserve(GlBuf *b, size_t extra)
{
	size_t		need;
	size_t		newcap;
	char	   *p;

	if (b->failed)
		return -1;
	if (extra > SIZE_MAX - b->len - 1)
	{
		b->failed = true;
		return -1;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	newcap = b->cap ? b->cap : 64;
	while (newcap < need)
	{
		if (newcap > SIZE_MAX / 2)
		{
			newcap = need;
			break;
		}
		newcap *= 2;
	}
	p = realloc(b->data, newcap);
	if (p == NULL)
	{
		b->failed = true;
		return -1;
	}
	b->data = p;
	b->cap = newcap;
	return 0;
}

int
GlBufAppend(GlBuf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) != 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
GlBufAppendStr(GlBuf *b, const char *s)
{
	return GlBufAppend(b, s, strlen(s));
}

int
GlBufAppendChar(GlBuf *b, char c)
{
	return GlBufAppend(b, &c, 1);
}

char *
GlBufDetach(GlBuf *b, size_t *len)
{
	char	   *out;

	if (b->failed)
	{
		GlBufFree(b);
		return NULL;
	}
	if (buf_reserve(b, 0) != 0)
	{
		GlBufFree(b);
		return NULL;
	}
	b->data[b->len] = '\0';
	out = b->data;
	if (len)
		*len = b->len;
	GlBufInit(b);
	return out;
}
