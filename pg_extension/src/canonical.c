/*-------------------------------------------------------------------------
 *
 * canonical.c
 *	  The canonical encoding (version 1) of a ledger row: a JSON object
 *	  in RFC 8785 (JCS) form whose bytes are hashed into the entry's leaf.
 *
 * Every value is formatted here from its stored binary form, never
 * through a type output function whose result depends on a session
 * setting (TimeZone, DateStyle, IntervalStyle, bytea_output,
 * extra_float_digits, lc_*), so the same row always gives the same
 * bytes.  The only output function called is numeric_out, which depends
 * on no setting.  docs/canonical-encoding.md gives the exact rules; any
 * change here is a new format version.
 *
 * Copyright (c) 2026, govledger contributors
 *
 * IDENTIFICATION
 *	  pg_extension/src/canonical.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "datatype/timestamp.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "common/encode.h"
#include "govledger.h"

static void encode_value(StringInfo out, const GovColumn *col,
						 GovTypeKind kind, Datum value);
static void encode_jsonb_container(StringInfo out, JsonbContainer *jc);

/*
 * appendBinaryStringInfo() and appendStringInfoString() without their
 * calls when the buffer has room, which is nearly always: the encoding
 * buffer is reused from row to row, and a row is dozens of small pieces.
 */
static inline void
append_bytes(StringInfo out, const char *p, int n)
{
	if (unlikely(n >= out->maxlen - out->len))
		enlargeStringInfo(out, n);
	memcpy(out->data + out->len, p, n);
	out->len += n;
	out->data[out->len] = '\0';
}

static inline void
append_string(StringInfo out, const char *s)
{
	append_bytes(out, s, strlen(s));
}

/* JSON escapes of the bytes below 0x20, as RFC 8785 section 3.2.2.2 wants */
static const char *const control_escape[32] = {
	"\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005",
	"\\u0006", "\\u0007", "\\b", "\\t", "\\n", "\\u000b", "\\f", "\\r",
	"\\u000e", "\\u000f", "\\u0010", "\\u0011", "\\u0012", "\\u0013",
	"\\u0014", "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019",
	"\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f"
};

/*
 * GovJsonString
 *		Append s[0..len) as a quoted JSON string in JCS form: '"' and '\'
 *		escaped, control characters as \b \t \n \f \r or \u00xx, every
 *		other byte copied as it is (the database is UTF8, so the bytes are
 *		already valid UTF-8).
 */
void
GovJsonString(StringInfo out, const char *s, int len)
{
	int			start = 0;
	int			i;

	appendStringInfoCharMacro(out, '"');
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (i > start)
			append_bytes(out, s + start, i - start);
		if (c == '"')
			append_bytes(out, "\\\"", 2);
		else if (c == '\\')
			append_bytes(out, "\\\\", 2);
		else
			append_string(out, control_escape[c]);
		start = i + 1;
	}
	if (len > start)
		append_bytes(out, s + start, len - start);
	appendStringInfoCharMacro(out, '"');
}

/* "00" to "99", for writing two digits at a time */
static const char two_digits[201] =
"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
"8081828384858687888990919293949596979899";

/* Write value (0..99) as exactly two digits at p. */
static inline void
put2(char *p, int value)
{
	memcpy(p, &two_digits[value * 2], 2);
}

/*
 * Write value zero-padded to at least width digits at p; returns the
 * number of characters written.  Used instead of snprintf, which would
 * dominate the cost of an encoding.
 */
