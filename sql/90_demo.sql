-- sql/90_demo.sql
--
-- Demo data for `make run` (never loaded by the tests): three districts,
-- three agencies with Ed25519 key pairs, officers, 2,500 citizens and 1,000
-- companies with signed attestations, and a year of applications through
-- the app and the counter, the online share rising from about a third to
-- over four fifths.  Loaded once, by psql, with -v var_dir=<var/>.
--
-- The agencies' private keys are generated into var/demo/keys by
-- sql/demo/make_keys.sh and never enter the database: the payloads are
-- written to a file, signed outside the database by sql/demo/sign.sh, and the
-- signatures read back.  The year of history is back-filled with set-based
-- INSERTs carrying the historical times (the ledger records the time each
-- row was recorded, i.e. the load).  The automatic verification of the
-- history uses the same rule as app.auto_verify, at the time of submission.
-- Demo tokens (sql/demo/make_tokens.sh) and what to try go to
-- var/banner.txt.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
\if :{?var_dir}
\else
\set var_dir var
\endif
\getenv gl_root GOVLEDGER_ROOT
\if :{?gl_root}
\else
\set gl_root .
\endif
\set demo_dir :var_dir /demo
\setenv GL_DEMO :demo_dir
\setenv GL_ROOT :gl_root
\pset tuples_only on
\pset format unaligned
\pset footer off

SELECT setseed(0.2026);

-- reference data -----------------------------------------------------------
INSERT INTO app.district VALUES
	('110101', 'Dongcheng'), ('110105', 'Chaoyang'), ('110108', 'Haidian')
ON CONFLICT DO NOTHING;
INSERT INTO app.agency (agency_code, name, registered_at) VALUES
	('PSB-110000', 'Beijing Municipal Public Security Bureau', now() - interval '2 years'),
	('SAMR-110000', 'Beijing Municipal Administration for Market Regulation', now() - interval '2 years'),
	('MOFCOM', 'Ministry of Commerce', now() - interval '2 years');
INSERT INTO app.service VALUES
	('art_gallery_licence', 'Art gallery business licence', 365),
	('food_business_licence', 'Food business licence', 1825),
	('retail_licence', 'Retail business licence', 1095),
	('foreign_trade_registration', 'Foreign trade operator registration', 1095);
INSERT INTO app.service_requirement VALUES
	('art_gallery_licence', 'identity_verified', NULL),
	('art_gallery_licence', 'company_registered', NULL),
	('food_business_licence', 'identity_verified', NULL),
	('food_business_licence', 'company_registered', NULL),
	('food_business_licence', 'address', NULL),
	('food_business_licence', 'qualification', 'food_safety_manager'),
	('retail_licence', 'identity_verified', NULL),
	('retail_licence', 'company_registered', NULL),
	('foreign_trade_registration', 'identity_verified', NULL),
	('foreign_trade_registration', 'company_registered', NULL),
	('foreign_trade_registration', 'qualification', 'foreign_trade_operator');
INSERT INTO app.officer (subject, full_name, district_code)
SELECT 'officer-' || d || '-' || i, (ARRAY['陈静', '孙丽', '周强', '吴敏', '郑华', '冯军', '何洁', '许峰', '韩雪'])[n * 3 + i], d
FROM unnest(ARRAY['110101', '110105', '110108']) WITH ORDINALITY AS x(d, n0),
	 LATERAL (SELECT n0::int - 1 AS n) AS nn, generate_series(1, 3) AS i;
INSERT INTO app.agency_client VALUES
	('CN=psb-gateway,O=Beijing PSB,C=CN', 'PSB-110000'),
	('CN=samr-gateway,O=Beijing SAMR,C=CN', 'SAMR-110000'),
	('CN=mofcom-gateway,O=MOFCOM,C=CN', 'MOFCOM');

