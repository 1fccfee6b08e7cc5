/*
 * jcs.c
 *	  Unit tests of the RFC 8785 canonicaliser (pg_extension/src/common/
 *	  jcs.c, json.c) against jcs-rfc8785.json: the section 3.2 sample, the
 *	  UTF-16 key ordering sample, every Appendix B number (as a double and
 *	  as JSON input), the reference test data, every must-fail input; plus
 *	  parser strictness and string escaping cases of our own.
 *
 * Copyright (c) 2026, govledger contributors
 */
#include <jansson.h>
#include <string.h>

#include "encode.h"
#include "jcs.h"
#include "tap.h"

static void
canon_case(const char *id, const char *input, const char *expected, const char *hex)
{
	GlBuf		out;
	char		err[256] = "";
	int			rc;

	GlBufInit(&out);
	rc = GlJcsCanonicalize(input, strlen(input), &out, err, sizeof(err));
	if (!tap_ok(rc == 0, "%s: canonicalises", id))
		tap_diag("error: %s", err);
	tap_is_str(out.data, expected, id);
	if (hex)
	{
		char	   *h = malloc(GL_HEX_LEN(out.len));

		GlHexEncode((const uint8_t *) out.data, out.len, h);
		tap_is_str(h, hex, "UTF-8 bytes as published");
		free(h);
	}
	/* canonical text is a fixed point */
	{
		GlBuf		again;

		GlBufInit(&again);
		GlJcsCanonicalize(out.data, out.len, &again, err, sizeof(err));
		tap_ok(again.len == out.len && memcmp(again.data, out.data, out.len) == 0,
			   "%s: canonical form is stable", id);
		GlBufFree(&again);
	}
	GlBufFree(&out);
}

static void
must_fail(const char *id, const char *input, size_t len)
{
	GlBuf		out;
	char		err[256] = "";
	int			rc;

	GlBufInit(&out);
	rc = GlJcsCanonicalize(input, len, &out, err, sizeof(err));
	tap_ok(rc != 0, "%s: refused (%s)", id, err);
	GlBufFree(&out);
}

static void
number_tests(json_t *nums)
{
	size_t		i;
	json_t	   *e;

	json_array_foreach(nums, i, e)
	{
		const char *hex = json_string_value(json_object_get(e, "ieee754_hex"));
		const char *want = json_string_value(json_object_get(e, "expected"));
		const char *in = json_string_value(json_object_get(e, "json_input"));
		uint8_t		b[8];
		uint64_t	bits = 0;
		double		d;
		char		buf[GL_JCS_NUMBER_MAX];
		int			n;
		int			k;

		GlHexDecode(hex, 16, b, 8);
		for (k = 0; k < 8; k++)
			bits = (bits << 8) | b[k];
		memcpy(&d, &bits, sizeof(d));
		n = GlJcsFormatNumber(d, buf);
		if (want == NULL)
			tap_ok(n < 0, "number %s (%s) must fail", hex,
				   json_string_value(json_object_get(e, "comment")));
		else
		{
			char		name[128];

			snprintf(name, sizeof(name), "number %s serialises as %s", hex, want);
			tap_is_str(n >= 0 ? buf : NULL, want, name);
		}
		if (in && want)
		{
			char		doc[128];
			GlBuf		out;
			char		err[128];

			snprintf(doc, sizeof(doc), "[%s]", in);
			GlBufInit(&out);
			GlJcsCanonicalize(doc, strlen(doc), &out, err, sizeof(err));
			snprintf(doc, sizeof(doc), "[%s]", want);
			tap_is_str(out.data, doc, "number parsed from JSON text and serialised");
			GlBufFree(&out);
		}
	}
}

