-- ledger_determinism.sql: the canonical encoding and the leaf hash do not
-- depend on TimeZone, DateStyle, IntervalStyle, bytea_output,
-- extra_float_digits, lc_* or search_path, neither when a row is
-- re-encoded nor when the same values are inserted under other settings.
BEGIN;
SELECT plan(24);

CREATE TABLE det_ledger (
	k int, num numeric, f4 float4, f8 float8, b bool, t text, u uuid,
	d date, ts timestamp, tstz timestamptz, iv interval, by bytea, j jsonb,
	atz timestamptz[], af float8[], ai interval[]
);
SELECT govledger.protect('det_ledger');

CREATE FUNCTION pg_temp.insert_row(key int) RETURNS bigint
LANGUAGE sql AS $$
	INSERT INTO det_ledger VALUES (
		key, 3.14159, 1.1, 0.30000000000000004, true, E'na\u00efve\t"x"',
		'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-02-29',
		'2024-02-29 13:14:15.25', '2024-02-29 13:14:15.123456+08',
		'1 year -2 days 03:04:05.000006', '\x00010203feff',
		'{"b":[1.5e3,-0.0001],"a":{"y":"\u00e9","x":null}}',
		ARRAY['2000-01-01 00:00:00+00'::timestamptz, '-infinity'],
		ARRAY[1e-7, 2.5, 'NaN']::float8[],
		ARRAY['10 min'::interval])
	RETURNING ledger_entry_id
$$;

CREATE TEMP TABLE ref AS SELECT pg_temp.insert_row(1) AS id;
ALTER TABLE ref ADD canon text, ADD leaf bytea;
UPDATE ref SET canon = govledger.canonical('det_ledger', id),
			   leaf = govledger.leaf_hash('det_ledger', id);

CREATE FUNCTION pg_temp.row_part(c text) RETURNS text
LANGUAGE sql AS $$ SELECT substring(c FROM '"row":(.*),"v":1}$') $$;

-- re-encoding the stored row under each setting
SET LOCAL TimeZone = 'Pacific/Chatham';
SELECT is((SELECT govledger.canonical('det_ledger', id) FROM ref), (SELECT canon FROM ref), 'TimeZone Pacific/Chatham: same canonical');
SELECT is((SELECT govledger.leaf_hash('det_ledger', id) FROM ref), (SELECT leaf FROM ref), 'TimeZone Pacific/Chatham: same leaf');
SET LOCAL TimeZone = 'America/St_Johns';
SELECT is((SELECT govledger.canonical('det_ledger', id) FROM ref), (SELECT canon FROM ref), 'TimeZone America/St_Johns: same canonical');
SET LOCAL DateStyle = 'SQL, DMY';
SELECT is((SELECT govledger.canonical('det_ledger', id) FROM ref), (SELECT canon FROM ref), 'DateStyle SQL, DMY: same canonical');
SET LOCAL DateStyle = 'German';
SELECT is((SELECT govledger.canonical('det_ledger', id) FROM ref), (SELECT canon FROM ref), 'DateStyle German: same canonical');
SET LOCAL DateStyle = 'Postgres, MDY';
SELECT is((SELECT govledger.canonical('det_ledger', id) FROM ref), (SELECT canon FROM ref), 'DateStyle Postgres, MDY: same canonical');
SET LOCAL IntervalStyle = 'sql_standard';
SELECT is((SELECT govledger.canonical('det_ledger', id) FROM ref), (SELECT canon FROM ref), 'IntervalStyle sql_standard: same canonical');
SET LOCAL IntervalStyle = 'postgres_verbose';
SELECT is((SELECT govledger.canonical('det_ledger', id) FROM ref), (SELECT canon FROM ref), 'IntervalStyle postgres_verbose: same canonical');
SET LOCAL IntervalStyle = 'iso_8601';
SELECT is((SELECT govledger.canonical('det_ledger', id) FROM ref), (SELECT canon FROM ref), 'IntervalStyle iso_8601: same canonical');
SET LOCAL bytea_output = 'escape';
SELECT is((SELECT govledger.canonical('det_ledger', id) FROM ref), (SELECT canon FROM ref), 'bytea_output escape: same canonical');
SET LOCAL extra_float_digits = -15;
SELECT is((SELECT govledger.canonical('det_ledger', id) FROM ref), (SELECT canon FROM ref), 'extra_float_digits -15: same canonical');
SET LOCAL extra_float_digits = 3;
SELECT is((SELECT govledger.canonical('det_ledger', id) FROM ref), (SELECT canon FROM ref), 'extra_float_digits 3: same canonical');
SET LOCAL extra_float_digits = 0;
SELECT is((SELECT govledger.canonical('det_ledger', id) FROM ref), (SELECT canon FROM ref), 'extra_float_digits 0: same canonical');
SET LOCAL lc_numeric = 'C';
SET LOCAL lc_time = 'POSIX';
SET LOCAL lc_monetary = 'C.utf8';
SET LOCAL lc_messages = 'C';
SELECT is((SELECT govledger.canonical('det_ledger', id) FROM ref), (SELECT canon FROM ref), 'lc_numeric, lc_time, lc_monetary, lc_messages: same canonical');
SET LOCAL search_path = '';
CREATE TEMP TABLE sp AS
	SELECT govledger.canonical('public.det_ledger', id) AS canon,
		   govledger.leaf_hash('public.det_ledger', id) AS leaf
	  FROM pg_temp.ref;