static int
put_digits(char *p, uint64 value, int width)
{
	char		tmp[24];
	int			n = 0;
	int			i;

	do
	{
		tmp[n++] = (char) ('0' + value % 10);
		value /= 10;
	} while (value > 0);
	while (n < width)
		tmp[n++] = '0';
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/*
 * Write a year in ISO 8601 form at p: four digits for 0000-9999, "+" and
 * the digits above 9999, "-" and at least four digits below zero.  Years
 * are astronomical: 1 BC is 0000.  Returns the characters written.
 */
static int
put_year(char *p, int year)
{
	if (year >= 0 && year <= 9999)
	{
		put2(p, year / 100);
		put2(p + 2, year % 100);
		return 4;
	}
	if (year > 9999)
	{
		p[0] = '+';
		return 1 + put_digits(p + 1, (uint64) year, 0);
	}
	p[0] = '-';
	return 1 + put_digits(p + 1, (uint64) (-(int64) year), 4);
}

/*
 * Append a timestamp as "YYYY-MM-DDTHH:MM:SS.ffffff" plus suffix, or
 * "infinity" / "-infinity", all quoted.  No time zone conversion happens:
 * a timestamptz is stored in UTC and is printed as it is.
 */
static void
append_timestamp(StringInfo out, Timestamp ts, bool utc)
{
	struct pg_tm tm;
	fsec_t		fsec;
	char	   *p;

	if (TIMESTAMP_NOT_FINITE(ts))
	{
		append_string(out, TIMESTAMP_IS_NOBEGIN(ts) ?
							   "\"-infinity\"" : "\"infinity\"");
		return;
	}
	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	enlargeStringInfo(out, 48);
	p = out->data + out->len;
	*p++ = '"';
	p += put_year(p, tm.tm_year);
	p[0] = '-';
	put2(p + 1, tm.tm_mon);
	p[3] = '-';
	put2(p + 4, tm.tm_mday);
	p[6] = 'T';
	put2(p + 7, tm.tm_hour);
	p[9] = ':';
	put2(p + 10, tm.tm_min);
	p[12] = ':';
	put2(p + 13, tm.tm_sec);
	p[15] = '.';
	put2(p + 16, fsec / 10000);
	put2(p + 18, (fsec / 100) % 100);
	put2(p + 20, fsec % 100);
	p += 22;
	if (utc)
		*p++ = 'Z';
	*p++ = '"';
	*p = '\0';
	out->len = p - out->data;
}

/* Append a date as "YYYY-MM-DD", "infinity" or "-infinity", quoted. */
static void
append_date(StringInfo out, DateADT d)
{
	int			year,
				mon,
				mday;
	char	   *p;

	if (DATE_NOT_FINITE(d))
	{
		append_string(out, DATE_IS_NOBEGIN(d) ?
							   "\"-infinity\"" : "\"infinity\"");
		return;
	}
	j2date(d + POSTGRES_EPOCH_JDATE, &year, &mon, &mday);
	enlargeStringInfo(out, 24);
	p = out->data + out->len;
	*p++ = '"';
	p += put_year(p, year);
	p[0] = '-';
	put2(p + 1, mon);
	p[3] = '-';
	put2(p + 4, mday);
	p += 6;
	*p++ = '"';
	*p = '\0';
	out->len = p - out->data;
}

/*
 * Append an interval as "P<months>M<days>DT<seconds>S": the three stored
 * fields, each with its own sign, seconds with exactly six decimals.
 */
static void
append_interval(StringInfo out, const Interval *iv)
{
	uint64		usec;
	bool		neg = iv->time < 0;

	usec = neg ? (uint64) (-(iv->time + 1)) + 1 : (uint64) iv->time;
	appendStringInfo(out, "\"P%dM%dDT%s" UINT64_FORMAT ".%06dS\"",
					 iv->month, iv->day, neg ? "-" : "",
					 usec / USECS_PER_SEC, (int) (usec % USECS_PER_SEC));
}

/* Append a uuid as 36 lower-case characters 8-4-4-4-12, quoted. */
static void
append_uuid(StringInfo out, const pg_uuid_t *u)
{
	static const char hex[] = "0123456789abcdef";
	char		buf[38];
	int			p = 0;
	int			i;

	buf[p++] = '"';
	for (i = 0; i < UUID_LEN; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf[p++] = '-';
		buf[p++] = hex[u->data[i] >> 4];
		buf[p++] = hex[u->data[i] & 0x0f];
	}
	buf[p++] = '"';
	append_bytes(out, buf, p);
}

/*
 * Append a float8 (or a float4 widened by the caller with its own
 * shortest text) as a quoted string: "NaN", "Infinity", "-Infinity", or
 * the shortest text that reads back to the same value.
 */
static void
append_float8(StringInfo out, double d)
{
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN + 2];

	if (isnan(d))
		append_string(out, "\"NaN\"");
	else if (isinf(d))
		append_string(out, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
	else
	{
		int			n = double_to_shortest_decimal_buf(d, buf);

		appendStringInfoCharMacro(out, '"');
		append_bytes(out, buf, n);
		appendStringInfoCharMacro(out, '"');
	}
}

static void
append_float4(StringInfo out, float f)
{
	char		buf[FLOAT_SHORTEST_DECIMAL_LEN + 2];

	if (isnan(f))
		append_string(out, "\"NaN\"");
	else if (isinf(f))
		append_string(out, f > 0 ? "\"Infinity\"" : "\"-Infinity\"");
	else
	{
		int			n = float_to_shortest_decimal_buf(f, buf);

		appendStringInfoCharMacro(out, '"');
		append_bytes(out, buf, n);
		appendStringInfoCharMacro(out, '"');
	}
}

/* Append bytes as an unpadded base64url string, quoted. */
static void
append_bytea(StringInfo out, const char *data, int len)
{
	size_t		need = GL_BASE64_LEN((size_t) len);
	size_t		n;

	enlargeStringInfo(out, need + 2);
	out->data[out->len++] = '"';
	n = GlBase64Encode((const uint8_t *) data, (size_t) len,
					   out->data + out->len, true, false);
	out->len += n;
	out->data[out->len++] = '"';
	out->data[out->len] = '\0';
}

/*
 * Compare two UTF-8 strings by their UTF-16 code units, the order RFC
 * 8785 sorts object members in.  Returns <0, 0 or >0.
 */
static int
next_utf16_unit(const unsigned char **p, const unsigned char *end,
				int *pending)
{
	const unsigned char *s = *p;
	uint32		cp;
	int			n;

	if (*pending)
	{
		int			u = *pending;

		*pending = 0;
		return u;
	}
	if (s >= end)
		return -1;
	if (s[0] < 0x80)
	{
		cp = s[0];
		n = 1;
	}
	else if ((s[0] & 0xe0) == 0xc0 && end - s >= 2)
	{
		cp = ((s[0] & 0x1f) << 6) | (s[1] & 0x3f);
		n = 2;
	}
	else if ((s[0] & 0xf0) == 0xe0 && end - s >= 3)
	{
		cp = ((s[0] & 0x0f) << 12) | ((s[1] & 0x3f) << 6) | (s[2] & 0x3f);
		n = 3;
	}
	else if (end - s >= 4)
	{
		cp = ((s[0] & 0x07) << 18) | ((s[1] & 0x3f) << 12) |
			((s[2] & 0x3f) << 6) | (s[3] & 0x3f);
		n = 4;
	}
	else
	{
		cp = s[0];
		n = 1;
	}
	*p = s + n;
	if (cp < 0x10000)
		return (int) cp;
	cp -= 0x10000;
	*pending = 0xdc00 + (int) (cp & 0x3ff);
	return 0xd800 + (int) (cp >> 10);
}

int
GovUtf16Compare(const char *a, int alen, const char *b, int blen)
{
	const unsigned char *pa = (const unsigned char *) a;
	const unsigned char *pb = (const unsigned char *) b;
	const unsigned char *ea = pa + alen;
	const unsigned char *eb = pb + blen;
	int			qa = 0,
				qb = 0;

	for (;;)
	{
		int			ua = next_utf16_unit(&pa, ea, &qa);
		int			ub = next_utf16_unit(&pb, eb, &qb);

		if (ua != ub)
			return ua - ub;
		if (ua < 0)
			return 0;
	}
}

/* jsonb scalar: string, number (exact stored text), true, false, null */
static void
encode_jsonb_scalar(StringInfo out, JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			append_bytes(out, "null", 4);
			break;
		case jbvBool:
			if (v->val.boolean)
				append_bytes(out, "true", 4);
			else
				append_bytes(out, "false", 5);
			break;
		case jbvString:
			GovJsonString(out, v->val.string.val, v->val.string.len);
			break;
		case jbvNumeric:
			append_string(out,
								   DatumGetCString(DirectFunctionCall1(numeric_out,
																	   NumericGetDatum(v->val.numeric))));
			break;
		case jbvBinary:
			encode_jsonb_container(out, v->val.binary.data);
			break;
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
}

typedef struct GovJsonbPair
{
	JsonbValue	key;
	JsonbValue	value;
} GovJsonbPair;

static int
jsonb_pair_cmp(const void *a, const void *b)
{
	const GovJsonbPair *pa = (const GovJsonbPair *) a;
	const GovJsonbPair *pb = (const GovJsonbPair *) b;

	return GovUtf16Compare(pa->key.val.string.val, pa->key.val.string.len,
						   pb->key.val.string.val, pb->key.val.string.len);
}

/*
 * Encode a jsonb container: arrays in order, objects with members sorted
 * by UTF-16 code units (jsonb keeps them sorted by length first).
 */
static void
encode_jsonb_container(StringInfo out, JsonbContainer *jc)
{
	JsonbIterator *it = JsonbIteratorInit(jc);
	JsonbValue	v;
	JsonbIteratorToken tok;

	tok = JsonbIteratorNext(&it, &v, true);
	if (tok == WJB_BEGIN_ARRAY)
	{
		bool		first = true;

		if (v.val.array.rawScalar)
		{
			tok = JsonbIteratorNext(&it, &v, true);
			Assert(tok == WJB_ELEM);
			encode_jsonb_scalar(out, &v);
			return;
		}
		appendStringInfoCharMacro(out, '[');
		while ((tok = JsonbIteratorNext(&it, &v, true)) == WJB_ELEM)
		{
			if (!first)
				appendStringInfoCharMacro(out, ',');
			first = false;
			encode_jsonb_scalar(out, &v);
		}
		appendStringInfoCharMacro(out, ']');
	}
	else if (tok == WJB_BEGIN_OBJECT)
	{
		int			n = v.val.object.nPairs;
		int			count = 0;
		GovJsonbPair *pairs = palloc(sizeof(GovJsonbPair) * Max(n, 1));
		int			i;

		while ((tok = JsonbIteratorNext(&it, &v, true)) == WJB_KEY)
		{
			if (count >= n)
			{
				n = n * 2 + 1;
				pairs = repalloc(pairs, sizeof(GovJsonbPair) * n);
			}
			pairs[count].key = v;
			tok = JsonbIteratorNext(&it, &v, true);
			Assert(tok == WJB_VALUE);
			pairs[count].value = v;
			count++;
		}
		qsort(pairs, count, sizeof(GovJsonbPair), jsonb_pair_cmp);
		appendStringInfoCharMacro(out, '{');
		for (i = 0; i < count; i++)
		{
			if (i > 0)
				appendStringInfoCharMacro(out, ',');
			GovJsonString(out, pairs[i].key.val.string.val,
						  pairs[i].key.val.string.len);
			appendStringInfoCharMacro(out, ':');
			encode_jsonb_scalar(out, &pairs[i].value);
		}
		appendStringInfoCharMacro(out, '}');
		pfree(pairs);
	}
	else
		elog(ERROR, "unexpected jsonb iterator token %d", (int) tok);
}

/* Encode one non-NULL scalar value of the given kind. */
static void
encode_value(StringInfo out, const GovColumn *col, GovTypeKind kind,
			 Datum value)
{
	char		buf[MAXINT8LEN + 1];
	int			n;

	switch (kind)
	{
		case GOV_T_INT2:
			n = pg_ltoa((int32) DatumGetInt16(value), buf);
			append_bytes(out, buf, n);
			break;
		case GOV_T_INT4:
			n = pg_ltoa(DatumGetInt32(value), buf);
			append_bytes(out, buf, n);
			break;
		case GOV_T_INT8:
			n = pg_lltoa(DatumGetInt64(value), buf);
			appendStringInfoCharMacro(out, '"');
			append_bytes(out, buf, n);
			appendStringInfoCharMacro(out, '"');
			break;
		case GOV_T_NUMERIC:
			{
				char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out, value));

				appendStringInfoCharMacro(out, '"');
				append_string(out, s);
				appendStringInfoCharMacro(out, '"');
				pfree(s);
			}
			break;
		case GOV_T_FLOAT4:
			append_float4(out, DatumGetFloat4(value));
			break;
		case GOV_T_FLOAT8:
			append_float8(out, DatumGetFloat8(value));
			break;
		case GOV_T_BOOL:
			if (DatumGetBool(value))
				append_bytes(out, "true", 4);
			else
				append_bytes(out, "false", 5);
			break;
		case GOV_T_TEXT:
			{
				struct varlena *t = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(value));

				GovJsonString(out, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
				if ((Pointer) t != DatumGetPointer(value))
					pfree(t);
			}
			break;
		case GOV_T_UUID:
			append_uuid(out, DatumGetUUIDP(value));
			break;
		case GOV_T_DATE:
			append_date(out, DatumGetDateADT(value));
			break;
		case GOV_T_TIMESTAMP:
			append_timestamp(out, DatumGetTimestamp(value), false);
			break;
		case GOV_T_TIMESTAMPTZ:
			append_timestamp(out, DatumGetTimestampTz(value), true);
			break;
		case GOV_T_INTERVAL:
			append_interval(out, DatumGetIntervalP(value));
			break;
		case GOV_T_BYTEA:
			{
				struct varlena *t = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(value));

				append_bytea(out, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
				if ((Pointer) t != DatumGetPointer(value))
					pfree(t);
			}
			break;
		case GOV_T_JSONB:
			{
				Jsonb	   *jb = DatumGetJsonbP(value);

				encode_jsonb_container(out, &jb->root);
			}
			break;
	}
}

