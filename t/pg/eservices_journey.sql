-- t/pg/eservices_journey.sql: the business-licence journey at the SQL level,
-- called the way the gateway calls it (role and request.jwt.claims set per
-- request): agencies attest, the art-gallery owner applies in the app, the
-- attestations are found and verified automatically, an officer approves,
-- the licence is issued and anyone can check it.  Then the rejection paths:
-- forged signature, replay, wrong agency, revoked and suspended
-- attestations, invalid USCC, another citizen's application, an officer of
-- another district, malformed input (an error, and nothing written).
\set ON_ERROR_STOP 1
\set QUIET 1
BEGIN;
SELECT to_regprocedure('govledger.verify_signature(text,bytea,bytea,bytea)') IS NOT NULL
	AS have_sig \gset
\if :have_sig
SELECT plan(77);
\ir ../e2e/fixtures/eservices_pgtap_setup.sql
\ir ../e2e/fixtures/eservices_fixture.sql

CREATE TEMP VIEW fx_att AS
	SELECT f.name, a.attestation_id
	FROM fx_signed f JOIN app.attestation a
	  ON a.payload_sha256 = sha256(convert_to(f.payload, 'UTF8'));
GRANT SELECT ON fx_att TO PUBLIC;

-- agencies attest --------------------------------------------------------
SELECT pg_temp.fx_as('agency', '{"sub": "psb-gateway", "agency": "PSB-110105"}');
SELECT lives_ok($$SELECT api.attest(body) FROM fx_signed WHERE name = 'id_wang'$$,
	'the public security bureau attests the gallery owner''s identity');
SELECT throws_ok($$SELECT api.attest(body) FROM fx_signed WHERE name = 'co_gallery'$$,
	'42501', 'payload names agency SAMR-110105, the token PSB-110105',
	'an agency cannot record another agency''s statement');
SELECT pg_temp.fx_as('agency', '{"sub": "samr-gateway", "agency": "SAMR-110105"}');
SELECT lives_ok($$SELECT api.attest(body) FROM fx_signed WHERE name = 'co_gallery'$$,
	'the market regulator attests the gallery company');
SELECT throws_ok($$SELECT api.attest(body) FROM fx_signed WHERE name = 'co_gallery'$$,
	'23505', NULL, 'a replayed attestation is refused');
SELECT throws_ok($$SELECT api.attest(body) FROM fx_signed WHERE name = 'co_zhao_forged'$$,
	'22023', 'attestation signature does not verify under key SAMR-110105/k1',
	'a forged agency signature is refused');
SELECT throws_ok($$SELECT api.revoke(body) FROM fx_signed WHERE name = 'co_gallery_as_revocation'$$,
	'22023', 'payload has an unknown field "kind"',
	'an attestation cannot be replayed as a revocation');
SELECT throws_ok($$SELECT api.attest(replace(body, '"k1"', '"k9"')) FROM fx_signed WHERE name = 'co_zhao'$$,
	'22023', 'agency key SAMR-110105/k9 is unknown or not valid now',
	'an unknown key is refused');
SELECT is((SELECT count(*)::int FROM app.attestation), 1,
	'the agency sees only its own attestation');
-- an agency authenticated by its client certificate (no agency claim)
SELECT pg_temp.fx_reset();
INSERT INTO app.agency_client VALUES ('CN=samr-gw,O=SAMR Chaoyang,C=CN', 'SAMR-110105');
SELECT pg_temp.fx_as('agency', '{"sub": "CN=samr-gw,O=SAMR Chaoyang,C=CN", "role": "agency", "x5t": "ab"}');
SELECT is(app.current_agency(), 'SAMR-110105', 'a client certificate subject maps to its agency');
SELECT is((SELECT count(*)::int FROM app.attestation), 1, '... which sees its own attestations');
SELECT pg_temp.fx_as('agency', '{"sub": "CN=unknown", "role": "agency"}');
SELECT throws_ok($$SELECT api.attest(body) FROM fx_signed WHERE name = 'co_zhao'$$,
	'42501', 'the token names no registered agency', 'an unmapped certificate is refused');
