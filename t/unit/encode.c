/*
 * encode.c
 *	  Unit tests of pg_extension/src/common/encode.c: hex and base64
 *	  round trips (RFC 4648 section 10 vectors) and strict rejection.
 *
 * Copyright (c) 2026, govledger contributors
 */
#include <string.h>

#include "encode.h"
#include "tap.h"

static const struct
{
	const char *in;
	const char *std;
	const char *url_nopad;
}			rfc4648[] =
{
	{"", "", ""},
	{"f", "Zg==", "Zg"},
	{"fo", "Zm8=", "Zm8"},
	{"foo", "Zm9v", "Zm9v"},
	{"foob", "Zm9vYg==", "Zm9vYg"},
	{"fooba", "Zm9vYmE=", "Zm9vYmE"},
	{"foobar", "Zm9vYmFy", "Zm9vYmFy"},
};

static const char *bad_b64_std[] = {
	"Zg", "Zg=", "Zg===", "Z===", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n", "Zm-v",
	"Zm_v", "=Zm9", "Zm=v", "Zg==Zg==", "Z", "Zm9vY"
};

static const char *bad_hex[] = {"0", "abc", "0G", "AB", "zz", " 00", "00 "};

int
main(void)
{
	char		out[256];
	uint8_t		dec[256];
	size_t		i;
	long		n;
	uint8_t		all[256];

	for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++)
	{
		size_t		len = strlen(rfc4648[i].in);

		GlBase64Encode((const uint8_t *) rfc4648[i].in, len, out, false, true);
		tap_is_str(out, rfc4648[i].std, "base64 std encode");
		n = GlBase64Decode(rfc4648[i].std, strlen(rfc4648[i].std), dec, sizeof(dec), false, true);
		tap_ok(n == (long) len && memcmp(dec, rfc4648[i].in, len) == 0,
			   "base64 std decode of '%s'", rfc4648[i].std);
		GlBase64Encode((const uint8_t *) rfc4648[i].in, len, out, true, false);
		tap_is_str(out, rfc4648[i].url_nopad, "base64url unpadded encode");
		n = GlBase64Decode(rfc4648[i].url_nopad, strlen(rfc4648[i].url_nopad), dec, sizeof(dec), true, false);
		tap_ok(n == (long) len && memcmp(dec, rfc4648[i].in, len) == 0,
			   "base64url unpadded decode of '%s'", rfc4648[i].url_nopad);
		if (strlen(rfc4648[i].url_nopad) != strlen(rfc4648[i].std))
			tap_ok(GlBase64Decode(rfc4648[i].url_nopad, strlen(rfc4648[i].url_nopad), dec, sizeof(dec), false, true) < 0,
				   "padded decoder rejects unpadded '%s'", rfc4648[i].url_nopad);
	}
	for (i = 0; i < sizeof(bad_b64_std) / sizeof(bad_b64_std[0]); i++)
		tap_ok(GlBase64Decode(bad_b64_std[i], strlen(bad_b64_std[i]), dec, sizeof(dec), false, true) < 0,
			   "strict base64 rejects '%s'", bad_b64_std[i]);
	tap_ok(GlBase64Decode("Zg", 2, dec, sizeof(dec), true, false) == 1, "base64url unpadded 'Zg'");
	tap_ok(GlBase64Decode("Zh", 2, dec, sizeof(dec), true, false) < 0, "base64url rejects non-zero spare bits");
	tap_ok(GlBase64Decode("Zg==", 4, dec, sizeof(dec), true, false) < 0, "unpadded decoder rejects padding");
	tap_ok(GlBase64Decode("+/+/", 4, dec, sizeof(dec), true, false) < 0, "base64url rejects + and /");
	tap_ok(GlBase64Decode("-_-_", 4, dec, sizeof(dec), false, true) < 0, "base64 rejects - and _");
	tap_ok(GlBase64Decode("Zm9vYmFy", 8, dec, 5, false, true) < 0, "base64 decode refuses a short buffer");

	for (i = 0; i < 256; i++)
		all[i] = (uint8_t) i;
	{
		char		b64[GL_BASE64_LEN(256)];
		char		hex[GL_HEX_LEN(256)];
		uint8_t		back[256];
		size_t		len;

		for (len = 0; len <= 256; len += 37)
		{
			GlBase64Encode(all, len, b64, false, true);
			n = GlBase64Decode(b64, strlen(b64), back, sizeof(back), false, true);
			tap_ok(n == (long) len && memcmp(back, all, len) == 0, "base64 round trip of %zu bytes", len);
			GlBase64Encode(all, len, b64, true, false);
			n = GlBase64Decode(b64, strlen(b64), back, sizeof(back), true, false);
			tap_ok(n == (long) len && memcmp(back, all, len) == 0, "base64url round trip of %zu bytes", len);
		}
		GlHexEncode(all, 256, hex);
		tap_ok(strncmp(hex, "000102", 6) == 0 && strcmp(hex + 504, "fcfdfeff") == 0, "hex encode is lower-case");
		n = GlHexDecode(hex, strlen(hex), back, sizeof(back));
		tap_ok(n == 256 && memcmp(back, all, 256) == 0, "hex round trip");
		tap_ok(GlHexDecode(hex, strlen(hex), back, 255) < 0, "hex decode refuses a short buffer");
	}
	for (i = 0; i < sizeof(bad_hex) / sizeof(bad_hex[0]); i++)
		tap_ok(GlHexDecode(bad_hex[i], strlen(bad_hex[i]), dec, sizeof(dec)) < 0,
			   "strict hex rejects '%s'", bad_hex[i]);
	tap_ok(GlHexDecode("", 0, dec, sizeof(dec)) == 0, "empty hex is empty");
	return tap_done();
}
