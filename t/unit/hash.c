/*
 * hash.c
 *	  Unit tests of pg_extension/src/common/hash.c: SM3 against
 *	  sm3.json (GB/T 32905-2016 and draft-sca-cfrg-sm3 vectors), SHA-256
 *	  RFC 9162 leaf hashes against rfc6962-merkle.json, node hashing and
 *	  algorithm names.
 *
 * Copyright (c) 2026, govledger contributors
 */
#include <jansson.h>
#include <string.h>

#include "encode.h"
#include "hash.h"
#include "tap.h"

static void
check_sm3_list(GlHash *h, json_t *list, const char *what)
{
	size_t		i;
	json_t	   *v;

	json_array_foreach(list, i, v)
	{
		const char *mhex = json_string_value(json_object_get(v, "message_hex"));
		const char *want = json_string_value(json_object_get(v, "digest_hex"));
		const char *id = json_string_value(json_object_get(v, "id"));
		size_t		mlen = strlen(mhex) / 2;
		uint8_t    *msg = malloc(mlen + 1);
		uint8_t		md[GL_HASH_MAX_SIZE];
		char		hex[GL_HEX_LEN(GL_HASH_MAX_SIZE)];

		if (GlHexDecode(mhex, strlen(mhex), msg, mlen + 1) != (long) mlen)
			tap_bail("bad message_hex in sm3.json");
		if (GlHashData(h, msg, mlen, md) != 0)
			tap_bail("SM3 hashing failed");
		GlHexEncode(md, h->size, hex);
		{
			char		name[256];

			snprintf(name, sizeof(name), "SM3 %s %s", what, id);
			tap_is_str(hex, want, name);
		}
		free(msg);
	}
}

int
main(int argc, char **argv)
{
	json_error_t jerr;
	json_t	   *sm3;
	json_t	   *merkle;
	GlHash		h;
	size_t		i;
	json_t	   *v;

	(void) argc;
	sm3 = json_load_file(tap_vector_path(argv[0], "sm3.json"), 0, &jerr);
	merkle = json_load_file(tap_vector_path(argv[0], "rfc6962-merkle.json"), 0, &jerr);
	if (sm3 == NULL || merkle == NULL)
		tap_bail("cannot read sm3.json or rfc6962-merkle.json (set GOVLEDGER_VECTORS)");

	tap_ok(GlHashNameValid("sha256") && GlHashNameValid("sm3"), "sha256 and sm3 are valid names");
	tap_ok(!GlHashNameValid("SHA256") && !GlHashNameValid("md5") && !GlHashNameValid("") && !GlHashNameValid(NULL),
		   "other names are refused");
	tap_ok(GlHashOpen(&h, "md5") != 0, "GlHashOpen refuses md5");
	GlHashClose(&h);

	tap_ok(GlHashOpen(&h, "sm3") == 0 && h.size == 32 && strcmp(h.name, "sm3") == 0, "open sm3");
	check_sm3_list(&h, json_object_get(sm3, "vectors"), "vector");
	check_sm3_list(&h, json_object_get(sm3, "additional"), "regression");
	{
		uint8_t		a[32];
		uint8_t		b[32];

		/* leaf hash is H(0x00 || d): compare with a manual prefix */
		GlHashLeaf(&h, "abc", 3, a);
		GlHashData(&h, "\0abc", 4, b);
		tap_ok(memcmp(a, b, 32) == 0, "SM3 leaf hash is H(0x00 || data)");
	}
	GlHashClose(&h);

	tap_ok(GlHashOpen(&h, "sha256") == 0 && h.size == 32, "open sha256");
	json_array_foreach(json_object_get(merkle, "leaf_inputs_hex"), i, v)
	{
		const char *in = json_string_value(v);
		const char *want = json_string_value(json_array_get(json_object_get(merkle, "leaf_hashes_hex"), i));
		uint8_t		buf[64];
		long		n = GlHexDecode(in, strlen(in), buf, sizeof(buf));
		uint8_t		md[32];
		char		hex[65];

		GlHashLeaf(&h, buf, (size_t) n, md);
		GlHexEncode(md, 32, hex);
		tap_is_str(hex, want, "RFC 6962 leaf hash");
	}
	{
		uint8_t		l[32];
		uint8_t		r[32];
		uint8_t		node[32];
		char		hex[65];
		const char *want = json_string_value(json_object_get(json_object_get(merkle, "roots_by_tree_size_hex"), "2"));

		GlHexDecode(json_string_value(json_array_get(json_object_get(merkle, "leaf_hashes_hex"), 0)), 64, l, 32);
		GlHexDecode(json_string_value(json_array_get(json_object_get(merkle, "leaf_hashes_hex"), 1)), 64, r, 32);
		GlHashNode(&h, l, r, node);
		GlHexEncode(node, 32, hex);
		tap_is_str(hex, want, "node hash of leaves 0 and 1 is the size-2 root");
		GlHashNode(&h, l, r, l);
		tap_ok(memcmp(l, node, 32) == 0, "node hash output may alias an input");
		GlHashData(&h, "", 0, node);
		GlHexEncode(node, 32, hex);
		tap_is_str(hex, json_string_value(json_object_get(json_object_get(merkle, "roots_by_tree_size_hex"), "0")),
				   "SHA-256 of the empty string is the empty-tree root");
	}
	GlHashClose(&h);
	GlHashClose(&h);
	tap_ok(1, "closing twice is harmless");
	json_decref(sm3);
	json_decref(merkle);
	return tap_done();
}