SELECT pg_temp.fx_as('agency', '{"sub": "CN=samr-gw,O=SAMR Chaoyang,C=CN", "agency": "PSB-110105"}');
SELECT is(app.current_agency(), 'PSB-110105', 'an explicit agency claim takes precedence');
SELECT pg_temp.fx_reset();
SELECT is((SELECT count(*)::int FROM app.attestation a JOIN app.company_data c
		   ON c.company_id = a.company_id WHERE c.uscc = '92340602MA2UK33127'),
	0, 'nothing was written for the refused statements');
SELECT is((SELECT count(*)::int FROM app.attestation_payload), 2,
	'each accepted attestation keeps its signed payload off-ledger');

-- the gallery owner applies in the app -----------------------------------
SELECT pg_temp.fx_as('citizen', '{"sub": "citizen-wang"}');
SELECT api.submit_application(json_build_object(
	'service', 'art_gallery_licence', 'district', '110105',
	'id_number', '11010519491231002X', 'company_code', '91110000600037341L',
	'materials', json_build_array(json_build_object('name', 'lease contract',
		'sha256', repeat('ab', 32), 'media_type', 'application/pdf')))::text)
	->> 'reference' AS ref \gset
SELECT is(api.application(:'ref') ->> 'status', 'verified',
	'identity and company are verified automatically');
SELECT results_eq(
	format($$SELECT requirement, satisfied, attestation_id FROM app.verification v
			 JOIN app.application a USING (application_id)
			 WHERE a.reference = %L ORDER BY requirement$$, :'ref'),
	$$SELECT r, true, (SELECT attestation_id FROM fx_att WHERE name = n)
	  FROM (VALUES ('company_registered', 'co_gallery'),
				   ('identity_verified', 'id_wang')) AS x(r, n)$$,
	'each requirement names the attestation that satisfied it');
SELECT is(json_array_length(api.my_applications()), 1, 'the citizen lists his application');
SELECT is(api.application(lower(:'ref')) -> 'materials' -> 0 ->> 'sha256', repeat('ab', 32),
	'materials are kept as document hashes');
SELECT throws_ok($$SELECT api.officer_queue()$$, '42501', NULL,
	'a citizen cannot call officer functions');

-- another citizen sees nothing of it -------------------------------------
SELECT pg_temp.fx_as('citizen', '{"sub": "citizen-li"}');
SELECT throws_ok(format('SELECT api.application(%L)', :'ref'), 'P0002', 'no such application',
	'another citizen''s application is not found');
SELECT is((SELECT count(*)::int FROM app.application), 0, 'RLS hides other citizens'' applications');
SELECT is((SELECT count(*)::int FROM app.verification), 0, '... and their verification');
SELECT is((SELECT array_agg(id_number) FROM app.person_data), ARRAY['120223198902021249'],
	'a citizen reads only his own personal data');
SELECT is(api.me() ->> 'id_number', '120223198902021249', 'api.me gives the caller''s own data');
SELECT throws_ok($$SELECT api.submit_application('{"service": "art_gallery_licence", "district": "110105", "id_number": "11010519491231002X"}')$$,
	'42501', 'id_number is not the signed-in citizen''s', 'nobody applies in another person''s name');
SELECT throws_ok($$SELECT api.submit_application('{"service": "art_gallery_licence", "district": "110105", "id_number": "120223198902021249", "channel": "counter"}')$$,
	'42501', NULL, 'citizens cannot use the counter channel');

-- an officer of another district ----------------------------------------
SELECT pg_temp.fx_as('officer', '{"sub": "officer-sun", "district": "110108"}');
SELECT is(json_array_length(api.officer_queue()), 0, 'the Haidian queue does not hold it');
SELECT throws_ok(format('SELECT api.officer_open(%L)', :'ref'), 'P0002', NULL,
	'an officer of another district cannot open it');
