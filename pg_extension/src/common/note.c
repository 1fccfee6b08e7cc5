/*-------------------------------------------------------------------------
 *
 * note.c
 *	  C2SP signed-note parsing, signing and verification.
 *
 * The rules follow c2sp.org/signed-note and its reference reader
 * (golang.org/x/mod/sumdb/note): the note must be valid UTF-8 with no
 * control character but newline; the signatures start after the LAST
 * blank line; every signature line must be well formed even when its key
 * is unknown; unknown keys are ignored; a known key whose signature
 * fails rejects the whole note; at least one known signature must hold.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/common/note.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include <openssl/err.h>

#include "encode.h"
#include "note.h"
#include "utf8.h"

#define EM_DASH		"\xe2\x80\x94"	/* U+2014 */
#define SIG_PREFIX	EM_DASH " "
#define SIG_PREFIX_LEN 4
/* largest decoded signature field we look at while parsing */
#define SIG_FIELD_MAX	8192

/* Valid UTF-8 without control characters other than newline. */
static bool
note_chars_valid(const char *s, size_t len)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c < 0x20 && c != '\n')
			return false;
	}
	return GlUtf8Valid(s, len);
}

bool
GlNoteTextValid(const char *text, size_t len)
{
	return len > 0 && text[len - 1] == '\n' && note_chars_valid(text, len);
}

/* Find the last occurrence of "\n\n" in s[0..len); -1 when none. */
static long
last_blank_line(const char *s, size_t len)
{
	size_t		i;

	if (len < 2)
		return -1;
	for (i = len - 1; i > 0; i--)
	{
		if (s[i] == '\n' && s[i - 1] == '\n')
			return (long) (i - 1);
	}
	return -1;
}

/* Parse one signature line (without its newline) into sig. */
static int
parse_sig_line(const char *line, size_t len, GlNoteSig *sig, const char **err)
{
	const char *sp;
	uint8_t    *dec;
	long		declen;
	uint8_t		small[4];

	if (len < SIG_PREFIX_LEN || memcmp(line, SIG_PREFIX, SIG_PREFIX_LEN) != 0)
	{
		*err = "malformed note: signature line does not start with an em dash and a space";
		return GL_NOTE_MALFORMED;
	}
	line += SIG_PREFIX_LEN;
	len -= SIG_PREFIX_LEN;
	sp = memchr(line, ' ', len);
	if (sp == NULL)
	{
		*err = "malformed note: signature line has no signature";
		return GL_NOTE_MALFORMED;
	}
	sig->name = line;
	sig->namelen = (size_t) (sp - line);
	sig->b64 = sp + 1;
	sig->b64len = len - sig->namelen - 1;
	sig->verified = false;
	if (!GlNoteKeyNameValid(sig->name, sig->namelen))
	{
		*err = "malformed note: invalid key name in signature line";
		return GL_NOTE_MALFORMED;
	}

	/*
	 * Decode to check the base64 and read the key ID.  Only the first
	 * four bytes are kept; the whole field must still be canonical.
	 */
	if (sig->b64len == 0 || sig->b64len > GL_BASE64_LEN(SIG_FIELD_MAX))
	{
		*err = "malformed note: bad signature length";
		return GL_NOTE_MALFORMED;
	}
	dec = OPENSSL_malloc(GL_BASE64_DECODED_MAX(sig->b64len) + 1);
	if (dec == NULL)
	{
		*err = "out of memory";
		return -1;
	}
	declen = GlBase64Decode(sig->b64, sig->b64len, dec,
							GL_BASE64_DECODED_MAX(sig->b64len) + 1, false, true);
	if (declen >= 4)
		memcpy(small, dec, 4);
	OPENSSL_free(dec);
	if (declen < 5)
	{
		*err = declen < 0 ?
			"malformed note: signature is not base64" :
			"malformed note: signature too short";
		return GL_NOTE_MALFORMED;
	}
	sig->key_id = ((uint32_t) small[0] << 24) | ((uint32_t) small[1] << 16) |
		((uint32_t) small[2] << 8) | small[3];
	return GL_NOTE_OK;
}

