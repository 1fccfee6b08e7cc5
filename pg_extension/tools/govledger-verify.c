/*-------------------------------------------------------------------------
 *
 * govledger-verify.c
 *	  Offline verifier of govledger receipts: checks, with no database,
 *	  that a receipt's entry is in the log whose key signed its
 *	  checkpoint, and optionally that the log only grew since an older
 *	  checkpoint.
 *
 * Built from the same pg_extension/src/common sources the extension
 * uses (hashing, Merkle proofs, signed notes, JSON and JCS), never from
 * a copy.  See docs/govledger-verify.md and docs/receipt-format.md.
 *
 * Exit status: 0 verified; 1 the receipt or a checkpoint does not
 * verify (one line on stderr names the field); 2 usage or I/O error.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/tools/govledger-verify.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "encode.h"
#include "hash.h"
#include "jcs.h"
#include "json.h"
#include "merkle.h"
#include "note.h"

#define RECEIPT_FORMAT	"govledger-receipt-v1"
#define MAX_INPUT		(16 * 1024 * 1024)

#define EXIT_BAD		1
#define EXIT_USAGE		2

static const char *progname = "govledger-verify";
static int	quiet = 0;

/* Print "govledger-verify: field: message" and exit with code. */
static void
die(int code, const char *field, const char *fmt,...)
	__attribute__((format(printf, 3, 4), noreturn));

static void
die(int code, const char *field, const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "%s: ", progname);
	if (field)
		fprintf(stderr, "%s: ", field);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void
usage(FILE *f)
{
	fprintf(f,
			"Usage: %s --key VERIFIER_KEY [OPTIONS] RECEIPT\n"
			"\n"
			"Check a govledger receipt (JSON from govledger.receipt()) offline.\n"
			"\n"
			"  -k, --key VKEY             the log's verifier key (name+keyid+base64)\n"
			"  -K, --key-file FILE        read the verifier key from FILE\n"
			"  -o, --old-checkpoint FILE  an earlier signed checkpoint of the same log\n"
			"  -c, --consistency FILE     consistency proof JSON (govledger.consistency_proof)\n"
			"                             from the old checkpoint to the receipt's\n"
			"  -q, --quiet                print nothing on success\n"
			"  -h, --help                 this help\n"
			"\n"
			"RECEIPT may be '-' for standard input.  Exit status: 0 verified,\n"
			"1 verification failed, 2 usage or I/O error.\n",
			progname);
}