-- agency keys: generated outside, public halves read back
\! mkdir -p "$GL_DEMO" && sh "$GL_ROOT/sql/demo/make_keys.sh" "$GL_DEMO/keys" PSB-110000 SAMR-110000 MOFCOM > "$GL_DEMO/agency_keys.tsv"
\set agency_keys `cat "$GL_DEMO/agency_keys.tsv"`
INSERT INTO app.agency_key (agency_code, key_id, alg, public_key, valid_from)
SELECT split_part(l, E'\t', 1), 'demo-1', 'ed25519', decode(split_part(l, E'\t', 2), 'hex'),
	   now() - interval '2 years'
FROM regexp_split_to_table(:'agency_keys', E'\n') AS l WHERE l <> '';

-- citizens ------------------------------------------------------------------
CREATE TEMP TABLE demo_person AS
SELECT n,
	   body || app.ric_check_char(body) AS id_number,
	   (ARRAY['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭', '何', '高', '林', '罗'])[1 + (n * 7) % 20]
	   || (ARRAY['伟', '芳', '娜', '敏', '静', '强', '磊', '军', '洋', '勇', '艳', '杰', '涛', '明', '超', '秀英', '建华', '晓东', '丽娟', '志强'])[1 + (n * 13) % 20]
	   AS full_name,
	   '北京市' || (ARRAY['东城区', '朝阳区', '海淀区'])[1 + n % 3] || (n % 300 + 1) || '号' AS address
FROM (SELECT n, (ARRAY['110101', '110105', '110108'])[1 + n % 3]
			 || to_char(date '1955-01-01' + (n * 3583 % 16000), 'YYYYMMDD')
			 || lpad((n % 997)::text, 3, '0') AS body
	  FROM generate_series(1, 2500) AS n) AS x;
CREATE TEMP TABLE demo_person_id AS
SELECT n, app.register_person('citizen-' || n, id_number, full_name, address) AS person_id
FROM demo_person ORDER BY n;

-- companies: company n belongs to citizen n; kinds decide the service ------
CREATE TEMP TABLE demo_company AS
SELECT n, kind, district, uscc, name, address FROM (
	SELECT n, (ARRAY['gallery', 'food', 'food', 'retail', 'retail', 'trade'])[1 + n % 6] AS kind,
		   (ARRAY['110101', '110105', '110108'])[1 + (n + 1) % 3] AS district,
		   CASE WHEN n <= 3 THEN (ARRAY['91350211M0000XUF46', '91350100M0001TGQXM', '91350203M0001FUE2P'])[n]
				ELSE pre || app.uscc_check_char(pre) END AS uscc,
		   (ARRAY['三里屯', '望京', '国贸', '中关村', '五道口', '王府井', '簋街', '798', '双井', '亮马桥'])[1 + n % 10]
		   || (ARRAY['艺术', '美食', '餐饮', '百货', '便利', '国际贸易'])[1 + n % 6]
		   || n || (ARRAY['画廊有限公司', '餐饮有限公司', '食品有限公司', '商贸有限公司', '超市有限公司', '进出口有限公司'])[1 + n % 6] AS name,
		   '北京市' || (ARRAY['东城区', '朝阳区', '海淀区'])[1 + (n + 1) % 3] || '商业街' || n || '号' AS address
	FROM (SELECT n, org || app.org_code_check_char(org) AS orgc, n0
		  FROM (SELECT n, n AS n0, lpad((10000000 + n * 7919 % 89999999)::text, 8, '0') AS org
				FROM generate_series(1, 1000) AS n) AS o) AS oc,
		 LATERAL (SELECT '91' || (ARRAY['110101', '110105', '110108'])[1 + (n + 1) % 3] || orgc AS pre) AS p
) AS c;
CREATE TEMP TABLE demo_company_id AS
SELECT c.n, app.register_company(c.uscc, c.name, c.address, p.person_id) AS company_id
FROM demo_company c JOIN demo_person_id p USING (n) ORDER BY c.n;

-- attestations, signed outside the database ------------------------------
SELECT to_regprocedure('govledger.verify_signature(text,bytea,bytea,bytea)') IS NOT NULL
	AS demo_have_sig \gset