static void
own_tests(void)
{
	struct
	{
		const char *in;
		const char *out;
	}			good[] =
	{
		{" {\"b\" : [1 , 2.50, -0, 1E2, 1e-7, 123456789012345678901234] , \"a\":\"\\u00e9\\/\"} ",
		 "{\"a\":\"\xc3\xa9/\",\"b\":[1,2.5,0,100,1e-7,1.2345678901234569e+23]}"},
		{"\"\\u0000\\u001f\\u007f\\b\\f\\n\\r\\t\\\"\\\\\"", "\"\\u0000\\u001f\x7f\\b\\f\\n\\r\\t\\\"\\\\\""},
		{"\"\\ud83d\\ude00\xe2\x80\xa8\"", "\"\xf0\x9f\x98\x80\xe2\x80\xa8\""},
		{"1e-400", "0"},
		{"[]", "[]"},
		{"{}", "{}"},
		{"{\"a\":{}, \"\":[{}]}", "{\"\":[{}],\"a\":{}}"},
		{"0.1", "0.1"},
		{"100000000000000000000", "100000000000000000000"},
		{"1e21", "1e+21"},
		{"123e-20", "1.23e-18"},
		{"0.000001", "0.000001"},
		{"5e-7", "5e-7"},
		{"-1.5e300", "-1.5e+300"},
		{"true", "true"},
	};
	struct
	{
		const char *id;
		const char *in;
	}			bad[] =
	{
		{"empty input", ""},
		{"trailing comma in array", "[1,]"},
		{"trailing comma in object", "{\"a\":1,}"},
		{"leading zero", "[01]"},
		{"plus sign", "[+1]"},
		{"bare point", "[1.]"},
		{"point first", "[.5]"},
		{"empty exponent", "[1e]"},
		{"NaN literal", "[NaN]"},
		{"Infinity literal", "[Infinity]"},
		{"negative overflow", "[-1e400]"},
		{"single quotes", "['a']"},
		{"unquoted key", "{a:1}"},
		{"comment", "[1 /* x */]"},
		{"two values", "1 2"},
		{"raw control character in string", "[\"a\tb\"]"},
		{"invalid escape", "[\"\\x41\"]"},
		{"short unicode escape", "[\"\\u12\"]"},
		{"high surrogate then non-surrogate", "[\"\\ud800\\u0041\"]"},
		{"two high surrogates", "[\"\\ud800\\ud800\"]"},
		{"overlong UTF-8", "[\"\xc0\xaf\"]"},
		{"UTF-8 encoded surrogate", "[\"\xed\xa0\x80\"]"},
		{"truncated UTF-8", "[\"\xe2\x82\"]"},
		{"byte order mark", "\xef\xbb\xbf{}"},
		{"unterminated string", "[\"abc"},
		{"duplicate key after escapes", "{\"a\":1,\"\\u0061\":2}"},
		{"nested duplicate key", "[{\"x\":{\"k\":1,\"k\":1}}]"},
		{"true misspelled", "[tru]"},
	};
	size_t		i;
	char		deep[2 * GL_JSON_MAX_DEPTH + 8];

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		char		name[64];

		snprintf(name, sizeof(name), "own case %zu", i);
		canon_case(name, good[i].in, good[i].out, NULL);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		must_fail(bad[i].id, bad[i].in, strlen(bad[i].in));
	must_fail("NUL byte outside strings", "[1,\0 2]", 7);
	memset(deep, '[', GL_JSON_MAX_DEPTH + 1);
	memset(deep + GL_JSON_MAX_DEPTH + 1, ']', GL_JSON_MAX_DEPTH + 1);
	must_fail("nesting deeper than the limit", deep, 2 * (GL_JSON_MAX_DEPTH + 1));
	memset(deep, '[', GL_JSON_MAX_DEPTH);
	memset(deep + GL_JSON_MAX_DEPTH, ']', GL_JSON_MAX_DEPTH);
	deep[2 * GL_JSON_MAX_DEPTH] = '\0';
	canon_case("nesting at the limit", deep, deep, NULL);

	{
		GlBuf		b;

		GlBufInit(&b);
		tap_ok(GlJcsEscapeString("a\"b\\c\x01", 6, &b) == 0 &&
			   strcmp(b.data, "\"a\\\"b\\\\c\\u0001\"") == 0, "escape string");
		GlBufFree(&b);
		tap_ok(GlJcsEscapeString("\xff", 1, &b) != 0 && b.len == 0, "escape refuses invalid UTF-8");
		GlBufFree(&b);
		tap_ok(GlJcsEscapeString("nul\0x", 5, &b) == 0 && strcmp(b.data, "\"nul\\u0000x\"") == 0,
			   "escape handles embedded NUL");
		GlBufFree(&b);
	}
	{
		/* exact numbers: govledger's canonical rows keep jsonb digits */
		GlJsonDoc	doc;
		GlBuf		b;
		char		err[128];
		const char *t = "{\"b\":[12345678901234567890.5,1e400,1.50],\"a\":1}";

		tap_ok(GlJsonParse(&doc, t, strlen(t), err, sizeof(err)) != 0,
			   "the strict parser refuses 1e400");
		tap_ok(GlJsonParseFlags(&doc, t, strlen(t), GL_JSON_EXACT_NUMBERS, err, sizeof(err)) == 0,
			   "with GL_JSON_EXACT_NUMBERS it is accepted");
		GlBufInit(&b);
		tap_ok(GlJcsSerializeFlags(doc.root, &b, GL_JCS_EXACT_NUMBERS) == 0 &&
			   strcmp(b.data, "{\"a\":1,\"b\":[12345678901234567890.5,1e400,1.50]}") == 0,
			   "exact-number serialisation keeps the digits and sorts the keys");
		GlBufFree(&b);
		GlJsonFree(&doc);
	}
	{
		GlJsonDoc	doc;
		char		err[128];
		uint64_t	v = 0;
		const char *t = "{\"big\":18446744073709551615,\"neg\":-1,\"frac\":1.0,\"over\":18446744073709551616,\"s\":\"x\"}";

		tap_ok(GlJsonParse(&doc, t, strlen(t), err, sizeof(err)) == 0, "parse for accessors");
		tap_ok(GlJsonGetUint64(GlJsonGet(doc.root, "big"), &v) == 0 && v == UINT64_MAX, "uint64 accessor: 2^64-1");
		tap_ok(GlJsonGetUint64(GlJsonGet(doc.root, "neg"), &v) != 0, "uint64 accessor refuses -1");
		tap_ok(GlJsonGetUint64(GlJsonGet(doc.root, "frac"), &v) != 0, "uint64 accessor refuses 1.0");
		tap_ok(GlJsonGetUint64(GlJsonGet(doc.root, "over"), &v) != 0, "uint64 accessor refuses 2^64");
		tap_ok(GlJsonGetUint64(GlJsonGet(doc.root, "s"), &v) != 0, "uint64 accessor refuses strings");
		tap_ok(GlJsonGet(doc.root, "missing") == NULL, "missing member is NULL");
		GlJsonFree(&doc);
	}
}