SELECT throws_ok(format($$SELECT api.decide(%L, '{"outcome": "approve", "reason": "x"}')$$, :'ref'),
	'P0002', NULL, 'an officer of another district cannot decide it');
SELECT pg_temp.fx_as('officer', '{"sub": "officer-sun", "district": "110105"}');
SELECT throws_ok($$SELECT api.officer_queue()$$, '42501', NULL,
	'a token naming a district the officer does not belong to is refused');

-- the district's officer decides ----------------------------------------
SELECT pg_temp.fx_as('officer', '{"sub": "officer-chen", "district": "110105"}');
SELECT is(api.officer_queue() -> 0 ->> 'reference', :'ref', 'the application is in the Chaoyang queue');
SELECT ok(api.officer_queue() -> 0 -> 'applicant' IS NULL
		  AND api.officer_queue()::text NOT LIKE '%11010519491231002X%',
	'the queue carries no personal data');
SELECT is(api.officer_open(:'ref') -> 'applicant' ->> 'id_number', '11010519491231002X',
	'opening the application shows the applicant');
SELECT api.decide(:'ref', '{"outcome": "approve", "reason": "identity and company attested"}')
	->> 'licence_no' AS lno \gset
SELECT ok(:'lno' ~ '^L110105-[0-9]{4}-[0-9]{8}$', 'approval issues a licence');
SELECT throws_ok(format($$SELECT api.decide(%L, '{"outcome": "reject", "reason": "x"}')$$, :'ref'),
	'23505', NULL, 'an application is decided once');
SELECT throws_ok(format($$SELECT api.decide(%L, '{"outcome": "maybe", "reason": "x"}')$$, :'ref'),
	'22023', 'outcome must be approve or reject', 'an unknown outcome is refused');

-- the citizen sees the outcome and who read his data --------------------
SELECT pg_temp.fx_as('citizen', '{"sub": "citizen-wang"}');
SELECT is(ARRAY(SELECT e ->> 'status' FROM json_array_elements(api.application(:'ref') -> 'history') AS e),
	ARRAY['submitted', 'verified', 'approved', 'issued'], 'the status history');
SELECT is(api.application(:'ref') -> 'licence' ->> 'licence_no', :'lno', 'the licence is on the application');
SELECT is(json_array_length(api.my_access_log()), 1, 'the officer''s read is in the citizen''s access log');
SELECT is(api.my_access_log() -> 0 ->> 'official', 'officer-chen', 'the log names the official');
SELECT is(api.my_access_log() -> 0 ->> 'application', :'ref', '... and the application');

-- anyone verifies the licence --------------------------------------------
SELECT pg_temp.fx_as('anonymous', '{}');
SELECT is(api.verify_licence(:'lno') ->> 'status', 'valid', 'the public sees a valid licence');
SELECT is(api.verify_licence(:'lno') -> 'licence' -> 'company' ->> 'uscc', '91110000600037341L',
	'... issued to the gallery company');
SELECT ok(api.verify_licence(:'lno')::text NOT LIKE '%11010519491231002X%'
		  AND api.verify_licence(:'lno')::text NOT LIKE '%王伟%',
	'... without personal data');
SELECT throws_ok($$SELECT api.verify_licence('L110105-2026-99999999')$$, 'P0002', 'no such licence',
	'an unknown licence is not found');
SELECT throws_ok($$SELECT api.verify_licence('DROP TABLE x')$$, '22023', 'malformed licence number',
	'a malformed licence number is refused');
SELECT throws_ok($$SELECT api.my_applications()$$, '42501', NULL,
	'the anonymous role cannot call citizen functions');
SELECT throws_ok($$SELECT count(*) FROM app.licence$$, '42501', NULL,
	'the anonymous role cannot read tables');

-- revoked attestation, review-flagged USCC -------------------------------
SELECT pg_temp.fx_as('agency', '{"sub": "psb-gateway", "agency": "PSB-110105"}');
SELECT lives_ok($$SELECT api.attest(body) FROM fx_signed WHERE name IN ('id_li', 'id_zhao', 'qual_zhao')$$,
	'identities and a qualification are attested');
