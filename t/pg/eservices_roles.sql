-- t/pg/eservices_roles.sql: the roles of sql/00_roles.sql and who can read
-- what (sql/50_security.sql, sql/80_report.sql): the gateway can only switch
-- into the request roles, citizens see only themselves, officers only their
-- district, agencies only their own attestations, the reporter only the
-- report views, anonymous only the public functions; SECURITY DEFINER
-- functions pin their search_path.
\set ON_ERROR_STOP 1
\set QUIET 1
BEGIN;
SELECT plan(48);
\ir ../e2e/fixtures/eservices_pgtap_setup.sql
\ir ../e2e/fixtures/eservices_fixture.sql

-- roles -----------------------------------------------------------------
SELECT is((SELECT count(*)::int FROM pg_roles
		   WHERE rolname IN ('citizen', 'officer', 'agency', 'reporter', 'anonymous')
			 AND NOT rolcanlogin AND NOT rolsuper AND NOT rolbypassrls),
	5, 'the five request roles exist and cannot log in');
SELECT ok((SELECT rolcanlogin AND NOT rolinherit AND NOT rolsuper AND NOT rolbypassrls
		   AND NOT rolcreaterole AND NOT rolcreatedb
		   FROM pg_roles WHERE rolname = 'govledger_gateway'),
	'the gateway role logs in, does not inherit, holds no special attributes');
SELECT is(ARRAY(SELECT r.rolname::text FROM pg_auth_members m
				JOIN pg_roles r ON r.oid = m.roleid
				JOIN pg_roles g ON g.oid = m.member
				WHERE g.rolname = 'govledger_gateway' ORDER BY 1),
	ARRAY['agency', 'anonymous', 'citizen', 'officer', 'reporter'],
	'the gateway is a member of exactly the request roles');
SELECT is((SELECT count(*)::int FROM pg_class c
		   WHERE c.relnamespace IN ('app'::regnamespace, 'report'::regnamespace)
			 AND c.relkind IN ('r', 'v')
			 AND (has_table_privilege('govledger_gateway', c.oid, 'SELECT')
				  OR has_table_privilege('govledger_gateway', c.oid, 'INSERT')
				  OR has_table_privilege('govledger_gateway', c.oid, 'UPDATE')
				  OR has_table_privilege('govledger_gateway', c.oid, 'DELETE'))),
	0, 'the gateway has no table rights of its own');
SELECT is((SELECT count(*)::int FROM pg_proc p
		   WHERE p.pronamespace = 'api'::regnamespace
			 AND has_function_privilege('govledger_gateway', p.oid, 'EXECUTE')),
	0, 'the gateway cannot call an api function without switching role');
SELECT is((SELECT count(*)::int
		   FROM pg_class c,
				(VALUES ('citizen'), ('officer'), ('agency'), ('reporter'),
						('anonymous')) AS r(rolname)
		   WHERE c.relnamespace = 'app'::regnamespace AND c.relkind = 'r'
			 AND (has_table_privilege(r.rolname, c.oid, 'INSERT')
				  OR has_table_privilege(r.rolname, c.oid, 'UPDATE')
				  OR has_table_privilege(r.rolname, c.oid, 'DELETE')
				  OR has_table_privilege(r.rolname, c.oid, 'TRUNCATE'))),
	0, 'no request role writes a table directly');
SELECT is((SELECT count(*)::int FROM pg_class c
		   WHERE c.relnamespace = 'app'::regnamespace AND c.relkind = 'r'
			 AND NOT c.relrowsecurity),
	0, 'row-level security is on for every table in app');
SELECT is((SELECT count(*)::int FROM pg_proc p
		   WHERE p.pronamespace IN ('app'::regnamespace, 'api'::regnamespace)
			 AND p.prosecdef
			 AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) AS c
							 WHERE c LIKE 'search_path=%')),
	0, 'every SECURITY DEFINER function pins its search_path');
SELECT is((SELECT count(*)::int FROM pg_proc p
		   WHERE p.pronamespace IN ('app'::regnamespace, 'api'::regnamespace)
			 AND p.prosecdef AND p.proowner <> 'eservices_owner'::regrole),
	0, 'SECURITY DEFINER functions belong to eservices_owner, not a superuser');
SELECT ok(NOT (SELECT rolsuper OR rolbypassrls OR rolcanlogin FROM pg_roles
			   WHERE rolname = 'eservices_owner'),
	'the owner is no superuser and cannot log in');
SELECT is((SELECT count(*)::int FROM pg_proc p
		   WHERE p.pronamespace = 'api'::regnamespace
			 AND has_function_privilege('public', p.oid, 'EXECUTE')),
	0, 'no api function is executable by PUBLIC');
SELECT is(ARRAY(SELECT p.proname::text FROM pg_proc p
				WHERE p.pronamespace = 'api'::regnamespace
				  AND has_function_privilege('anonymous', p.oid, 'EXECUTE') ORDER BY 1),
	ARRAY['checkpoint', 'consistency_proof', 'verify_licence'],
	'anonymous may call only the public functions');
SELECT is(ARRAY(SELECT p.proname::text FROM pg_proc p
				WHERE p.pronamespace = 'api'::regnamespace
				  AND has_function_privilege('reporter', p.oid, 'EXECUTE') ORDER BY 1),
	ARRAY['checkpoint', 'consistency_proof', 'report_csv', 'verify_licence'],
	'the reporter may call the public functions and the CSV export');

-- data: two applications in two districts, with no attestations ----------
SELECT pg_temp.fx_as('citizen', '{"sub": "citizen-wang"}');
SELECT api.submit_application('{"service": "art_gallery_licence", "district": "110105", "id_number": "11010519491231002X"}')
	->> 'reference' AS ref_wang \gset