SET LOCAL search_path = public;
SELECT is((SELECT canon FROM sp), (SELECT canon FROM ref), 'empty search_path: same canonical');
SELECT is((SELECT leaf FROM sp), (SELECT leaf FROM ref), 'all settings changed: same leaf');
SELECT is((SELECT e.leaf_hash FROM govledger.entry e, ref r WHERE e.entry_id = r.id), (SELECT leaf FROM ref), 'stored leaf matches');

-- inserting the same values under all these settings gives the same row
-- encoding (only entry id and time differ) and a leaf that verifies
SET LOCAL search_path = pg_catalog, public;
SET LOCAL TimeZone = 'Asia/Kathmandu';
SET LOCAL DateStyle = 'SQL, DMY';
CREATE TEMP TABLE second AS SELECT pg_temp.insert_row(2) AS id;
SELECT is(pg_temp.row_part(govledger.canonical('det_ledger', (SELECT id FROM second))),
		  replace(pg_temp.row_part((SELECT canon FROM ref)), '"k":1', '"k":2'),
		  'same values inserted under other settings: same row encoding');
SELECT matches(govledger.canonical('det_ledger', (SELECT id FROM second)),
			   '"recorded":"[0-9-]{10}T[0-9:]{8}\.[0-9]{6}Z"',
			   'recorded time is written in UTC whatever TimeZone');
SELECT is((SELECT e.leaf_hash FROM govledger.entry e, second s WHERE e.entry_id = s.id),
		  govledger.leaf_hash('det_ledger', (SELECT id FROM second)),
		  'leaf stored under other settings equals the recomputed one');
RESET TimeZone;
RESET DateStyle;
RESET IntervalStyle;
RESET bytea_output;
RESET extra_float_digits;
SELECT is(govledger.leaf_hash('det_ledger', (SELECT id FROM second)),
		  (SELECT e.leaf_hash FROM govledger.entry e, second s WHERE e.entry_id = s.id),
		  'and again under the default settings');

-- the row part, spelled out: nothing in it comes from an output function
SELECT is(pg_temp.row_part((SELECT canon FROM ref)),
	'{"af":["1e-07","2.5","NaN"],"ai":["P0M0DT600.000000S"],"atz":["2000-01-01T00:00:00.000000Z","-infinity"],"b":true,"by":"AAECA_7_","d":"2024-02-29","f4":"1.1","f8":"0.30000000000000004","iv":"P12M-2DT11045.000006S","j":{"a":{"x":null,"y":"é"},"b":[1500,-0.0001]},"k":1,"num":"3.14159","t":"naïve\t\"x\"","ts":"2024-02-29T13:14:15.250000","tstz":"2024-02-29T05:14:15.123456Z","u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}',
	'the reference row as documented');

-- verification is independent of the settings, too
SET LOCAL TimeZone = 'Pacific/Kiritimati';
SET LOCAL IntervalStyle = 'sql_standard';
SET LOCAL extra_float_digits = -10;
SELECT is((SELECT bool_and(ok) FROM govledger.verify('det_ledger')), true,
		  'verify passes under other settings');
SELECT is((SELECT checked FROM govledger.verify('det_ledger') WHERE check_name = 'row_hash'), 2::bigint,
		  'verify recomputed both rows');

SELECT * FROM finish();
ROLLBACK;
