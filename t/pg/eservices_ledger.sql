-- t/pg/eservices_ledger.sql: which e-services tables are ledgers, that they
-- are append-only (UPDATE, DELETE, TRUNCATE fail with 2F003, also for the
-- owner), that personal data stays in ordinary tables, and that rows written
-- through the api become entries carrying the request's subject.
\set ON_ERROR_STOP 1
\set QUIET 1
BEGIN;
SELECT plan(37);
\ir ../e2e/fixtures/eservices_pgtap_setup.sql
\ir ../e2e/fixtures/eservices_fixture.sql

CREATE TEMP TABLE fx_ledgers (t regclass);
INSERT INTO fx_ledgers VALUES ('app.agency'), ('app.agency_key'), ('app.person'),
	('app.company'), ('app.erasure'), ('app.attestation'), ('app.revocation'),
	('app.application'), ('app.material'), ('app.verification'),
	('app.application_event'), ('app.decision'), ('app.licence'), ('app.access_log');
GRANT SELECT ON fx_ledgers TO PUBLIC;

SELECT set_eq(
	$$SELECT l.relid::regclass FROM govledger.ledger l JOIN pg_class c ON c.oid = l.relid
	  WHERE c.relnamespace = 'app'::regnamespace AND l.dropped_at IS NULL$$,
	'SELECT t FROM fx_ledgers',
	'exactly these app tables are ledgers of the govledger extension');
SELECT is((SELECT count(*)::int FROM fx_ledgers f JOIN pg_attribute a
		   ON a.attrelid = f.t AND a.attname = 'ledger_entry_id' AND NOT a.attisdropped),
	14, 'every ledger table has ledger_entry_id');
SELECT is((SELECT count(*)::int FROM pg_class c
		   WHERE c.oid IN ('app.person_data'::regclass, 'app.company_data'::regclass,
						   'app.attestation_payload'::regclass, 'app.officer'::regclass)
			 AND c.oid IN (SELECT relid FROM govledger.ledger WHERE relid IS NOT NULL)),
	0, 'personal data tables are ordinary tables, so erasure can delete from them');
SELECT is((SELECT count(*)::int FROM fx_ledgers f JOIN pg_attribute a ON a.attrelid = f.t
		   WHERE a.attnum > 0 AND NOT a.attisdropped
			 AND a.attname IN ('id_number', 'full_name', 'address', 'salt', 'payload', 'subject')),
	0, 'no ledger table has a column for personal data');

-- append-only, even for the owner of the tables
SET LOCAL ROLE eservices_owner;
SELECT throws_ok(format('UPDATE %s SET ledger_entry_id = ledger_entry_id', t), '2F003', NULL,
				 t || ' refuses UPDATE')
FROM fx_ledgers ORDER BY t::text;
SELECT throws_ok(format('DELETE FROM %s', t), '2F003', NULL, t || ' refuses DELETE')
FROM fx_ledgers ORDER BY t::text;
RESET ROLE;
SELECT throws_ok('TRUNCATE app.application_event', '2F003', NULL, 'a ledger refuses TRUNCATE');
SELECT throws_ok('ALTER TABLE app.licence ADD COLUMN note text', '2F003', NULL,
	'a ledger refuses ALTER TABLE');

-- entries carry the subject of the request
SELECT pg_temp.fx_as('citizen', '{"sub": "citizen-wang"}');
SELECT api.submit_application('{"service": "art_gallery_licence", "district": "110105", "id_number": "11010519491231002X"}')
	->> 'reference' AS ref \gset
SELECT pg_temp.fx_reset();
SELECT is((SELECT e.subject FROM app.application a JOIN govledger.entry e
		   ON e.entry_id = a.ledger_entry_id WHERE a.reference = :'ref'),
	'citizen-wang', 'the application''s entry names the citizen who submitted it');
SELECT is((SELECT count(*)::int FROM app.application_event v
		   JOIN app.application a USING (application_id)
		   JOIN govledger.entry e ON e.entry_id = v.ledger_entry_id
		   WHERE a.reference = :'ref'),
	2, 'each status change is an entry');
SELECT ok((SELECT bool_and(ok) FROM govledger.verify()), 'govledger.verify finds no damage');

SELECT * FROM finish();
ROLLBACK;
