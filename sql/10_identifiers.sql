-- sql/10_identifiers.sql
--
-- Check characters of the two identifiers the e-services handle:
--
--   Unified Social Credit Code (USCC, GB 32100-2015): 18 characters from
--   0123456789ABCDEFGHJKLMNPQRTUWXY (values 0..30); positions 3-8 are the
--   administrative division (digits); positions 9-17 are an organisation code
--   with its own GB 11714 check character at position 17; position 18 is the
--   GB 32100 check: 31 - (sum of value * 3^(i-1) mod 31) mod 31.
--
--   Resident identity number (GB 11643-1999): 17 digits, the birth date at
--   positions 7-14, and an ISO 7064 MOD 11-2 check character (X for 10).
--
-- All functions are IMMUTABLE, PARALLEL SAFE and free of exception blocks
-- (a subtransaction is not allowed in a parallel worker).  Safe to run twice.

SET client_min_messages = warning;

CREATE OR REPLACE FUNCTION app.uscc_check_char(code text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT substr('0123456789ABCDEFGHJKLMNPQRTUWXY',
				  (31 - sum((strpos('0123456789ABCDEFGHJKLMNPQRTUWXY',
									substr(code, i, 1)) - 1)
							* (ARRAY[1, 3, 9, 27, 19, 26, 16, 17, 20, 29,
									 25, 13, 8, 24, 10, 30, 28])[i])::int
				   % 31) % 31 + 1, 1)
	FROM generate_series(1, 17) AS i
$$;
COMMENT ON FUNCTION app.uscc_check_char(text) IS
	'GB 32100-2015 check character for the first 17 characters of a USCC (which must already be in the USCC alphabet)';

CREATE OR REPLACE FUNCTION app.org_code_check_char(code text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT CASE r WHEN 10 THEN 'X' WHEN 11 THEN '0' ELSE r::text END
	FROM (SELECT 11 - sum((strpos('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ',
									substr(code, i, 1)) - 1)
						  * (ARRAY[3, 7, 9, 10, 5, 8, 4, 2])[i])::int % 11 AS r
		  FROM generate_series(1, 8) AS i) AS s
$$;
COMMENT ON FUNCTION app.org_code_check_char(text) IS
	'GB 11714 organisation-code check character for the first 8 characters (0-9, A-Z)';

CREATE OR REPLACE FUNCTION app.uscc_status(code text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT CASE
		WHEN code !~ '^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$'
			THEN 'invalid_format'
		WHEN app.uscc_check_char(code) = substr(code, 18, 1)
			 AND app.org_code_check_char(substr(code, 9, 8)) = substr(code, 17, 1)
			THEN 'valid'
		WHEN app.uscc_check_char(code) <> substr(code, 18, 1)
			 AND substr(code, 9, 1) = 'M'
			 AND app.org_code_check_char(substr(code, 9, 8)) = substr(code, 17, 1)
			THEN 'review'
		ELSE 'invalid_check'
	END
$$;
COMMENT ON FUNCTION app.uscc_status(text) IS
	'valid | review | invalid_check | invalid_format for an upper-case USCC.  review: the GB 32100 check fails but the nested GB 11714 check of a registrar-assigned (M...) organisation code passes, as in early pilot codes still in use; such codes are accepted and flagged for a registry lookup';

CREATE OR REPLACE FUNCTION app.uscc_valid(code text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT app.uscc_status(code) = 'valid' $$;
COMMENT ON FUNCTION app.uscc_valid(text) IS
	'true when both the GB 32100 and the nested GB 11714 check characters hold';

CREATE OR REPLACE FUNCTION app.uscc_acceptable(code text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT app.uscc_status(code) IN ('valid', 'review') $$;
COMMENT ON FUNCTION app.uscc_acceptable(text) IS
	'true for codes the service accepts: valid ones and those flagged for review';

CREATE OR REPLACE FUNCTION app.ric_check_char(num text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT substr('10X98765432',
				  sum(substr(num, i, 1)::int
					  * (ARRAY[7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8,
							   4, 2])[i])::int % 11 + 1, 1)
	FROM generate_series(1, 17) AS i
$$;
COMMENT ON FUNCTION app.ric_check_char(text) IS
	'GB 11643-1999 (ISO 7064 MOD 11-2) check character for the first 17 digits of a resident identity number';

CREATE OR REPLACE FUNCTION app.is_real_date(y int, m int, d int)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT y BETWEEN 1 AND 9999 AND m BETWEEN 1 AND 12 AND d >= 1
		AND d <= CASE
			WHEN m = 2 AND (y % 4 = 0 AND (y % 100 <> 0 OR y % 400 = 0)) THEN 29
			WHEN m = 2 THEN 28
			WHEN m IN (4, 6, 9, 11) THEN 30
			ELSE 31
		END
$$;
COMMENT ON FUNCTION app.is_real_date(int, int, int) IS
	'whether year, month, day name a day of the proleptic Gregorian calendar';

CREATE OR REPLACE FUNCTION app.ric_normalize(num text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT upper(num) $$;
COMMENT ON FUNCTION app.ric_normalize(text) IS
	'the stored form of a resident identity number: a lower-case check x becomes X';

CREATE OR REPLACE FUNCTION app.ric_status(num text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT CASE
		WHEN num !~ '^[0-9]{17}[0-9Xx]$' THEN 'invalid_format'
		WHEN NOT app.is_real_date(substr(num, 7, 4)::int,
								  substr(num, 11, 2)::int,
								  substr(num, 13, 2)::int) THEN 'invalid_date'
		WHEN app.ric_check_char(num) <> upper(substr(num, 18, 1)) THEN 'invalid_check'
		ELSE 'valid'
	END
$$;
COMMENT ON FUNCTION app.ric_status(text) IS
	'valid | invalid_format | invalid_date | invalid_check for a resident identity number (lower-case x accepted)';

CREATE OR REPLACE FUNCTION app.ric_valid(num text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT app.ric_status(num) = 'valid' $$;
COMMENT ON FUNCTION app.ric_valid(text) IS
	'true for a well-formed resident identity number with a real birth date and a correct check character';

CREATE OR REPLACE FUNCTION app.ric_birth_date(num text)
RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT CASE WHEN app.ric_valid(num)
		THEN make_date(substr(num, 7, 4)::int, substr(num, 11, 2)::int,
					   substr(num, 13, 2)::int) END
$$;
COMMENT ON FUNCTION app.ric_birth_date(text) IS
	'the birth date carried by a valid resident identity number, NULL otherwise';

GRANT EXECUTE ON FUNCTION app.uscc_check_char(text), app.org_code_check_char(text),
	app.uscc_status(text), app.uscc_valid(text), app.uscc_acceptable(text),
	app.ric_check_char(text), app.is_real_date(int, int, int),
	app.ric_normalize(text), app.ric_status(text), app.ric_valid(text),
	app.ric_birth_date(text)
	TO PUBLIC;