/*
 * Encode a one-dimensional array (lower bound 1) as a JSON array, NULL
 * elements as null.  Other shapes cannot be encoded without losing what
 * makes two values differ, so they are refused.
 */
static void
encode_array(StringInfo out, const GovColumn *col, Datum value)
{
	ArrayType  *arr = DatumGetArrayTypeP(value);
	Datum	   *elems;
	bool	   *enulls;
	int			nelems;
	int			i;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("multidimensional array in ledger column \"%s\" is not supported",
						col->name)));
	if (ARR_NDIM(arr) == 1 && ARR_LBOUND(arr)[0] != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("array with lower bound %d in ledger column \"%s\" is not supported",
						ARR_LBOUND(arr)[0], col->name),
				 errdetail("Ledger arrays must start at index 1.")));
	deconstruct_array(arr, ARR_ELEMTYPE(arr), col->elmlen, col->elmbyval,
					  col->elmalign, &elems, &enulls, &nelems);
	appendStringInfoCharMacro(out, '[');
	for (i = 0; i < nelems; i++)
	{
		if (i > 0)
			appendStringInfoCharMacro(out, ',');
		if (enulls[i])
			append_bytes(out, "null", 4);
		else
			encode_value(out, col, col->kind, elems[i]);
	}
	appendStringInfoCharMacro(out, ']');
}