/* Read a whole file (or stdin for "-"); exits on error. */
static char *
read_file(const char *path, size_t *len, const char *what)
{
	FILE	   *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char	   *buf;
	size_t		n = 0;
	size_t		r;

	if (f == NULL)
		die(EXIT_USAGE, what, "cannot open %s: %s", path, strerror(errno));
	buf = malloc(MAX_INPUT + 1);
	if (buf == NULL)
		die(EXIT_USAGE, NULL, "out of memory");
	while ((r = fread(buf + n, 1, MAX_INPUT + 1 - n, f)) > 0)
	{
		n += r;
		if (n > MAX_INPUT)
			die(EXIT_USAGE, what, "%s is larger than %d bytes", path, MAX_INPUT);
	}
	if (ferror(f))
		die(EXIT_USAGE, what, "cannot read %s", path);
	if (f != stdin)
		fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Member of the receipt with the wanted type, or die naming it. */
static const GlJson *
member(const GlJson *obj, const char *key, GlJsonType type, const char *ctx)
{
	const GlJson *v = GlJsonGet(obj, key);
	char		field[128];

	snprintf(field, sizeof(field), "%s%s", ctx, key);
	if (v == NULL)
		die(EXIT_BAD, field, "missing");
	if (v->type != type)
		die(EXIT_BAD, field, "has the wrong JSON type");
	return v;
}

static uint64_t
member_u64(const GlJson *obj, const char *key, const char *ctx)
{
	const GlJson *v = member(obj, key, GL_JSON_NUMBER, ctx);
	uint64_t	out;
	char		field[128];

	snprintf(field, sizeof(field), "%s%s", ctx, key);
	if (GlJsonGetUint64(v, &out) != 0)
		die(EXIT_BAD, field, "is not a non-negative 64-bit integer");
	return out;
}

/* Decode one hex hash of exactly h->size bytes or die. */
static void
hex_hash(const GlJson *v, const GlHash *h, uint8_t *out, const char *field)
{
	if (v->type != GL_JSON_STRING ||
		GlHexDecode(v->str, v->len, out, h->size) != (long) h->size ||
		v->len != 2 * h->size)
		die(EXIT_BAD, field, "is not %zu bytes of lower-case hex", h->size);
}

/* A proof array of hex hashes into out; returns the count. */
static int
proof_array(const GlJson *obj, const GlHash *h, uint8_t *out, const char *ctx)
{
	const GlJson *arr = member(obj, "proof", GL_JSON_ARRAY, ctx);
	char		field[128];
	size_t		i;

	snprintf(field, sizeof(field), "%sproof", ctx);
	if (arr->count > GL_MERKLE_MAX_PROOF)
		die(EXIT_BAD, field, "has too many hashes");
	for (i = 0; i < arr->count; i++)
	{
		char		f2[160];

		snprintf(f2, sizeof(f2), "%s[%zu]", field, i);
		hex_hash(arr->items[i], h, out + i * h->size, f2);
	}
	return (int) arr->count;
}

/*
 * Verify a signed checkpoint note against the key and parse its body:
 * origin must equal 'origin' when given.  Dies on any failure.
 */
static void
check_checkpoint(const char *text, size_t len, GlNoteKey *key,
				 const GlHash *h, const char *origin, GlNote *note,
				 GlCheckpoint *cp, const char *field)
{
	const char *err = "";
	int			rc;

	rc = GlNoteParse(note, text, len, &err);
	if (rc != GL_NOTE_OK)
		die(EXIT_BAD, field, "%s", err);
	rc = GlNoteVerify(note, key, 1, NULL, &err);
	if (rc != GL_NOTE_OK)
		die(EXIT_BAD, field, "%s (key %s)", err, key->name);
	if (GlCheckpointParse(cp, note->text, note->textlen, h->size, origin, &err) != 0)
		die(EXIT_BAD, field, "%s", err);
}

int
main(int argc, char **argv)
{
	const char *vkey = NULL;
	const char *keyfile = NULL;
	const char *oldfile = NULL;
	const char *consfile = NULL;
	const char *receiptfile = NULL;
	char	   *keybuf = NULL;
	char	   *text;
	size_t		len;
	GlJsonDoc	doc;
	char		jerr[256];
	const GlJson *r;
	const GlJson *v;
	GlNoteKey	key;
	const char *err = "";
	GlHash		h;
	uint8_t		leaf[GL_HASH_MAX_SIZE];
	uint8_t		computed[GL_HASH_MAX_SIZE];
	uint8_t		proof[GL_MERKLE_MAX_PROOF * GL_HASH_MAX_SIZE];
	int			nproof;
	uint64_t	entry_id;
	uint64_t	leaf_index;
	uint64_t	tree_size;
	static GlNote note;
	GlCheckpoint cp;
	char	   *origin;
	int			i;

	for (i = 1; i < argc; i++)
	{
		const char *a = argv[i];

#define OPTARG() (i + 1 < argc ? argv[++i] : (usage(stderr), exit(EXIT_USAGE), (char *) NULL))
		if (strcmp(a, "-k") == 0 || strcmp(a, "--key") == 0)
			vkey = OPTARG();
		else if (strcmp(a, "-K") == 0 || strcmp(a, "--key-file") == 0)
			keyfile = OPTARG();
		else if (strcmp(a, "-o") == 0 || strcmp(a, "--old-checkpoint") == 0)
			oldfile = OPTARG();
		else if (strcmp(a, "-c") == 0 || strcmp(a, "--consistency") == 0)
			consfile = OPTARG();
		else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
			quiet = 1;
		else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
		{
			usage(stdout);
			return 0;
		}
		else if (a[0] == '-' && a[1] != '\0')
		{
			fprintf(stderr, "%s: unknown option %s\n", progname, a);
			usage(stderr);
			return EXIT_USAGE;
		}
		else if (receiptfile == NULL)
			receiptfile = a;
		else
			die(EXIT_USAGE, NULL, "more than one receipt given");
#undef OPTARG
	}
	if (receiptfile == NULL || (vkey == NULL) == (keyfile == NULL))
	{
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((oldfile == NULL) != (consfile == NULL))
		die(EXIT_USAGE, NULL, "--old-checkpoint and --consistency go together");

	/* the verifier key */
	if (keyfile)
	{
		keybuf = read_file(keyfile, &len, "key file");
		while (len > 0 && (keybuf[len - 1] == '\n' || keybuf[len - 1] == '\r' ||
						   keybuf[len - 1] == ' '))
			keybuf[--len] = '\0';
		vkey = keybuf;
	}
	if (GlNoteKeyParseVerifier(&key, vkey, strlen(vkey), &err) != 0)
		die(EXIT_USAGE, "key", "%s", err);

	/* the receipt */
	text = read_file(receiptfile, &len, "receipt");
	if (GlJsonParse(&doc, text, len, jerr, sizeof(jerr)) != 0)
		die(EXIT_BAD, "receipt", "not valid JSON: %s", jerr);
	r = doc.root;
	if (r->type != GL_JSON_OBJECT)
		die(EXIT_BAD, "receipt", "not a JSON object");
	v = member(r, "format", GL_JSON_STRING, "");
	if (strcmp(v->str, RECEIPT_FORMAT) != 0)
		die(EXIT_BAD, "format", "is not \"%s\"", RECEIPT_FORMAT);
	v = member(r, "hash_alg", GL_JSON_STRING, "");
	if (GlHashOpen(&h, v->str) != 0)
		die(EXIT_BAD, "hash_alg", "unsupported hash algorithm \"%s\"", v->str);
	origin = strdup(member(r, "log", GL_JSON_STRING, "")->str);
	entry_id = member_u64(r, "entry_id", "");
	leaf_index = member_u64(r, "leaf_index", "");
	tree_size = member_u64(r, "tree_size", "");
	member(r, "ledger", GL_JSON_STRING, "");

	/* canonical text: canonical, bound to entry_id and ledger, hashed to leaf_hash */
	v = member(r, "canonical", GL_JSON_STRING, "");
	{
		GlBuf		canon;
		GlJsonDoc	cdoc;
		const GlJson *e;
		char		idbuf[32];

		GlBufInit(&canon);
		if (GlJcsCanonicalize(v->str, v->len, &canon, jerr, sizeof(jerr)) != 0)
			die(EXIT_BAD, "canonical", "not valid I-JSON: %s", jerr);
		if (canon.len != v->len || memcmp(canon.data, v->str, v->len) != 0)
			die(EXIT_BAD, "canonical", "is not in RFC 8785 canonical form");
		GlBufFree(&canon);
		if (GlJsonParse(&cdoc, v->str, v->len, jerr, sizeof(jerr)) != 0 ||
			cdoc.root->type != GL_JSON_OBJECT)
			die(EXIT_BAD, "canonical", "is not a JSON object");
		snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long) entry_id);
		e = GlJsonGet(cdoc.root, "entry");
		if (e == NULL || e->type != GL_JSON_STRING || strcmp(e->str, idbuf) != 0)
			die(EXIT_BAD, "entry_id", "does not match the entry in the canonical row");
		e = GlJsonGet(cdoc.root, "ledger");
		if (e == NULL || e->type != GL_JSON_STRING ||
			strcmp(e->str, member(r, "ledger", GL_JSON_STRING, "")->str) != 0)
			die(EXIT_BAD, "ledger", "does not match the ledger in the canonical row");
		GlJsonFree(&cdoc);
	}
	hex_hash(member(r, "leaf_hash", GL_JSON_STRING, ""), &h, leaf, "leaf_hash");
	if (GlHashLeaf(&h, v->str, v->len, computed) != 0)
		die(EXIT_USAGE, NULL, "hashing failed");
	if (memcmp(computed, leaf, h.size) != 0)
		die(EXIT_BAD, "leaf_hash", "differs from H(0x00 || canonical) under %s", h.name);

	/* the checkpoint: signature, origin, size */
	v = member(r, "checkpoint", GL_JSON_STRING, "");
	check_checkpoint(v->str, v->len, &key, &h, NULL, &note, &cp, "checkpoint");
	if (cp.originlen != strlen(origin) || memcmp(cp.origin, origin, cp.originlen) != 0)
		die(EXIT_BAD, "log", "\"%s\" is not the origin of the checkpoint", origin);
	if (cp.size != tree_size)
		die(EXIT_BAD, "tree_size", "is %llu but the checkpoint is for size %llu",
			(unsigned long long) tree_size, (unsigned long long) cp.size);

	/* the inclusion proof */
	nproof = proof_array(r, &h, proof, "");
	if (leaf_index >= tree_size)
		die(EXIT_BAD, "leaf_index", "is not below tree_size");
	if (GlMerkleVerifyInclusion(&h, leaf_index, tree_size, leaf, proof, nproof,
								cp.root) != 0)
		die(EXIT_BAD, "proof", "does not prove leaf_hash as leaf %llu of the checkpoint's tree",
			(unsigned long long) leaf_index);

	/* optional: an older checkpoint and a consistency proof */
	if (oldfile)
	{
		char	   *oldtext;
		size_t		oldlen;
		char	   *constext;
		size_t		conslen;
		static GlNote oldnote;
		GlCheckpoint oldcp;
		GlJsonDoc	cdoc;
		uint64_t	old_size;
		uint64_t	new_size;
		uint8_t		cproof[GL_MERKLE_MAX_PROOF * GL_HASH_MAX_SIZE];
		int			ncproof;

		oldtext = read_file(oldfile, &oldlen, "old checkpoint");
		check_checkpoint(oldtext, oldlen, &key, &h, origin, &oldnote, &oldcp,
						 "old checkpoint");
		constext = read_file(consfile, &conslen, "consistency");
		if (GlJsonParse(&cdoc, constext, conslen, jerr, sizeof(jerr)) != 0 ||
			cdoc.root->type != GL_JSON_OBJECT)
			die(EXIT_BAD, "consistency", "not a JSON object: %s", jerr);
		old_size = member_u64(cdoc.root, "old_size", "consistency.");
		new_size = member_u64(cdoc.root, "new_size", "consistency.");
		if (old_size != oldcp.size)
			die(EXIT_BAD, "consistency.old_size", "does not match the old checkpoint's size");
		if (new_size != cp.size)
			die(EXIT_BAD, "consistency.new_size", "does not match the receipt's checkpoint size");
		ncproof = proof_array(cdoc.root, &h, cproof, "consistency.");
		if (GlMerkleVerifyConsistency(&h, old_size, new_size, oldcp.root, cp.root,
									  cproof, ncproof) != 0)
			die(EXIT_BAD, "consistency.proof",
				"the receipt's tree is not an append-only extension of the old checkpoint");
		if (!quiet)
			printf("consistent: tree %llu extends old checkpoint %llu\n",
				   (unsigned long long) new_size, (unsigned long long) old_size);
		GlJsonFree(&cdoc);
		free(constext);
		free(oldtext);
	}

	if (!quiet)
		printf("verified: entry %llu of %s is leaf %llu of %s at tree size %llu, signed by %s+%08x\n",
			   (unsigned long long) entry_id,
			   member(r, "ledger", GL_JSON_STRING, "")->str,
			   (unsigned long long) leaf_index, origin,
			   (unsigned long long) tree_size, key.name, (unsigned int) key.key_id);
	GlHashClose(&h);
	GlNoteKeyFree(&key);
	GlJsonFree(&doc);
	free(origin);
	free(text);
	free(keybuf);
	return 0;
}
