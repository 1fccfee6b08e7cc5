-- ledger_types.sql: every supported column type against its documented
-- canonical encoding (docs/canonical-encoding.md), NULL handling, and
-- the frame of the canonical object.
BEGIN;
SELECT plan(91);

CREATE DOMAIN pg_temp.positive AS int CHECK (VALUE > 0);
CREATE TABLE ty_ledger (
	i2 int2, i4 int4, i8 int8, num numeric, f4 float4, f8 float8, b bool,
	t text, vc varchar(10), c char(5), u uuid, d date, ts timestamp,
	tstz timestamptz, iv interval, by bytea, j jsonb,
	ai int[], at text[], atz timestamptz[], an numeric[], aj jsonb[],
	dom pg_temp.positive
);
SELECT govledger.protect('ty_ledger');

-- insert one value into one column; return the "row" member of its
-- canonical encoding
CREATE FUNCTION pg_temp.enc(col text, val text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	id bigint;
BEGIN
	EXECUTE format('INSERT INTO ty_ledger (%I) VALUES (%s) RETURNING ledger_entry_id',
				   col, val) INTO id;
	RETURN substring(govledger.canonical('ty_ledger', id) FROM '"row":(.*),"v":1}$');
END
$$;

-- integers: int2/int4 as JSON numbers, int8 as a string
SELECT is(pg_temp.enc('i2', '-32768'), '{"i2":-32768}', 'int2 minimum');
SELECT is(pg_temp.enc('i2', '0'), '{"i2":0}', 'int2 zero');
SELECT is(pg_temp.enc('i4', '2147483647'), '{"i4":2147483647}', 'int4 maximum');
SELECT is(pg_temp.enc('i4', '-7'), '{"i4":-7}', 'int4 negative');
SELECT is(pg_temp.enc('i8', '-9223372036854775808'), '{"i8":"-9223372036854775808"}', 'int8 minimum is a string');
SELECT is(pg_temp.enc('i8', '9007199254740993'), '{"i8":"9007199254740993"}', 'int8 above 2^53 is exact');

-- numeric: the exact stored text, as a string
SELECT is(pg_temp.enc('num', '12.50'), '{"num":"12.50"}', 'numeric keeps its scale');
SELECT is(pg_temp.enc('num', '-0.000'), '{"num":"0.000"}', 'numeric negative zero is zero');
SELECT is(pg_temp.enc('num', '1e-3'), '{"num":"0.001"}', 'numeric from exponent form');
SELECT is(pg_temp.enc('num', '123456789012345678901234567890.123456789'), '{"num":"123456789012345678901234567890.123456789"}', 'numeric with 39 digits');
SELECT is(pg_temp.enc('num', '''NaN'''), '{"num":"NaN"}', 'numeric NaN');
SELECT is(pg_temp.enc('num', '''Infinity'''), '{"num":"Infinity"}', 'numeric Infinity');
SELECT is(pg_temp.enc('num', '''-Infinity'''), '{"num":"-Infinity"}', 'numeric -Infinity');

-- float: shortest round-trip text as a string
SELECT is(pg_temp.enc('f8', '0.1'), '{"f8":"0.1"}', 'float8 0.1');
SELECT is(pg_temp.enc('f8', '''-0'''), '{"f8":"-0"}', 'float8 negative zero');
SELECT is(pg_temp.enc('f8', '0'), '{"f8":"0"}', 'float8 zero');
SELECT is(pg_temp.enc('f8', '''NaN'''), '{"f8":"NaN"}', 'float8 NaN');
SELECT is(pg_temp.enc('f8', '''Infinity'''), '{"f8":"Infinity"}', 'float8 Infinity');
SELECT is(pg_temp.enc('f8', '''-Infinity'''), '{"f8":"-Infinity"}', 'float8 -Infinity');
SELECT is(pg_temp.enc('f8', '1e15'), '{"f8":"1e+15"}', 'float8 1e15 in exponent form');
SELECT is(pg_temp.enc('f8', '999999999999999'), '{"f8":"999999999999999"}', 'float8 15 digits in plain form');
SELECT is(pg_temp.enc('f8', '0.0001'), '{"f8":"0.0001"}', 'float8 1e-4 in plain form');
SELECT is(pg_temp.enc('f8', '0.00001'), '{"f8":"1e-05"}', 'float8 1e-5 in exponent form');
SELECT is(pg_temp.enc('f8', '1.7976931348623157e308'), '{"f8":"1.7976931348623157e+308"}', 'float8 maximum');
SELECT is(pg_temp.enc('f8', '5e-324'), '{"f8":"5e-324"}', 'float8 smallest subnormal');
SELECT is(pg_temp.enc('f8', '-123.456'), '{"f8":"-123.456"}', 'float8 negative');
SELECT is(pg_temp.enc('f4', '0.1'), '{"f4":"0.1"}', 'float4 0.1 is its own shortest text');
SELECT is(pg_temp.enc('f4', '''-0'''), '{"f4":"-0"}', 'float4 negative zero');
SELECT is(pg_temp.enc('f4', '3.4028235e38'), '{"f4":"3.4028235e+38"}', 'float4 maximum');
SELECT is(pg_temp.enc('f4', '''NaN'''), '{"f4":"NaN"}', 'float4 NaN');
SELECT is(pg_temp.enc('f4', '''-Infinity'''), '{"f4":"-Infinity"}', 'float4 -Infinity');

-- bool
SELECT is(pg_temp.enc('b', 'true'), '{"b":true}', 'bool true');
SELECT is(pg_temp.enc('b', 'false'), '{"b":false}', 'bool false');

-- text: stored UTF-8, JCS escaping only
SELECT is(pg_temp.enc('t', $$E'a"b\\c'$$), '{"t":"a\"b\\c"}', 'text quote and backslash escaped');
SELECT is(pg_temp.enc('t', $$E'\t\n\r\b\f'$$), '{"t":"\t\n\r\b\f"}', 'text short escapes');
SELECT is(pg_temp.enc('t', $$E'\x01\x1f'$$), '{"t":"\u0001\u001f"}', 'text other control characters as \u00xx, lower case');
SELECT is(pg_temp.enc('t', $$E'\x7f/'$$), E'{"t":"\x7f/"}', 'text DEL and slash unescaped');
SELECT is(pg_temp.enc('t', $$E'caf\u00e9 \u2028 \U0001F600'$$), E'{"t":"caf\u00e9 \u2028 \U0001F600"}', 'text non-ASCII as raw UTF-8');
SELECT is(pg_temp.enc('t', $$E'e\u0301'$$), E'{"t":"e\u0301"}', 'text is not normalised');
SELECT is(pg_temp.enc('t', $$''$$), '{"t":""}', 'empty text is not NULL');
SELECT is(pg_temp.enc('vc', $$'abc'$$), '{"vc":"abc"}', 'varchar');
SELECT is(pg_temp.enc('c', $$'ab'$$), '{"c":"ab   "}', 'char keeps its padding');
SELECT is(pg_temp.enc('t', $$repeat('x', 5000)$$), '{"t":"' || repeat('x', 5000) || '"}', 'long (toasted) text');

-- uuid
SELECT is(pg_temp.enc('u', $$'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'$$), '{"u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}', 'uuid lower case, hyphenated');

-- date
SELECT is(pg_temp.enc('d', $$'2024-02-29'$$), '{"d":"2024-02-29"}', 'date');
SELECT is(pg_temp.enc('d', $$'0001-01-01 BC'$$), '{"d":"0000-01-01"}', 'date 1 BC is year 0000');
SELECT is(pg_temp.enc('d', $$'0044-03-15 BC'$$), '{"d":"-0043-03-15"}', 'date before 1 BC is negative');
SELECT is(pg_temp.enc('d', $$'12345-06-07'$$), '{"d":"+12345-06-07"}', 'date after 9999 has a plus sign');
SELECT is(pg_temp.enc('d', $$'infinity'$$), '{"d":"infinity"}', 'date infinity');
SELECT is(pg_temp.enc('d', $$'-infinity'$$), '{"d":"-infinity"}', 'date -infinity');

-- timestamp, timestamptz
SELECT is(pg_temp.enc('ts', $$'2024-01-02 03:04:05'$$), '{"ts":"2024-01-02T03:04:05.000000"}', 'timestamp with six decimals');
SELECT is(pg_temp.enc('ts', $$'2024-01-02 03:04:05.5'$$), '{"ts":"2024-01-02T03:04:05.500000"}', 'timestamp fraction');
SELECT is(pg_temp.enc('ts', $$'4713-01-01 00:00:00 BC'$$), '{"ts":"-4712-01-01T00:00:00.000000"}', 'timestamp earliest');
SELECT is(pg_temp.enc('ts', $$'infinity'$$), '{"ts":"infinity"}', 'timestamp infinity');
SELECT is(pg_temp.enc('tstz', $$'2024-01-02 03:04:05.123456+02'$$), '{"tstz":"2024-01-02T01:04:05.123456Z"}', 'timestamptz in UTC');
SELECT is(pg_temp.enc('tstz', $$'2024-06-30 23:59:59.999999-10:30'$$), '{"tstz":"2024-07-01T10:29:59.999999Z"}', 'timestamptz across midnight');
SELECT is(pg_temp.enc('tstz', $$'infinity'$$), '{"tstz":"infinity"}', 'timestamptz infinity');
SELECT is(pg_temp.enc('tstz', $$'-infinity'$$), '{"tstz":"-infinity"}', 'timestamptz -infinity');

-- interval: months, days and seconds as stored
SELECT is(pg_temp.enc('iv', $$'1 year 2 months 3 days 04:05:06.5'$$), '{"iv":"P14M3DT14706.500000S"}', 'interval fields');
SELECT is(pg_temp.enc('iv', $$'-1 day -00:00:00.5'$$), '{"iv":"P0M-1DT-0.500000S"}', 'interval negative parts');
SELECT is(pg_temp.enc('iv', $$'0'$$), '{"iv":"P0M0DT0.000000S"}', 'interval zero');
SELECT is(pg_temp.enc('iv', $$'-1 mon 48 hours'$$), '{"iv":"P-1M0DT172800.000000S"}', 'interval hours are not days');

-- bytea: base64url without padding
SELECT is(pg_temp.enc('by', $$'\x'::bytea$$), '{"by":""}', 'bytea empty');
SELECT is(pg_temp.enc('by', $$'\x00ff10'::bytea$$), '{"by":"AP8Q"}', 'bytea three bytes');
SELECT is(pg_temp.enc('by', $$'\xfbff'::bytea$$), '{"by":"-_8"}', 'bytea url alphabet, no padding');
SELECT is(pg_temp.enc('by', $$'\x61'::bytea$$), '{"by":"YQ"}', 'bytea one byte');

-- jsonb: members sorted by UTF-16 code units, numbers as stored text
SELECT is(pg_temp.enc('j', $$'{"b":1.10,"aa":[1,null,"x",true],"a":{}}'$$), '{"j":{"a":{},"aa":[1,null,"x",true],"b":1.10}}', 'jsonb keys sorted, nested values');
SELECT is(pg_temp.enc('j', $$'{"n":1.0E+2,"m":0.00001,"k":-0,"big":123456789012345678901234567890.5}'$$), '{"j":{"big":123456789012345678901234567890.5,"k":0,"m":0.00001,"n":100}}', 'jsonb numbers exact, never through a double');
SELECT is(pg_temp.enc('j', $$E'{"\uff61":1,"\U0001F600":2}'$$), E'{"j":{"\U0001F600":2,"\uff61":1}}', 'jsonb keys in UTF-16 order, not UTF-8 order');
SELECT is(pg_temp.enc('j', $$'"a\u0001b\"c"'$$), '{"j":"a\u0001b\"c"}', 'jsonb scalar string with escapes');
SELECT is(pg_temp.enc('j', $$'null'$$), '{"j":null}', 'jsonb null is a value, not a NULL column');
SELECT is(pg_temp.enc('j', $$'[[],{},[{"z":1,"y":[2]}]]'$$), '{"j":[[],{},[{"y":[2],"z":1}]]}', 'jsonb nested arrays and objects');
SELECT isnt(pg_temp.enc('j', $$'{"x":1.0}'$$), pg_temp.enc('j', $$'{"x":1}'$$), 'jsonb 1.0 and 1 encode differently');

-- arrays: one-dimensional, NULL elements explicit
SELECT is(pg_temp.enc('ai', $$'{1,NULL,3}'$$), '{"ai":[1,null,3]}', 'int array with NULL');
SELECT is(pg_temp.enc('ai', $$'{}'$$), '{"ai":[]}', 'empty array');
SELECT is(pg_temp.enc('at', $$'{"a\"b",NULL,""}'$$), '{"at":["a\"b",null,""]}', 'text array');
SELECT is(pg_temp.enc('atz', $$'{"2024-01-01 00:00:00+00",infinity}'$$), '{"atz":["2024-01-01T00:00:00.000000Z","infinity"]}', 'timestamptz array');
SELECT is(pg_temp.enc('an', $$'{1.50,NaN}'$$), '{"an":["1.50","NaN"]}', 'numeric array');
SELECT is(pg_temp.enc('aj', $$ARRAY['{"b":1,"a":2}'::jsonb, NULL]$$), '{"aj":[{"a":2,"b":1},null]}', 'jsonb array');
SELECT throws_ok($$INSERT INTO ty_ledger (ai) VALUES ('{{1,2},{3,4}}')$$, '0A000',
	'multidimensional array in ledger column "ai" is not supported', 'two-dimensional array refused');
SELECT throws_ok($$INSERT INTO ty_ledger (ai) VALUES ('[0:1]={1,2}')$$, '0A000',
	'array with lower bound 0 in ledger column "ai" is not supported', 'array not starting at 1 refused');

-- domain over a supported type: encoded as its base type
SELECT is(pg_temp.enc('dom', '5'), '{"dom":5}', 'domain over int4');

-- NULL handling: NULL columns are left out
SELECT is(pg_temp.enc('t', 'NULL'), '{}', 'a NULL column is left out');
SELECT is(pg_temp.enc('i4', '1'), '{"i4":1}', 'the other, NULL columns are left out');

-- the frame: members in order, metadata, version
CREATE TABLE frame_ledger ("Z" int, a int, "é" int, "a b" text);
SELECT govledger.protect('frame_ledger');
INSERT INTO frame_ledger VALUES (1, 2, 3, 'x');
SELECT matches(
	(SELECT govledger.canonical('frame_ledger', ledger_entry_id) FROM frame_ledger),
	'^\{"entry":"[0-9]+","ledger":"public\.frame_ledger","recorded":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z","role":"postgres","row":\{"Z":1,"a":2,"a b":"x","é":3\},"v":1\}$',
	'canonical frame: entry, ledger, recorded, role, row, v; column names sorted');
SELECT is(
	(SELECT substring(govledger.canonical('frame_ledger', ledger_entry_id) FROM '"entry":"([0-9]+)"')::bigint FROM frame_ledger),
	(SELECT ledger_entry_id FROM frame_ledger),
	'entry member is the row''s entry id');
SELECT is(
	(SELECT substring(govledger.canonical('frame_ledger', f.ledger_entry_id) FROM '"recorded":"([^"]+)"')
	   FROM frame_ledger f),
	(SELECT to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
	   FROM govledger.entry e JOIN frame_ledger f ON f.ledger_entry_id = e.entry_id),
	'recorded member is the entry''s time in UTC');

-- the subject from request.jwt.claims
SELECT set_config('request.jwt.claims', '{"sub":"citizen-42","role":"citizen"}', true);
INSERT INTO frame_ledger VALUES (2, 2, 2, 'y');
SELECT is(
	(SELECT substring(govledger.canonical('frame_ledger', ledger_entry_id) FROM ',"subject":"([^"]*)","v":1}$') FROM frame_ledger WHERE "Z" = 2),
	'citizen-42', 'subject is the sub claim');
SELECT is((SELECT e.subject FROM govledger.entry e JOIN frame_ledger f ON f.ledger_entry_id = e.entry_id WHERE "Z" = 2),
	'citizen-42', 'entry records the subject');
SELECT set_config('request.jwt.claims', '', true);

-- the leaf is SHA-256 of 0x00 and the canonical bytes
SELECT is(
	(SELECT govledger.leaf_hash('frame_ledger', ledger_entry_id) FROM frame_ledger WHERE "Z" = 1),
	(SELECT sha256('\x00'::bytea || convert_to(govledger.canonical('frame_ledger', ledger_entry_id), 'UTF8')) FROM frame_ledger WHERE "Z" = 1),
	'leaf_hash = SHA-256(0x00 || canonical)');
SELECT is(
	(SELECT e.leaf_hash FROM govledger.entry e JOIN frame_ledger f ON f.ledger_entry_id = e.entry_id WHERE "Z" = 1),
	(SELECT govledger.leaf_hash('frame_ledger', ledger_entry_id) FROM frame_ledger WHERE "Z" = 1),
	'stored leaf equals the recomputed one');

SELECT * FROM finish();
ROLLBACK;