/*
 * GovEncodeRow
 *		Append the canonical encoding of one row to out: the metadata of
 *		its entry and its non-NULL columns in key order.  desc/values/nulls
 *		describe the row as stored in the ledger table.
 */
void
GovEncodeRow(StringInfo out, GovLedger *ledger, const GovEntryMeta *meta,
			 TupleDesc desc, Datum *values, bool *nulls)
{
	char		buf[MAXINT8LEN + 1];
	int			n;
	bool		first = true;
	int			i;

	append_bytes(out, "{\"entry\":\"", 10);
	n = pg_lltoa(meta->entry_id, buf);
	append_bytes(out, buf, n);
	append_bytes(out, "\",\"ledger\":", 11);
	append_string(out, ledger->name_json);
	append_bytes(out, ",\"recorded\":", 12);
	append_timestamp(out, meta->recorded_at, true);
	append_bytes(out, ",\"role\":", 8);
	GovJsonString(out, meta->db_role, strlen(meta->db_role));
	append_bytes(out, ",\"row\":{", 8);
	for (i = 0; i < ledger->ncolumns; i++)
	{
		const GovColumn *col = &ledger->columns[i];
		int			idx = col->attnum - 1;

		if (idx >= desc->natts || nulls[idx])
			continue;
		if (!first)
			appendStringInfoCharMacro(out, ',');
		first = false;
		append_bytes(out, col->key, col->keylen);
		if (col->is_array)
			encode_array(out, col, values[idx]);
		else
			encode_value(out, col, col->kind, values[idx]);
	}
	appendStringInfoCharMacro(out, '}');
	if (meta->subject != NULL)
	{
		append_bytes(out, ",\"subject\":", 11);
		GovJsonString(out, meta->subject, strlen(meta->subject));
	}
	append_bytes(out, ",\"v\":", 5);
	n = pg_ltoa(GOV_CANONICAL_VERSION, buf);
	append_bytes(out, buf, n);
	appendStringInfoCharMacro(out, '}');
}