int
GlNoteParse(GlNote *note, const char *msg, size_t len, const char **err)
{
	long		split;
	const char *sigs;
	size_t		sigslen;
	size_t		pos;

	note->text = NULL;
	note->textlen = 0;
	note->nsigs = 0;
	if (len > GL_NOTE_MAX_SIZE)
	{
		*err = "malformed note: too large";
		return GL_NOTE_MALFORMED;
	}
	if (!note_chars_valid(msg, len))
	{
		*err = "malformed note: invalid UTF-8 or a control character";
		return GL_NOTE_MALFORMED;
	}
	split = last_blank_line(msg, len);
	if (split < 0)
	{
		*err = "malformed note: no blank line before the signatures";
		return GL_NOTE_MALFORMED;
	}
	sigs = msg + split + 2;
	sigslen = len - (size_t) split - 2;
	if (sigslen == 0)
	{
		*err = "malformed note: no signature lines";
		return GL_NOTE_MALFORMED;
	}
	if (sigs[sigslen - 1] != '\n')
	{
		*err = "malformed note: last signature line does not end in a newline";
		return GL_NOTE_MALFORMED;
	}
	pos = 0;
	while (pos < sigslen)
	{
		const char *nl = memchr(sigs + pos, '\n', sigslen - pos);
		size_t		linelen = (size_t) (nl - (sigs + pos));
		int			rc;

		if (note->nsigs >= GL_NOTE_MAX_SIGS)
		{
			*err = "malformed note: too many signatures";
			return GL_NOTE_MALFORMED;
		}
		rc = parse_sig_line(sigs + pos, linelen, &note->sigs[note->nsigs], err);
		if (rc != GL_NOTE_OK)
			return rc;
		note->nsigs++;
		pos += linelen + 1;
	}
	note->text = msg;
	note->textlen = (size_t) split + 1;
	return GL_NOTE_OK;
}

int
GlNoteVerify(GlNote *note, const GlNoteKey *keys, int nkeys, int *nverified,
			 const char **err)
{
	int			i;
	int			j;
	int			good = 0;

	if (nverified)
		*nverified = 0;
	for (i = 0; i < note->nsigs; i++)
	{
		GlNoteSig  *s = &note->sigs[i];

		s->verified = false;
		for (j = 0; j < nkeys; j++)
		{
			const GlNoteKey *k = &keys[j];
			uint8_t    *dec;
			long		declen;
			int			rc;

			if (k->key_id != s->key_id || strlen(k->name) != s->namelen ||
				memcmp(k->name, s->name, s->namelen) != 0)
				continue;
			dec = OPENSSL_malloc(GL_BASE64_DECODED_MAX(s->b64len) + 1);
			if (dec == NULL)
			{
				*err = "out of memory";
				return -1;
			}
			declen = GlBase64Decode(s->b64, s->b64len, dec,
									GL_BASE64_DECODED_MAX(s->b64len) + 1,
									false, true);
			rc = declen < 5 ? 1 :
				GlNoteKeyVerify(k, note->text, note->textlen, dec + 4,
								(size_t) declen - 4);
			OPENSSL_free(dec);
			ERR_clear_error();
			if (rc < 0)
			{
				*err = "signature check failed inside OpenSSL";
				return -1;
			}
			if (rc != 0)
			{
				*err = "invalid signature from a known key";
				return GL_NOTE_BAD_SIGNATURE;
			}
			s->verified = true;
			good++;
			break;
		}
	}
	if (nverified)
		*nverified = good;
	if (good == 0)
	{
		*err = "note has no verifiable signature from a known key";
		return GL_NOTE_UNVERIFIED;
	}
	return GL_NOTE_OK;
}

int
GlNoteSign(const char *text, size_t len, const GlNoteKey *keys, int nkeys,
		   GlBuf *out, const char **err)
{
	int			i;

	if (!GlNoteTextValid(text, len))
	{
		*err = "note text must be valid UTF-8 ending in a newline, without control characters";
		return -1;
	}
	if (nkeys < 1)
	{
		*err = "no signing key";
		return -1;
	}
	GlBufAppend(out, text, len);
	GlBufAppendChar(out, '\n');
	for (i = 0; i < nkeys; i++)
	{
		uint8_t		sig[4 + GL_SIG_MAX];
		char		b64[GL_BASE64_LEN(4 + GL_SIG_MAX)];
		size_t		siglen = 0;

		sig[0] = (uint8_t) (keys[i].key_id >> 24);
		sig[1] = (uint8_t) (keys[i].key_id >> 16);
		sig[2] = (uint8_t) (keys[i].key_id >> 8);
		sig[3] = (uint8_t) keys[i].key_id;
		if (GlNoteKeySign(&keys[i], text, len, sig + 4, &siglen) != 0)
		{
			ERR_clear_error();
			*err = "signing failed (no private key?)";
			return -1;
		}
		GlBase64Encode(sig, 4 + siglen, b64, false, true);
		GlBufAppendStr(out, SIG_PREFIX);
		GlBufAppendStr(out, keys[i].name);
		GlBufAppendChar(out, ' ');
		GlBufAppendStr(out, b64);
		GlBufAppendChar(out, '\n');
	}
	if (GlBufFailed(out))
	{
		*err = "out of memory";
		return -1;
	}
	return 0;
}
