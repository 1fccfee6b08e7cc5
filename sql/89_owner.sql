-- sql/89_owner.sql
--
-- Hand every table, view and function of schemas app, api and report to
-- eservices_owner (ledger tables got their owner before protect(), which
-- forbids a later ALTER TABLE), except the loader helpers, which stay with
-- the superuser.  Then no function is executable by PUBLIC except the pure
-- ones (identifier checks, commitments, signing messages); the grants to
-- the request roles made by the earlier files stay.  Safe to run twice.

SET client_min_messages = warning;

DO $owner$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT c.oid::regclass AS rel,
			   CASE c.relkind WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END AS kind
		FROM pg_class c
		WHERE c.relnamespace IN ('app'::regnamespace, 'api'::regnamespace,
								 'report'::regnamespace)
		  AND c.relkind IN ('r', 'v')
		  AND c.relowner <> 'eservices_owner'::regrole
		  AND NOT EXISTS (SELECT 1 FROM pg_attribute a
						  WHERE a.attrelid = c.oid AND a.attname = 'ledger_entry_id'
							AND NOT a.attisdropped)
	LOOP
		EXECUTE format('ALTER %s %s OWNER TO eservices_owner', r.kind, r.rel);
	END LOOP;

	FOR r IN
		SELECT p.oid::regprocedure AS fn
		FROM pg_proc p
		WHERE p.pronamespace IN ('app'::regnamespace, 'api'::regnamespace)
		  AND p.proowner <> 'eservices_owner'::regrole
		  AND p.oid NOT IN ('app.ledger_setup(regclass)'::regprocedure,
							'app.policy_setup(regclass, text, text, text)'::regprocedure)
	LOOP
		EXECUTE format('ALTER FUNCTION %s OWNER TO eservices_owner', r.fn);
	END LOOP;
END
$owner$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA app, api FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.uscc_check_char(text), app.org_code_check_char(text),
	app.uscc_status(text), app.uscc_valid(text), app.uscc_acceptable(text),
	app.ric_check_char(text), app.is_real_date(int, int, int),
	app.ric_normalize(text), app.ric_status(text), app.ric_valid(text),
	app.ric_birth_date(text), app.commitment(bytea, jsonb),
	app.signing_message(text, bytea)
	TO PUBLIC;