CREATE TEMP TABLE demo_att (
	id int PRIMARY KEY, agency text, kind text, person_id bigint, company_id bigint,
	representative_id bigint, company_status text, qualification text,
	valid_from timestamptz, payload text, sig bytea);
INSERT INTO demo_att (id, agency, kind, person_id, valid_from, payload)
SELECT n, 'PSB-110000', 'identity_verified', i.person_id, date '2025-06-01',
	   jsonb_build_object('type', 'attestation', 'v', 1, 'agency', 'PSB-110000',
		   'kind', 'identity_verified', 'subject', jsonb_build_object('id_number', p.id_number),
		   'claims', jsonb_build_object('full_name', p.full_name),
		   'valid_from', '2025-06-01T00:00:00+08:00', 'nonce', 'demo-identity-' || lpad(n::text, 6, '0'))::text
FROM demo_person p JOIN demo_person_id i USING (n);
INSERT INTO demo_att (id, agency, kind, company_id, representative_id, company_status, valid_from, payload)
SELECT 10000 + n, 'SAMR-110000', 'company_registered', ci.company_id, pi.person_id,
	   CASE WHEN n % 50 = 7 THEN 'suspended' ELSE 'active' END, date '2025-06-01',
	   jsonb_build_object('type', 'attestation', 'v', 1, 'agency', 'SAMR-110000',
		   'kind', 'company_registered', 'subject', jsonb_build_object('uscc', c.uscc),
		   'claims', jsonb_build_object('name', c.name, 'address', c.address,
			   'status', CASE WHEN n % 50 = 7 THEN 'suspended' ELSE 'active' END,
			   'representative_id_number', p.id_number),
		   'valid_from', '2025-06-01T00:00:00+08:00', 'nonce', 'demo-company-' || lpad(n::text, 6, '0'))::text
FROM demo_company c JOIN demo_company_id ci USING (n) JOIN demo_person p USING (n)
	 JOIN demo_person_id pi USING (n);
INSERT INTO demo_att (id, agency, kind, company_id, valid_from, payload)
SELECT 20000 + n, 'SAMR-110000', 'address', ci.company_id, date '2025-06-01',
	   jsonb_build_object('type', 'attestation', 'v', 1, 'agency', 'SAMR-110000',
		   'kind', 'address', 'subject', jsonb_build_object('uscc', c.uscc),
		   'claims', jsonb_build_object('address', c.address),
		   'valid_from', '2025-06-01T00:00:00+08:00', 'nonce', 'demo-address-' || lpad(n::text, 6, '0'))::text
FROM demo_company c JOIN demo_company_id ci USING (n) WHERE c.kind = 'food';
INSERT INTO demo_att (id, agency, kind, person_id, qualification, valid_from, payload)
SELECT 30000 + n, CASE c.kind WHEN 'food' THEN 'SAMR-110000' ELSE 'MOFCOM' END, 'qualification', pi.person_id,
	   CASE c.kind WHEN 'food' THEN 'food_safety_manager' ELSE 'foreign_trade_operator' END,
	   date '2025-06-01',
	   jsonb_build_object('type', 'attestation', 'v', 1,
		   'agency', CASE c.kind WHEN 'food' THEN 'SAMR-110000' ELSE 'MOFCOM' END,
		   'kind', 'qualification', 'subject', jsonb_build_object('id_number', p.id_number),
		   'claims', jsonb_build_object('qualification',
			   CASE c.kind WHEN 'food' THEN 'food_safety_manager' ELSE 'foreign_trade_operator' END),
		   'valid_from', '2025-06-01T00:00:00+08:00', 'nonce', 'demo-qualif-' || lpad(n::text, 6, '0'))::text
FROM demo_company c JOIN demo_person p USING (n) JOIN demo_person_id pi USING (n)
WHERE c.kind IN ('food', 'trade') AND n % 9 <> 4;