SELECT pg_temp.fx_as('agency', '{"sub": "samr-gateway", "agency": "SAMR-110105"}');
SELECT lives_ok($$SELECT api.attest(body) FROM fx_signed WHERE name = 'co_li'$$,
	'a company with a code flagged for review is attested');
SELECT lives_ok($$SELECT api.revoke(body) FROM fx_signed WHERE name = 'rev_co_li'$$,
	'the market regulator revokes a company attestation');
SELECT lives_ok($$SELECT api.revoke(body) FROM fx_signed WHERE name = 'susp_gallery'$$,
	'... and records a past suspension of another');
SELECT pg_temp.fx_as('agency', '{"sub": "psb-gateway", "agency": "PSB-110105"}');
SELECT throws_ok($$SELECT api.revoke(replace(body, 'SAMR', 'PSB'))
				   FROM fx_signed WHERE name = 'rev_co_li'$$,
	'P0002', NULL, 'an agency cannot revoke another agency''s attestation');
SELECT pg_temp.fx_reset();
SELECT is(app.attestation_problem((SELECT attestation_id FROM fx_att WHERE name = 'co_li'), now()),
	'revoked: registration cancelled', 'a revoked attestation is not in force');
SELECT ok(app.attestation_problem((SELECT attestation_id FROM fx_att WHERE name = 'co_gallery'), now()) IS NULL
		  AND app.attestation_problem((SELECT attestation_id FROM fx_att WHERE name = 'co_gallery'),
									  '2026-03-05T00:00:00Z') = 'suspended: annual report overdue',
	'a suspension applies only inside its window');
SELECT is((SELECT uscc_review FROM app.company_data WHERE uscc = '91350211M0000XUF46'), true,
	'a legal code failing GB 32100 is stored and flagged for review');

SELECT pg_temp.fx_as('citizen', '{"sub": "citizen-li"}');
SELECT api.submit_application('{"service": "art_gallery_licence", "district": "110105", "id_number": "120223198902021249", "company_code": "91350211M0000XUF46"}')
	->> 'reference' AS ref_li \gset
SELECT is(api.application(:'ref_li') ->> 'status', 'needs_review',
	'a revoked company attestation sends the application to review');
SELECT is((SELECT v ->> 'detail' FROM json_array_elements(api.application(:'ref_li') -> 'verification') AS v
		   WHERE v ->> 'requirement' = 'company_registered'),
	format('attestation %s revoked: registration cancelled',
		   (SELECT attestation_id FROM fx_att WHERE name = 'co_li')),
	'... and says which attestation was revoked and why');

-- a suspended company status, then an active one -------------------------
SELECT pg_temp.fx_as('agency', '{"sub": "samr-gateway", "agency": "SAMR-110105"}');
SELECT lives_ok($$SELECT api.attest(body) FROM fx_signed WHERE name = 'co_zhao_suspended'$$,
	'a company is attested as suspended');
SELECT pg_temp.fx_as('citizen', '{"sub": "citizen-zhao"}');
SELECT is(api.submit_application('{"service": "food_business_licence", "district": "110105", "id_number": "130132199210293822", "company_code": "92340602MA2UK33127"}')::jsonb
		  #>> '{verification,0,detail}',
	format('attestation %s: company status suspended',
		   (SELECT attestation_id FROM fx_att WHERE name = 'co_zhao_suspended')),
	'a company registered as suspended does not satisfy the requirement');
SELECT pg_temp.fx_as('agency', '{"sub": "samr-gateway", "agency": "SAMR-110105"}');
SELECT lives_ok($$SELECT api.attest(body) FROM fx_signed WHERE name = 'co_zhao'$$,
	'the company is attested as active again');
SELECT pg_temp.fx_as('citizen', '{"sub": "citizen-zhao"}');
SELECT is(api.submit_application('{"service": "food_business_licence", "district": "110105", "id_number": "130132199210293822", "company_code": "92340602MA2UK33127"}')::jsonb
		  ->> 'status', 'verified',
	'the newest attestation in force (active, with the qualification) verifies it');

