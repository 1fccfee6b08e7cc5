/*-------------------------------------------------------------------------
 *
 * checkpoint.h
 *	  C2SP tlog-checkpoint note bodies (c2sp.org/tlog-checkpoint).
 *
 * The body is: the origin line (non-empty), the tree size in ASCII
 * decimal without sign or leading zeros (except "0"), the root hash in
 * padded standard base64, then zero or more non-empty extension lines;
 * every line ends in a newline.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/checkpoint.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVLEDGER_CHECKPOINT_H
#define GOVLEDGER_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hash.h"

typedef struct GlCheckpoint
{
	const char *origin;			/* into the input, without newline */
	size_t		originlen;
	uint64_t	size;			/* tree size */
	uint8_t		root[GL_HASH_MAX_SIZE];
	size_t		rootlen;
	const char *ext;			/* extension lines (each with its newline), */
	size_t		extlen;			/* into the input; extlen 0 when none */
} GlCheckpoint;

/*
 * Parse the checkpoint body text[0..len) (a note's text, or a bare
 * body).  The root hash must decode to exactly 'hashlen' bytes.  When
 * 'origin' is not NULL the origin line must equal it exactly.  Returns
 * 0, or -1 with *err naming the first problem.  The result points into
 * text.
 */
extern int	GlCheckpointParse(GlCheckpoint *cp, const char *text, size_t len,
							  size_t hashlen, const char *origin,
							  const char **err);

/*
 * Append the body for (origin, size, root[0..rootlen)) and the optional
 * extension lines 'ext' (NULL, or complete non-empty lines each ending
 * in a newline) to out.  Returns 0, or -1 with *err set for an invalid
 * origin or extension, or when memory ran out.
 */
extern int	GlCheckpointFormat(GlBuf *out, const char *origin, uint64_t size,
							   const uint8_t *root, size_t rootlen,
							   const char *ext, const char **err);

#endif							/* GOVLEDGER_CHECKPOINT_H */