\if :demo_have_sig
\o :demo_dir/to_sign_PSB-110000.tsv
SELECT id || E'\t' || encode(sha256(convert_to(payload, 'UTF8')), 'hex') FROM demo_att WHERE agency = 'PSB-110000' ORDER BY id;
\o :demo_dir/to_sign_SAMR-110000.tsv
SELECT id || E'\t' || encode(sha256(convert_to(payload, 'UTF8')), 'hex') FROM demo_att WHERE agency = 'SAMR-110000' ORDER BY id;
\o :demo_dir/to_sign_MOFCOM.tsv
SELECT id || E'\t' || encode(sha256(convert_to(payload, 'UTF8')), 'hex') FROM demo_att WHERE agency = 'MOFCOM' ORDER BY id;
\o
\echo signing the demo attestations outside the database ...
\! for a in PSB-110000 SAMR-110000 MOFCOM; do sh "$GL_ROOT/sql/demo/sign.sh" "$GL_DEMO/keys/$a.pem" attestation -batch "$GL_DEMO/to_sign_$a.tsv" "$GL_DEMO/signed_$a.tsv" || exit 1; done
\set sigs `cat "$GL_DEMO/signed_PSB-110000.tsv" "$GL_DEMO/signed_SAMR-110000.tsv" "$GL_DEMO/signed_MOFCOM.tsv"`
UPDATE demo_att d SET sig = decode(split_part(l, E'\t', 2), 'hex')
FROM regexp_split_to_table(:'sigs', E'\n') AS l
WHERE l <> '' AND d.id = split_part(l, E'\t', 1)::int;

INSERT INTO app.attestation (agency_code, key_id, kind, person_id, company_id, representative_id,
	company_status, qualification, valid_from, payload_sha256, signature)
SELECT agency, 'demo-1', kind, person_id, company_id, representative_id, company_status,
	   qualification, valid_from, sha256(convert_to(payload, 'UTF8')), sig
FROM demo_att ORDER BY id;
INSERT INTO app.attestation_payload (attestation_id, payload)
SELECT a.attestation_id, d.payload
FROM demo_att d JOIN app.attestation a ON a.payload_sha256 = sha256(convert_to(d.payload, 'UTF8'));

-- a few company registrations are revoked during the year
CREATE TEMP TABLE demo_rev AS
SELECT d.id, a.attestation_id, date '2025-12-01' + (d.id * 37 % 300) AS effective_at,
	   jsonb_build_object('type', 'revocation', 'v', 1, 'agency', 'SAMR-110000',
		   'attestation_sha256', encode(a.payload_sha256, 'hex'), 'action', 'revoke',
		   'reason', 'registration cancelled',
		   'effective_at', to_char(date '2025-12-01' + (d.id * 37 % 300), 'YYYY-MM-DD') || 'T00:00:00+08:00',
		   'nonce', 'demo-revocation-' || d.id)::text AS payload,
	   NULL::bytea AS sig
FROM demo_att d JOIN app.attestation a ON a.payload_sha256 = sha256(convert_to(d.payload, 'UTF8'))
WHERE d.kind = 'company_registered' AND d.id % 97 = 11;
\o :demo_dir/to_sign_revocations.tsv
SELECT id || E'\t' || encode(sha256(convert_to(payload, 'UTF8')), 'hex') FROM demo_rev ORDER BY id;
\o
\! sh "$GL_ROOT/sql/demo/sign.sh" "$GL_DEMO/keys/SAMR-110000.pem" revocation -batch "$GL_DEMO/to_sign_revocations.tsv" "$GL_DEMO/signed_revocations.tsv"
\set sigs `cat "$GL_DEMO/signed_revocations.tsv"`
UPDATE demo_rev d SET sig = decode(split_part(l, E'\t', 2), 'hex')
FROM regexp_split_to_table(:'sigs', E'\n') AS l
WHERE l <> '' AND d.id = split_part(l, E'\t', 1)::int;
INSERT INTO app.revocation (attestation_id, agency_code, key_id, action, reason, effective_at,
							payload_sha256, signature)
SELECT attestation_id, 'SAMR-110000', 'demo-1', 'revoke', 'registration cancelled',
	   effective_at, sha256(convert_to(payload, 'UTF8')), sig
