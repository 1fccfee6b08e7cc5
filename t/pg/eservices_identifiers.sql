-- t/pg/eservices_identifiers.sql: the USCC (GB 32100-2015 with the nested
-- GB 11714 check) and resident identity number (GB 11643-1999) checks of
-- sql/10_identifiers.sql against every vector of identifiers.json.
\set ON_ERROR_STOP 1
\set QUIET 1
\set vectors `cat "${GOVLEDGER_VECTORS:-t/fixtures/vectors}/identifiers.json"`
BEGIN;
CREATE TEMP TABLE v AS SELECT :'vectors'::jsonb AS j;

SELECT plan((
	SELECT jsonb_array_length(j #> '{uscc,valid}')
		 + jsonb_array_length(j #> '{uscc,invalid_check}')
		 + jsonb_array_length(j #> '{uscc,invalid_format}')
		 + 2 * jsonb_array_length(j #> '{uscc,legal_but_failing_gb32100,codes}')
		 + jsonb_array_length(j #> '{resident_id,valid}')
		 + jsonb_array_length(j #> '{resident_id,invalid_check}')
		 + jsonb_array_length(j #> '{resident_id,invalid_date}')
		 + 12
	FROM v)::int);

SELECT is(app.uscc_status(c), 'valid', 'USCC ' || c || ' is valid')
FROM v, jsonb_array_elements_text(j #> '{uscc,valid}') AS c;
SELECT is(app.uscc_status(c), 'invalid_check', 'USCC ' || c || ' fails its check character')
FROM v, jsonb_array_elements_text(j #> '{uscc,invalid_check}') AS c;
SELECT is(app.uscc_status(c), 'invalid_format', 'USCC ' || c || ' is malformed')
FROM v, jsonb_array_elements_text(j #> '{uscc,invalid_format}') AS c;
SELECT is(app.uscc_status(c), 'review', 'USCC ' || c || ' is flagged for review')
FROM v, jsonb_array_elements_text(j #> '{uscc,legal_but_failing_gb32100,codes}') AS c;
SELECT ok(app.uscc_acceptable(c) AND NOT app.uscc_valid(c),
		  'USCC ' || c || ' is accepted but not valid')
FROM v, jsonb_array_elements_text(j #> '{uscc,legal_but_failing_gb32100,codes}') AS c;

SELECT is(app.uscc_check_char(j #>> '{uscc,worked_example,code}'),
		  j #>> '{uscc,worked_example,check}', 'USCC worked example check character')
FROM v;
SELECT is(app.org_code_check_char(substr(j #>> '{uscc,worked_example,code}', 9, 8)),
		  substr(j #>> '{uscc,worked_example,code}', 17, 1),
		  'nested GB 11714 check of the worked example')
FROM v;

-- letters in positions 1-2 are legal: same body, recomputed check
SELECT is(app.uscc_status(b || app.uscc_check_char(b)), 'valid',
		  'USCC with registration-authority letters ' || substr(b, 1, 2) || ' is valid')
FROM unnest(ARRAY['Y1350100M000100Y4', 'A1350100M000100Y4', 'N2350100M000100Y4']) AS b;

SELECT is(app.ric_status(n), 'valid', 'resident id ' || n || ' is valid')
FROM v, jsonb_array_elements_text(j #> '{resident_id,valid}') AS n;
SELECT is(app.ric_status(n), 'invalid_check', 'resident id ' || n || ' fails its check character')
FROM v, jsonb_array_elements_text(j #> '{resident_id,invalid_check}') AS n;
SELECT is(app.ric_status(n), 'invalid_date', 'resident id ' || n || ' has no real birth date')
FROM v, jsonb_array_elements_text(j #> '{resident_id,invalid_date}') AS n;

SELECT is(app.ric_check_char(j #>> '{resident_id,worked_example,number}'),
		  j #>> '{resident_id,worked_example,check}', 'resident id worked example check character')
FROM v;
SELECT is(app.ric_normalize('44011320141005001x'), '44011320141005001X',
		  'a lower-case check x is stored as X');
SELECT is(app.ric_birth_date('11010519491231002X'), '1949-12-31'::date,
		  'birth date of a valid number');
SELECT is(app.ric_status('11010519490229002X'), 'invalid_date',
		  '29 February of a common year is not a date');
SELECT is(app.ric_status('1101051949123100'), 'invalid_format', 'short number is malformed');

SELECT is((SELECT count(*)::int FROM pg_proc
		   WHERE pronamespace = 'app'::regnamespace
			 AND proname IN ('uscc_check_char', 'org_code_check_char', 'uscc_status',
							 'uscc_valid', 'uscc_acceptable', 'ric_check_char',
							 'is_real_date', 'ric_normalize', 'ric_status',
							 'ric_valid', 'ric_birth_date')
			 AND provolatile = 'i' AND proparallel = 's'),
		  11, 'identifier checks are immutable and parallel safe');

-- the checks guard the tables too
SELECT throws_ok($$INSERT INTO app.person_data (person_id, id_number, full_name, salt, data)
				   VALUES (-1, '36042619910102009X', 'x', decode(repeat('00', 32), 'hex'), '{}')$$,
				 '23514', NULL, 'a resident id with a wrong check character cannot be stored');

SELECT * FROM finish();
ROLLBACK;