int
main(int argc, char **argv)
{
	json_error_t jerr;
	json_t	   *vec;
	size_t		i;
	json_t	   *e;

	(void) argc;
	vec = json_load_file(tap_vector_path(argv[0], "jcs-rfc8785.json"), 0, &jerr);
	if (vec == NULL)
		tap_bail("cannot read jcs-rfc8785.json (set GOVLEDGER_VECTORS)");
	json_array_foreach(json_object_get(vec, "canonicalization"), i, e)
		canon_case(json_string_value(json_object_get(e, "id")),
				   json_string_value(json_object_get(e, "input")),
				   json_string_value(json_object_get(e, "expected")),
				   json_string_value(json_object_get(e, "expected_utf8_hex")));
	json_array_foreach(json_object_get(vec, "reference_testdata"), i, e)
		canon_case(json_string_value(json_object_get(e, "id")),
				   json_string_value(json_object_get(e, "input")),
				   json_string_value(json_object_get(e, "expected")),
				   json_string_value(json_object_get(e, "expected_utf8_hex")));
	number_tests(json_object_get(vec, "numbers"));
	json_array_foreach(json_object_get(vec, "must_fail"), i, e)
	{
		const char *in = json_string_value(json_object_get(e, "input"));

		must_fail(json_string_value(json_object_get(e, "id")), in, strlen(in));
	}
	own_tests();
	json_decref(vec);
	return tap_done();
}
