/*-------------------------------------------------------------------------
 *
 * buf.h
 *	  A growable byte buffer on malloc, used by the pure C library code
 *	  that cannot know its output size in advance (JCS, note formatting).
 *
 * The buffer is always NUL-terminated after its used length, so text can
 * be handed to C string functions.  The owner releases it with GlBufFree.
 * Allocation failure is sticky: once an append fails, the buffer is
 * marked failed, later appends do nothing, and GlBufFailed reports it, so
 * callers may check once at the end.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/buf.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVLEDGER_BUF_H
#define GOVLEDGER_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct GlBuf
{
	char	   *data;			/* malloc'd, NUL-terminated; NULL when empty */
	size_t		len;			/* bytes used, not counting the NUL */
	size_t		cap;			/* bytes allocated */
	bool		failed;			/* an allocation failed */
} GlBuf;

/* Start an empty buffer (no allocation). */
extern void GlBufInit(GlBuf *b);

/* Release the buffer's memory and reset it to empty. */
extern void GlBufFree(GlBuf *b);

/*
 * Append n bytes.  Returns 0, or -1 when memory ran out (the buffer is
 * then marked failed and keeps its earlier contents).
 */
extern int	GlBufAppend(GlBuf *b, const void *p, size_t n);

/* Append a NUL-terminated string; same return as GlBufAppend. */
extern int	GlBufAppendStr(GlBuf *b, const char *s);

/* Append one byte; same return as GlBufAppend. */
extern int	GlBufAppendChar(GlBuf *b, char c);

/*
 * Hand the contents to the caller: returns the malloc'd NUL-terminated
 * data (the caller frees it with free()), stores its length in *len when
 * len is not NULL, and resets the buffer to empty.  Returns NULL when
 * the buffer failed (its memory is then released).  An empty buffer
 * yields a malloc'd empty string.
 */
extern char *GlBufDetach(GlBuf *b, size_t *len);

#define GlBufFailed(b)	((b)->failed)

#endif							/* GOVLEDGER_BUF_H */