FROM demo_rev ORDER BY id;
\else
\echo govledger.verify_signature is not installed: the demo has no attestations, applications go to review
\endif

-- a year of applications -----------------------------------------------------
-- per day: 60 on weekdays, 22 on Saturdays, 12 on Sundays (app only then),
-- the app's share rising from about 0.32 to 0.85 over the year
CREATE TEMP TABLE demo_app AS
WITH days AS (
	SELECT d::date AS day, row_number() OVER (ORDER BY d) AS k
	FROM generate_series((now() AT TIME ZONE 'Asia/Shanghai')::date - 365,
						 (now() AT TIME ZONE 'Asia/Shanghai')::date - 1, interval '1 day') AS d
), slots AS (
	SELECT day, k, s
	FROM days, LATERAL generate_series(1, CASE extract(isodow FROM day)
		WHEN 6 THEN 22 WHEN 7 THEN 12 ELSE 60 END + (random() * 10)::int) AS s
)
SELECT row_number() OVER (ORDER BY day, s) AS id, day,
	   CASE WHEN extract(isodow FROM day) = 7 OR random() < 0.32 + 0.53 * k / 365.0
			THEN 'app' ELSE 'counter' END AS channel,
	   1 + (random() * 999)::int AS company_n,
	   random() AS r1, random() AS r2, random() AS r3
FROM slots;
ALTER TABLE demo_app ADD COLUMN submitted_at timestamptz, ADD COLUMN application_id bigint,
	ADD COLUMN service text, ADD COLUMN person_id bigint, ADD COLUMN company_id bigint,
	ADD COLUMN district text, ADD COLUMN verified boolean, ADD COLUMN decided_at timestamptz,
	ADD COLUMN outcome text, ADD COLUMN officer_id bigint;
UPDATE demo_app a SET
	submitted_at = (a.day + CASE a.channel WHEN 'app' THEN interval '7 hours' + r1 * interval '15 hours'
									   ELSE interval '9 hours' + r1 * interval '8 hours' END)
				   AT TIME ZONE 'Asia/Shanghai',
	service = CASE c.kind WHEN 'gallery' THEN 'art_gallery_licence' WHEN 'food' THEN 'food_business_licence'
						  WHEN 'retail' THEN 'retail_licence' ELSE 'foreign_trade_registration' END,
	person_id = p.person_id, company_id = ci.company_id, district = c.district
FROM demo_company c JOIN demo_company_id ci USING (n) JOIN demo_person_id p USING (n)
WHERE c.n = a.company_n;

INSERT INTO app.application (reference, person_id, company_id, service_code, channel,
							 district_code, submitted_at, submitted_by)
SELECT app.new_reference(), person_id, company_id, service, channel, district, submitted_at,
	   CASE channel WHEN 'app' THEN 'citizen' ELSE 'officer' END
FROM demo_app ORDER BY id;
UPDATE demo_app d SET application_id = a.application_id
FROM app.application a
WHERE a.person_id = d.person_id AND a.submitted_at = d.submitted_at AND a.service_code = d.service;

INSERT INTO app.material (application_id, position, name, sha256, media_type)
SELECT application_id, m, (ARRAY['business premises lease', 'floor plan'])[m],
	   sha256(convert_to('demo material ' || id || '/' || m, 'UTF8')), 'application/pdf'
FROM demo_app, generate_series(1, 1 + (id % 2)::int) AS m;

-- automatic verification at the time of submission (the app.auto_verify rule)
INSERT INTO app.verification (application_id, requirement, attestation_id, satisfied, detail, checked_at)
SELECT d.application_id, r.requirement, m.attestation_id, m.attestation_id IS NOT NULL,
	   CASE WHEN m.attestation_id IS NOT NULL THEN 'attestation ' || m.attestation_id || ' in force'
			ELSE 'no attestation in force' END,
	   d.submitted_at + interval '2 seconds'
