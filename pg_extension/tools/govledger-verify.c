/*-------------------------------------------------------------------------
 *
 * govledger-verify.c
 *	  Offline verifier of govledger receipts: checks, with no database,
 *	  that a receipt's entry is in the log whose key signed its
 *	  checkpoint, and optionally that the log only grew since an older
 *	  checkpoint.
 *
 * All checks are GlReceiptVerify and GlReceiptVerifyConsistency of
 * pg_extension/src/common/receipt.c, the code govledger.verify_receipt()
 * runs inside the extension; this file only reads files and reports.  See docs/govledger-verify.md and docs/receipt-format.md.
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

#include "notekey.h"
#include "receipt.h"

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
	GlNoteKey	key;
	const char *kerr = "";
	char		err[512];
	GlReceiptInfo info;
	int			rc;
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
	if (GlNoteKeyParseVerifier(&key, vkey, strlen(vkey), &kerr) != 0)
		die(EXIT_USAGE, "key", "%s", kerr);

	/* the receipt */
	text = read_file(receiptfile, &len, "receipt");
	rc = GlReceiptVerify(text, len, &key, &info, err, sizeof(err));
	if (rc != 0)
		die(rc < 0 ? EXIT_USAGE : EXIT_BAD, NULL, "%s", err);

	/* optional: an older checkpoint and a consistency proof */
	if (oldfile)
	{
		char	   *oldtext;
		size_t		oldlen;
		char	   *constext;
		size_t		conslen;

		oldtext = read_file(oldfile, &oldlen, "old checkpoint");

		/*
		 * A signed note ends in exactly one newline; tools such as psql -A
		 * add another when saving one to a file.  Extra final newlines
		 * cannot be part of a valid note, so dropping them is unambiguous.
		 */
		while (oldlen >= 2 && oldtext[oldlen - 1] == '\n' && oldtext[oldlen - 2] == '\n')
			oldtext[--oldlen] = '\0';
		constext = read_file(consfile, &conslen, "consistency");
		rc = GlReceiptVerifyConsistency(&info, &key, oldtext, oldlen,
										constext, conslen, err, sizeof(err));
		if (rc != 0)
			die(rc < 0 ? EXIT_USAGE : EXIT_BAD, NULL, "%s", err);
		if (!quiet)
			printf("consistent: tree %llu extends the old checkpoint\n",
				   (unsigned long long) info.tree_size);
		free(constext);
		free(oldtext);
	}

	if (!quiet)
		printf("verified: entry %llu of %s is leaf %llu of %s at tree size %llu, signed by %s+%08x\n",
			   (unsigned long long) info.entry_id, info.ledger,
			   (unsigned long long) info.leaf_index, info.origin,
			   (unsigned long long) info.tree_size, key.name, (unsigned int) key.key_id);
	GlNoteKeyFree(&key);
	free(text);
	free(keybuf);
	return 0;
}