SELECT pg_temp.fx_as('citizen', '{"sub": "citizen-li"}');
SELECT api.submit_application('{"service": "art_gallery_licence", "district": "110108", "id_number": "120223198902021249"}')
	->> 'reference' AS ref_li \gset
SELECT pg_temp.fx_as('officer', '{"sub": "officer-chen", "district": "110105"}');
SELECT ok(api.officer_open(:'ref_wang') IS NOT NULL, 'an officer opens an application of the district');

-- citizens ----------------------------------------------------------------
SELECT pg_temp.fx_as('citizen', '{"sub": "citizen-wang"}');
SELECT is(ARRAY(SELECT reference FROM app.application), ARRAY[:'ref_wang'],
	'a citizen sees only his application');
SELECT is((SELECT count(*)::int FROM app.application_event), 2, '... its status history only');
SELECT is((SELECT count(*)::int FROM app.verification), 2, '... its verification only');
SELECT is((SELECT count(*)::int FROM app.person), 1, '... his own commitment only');
SELECT is((SELECT count(*)::int FROM app.person_data), 1, '... his own personal data only');
SELECT is((SELECT count(*)::int FROM app.access_log), 1, '... and his own access log');
SELECT throws_ok('SELECT salt FROM app.company_data', '42501', NULL,
	'a citizen cannot read company salts');
SELECT throws_ok('SELECT * FROM app.officer', '42501', NULL, 'a citizen cannot read the officer list');
SELECT throws_ok('SELECT * FROM report.online_share', '42501', NULL, 'a citizen cannot read reports');
SELECT throws_ok($$UPDATE app.person_data SET full_name = 'x'$$, '42501', NULL,
	'a citizen cannot change his data directly');
SELECT throws_ok($$INSERT INTO app.application_event (application_id, status, actor) VALUES (1, 'issued', 'x')$$,
	'42501', NULL, 'a citizen cannot append to the status history');
SELECT pg_temp.fx_as('citizen', '{"sub": "nobody"}');
SELECT is((SELECT count(*)::int FROM app.person_data), 0, 'an unknown subject sees no one');
SELECT throws_ok($$SELECT api.my_applications()$$, '42501',
	'the token''s subject is not a registered citizen', 'an unknown subject cannot list applications');
SELECT pg_temp.fx_as('citizen', '{"sub": "officer-chen", "district": "110105"}');
SELECT is((SELECT count(*)::int FROM app.application), 0,
	'an officer''s token used with the citizen role sees nothing');

-- officers ---------------------------------------------------------------
SELECT pg_temp.fx_as('officer', '{"sub": "officer-chen", "district": "110105"}');
SELECT is(ARRAY(SELECT reference FROM app.application), ARRAY[:'ref_wang'],
	'an officer sees his district''s applications');
SELECT is((SELECT count(*)::int FROM app.verification), 2, '... and their verification');
SELECT throws_ok('SELECT * FROM app.person_data', '42501', NULL,
	'an officer cannot read personal data directly (only through the logged call)');
SELECT throws_ok('SELECT * FROM app.access_log', '42501', NULL, 'an officer cannot read the access log');
SELECT is((SELECT count(*)::int FROM app.officer), 1, 'an officer sees only his own officer row');
SELECT pg_temp.fx_as('officer', '{"sub": "officer-sun", "district": "110108"}');
SELECT is(ARRAY(SELECT reference FROM app.application), ARRAY[:'ref_li'],
	'the other district''s officer sees only his');
SELECT pg_temp.fx_as('officer', '{"sub": "officer-chen", "district": "110108"}');
SELECT is((SELECT count(*)::int FROM app.application), 0,
	'a token naming another district than the officer''s sees nothing');
SELECT pg_temp.fx_as('officer', '{"sub": "officer-chen"}');
SELECT is((SELECT count(*)::int FROM app.application), 0, 'a token without district sees nothing');

-- agencies ---------------------------------------------------------------
SELECT pg_temp.fx_as('agency', '{"sub": "x", "agency": "PSB-110105"}');
SELECT throws_ok('SELECT * FROM app.application', '42501', NULL, 'an agency reads no applications');
SELECT throws_ok('SELECT * FROM app.person_data', '42501', NULL, 'an agency cannot read personal data');
SELECT is((SELECT count(*)::int FROM app.agency_key), 2, 'agency keys are public to signed-in roles');

-- reporter ----------------------------------------------------------------
SELECT pg_temp.fx_as('reporter', '{"sub": "bi-tool"}');
SELECT throws_ok('SELECT * FROM app.person_data', '42501', NULL, 'the reporter cannot read personal data');
SELECT throws_ok('SELECT * FROM app.application', '42501', NULL, 'the reporter cannot read applications');
SELECT throws_ok('SELECT * FROM app.access_log', '42501', NULL, 'the reporter cannot read the access log');
SELECT is((SELECT sum(applications)::int FROM report.applications_per_day), 2,
	'the reporter reads the report views, over all rows');
SELECT is((SELECT count(*)::int FROM api.report_csv('online_share')), 2,
	'the reporter exports a view as CSV (header and one month)');
SELECT throws_ok($$SELECT * FROM api.report_csv('../app.person_data')$$, 'P0002', 'no such report',
	'only report views can be exported');

-- anonymous ----------------------------------------------------------------
SELECT pg_temp.fx_as('anonymous', '{}');
SELECT throws_ok('SELECT * FROM app.application', '42501', NULL, 'anonymous reads no table');
SELECT throws_ok('SELECT * FROM report.online_share', '42501', NULL, 'anonymous reads no report');
SELECT throws_ok($$SELECT api.submit_application('{}')$$, '42501', NULL, 'anonymous cannot apply');

SELECT pg_temp.fx_reset();
SELECT * FROM finish();
ROLLBACK;