FROM demo_app d
JOIN app.service_requirement r ON r.service_code = d.service
LEFT JOIN LATERAL (
	SELECT x.attestation_id FROM app.attestation x
	WHERE x.kind = r.requirement
	  AND CASE r.requirement
		  WHEN 'identity_verified' THEN x.person_id = d.person_id
		  WHEN 'qualification' THEN x.person_id = d.person_id AND x.qualification = r.qualification
		  WHEN 'company_registered' THEN x.company_id = d.company_id
			   AND x.representative_id = d.person_id AND x.company_status = 'active'
		  WHEN 'address' THEN x.company_id = d.company_id END
	  AND app.attestation_problem(x.attestation_id, d.submitted_at) IS NULL
	ORDER BY x.recorded_at DESC, x.attestation_id DESC LIMIT 1) AS m ON true;
UPDATE demo_app d SET verified = v.ok
FROM (SELECT application_id, bool_and(satisfied) AS ok FROM app.verification GROUP BY 1) AS v
WHERE v.application_id = d.application_id;

-- officers decide: automatically verified ones within hours, others in days
UPDATE demo_app d SET
	decided_at = d.submitted_at + make_interval(secs => 3600 * CASE WHEN d.verified
		THEN exp(ln(3.0) + 0.8 * sqrt(-2 * ln(greatest(d.r2, 1e-9))) * cos(2 * pi() * d.r3))
		ELSE exp(ln(30.0) + 0.6 * sqrt(-2 * ln(greatest(d.r2, 1e-9))) * cos(2 * pi() * d.r3)) END),
	outcome = CASE WHEN d.r1 < CASE WHEN d.verified THEN 0.96 ELSE 0.70 END
				   THEN 'approve' ELSE 'reject' END,
	officer_id = (SELECT o.officer_id FROM app.officer o
				  WHERE o.district_code = d.district
				  ORDER BY o.officer_id OFFSET (d.id % 3) LIMIT 1);
UPDATE demo_app SET decided_at = NULL, outcome = NULL WHERE decided_at > now();

INSERT INTO app.application_event (application_id, status, at, actor, note)
SELECT application_id, status, at, actor, note FROM (
	SELECT id, 1 AS o, application_id, 'submitted' AS status, submitted_at AS at,
		   CASE channel WHEN 'app' THEN 'citizen' ELSE 'officer ' || officer_id END AS actor, NULL AS note
	FROM demo_app
	UNION ALL
	SELECT id, 2, application_id, CASE WHEN verified THEN 'verified' ELSE 'needs_review' END,
		   submitted_at + interval '2 seconds', 'system', NULL FROM demo_app
	UNION ALL
	SELECT id, 3, application_id, CASE outcome WHEN 'approve' THEN 'approved' ELSE 'rejected' END,
		   decided_at, 'officer ' || officer_id, NULL FROM demo_app WHERE outcome IS NOT NULL
	UNION ALL
	SELECT id, 4, application_id, 'issued', decided_at + interval '1 minute',
		   'officer ' || officer_id, NULL FROM demo_app WHERE outcome = 'approve'
) AS e ORDER BY id, o;
INSERT INTO app.access_log (person_id, accessed_at, official_role, official_subject,
							official_unit, purpose, application_id)
SELECT d.person_id, d.decided_at - interval '5 minutes', 'officer', o.subject, d.district,
	   'application review', d.application_id
FROM demo_app d JOIN app.officer o USING (officer_id)
WHERE d.outcome IS NOT NULL ORDER BY d.id;
INSERT INTO app.decision (application_id, officer_id, outcome, reason, decided_at)
SELECT application_id, officer_id, outcome,
	   CASE outcome WHEN 'approve' THEN 'requirements met' ELSE 'materials incomplete' END, decided_at
FROM demo_app WHERE outcome IS NOT NULL ORDER BY id;
INSERT INTO app.licence (licence_id, licence_no, application_id, company_id, service_code,
						 district_code, issued_at, valid_until)
