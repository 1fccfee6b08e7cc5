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
-- (a subtransaction is not allowed in a parallel worker), and each is a
-- single expression declared without STRICT (the planner inlines a STRICT
-- SQL function only when its body is strict, and a CASE is not), so that the
-- planner inlines them into the query that calls them; NULL in gives NULL
-- out.  Safe to run twice.

SET client_min_messages = warning;

CREATE OR REPLACE FUNCTION app.uscc_check_char(code text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT substr('0123456789ABCDEFGHJKLMNPQRTUWXY',
				  (31 - ((strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 1, 1)) - 1) * 1
				   + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 2, 1)) - 1) * 3
				   + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 3, 1)) - 1) * 9
				   + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 4, 1)) - 1) * 27
				   + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 5, 1)) - 1) * 19
				   + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 6, 1)) - 1) * 26
				   + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 7, 1)) - 1) * 16
				   + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 8, 1)) - 1) * 17
				   + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 9, 1)) - 1) * 20
				   + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 10, 1)) - 1) * 29
				   + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 11, 1)) - 1) * 25
				   + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 12, 1)) - 1) * 13
				   + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 13, 1)) - 1) * 8
				   + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 14, 1)) - 1) * 24
				   + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 15, 1)) - 1) * 10
				   + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 16, 1)) - 1) * 30
				   + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 17, 1)) - 1) * 28) % 31) % 31 + 1, 1)
$$;
COMMENT ON FUNCTION app.uscc_check_char(text) IS
	'GB 32100-2015 check character for the first 17 characters of a USCC (which must already be in the USCC alphabet)';

CREATE OR REPLACE FUNCTION app.org_code_check_char(code text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	-- 11 - (sum mod 11) is 1..11; 10 is written X and 11 is written 0
	SELECT substr('0123456789X0',
				  11 - ((strpos('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', substr(code, 1, 1)) - 1) * 3
				   + (strpos('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', substr(code, 2, 1)) - 1) * 7
				   + (strpos('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', substr(code, 3, 1)) - 1) * 9
				   + (strpos('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', substr(code, 4, 1)) - 1) * 10
				   + (strpos('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', substr(code, 5, 1)) - 1) * 5
				   + (strpos('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', substr(code, 6, 1)) - 1) * 8
				   + (strpos('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', substr(code, 7, 1)) - 1) * 4
				   + (strpos('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', substr(code, 8, 1)) - 1) * 2) % 11 + 1, 1)
$$;
COMMENT ON FUNCTION app.org_code_check_char(text) IS
	'GB 11714 organisation-code check character for the first 8 characters (0-9, A-Z)';

CREATE OR REPLACE FUNCTION app.uscc_status(code text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE
		WHEN code IS NULL THEN NULL
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
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT app.uscc_status(code) = 'valid' $$;
COMMENT ON FUNCTION app.uscc_valid(text) IS
	'true when both the GB 32100 and the nested GB 11714 check characters hold';

CREATE OR REPLACE FUNCTION app.uscc_acceptable(code text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT app.uscc_status(code) IN ('valid', 'review') $$;
COMMENT ON FUNCTION app.uscc_acceptable(text) IS
	'true for codes the service accepts: valid ones and those flagged for review';

CREATE OR REPLACE FUNCTION app.ric_check_char(num text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT substr('10X98765432',
				  (substr(num, 1, 1)::int * 7
				   + substr(num, 2, 1)::int * 9
				   + substr(num, 3, 1)::int * 10
				   + substr(num, 4, 1)::int * 5
				   + substr(num, 5, 1)::int * 8
				   + substr(num, 6, 1)::int * 4
				   + substr(num, 7, 1)::int * 2
				   + substr(num, 8, 1)::int * 1
				   + substr(num, 9, 1)::int * 6
				   + substr(num, 10, 1)::int * 3
				   + substr(num, 11, 1)::int * 7
				   + substr(num, 12, 1)::int * 9
				   + substr(num, 13, 1)::int * 10
				   + substr(num, 14, 1)::int * 5
				   + substr(num, 15, 1)::int * 8
				   + substr(num, 16, 1)::int * 4
				   + substr(num, 17, 1)::int * 2) % 11 + 1, 1)
$$;
COMMENT ON FUNCTION app.ric_check_char(text) IS
	'GB 11643-1999 (ISO 7064 MOD 11-2) check character for the first 17 digits of a resident identity number';

CREATE OR REPLACE FUNCTION app.is_real_date(y int, m int, d int)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
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
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT upper(num) $$;
COMMENT ON FUNCTION app.ric_normalize(text) IS
	'the stored form of a resident identity number: a lower-case check x becomes X';

CREATE OR REPLACE FUNCTION app.ric_status(num text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE
		WHEN num IS NULL THEN NULL
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
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT app.ric_status(num) = 'valid' $$;
COMMENT ON FUNCTION app.ric_valid(text) IS
	'true for a well-formed resident identity number with a real birth date and a correct check character';

CREATE OR REPLACE FUNCTION app.ric_birth_date(num text)
RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
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