-- app.requirement_checks writes out the rule of app.attestation_problem in
-- one query: it must decide exactly as checking each candidate with
-- app.attestation_problem, newest first, does -- for every applicant and
-- company of the fixture, every service, and times just before, at and
-- just after each limit of a validity, revocation or suspension
SELECT pg_temp.fx_reset();
CREATE FUNCTION pg_temp.fx_checks_one_by_one(svc text, pid bigint, cid bigint,
											 t timestamptz)
RETURNS TABLE (requirement text, attestation_id bigint, satisfied boolean,
			   detail text)
LANGUAGE plpgsql AS $f$
DECLARE
	req record;
	cand record;
	found_id bigint;
	why text;
BEGIN
	FOR req IN SELECT r.requirement, r.qualification FROM app.service_requirement r
			   WHERE r.service_code = svc ORDER BY r.requirement
	LOOP
		found_id := NULL;
		why := CASE WHEN req.requirement IN ('company_registered', 'address')
						 AND cid IS NULL THEN 'no company given' END;
		FOR cand IN
			SELECT x.attestation_id AS id, x.company_status FROM app.attestation x
			WHERE x.kind = req.requirement
			  AND CASE req.requirement
				  WHEN 'identity_verified' THEN x.person_id = pid
				  WHEN 'qualification' THEN x.person_id = pid
					   AND x.qualification = req.qualification
				  WHEN 'company_registered' THEN x.company_id = cid
					   AND x.representative_id = pid
				  WHEN 'address' THEN x.company_id = cid
				  END
			ORDER BY x.recorded_at DESC, x.attestation_id DESC
		LOOP
			IF app.attestation_problem(cand.id, t) IS NOT NULL THEN
				why := coalesce(why, 'attestation ' || cand.id || ' '
								|| app.attestation_problem(cand.id, t));
			ELSIF req.requirement = 'company_registered'
				  AND cand.company_status <> 'active' THEN
				why := coalesce(why, 'attestation ' || cand.id
								|| ': company status ' || cand.company_status);
			ELSE
				found_id := cand.id;
				EXIT;
			END IF;
		END LOOP;
		requirement := req.requirement;
		attestation_id := found_id;
		satisfied := found_id IS NOT NULL;
		detail := CASE WHEN found_id IS NOT NULL
					   THEN 'attestation ' || found_id || ' in force'
					   ELSE coalesce(why, 'no attestation') END;
		RETURN NEXT;
	END LOOP;
END
$f$;
CREATE TEMP TABLE fx_check_cases AS
	SELECT s.service_code AS svc, p.person_id AS pid, c.company_id AS cid, t
	FROM app.service s
	CROSS JOIN app.person p
	CROSS JOIN (SELECT company_id FROM app.company UNION ALL SELECT NULL) c
	CROSS JOIN (SELECT now() UNION
				SELECT x + d
				FROM (SELECT valid_from FROM app.attestation
					  UNION SELECT valid_until FROM app.attestation
					  UNION SELECT effective_at FROM app.revocation
					  UNION SELECT effective_until FROM app.revocation) AS b(x),
					 unnest(ARRAY['-1 second', '0', '1 second']::interval[]) AS d
				WHERE x IS NOT NULL) AS times(t);
SELECT ok((SELECT count(*) FROM fx_check_cases) > 0
		  AND NOT EXISTS (
			SELECT 1 FROM fx_check_cases k
			WHERE ARRAY(SELECT row(c.*)::text
						FROM app.requirement_checks(k.svc, k.pid, k.cid, k.t) c)
				  IS DISTINCT FROM
				  ARRAY(SELECT row(c.*)::text
						FROM pg_temp.fx_checks_one_by_one(k.svc, k.pid, k.cid, k.t) c)),
	'requirement_checks decides as app.attestation_problem does, candidate by candidate');

