/*-------------------------------------------------------------------------
 *
 * checkpoint.c
 *	  Parse and format C2SP tlog-checkpoint bodies.
 *
 * Parsing is strict so that a checkpoint has exactly one text for each
 * (origin, size, root): a signature over it then commits to those values
 * and nothing else.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/checkpoint.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "checkpoint.h"
#include "encode.h"
#include "note.h"
#include "utf8.h"

/* Parse a canonical unsigned decimal that fits 64 bits. */
static int
parse_size(const char *s, size_t len, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (len == 0 || len > 20 || (s[0] == '0' && len > 1))
		return -1;
	for (i = 0; i < len; i++)
	{
		unsigned int d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned int) (s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Next line of text[*pos..len): start and length; -1 when unterminated. */
static int
next_line(const char *text, size_t len, size_t *pos, const char **line,
		  size_t *linelen)
{
	const char *nl;

	if (*pos >= len)
		return -1;
	nl = memchr(text + *pos, '\n', len - *pos);
	if (nl == NULL)
		return -1;
	*line = text + *pos;
	*linelen = (size_t) (nl - *line);
	*pos += *linelen + 1;
	return 0;
}

int
GlCheckpointParse(GlCheckpoint *cp, const char *text, size_t len,
				  size_t hashlen, const char *origin, const char **err)
{
	const char *line;
	size_t		linelen;
	size_t		pos = 0;
	long		rootlen;

	memset(cp, 0, sizeof(*cp));
	if (!GlNoteTextValid(text, len))
	{
		*err = "checkpoint: not valid note text (UTF-8, no control characters, final newline)";
		return -1;
	}
	if (next_line(text, len, &pos, &line, &linelen) != 0 || linelen == 0)
	{
		*err = "checkpoint: empty origin line";
		return -1;
	}
	cp->origin = line;
	cp->originlen = linelen;
	if (next_line(text, len, &pos, &line, &linelen) != 0)
	{
		*err = "checkpoint: missing tree size line";
		return -1;
	}
	if (parse_size(line, linelen, &cp->size) != 0)
	{
		*err = "checkpoint: tree size is not a canonical 64-bit decimal";
		return -1;
	}
	if (next_line(text, len, &pos, &line, &linelen) != 0)
	{
		*err = "checkpoint: missing root hash line";
		return -1;
	}
	rootlen = GlBase64Decode(line, linelen, cp->root, sizeof(cp->root),
							 false, true);
	if (rootlen < 0)
	{
		*err = "checkpoint: root hash is not padded standard base64";
		return -1;
	}
	if ((size_t) rootlen != hashlen)
	{
		*err = "checkpoint: root hash has the wrong length";
		return -1;
	}
	cp->rootlen = (size_t) rootlen;
	cp->ext = text + pos;
	cp->extlen = len - pos;
	while (pos < len)
	{
		if (next_line(text, len, &pos, &line, &linelen) != 0)
		{
			*err = "checkpoint: unterminated extension line";
			return -1;
		}
		if (linelen == 0)
		{
			*err = "checkpoint: empty extension line";
			return -1;
		}
	}
	if (cp->extlen == 0)
		cp->ext = NULL;
	if (origin != NULL &&
		(strlen(origin) != cp->originlen ||
		 memcmp(origin, cp->origin, cp->originlen) != 0))
	{
		*err = "checkpoint: origin is not the expected log";
		return -1;
	}
	return 0;
}

int
GlCheckpointFormat(GlBuf *out, const char *origin, uint64_t size,
				   const uint8_t *root, size_t rootlen, const char *ext,
				   const char **err)
{
	char		num[32];
	char		b64[GL_BASE64_LEN(GL_HASH_MAX_SIZE)];
	size_t		olen = strlen(origin);
	size_t		i;

	if (olen == 0 || !GlUtf8Valid(origin, olen))
	{
		*err = "checkpoint: origin must be non-empty valid UTF-8";
		return -1;
	}
	for (i = 0; i < olen; i++)
	{
		if ((unsigned char) origin[i] < 0x20)
		{
			*err = "checkpoint: origin must be one line without control characters";
			return -1;
		}
	}
	if (rootlen == 0 || rootlen > GL_HASH_MAX_SIZE)
	{
		*err = "checkpoint: bad root hash length";
		return -1;
	}
	if (ext != NULL && ext[0] != '\0')
	{
		size_t		elen = strlen(ext);

		if (ext[0] == '\n' || strstr(ext, "\n\n") != NULL ||
			!GlNoteTextValid(ext, elen))
		{
			*err = "checkpoint: extension lines must be non-empty and newline-terminated";
			return -1;
		}
	}
	snprintf(num, sizeof(num), "%llu", (unsigned long long) size);
	GlBase64Encode(root, rootlen, b64, false, true);
	GlBufAppend(out, origin, olen);
	GlBufAppendChar(out, '\n');
	GlBufAppendStr(out, num);
	GlBufAppendChar(out, '\n');
	GlBufAppendStr(out, b64);
	GlBufAppendChar(out, '\n');
	if (ext != NULL)
		GlBufAppendStr(out, ext);
	if (GlBufFailed(out))
	{
		*err = "out of memory";
		return -1;
	}
	return 0;
}
