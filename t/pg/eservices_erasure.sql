-- t/pg/eservices_erasure.sql: an erasure request deletes a person's data,
-- salt and the signed payloads naming them, records the erasure on the
-- ledger, and leaves every ledger row, every receipt and the public licence
-- check intact.
\set ON_ERROR_STOP 1
\set QUIET 1
BEGIN;
SELECT to_regprocedure('govledger.verify_signature(text,bytea,bytea,bytea)') IS NOT NULL
	AS have_sig \gset
SELECT to_regprocedure('govledger.receipt(regclass,bigint)') IS NOT NULL
   AND to_regprocedure('govledger.verify_receipt(jsonb,text)') IS NOT NULL
   AND to_regprocedure('govledger.seal(text)') IS NOT NULL
   AND to_regprocedure('govledger.verifier_key(text)') IS NOT NULL AS have_receipts \gset
SELECT plan(23);
\ir ../e2e/fixtures/eservices_pgtap_setup.sql
\ir ../e2e/fixtures/eservices_fixture.sql

\if :have_sig
SELECT pg_temp.fx_as('agency', '{"sub": "psb", "agency": "PSB-110105"}');
SELECT lives_ok($$SELECT api.attest(body) FROM fx_signed WHERE name = 'id_wang'$$, 'identity attested');
SELECT pg_temp.fx_as('agency', '{"sub": "samr", "agency": "SAMR-110105"}');
SELECT lives_ok($$SELECT api.attest(body) FROM fx_signed WHERE name = 'co_gallery'$$, 'company attested');
\else
SELECT skip('govledger.verify_signature is not installed: no attestations', 2);
\endif

SELECT pg_temp.fx_as('citizen', '{"sub": "citizen-wang"}');
SELECT api.submit_application('{"service": "art_gallery_licence", "district": "110105", "id_number": "11010519491231002X", "company_code": null}')
	->> 'reference' AS ref \gset
SELECT pg_temp.fx_as('officer', '{"sub": "officer-chen", "district": "110105"}');
SELECT api.officer_open(:'ref') IS NOT NULL AS opened \gset
SELECT api.decide(:'ref', '{"outcome": "approve", "reason": "documents checked at the counter"}')
	->> 'licence_no' AS lno \gset
SELECT pg_temp.fx_reset();

SELECT person_id AS pid FROM app.person_data WHERE id_number = '11010519491231002X' \gset
SELECT is((SELECT app.commitment(d.salt, d.data) FROM app.person_data d WHERE person_id = :pid),
	(SELECT commitment FROM app.person WHERE person_id = :pid),
	'the ledger commitment is sha256(salt || data) of the personal data');
CREATE TEMP TABLE fx_before AS
	SELECT t::text AS t, x.ledger_entry_id AS entry, govledger.leaf_hash(t, x.ledger_entry_id) AS leaf
	FROM (SELECT 'app.person'::regclass AS t, ledger_entry_id FROM app.person WHERE person_id = :pid
		  UNION ALL
		  SELECT 'app.application', ledger_entry_id FROM app.application WHERE reference = :'ref'
		  UNION ALL
		  SELECT 'app.licence', ledger_entry_id FROM app.licence WHERE licence_no = :'lno') AS x;

\if :have_receipts
SELECT govledger.seal('main') > 0 AS sealed \gset
ALTER TABLE fx_before ADD COLUMN receipt jsonb;
UPDATE fx_before SET receipt = govledger.receipt(t::regclass, entry);
SELECT is((SELECT count(*)::int FROM fx_before WHERE receipt IS NOT NULL), 3,
	'receipts for the commitment, the application and the licence before erasure');
\else
SELECT skip('govledger.receipt/verify_receipt/seal are not installed yet', 1);
\endif

-- the erasure ----------------------------------------------------------------
SELECT pg_temp.fx_as('officer', '{"sub": "officer-chen", "district": "110105"}');
SELECT lives_ok($$SELECT api.erase_person('{"id_number": "11010519491231002X", "reason": "erasure request of the data subject"}')$$,
	'an officer carries out the erasure request');
SELECT throws_ok($$SELECT api.erase_person('{"id_number": "11010519491231002X", "reason": "again"}')$$,
	'P0002', NULL, 'the person can no longer be found by identity number');
SELECT pg_temp.fx_reset();
SELECT throws_ok(format('SELECT app.erase_person(%s, %L, %L)', :pid, 'x', 'again'),
	'23505', NULL, 'a person is erased once');

SELECT is((SELECT count(*)::int FROM app.person_data WHERE person_id = :pid), 0,
	'the personal data and the salt are gone');
SELECT is((SELECT count(*)::int FROM app.attestation_payload p JOIN app.attestation a USING (attestation_id)
		   WHERE a.person_id = :pid OR a.representative_id = :pid), 0,
	'signed payloads naming the person are gone');
SELECT is((SELECT representative_id FROM app.company_data WHERE uscc = '91110000600037341L'), NULL,
	'the company register no longer links the person');
SELECT is((SELECT count(*)::int FROM app.person WHERE person_id = :pid), 1,
	'the commitment stays on the ledger');
SELECT ok((SELECT e.ledger_entry_id IS NOT NULL AND e.requested_by LIKE 'officer %'
		   FROM app.erasure e WHERE e.person_id = :pid),
	'the erasure is a ledger entry naming who carried it out');
SELECT is((SELECT count(*)::int FROM app.person_data), 2, 'other people''s data is untouched');
SELECT ok((SELECT bool_and(ok) FROM govledger.verify()), 'govledger.verify finds no damage');
SELECT is((SELECT count(*)::int FROM fx_before
		   WHERE govledger.leaf_hash(t::regclass, entry) = leaf), 3,
	'the leaves of the commitment, application and licence are unchanged');

\if :have_receipts
SELECT is((SELECT count(*)::int FROM fx_before
		   WHERE govledger.verify_receipt(receipt, govledger.verifier_key('main'))), 3,
	'every receipt issued before the erasure still verifies');
SELECT govledger.seal('main') > 0 AS sealed_again \gset
SELECT is((SELECT count(*)::int FROM fx_before
		   WHERE govledger.verify_receipt(govledger.receipt(t::regclass, entry),
										  govledger.verifier_key('main'))), 3,
	'receipts issued after the erasure verify too');
\else
SELECT skip('govledger.receipt/verify_receipt/seal are not installed yet', 2);
\endif

-- the citizen's side and the public's -------------------------------------
SELECT pg_temp.fx_as('citizen', '{"sub": "citizen-wang"}');
SELECT throws_ok('SELECT api.me()', 'P0002', NULL, 'the erased person''s token finds no data');
SELECT throws_ok('SELECT api.my_applications()', '42501', NULL, '... and no applications');
SELECT pg_temp.fx_as('anonymous', '{}');
SELECT is(api.verify_licence(:'lno') ->> 'status', 'valid', 'the licence still checks out publicly');
SELECT ok(api.verify_licence(:'lno')::text NOT LIKE '%11010519491231002X%',
	'... without any personal data');
SELECT pg_temp.fx_reset();
SELECT is((SELECT count(*)::int FROM app.access_log WHERE person_id = :pid), 1,
	'the access log keeps the official''s read (by pseudonymous id)');
SELECT is((SELECT count(*)::int FROM app.application_event e JOIN app.application a USING (application_id)
		   WHERE a.reference = :'ref'), 4, 'the application''s history is intact');

SELECT * FROM finish();
ROLLBACK;