-- malformed input: a clear error and nothing written ----------------------
SELECT pg_temp.fx_reset();
CREATE TEMP TABLE fx_counts AS
	SELECT (SELECT count(*) FROM app.application) AS apps,
		   (SELECT count(*) FROM app.material) AS materials,
		   (SELECT count(*) FROM app.application_event) AS events,
		   (SELECT count(*) FROM govledger.entry) AS entries;
GRANT SELECT ON fx_counts TO PUBLIC;
SELECT pg_temp.fx_as('citizen', '{"sub": "citizen-wang"}');
SELECT throws_ok($$SELECT api.submit_application('{"service": "art_gallery_licence", "district": "110105", "id_number": "11010519491231002X", "company_code": "91110000600037341N"}')$$,
	'22023', 'invalid unified social credit code (invalid_check)', 'an invalid USCC is refused');
SELECT throws_ok($$SELECT api.submit_application('{"service": "art_gallery_licence", "district": "110105", "id_number": "11010519491231002X", "company_code": "9111000060003IOZSV"}')$$,
	'22023', 'invalid unified social credit code (invalid_format)', 'a malformed USCC is refused');
SELECT throws_ok($$SELECT api.submit_application('not json')$$, '22P02', 'request body is not valid JSON',
	'a body that is not JSON is refused');
SELECT throws_ok($$SELECT api.submit_application('[1, 2]')$$, '22023', 'request body must be a JSON object',
	'a body that is not an object is refused');
SELECT throws_ok($$SELECT api.submit_application('{"service": "art_gallery_licence", "district": "110105", "id_number": "11010519491231002X", "admin": true}')$$,
	'22023', 'request body has an unknown field "admin"', 'unknown fields are refused');
SELECT throws_ok($$SELECT api.submit_application('{"service": "art_gallery_licence", "district": "110105", "id_number": "11010519491231002X", "materials": [{"name": "x", "sha256": "zz"}]}')$$,
	'22023', 'material 1: sha256 must be 64 hex digits', 'a bad document hash is refused');
SELECT throws_ok($$SELECT api.submit_application('{"service": "art_gallery_licence", "district": "110105", "id_number": 11010519491231002}')$$,
	'22023', 'field "id_number" must be a string', 'a number where a string belongs is refused');
SELECT throws_ok($$SELECT api.submit_application('{"service": "no_such_service", "district": "110105", "id_number": "11010519491231002X"}')$$,
	'22023', 'unknown service "no_such_service"', 'an unknown service is refused');
SELECT throws_ok($$SELECT api.submit_application('{"service": "art_gallery_licence", "district": "999999", "id_number": "11010519491231002X"}')$$,
	'22023', 'unknown district "999999"', 'an unknown district is refused');
SELECT pg_temp.fx_reset();
SELECT ok((SELECT (SELECT count(*) FROM app.application) = apps
			  AND (SELECT count(*) FROM app.material) = materials
			  AND (SELECT count(*) FROM app.application_event) = events
			  AND (SELECT count(*) FROM govledger.entry) = entries FROM fx_counts),
	'the refused requests wrote nothing, not even ledger entries');

-- the counter channel -----------------------------------------------------
SELECT pg_temp.fx_as('officer', '{"sub": "officer-chen", "district": "110105"}');
SELECT is(api.submit_application('{"service": "art_gallery_licence", "channel": "counter", "id_number": "11010519491231002X", "company_code": "91110000600037341L"}')::jsonb
		  ->> 'channel', 'counter', 'an officer submits at the counter for the citizen');
SELECT is((SELECT count(*)::int FROM app.counter_visit), 1, 'the counter visit is counted');
SELECT pg_temp.fx_as('citizen', '{"sub": "citizen-wang"}');
SELECT is(json_array_length(api.my_access_log()), 2, 'the counter read is in the access log too');
SELECT is(json_array_length(api.my_applications()), 2, 'both applications are the citizen''s');
SELECT pg_temp.fx_reset();
\else
SELECT plan(1);
SELECT skip('govledger.verify_signature(alg, pubkey, msg, sig) is not installed: agency signatures cannot be checked', 1);
\endif
SELECT * FROM finish();
ROLLBACK;
