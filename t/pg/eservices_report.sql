-- t/pg/eservices_report.sql: the report views on a known small data set
-- (times in the district's zone, Asia/Shanghai, including one application
-- just after local midnight), and their CSV export.
\set ON_ERROR_STOP 1
\set QUIET 1
BEGIN;
SELECT to_regprocedure('govledger.verify_signature(text,bytea,bytea,bytea)') IS NOT NULL
	AS have_sig \gset
SELECT plan(9);
\ir ../e2e/fixtures/eservices_pgtap_setup.sql
\ir ../e2e/fixtures/eservices_fixture.sql
SET LOCAL TimeZone = 'UTC';

CREATE TEMP TABLE fx_app (n int, at timestamptz, channel text, hours_to_licence numeric, verified boolean);
INSERT INTO fx_app VALUES
	(1, '2026-01-05 09:00+08', 'app', 2, true),
	(2, '2026-01-05 10:00+08', 'app', 4, true),
	(3, '2026-01-05 11:00+08', 'counter', 10, false),
	(4, '2026-01-06 23:30+08', 'app', 1, false),
	(5, '2026-01-07 00:30+08', 'counter', NULL, false),
	(6, '2026-02-10 09:00+08', 'app', 24, true),
	(7, '2026-02-10 09:30+08', 'app', NULL, false),
	(8, '2026-02-11 09:00+08', 'app', NULL, false);
INSERT INTO app.application (reference, person_id, company_id, service_code, channel,
							 district_code, submitted_at, submitted_by)
SELECT 'A' || lpad(to_hex(n), 16, '0'), :fx_wang_pid, NULL, 'art_gallery_licence', channel,
	   '110105', at, channel
FROM fx_app ORDER BY n;
INSERT INTO app.licence (licence_no, application_id, company_id, service_code, district_code,
						 issued_at, valid_until)
SELECT 'L110105-2026-' || lpad(n::text, 8, '0'), a.application_id, NULL, 'art_gallery_licence',
	   '110105', f.at + make_interval(hours => f.hours_to_licence::int),
	   f.at + interval '1 year'
FROM fx_app f JOIN app.application a ON a.reference = 'A' || lpad(to_hex(f.n), 16, '0')
WHERE f.hours_to_licence IS NOT NULL;
INSERT INTO app.counter_visit (district_code, visited_at, purpose, application_id)
SELECT '110105', f.at, 'application', a.application_id
FROM fx_app f JOIN app.application a ON a.reference = 'A' || lpad(to_hex(f.n), 16, '0')
WHERE f.channel = 'counter';
INSERT INTO app.counter_visit (district_code, visited_at, purpose)
VALUES ('110105', '2026-01-05 14:00+08', 'enquiry');

SELECT results_eq('SELECT day, channel, applications FROM report.applications_per_day ORDER BY 1, 2',
	$$VALUES ('2026-01-05'::date, 'app'::text, 2::bigint), ('2026-01-05', 'counter', 1),
			 ('2026-01-06', 'app', 1), ('2026-01-07', 'counter', 1),
			 ('2026-02-10', 'app', 2), ('2026-02-11', 'app', 1)$$,
	'applications per local day and channel');
SELECT results_eq('SELECT month, online, counter, total, online_share FROM report.online_share ORDER BY 1',
	$$VALUES ('2026-01-01'::date, 3::bigint, 2::bigint, 5::bigint, 0.6000::numeric),
			 ('2026-02-01', 3, 0, 3, 1.0000)$$,
	'online share per month');
SELECT results_eq('SELECT month, licences, p50_hours, p90_hours FROM report.processing_time ORDER BY 1',
	$$VALUES ('2026-01-01'::date, 4::bigint, 3.00::numeric, 8.20::numeric),
			 ('2026-02-01', 1, 24.00, 24.00)$$,
	'processing time p50/p90 from submission to licence');
SELECT results_eq('SELECT day, district_code, visits FROM report.counter_visits_per_day ORDER BY 1',
	$$VALUES ('2026-01-05'::date, '110105'::text, 2::bigint), ('2026-01-07', '110105', 1)$$,
	'counter visits per local day');

\if :have_sig
SELECT pg_temp.fx_as('agency', '{"sub": "psb", "agency": "PSB-110105"}');
SELECT api.attest(body) IS NOT NULL AS a1 FROM fx_signed WHERE name = 'id_wang' \gset
SELECT pg_temp.fx_reset();
-- verified applications: every requirement satisfied by the attestation
INSERT INTO app.verification (application_id, requirement, attestation_id, satisfied, detail)
SELECT a.application_id, r.requirement,
	   CASE WHEN f.verified THEN (SELECT max(attestation_id) FROM app.attestation) END,
	   f.verified, 'fixture'
FROM fx_app f JOIN app.application a ON a.reference = 'A' || lpad(to_hex(f.n), 16, '0'),
	 (VALUES ('identity_verified'), ('company_registered')) AS r(requirement)
WHERE f.n <> 8;
SELECT results_eq('SELECT month, applications, auto_verified, rate FROM report.auto_verification_rate ORDER BY 1',
	$$VALUES ('2026-01-01'::date, 5::bigint, 2::bigint, 0.4000::numeric),
			 ('2026-02-01', 3, 1, 0.3333)$$,
	'automatic-verification rate per month');
\else
SELECT skip('govledger.verify_signature is not installed: no attestation to verify against', 1);
\endif

SELECT pg_temp.fx_as('reporter', '{"sub": "bi"}');
SELECT results_eq($$SELECT * FROM api.report_csv('online_share')$$,
	$$VALUES ('month,online,counter,total,online_share'::text),
			 ('2026-01-01,3,2,5,0.6000'), ('2026-02-01,3,0,3,1.0000')$$,
	'CSV export: a header, then one line per row');
SELECT is((SELECT count(*)::int FROM api.report_csv('applications_per_day')), 7,
	'CSV export of the daily view');
SELECT throws_ok($$SELECT * FROM api.report_csv('no_such_view')$$, 'P0002', 'no such report',
	'an unknown report is not found');
SELECT pg_temp.fx_reset();
SELECT is((SELECT count(*)::int FROM report.online_share o
		   WHERE o.online + o.counter <> o.total), 0, 'the channels add up');

SELECT * FROM finish();
ROLLBACK;
