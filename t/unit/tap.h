/*
 * tap.h
 *	  A minimal Test Anything Protocol producer for the C unit tests.
 *
 * Usage: tap_plan(n) or tap_no_plan() ... tap_ok(cond, fmt, ...) ...
 * return tap_done();  The exit status is non-zero when any test failed
 * or the count disagrees with the plan.  Also helpers shared by the
 * tests: locating the test vectors and reading whole files.
 *
 * Copyright (c) 2026, govledger contributors
 */
#ifndef GOVLEDGER_TAP_H
#define GOVLEDGER_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int	tap_run = 0;
static int	tap_failed = 0;
static int	tap_planned = -1;

static inline void
tap_plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

static inline int
tap_vok(int cond, const char *fmt, va_list ap)
{
	tap_run++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_run);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

static inline int
tap_ok(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline int
tap_ok(int cond, const char *fmt, ...)
{
	va_list		ap;
	int			r;

	va_start(ap, fmt);
	r = tap_vok(cond, fmt, ap);
	va_end(ap);
	return r;
}

static inline void
tap_diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static inline void
tap_diag(const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

/* Compare strings; on mismatch print both as diagnostics. */
static inline int
tap_is_str(const char *got, const char *want, const char *name)
{
	int			ok = got != NULL && want != NULL && strcmp(got, want) == 0;

	tap_ok(ok, "%s", name);
	if (!ok)
	{
		tap_diag("     got: %s", got ? got : "(null)");
		tap_diag("expected: %s", want ? want : "(null)");
	}
	return ok;
}

static inline void
tap_bail(const char *msg)
{
	printf("Bail out! %s\n", msg);
	fflush(stdout);
	exit(255);
}

static inline int
tap_done(void)
{
	if (tap_planned < 0)
		printf("1..%d\n", tap_run);
	else if (tap_planned != tap_run)
	{
		tap_diag("planned %d tests but ran %d", tap_planned, tap_run);
		return 255;
	}
	if (tap_failed)
		tap_diag("failed %d of %d tests", tap_failed, tap_run);
	return tap_failed ? 1 : 0;
}

/*
 * Path of vector file 'name': $GOVLEDGER_VECTORS/name, else
 * $GOVLEDGER_ROOT/t/fixtures/vectors/name, else t/fixtures/vectors
 * found by walking up from the test executable.  Returns a static buffer.
 */
static inline const char *
tap_vector_path(const char *argv0, const char *name)
{
	static char path[4096];
	const char *dir = getenv("GOVLEDGER_VECTORS");
	const char *root = getenv("GOVLEDGER_ROOT");

	if (dir && *dir)
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	else if (root && *root)
		snprintf(path, sizeof(path), "%s/t/fixtures/vectors/%s", root, name);
	else
	{
		/* walk up from the executable's directory (build/unit, build/asan/unit) */
		const char *slash = strrchr(argv0, '/');
		int			dlen = slash ? (int) (slash - argv0) : 1;
		char		up[64] = "";
		int			i;

		for (i = 0; i < 5; i++)
		{
			snprintf(path, sizeof(path), "%.*s/%st/fixtures/vectors/%s",
					 dlen, slash ? argv0 : ".", up, name);
			if (access(path, R_OK) == 0)
				break;
			strcat(up, "../");
		}
	}
	return path;
}

/* Read a whole file into malloc'd memory (NUL-terminated); NULL on error. */
static inline char *
tap_slurp(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf = NULL;
	size_t		cap = 0;
	size_t		n = 0;

	if (f == NULL)
		return NULL;
	for (;;)
	{
		size_t		r;

		if (cap - n < 4096)
		{
			char	   *nb = realloc(buf, cap + 65536);

			if (nb == NULL)
			{
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

#endif							/* GOVLEDGER_TAP_H */