OVERRIDING SYSTEM VALUE
SELECT lid, 'L' || district || '-' || to_char(decided_at AT TIME ZONE 'Asia/Shanghai', 'YYYY') || '-'
			|| lpad(lid::text, 8, '0'),
	   application_id, company_id, service, district, decided_at + interval '1 minute',
	   decided_at + interval '1 minute' + make_interval(days => s.licence_valid_days)
FROM (SELECT d.*, nextval(pg_get_serial_sequence('app.licence', 'licence_id')) AS lid
	  FROM demo_app d WHERE outcome = 'approve' ORDER BY decided_at) AS x
JOIN app.service s ON s.service_code = x.service;

INSERT INTO app.counter_visit (district_code, visited_at, purpose, application_id)
SELECT district, submitted_at - interval '3 minutes', 'application', application_id
FROM demo_app WHERE channel = 'counter' ORDER BY id;
INSERT INTO app.counter_visit (district_code, visited_at, purpose)
SELECT district, submitted_at + interval '20 minutes', CASE WHEN r2 < 0.5 THEN 'enquiry' ELSE 'collection' END
FROM demo_app WHERE channel = 'counter' AND r3 < 0.35 ORDER BY id;

-- what to try ----------------------------------------------------------------
-- citizen-6 owns an art gallery company in Chaoyang
SELECT p.id_number AS demo_id_number, c.uscc AS demo_uscc, c.district AS demo_district
FROM demo_person p JOIN demo_company c USING (n) WHERE n = 6 \gset
\setenv GL_DISTRICT :demo_district
\! sh "$GL_ROOT/sql/demo/make_tokens.sh" "$GL_DEMO/jwt" citizen-6 "$GL_DISTRICT"
\o :var_dir/banner.txt
SELECT format($banner$
Demo data as loaded: %s citizens, %s companies, %s applications over the last year
(online share %s%% in the first full month, %s%% in the last).

Demo tokens (30 days) are in %s/jwt/tokens.env; load them with
  set -a; . %s/jwt/tokens.env; set +a

The licence journey (citizen-6 owns the gallery company %s):
  curl -s -X POST http://127.0.0.1:8080/api/applications \
    -H "Authorization: Bearer $CITIZEN_TOKEN" -H 'Content-Type: application/json' \
    -d '{"service":"art_gallery_licence","district":"%s","id_number":"%s","company_code":"%s"}'
  # its answer's "reference" goes where REFERENCE is below
  curl -s http://127.0.0.1:8080/api/applications -H "Authorization: Bearer $CITIZEN_TOKEN"
  curl -s http://127.0.0.1:8080/api/officer/queue -H "Authorization: Bearer $OFFICER_TOKEN"
  curl -s -X POST http://127.0.0.1:8080/api/officer/applications/REFERENCE/open \
    -H "Authorization: Bearer $OFFICER_TOKEN"
  curl -s -X POST http://127.0.0.1:8080/api/officer/applications/REFERENCE/decision \
    -H "Authorization: Bearer $OFFICER_TOKEN" -H 'Content-Type: application/json' \
    -d '{"outcome":"approve","reason":"identity and company attested"}'
  # its answer's "licence_no" goes where LICENCE_NO is below
  curl -s http://127.0.0.1:8080/public/licences/LICENCE_NO
  curl -s http://127.0.0.1:8080/api/me/access-log -H "Authorization: Bearer $CITIZEN_TOKEN"
  curl -s http://127.0.0.1:8080/public/checkpoint
  curl -s http://127.0.0.1:8080/api/reports/online_share.csv -H "Authorization: Bearer $REPORTER_TOKEN"
$banner$,
	(SELECT count(*) FROM demo_person), (SELECT count(*) FROM demo_company),
	(SELECT count(*) FROM demo_app),
	(SELECT round(100 * online_share) FROM report.online_share ORDER BY month OFFSET 1 LIMIT 1),
	(SELECT round(100 * online_share) FROM report.online_share ORDER BY month DESC OFFSET 1 LIMIT 1),
	:'demo_dir', :'demo_dir', :'demo_uscc', :'demo_district', :'demo_id_number', :'demo_uscc');
\o
