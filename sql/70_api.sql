-- sql/70_api.sql
--
-- The functions the gateway calls, one per HTTP route (see
-- docs/eservices.md).  Parameters are text (the gateway binds nginx
-- variables as text); results are json.  Errors are raised with the
-- SQLSTATEs the gateway maps: 22xxx -> 400, 42501 -> 403, P0002 -> 404,
-- 23505 -> 409.
--
-- Reads run as the caller (SECURITY INVOKER) so row-level security decides
-- what they see.  Writes, public reads and reads of personal data by
-- officials are SECURITY DEFINER (owner eservices_owner, pinned search_path)
-- and check the caller themselves: they touch rows the caller may not read
-- (attestations, ledger catalog) or must log the read.  Safe to run twice.

SET client_min_messages = warning;

-- the log key, or NULL before the log has one
CREATE OR REPLACE FUNCTION app.log_key()
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	RETURN govledger.verifier_key('main');
EXCEPTION
	WHEN insufficient_privilege THEN
		RAISE;
	WHEN OTHERS THEN
		RETURN NULL;
END
$$;
COMMENT ON FUNCTION app.log_key() IS 'govledger.verifier_key(''main''), NULL when it cannot be given yet';

CREATE OR REPLACE FUNCTION app.decode_signature(s text)
RETURNS bytea
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
	std text := translate(s, '-_', '+/');
BEGIN
	IF s !~ '^[A-Za-z0-9+/_-]+={0,2}$' THEN
		RAISE EXCEPTION 'signature must be base64' USING ERRCODE = '22023';
	END IF;
	std := rtrim(std, '=');
	RETURN decode(std || repeat('=', (4 - length(std) % 4) % 4), 'base64');
EXCEPTION
	WHEN invalid_parameter_value THEN
		RAISE EXCEPTION 'signature must be base64' USING ERRCODE = '22023';
END
$$;
COMMENT ON FUNCTION app.decode_signature(text) IS 'decode a base64 or base64url signature (padding optional), 22023 otherwise';

-- One application as the caller may see it (invoker: rows via RLS).
CREATE OR REPLACE FUNCTION app.application_json(aid bigint,
											 receipts boolean DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	RETURN (SELECT jsonb_build_object(
			'reference', a.reference,
			'service', a.service_code,
			'channel', a.channel,
			'district', a.district_code,
			'submitted_at', a.submitted_at,
			'status', app.current_status(a.application_id),
			'company', (SELECT jsonb_build_object('uscc', c.uscc, 'name', c.name,
												  'uscc_review', c.uscc_review)
						FROM app.company_data c WHERE c.company_id = a.company_id),
			'materials', coalesce((SELECT jsonb_agg(jsonb_build_object(
					'position', m.position, 'name', m.name,
					'sha256', encode(m.sha256, 'hex'), 'media_type', m.media_type)
					ORDER BY m.position)
				FROM app.material m WHERE m.application_id = a.application_id), '[]'),
			'verification', coalesce((SELECT jsonb_agg(jsonb_build_object(
					'requirement', v.requirement, 'satisfied', v.satisfied,
					'attestation_id', v.attestation_id, 'detail', v.detail,
					'checked_at', v.checked_at) ORDER BY v.requirement)
				FROM app.verification v WHERE v.application_id = a.application_id), '[]'),
			'history', coalesce((SELECT jsonb_agg(jsonb_build_object(
					'status', e.status, 'at', e.at, 'actor', e.actor, 'note', e.note)
					ORDER BY e.at, e.event_id)
				FROM app.application_event e WHERE e.application_id = a.application_id), '[]'),
			'decision', (SELECT jsonb_build_object('outcome', d.outcome,
					'reason', d.reason, 'decided_at', d.decided_at)
				FROM app.decision d WHERE d.application_id = a.application_id),
			'licence', (SELECT jsonb_build_object('licence_no', l.licence_no,
					'issued_at', l.issued_at, 'valid_until', l.valid_until,
					'receipt', CASE WHEN receipts
									THEN app.visible_receipt('app.licence', l.ledger_entry_id) END)
				FROM app.licence l WHERE l.application_id = a.application_id),
			'receipt', CASE WHEN receipts
							THEN app.visible_receipt('app.application', a.ledger_entry_id) END)
		FROM app.application a
		WHERE a.application_id = aid);
END
$$;
COMMENT ON FUNCTION app.application_json(bigint, boolean) IS
	'an application with company, materials, verification, status history, decision, licence and (unless receipts is false) receipts, from the rows the caller can see';

CREATE OR REPLACE FUNCTION app.require_role(VARIADIC roles text[])
RETURNS void
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	IF NOT app.request_role() = ANY (roles) THEN
		RAISE EXCEPTION 'this call is for % only', array_to_string(roles, ', ')
			USING ERRCODE = '42501';
	END IF;
END
$$;
COMMENT ON FUNCTION app.require_role(text[]) IS '42501 unless the request role is one of these';

CREATE OR REPLACE FUNCTION app.require_citizen()
RETURNS bigint
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	me bigint;
BEGIN
	PERFORM app.require_role('citizen');
	me := app.current_person_id();
	IF me IS NULL THEN
		RAISE EXCEPTION 'the token''s subject is not a registered citizen'
			USING ERRCODE = '42501';
	END IF;
	RETURN me;
END
$$;
COMMENT ON FUNCTION app.require_citizen() IS 'the calling citizen''s person_id; 42501 unless the request role is citizen and the token''s subject a registered citizen';

GRANT EXECUTE ON FUNCTION app.application_json(bigint, boolean), app.current_status(bigint),
	app.require_role(text[]) TO citizen, officer;
GRANT EXECUTE ON FUNCTION app.require_citizen() TO citizen;

------------------------------------------------------------------------------
-- citizens (and officers at the counter)

-- POST /applications  body: {"service", "district", "id_number",
--   "company_code"?, "channel"? ("app"; "counter" for officers),
--   "materials"?: [{"name", "sha256", "media_type"?}]}
--
-- The hot path of the API, so it runs few statements: one query looks up
-- the service, the signed-in citizen, the holder of the identity number,
-- the district and the company; the materials are checked first and then
-- inserted by one statement; the verification rows are inserted, and the
-- response's verification list built, by one statement
-- (app.requirement_checks); the rest of the response comes from values at
-- hand.  The checks and their errors come in the same order as the steps
-- they guard.
CREATE OR REPLACE FUNCTION api.submit_application(body text)
RETURNS json
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j jsonb := app.parse_object(body, ARRAY['service', 'district', 'id_number',
		'company_code', 'channel', 'materials']);
	ch text := coalesce(app.field(j, 'channel', 10, true), 'app');
	svc text := app.field(j, 'service', 64);
	dist text := app.field(j, 'district', 6, true);
	num text := app.ric_normalize(app.field(j, 'id_number', 18));
	code text := upper(app.field(j, 'company_code', 18, true));
	req_role text := app.request_role();
	mats jsonb := j -> 'materials';
	mats_ok boolean := mats IS NULL OR CASE WHEN jsonb_typeof(mats) = 'array'
		THEN jsonb_array_length(mats) <= 50 ELSE false END;
	n_mats int := coalesce(jsonb_array_length(CASE WHEN mats_ok THEN mats END), 0);
	mat_name text;
	svc_known boolean;
	dist_known boolean;
	me bigint;
	holder bigint;
	officer bigint;
	pid bigint;
	cid bigint;
	aid bigint;
	ref text;
	submitted timestamptz;
	m jsonb;
	actor text;
	ver json;
	all_ok boolean;
BEGIN
	IF NOT req_role = ANY (ARRAY['citizen', 'officer']) THEN
		RAISE EXCEPTION 'this call is for citizen, officer only'
			USING ERRCODE = '42501';
	END IF;
	IF ch NOT IN ('app', 'counter') THEN
		RAISE EXCEPTION 'channel must be app or counter' USING ERRCODE = '22023';
	END IF;
	IF app.ric_status(num) <> 'valid' THEN
		RAISE EXCEPTION 'invalid resident identity number (%)', app.ric_status(num)
			USING ERRCODE = '22023';
	END IF;
	IF code IS NOT NULL AND NOT app.uscc_acceptable(code) THEN
		RAISE EXCEPTION 'invalid unified social credit code (%)',
			app.uscc_status(code) USING ERRCODE = '22023';
	END IF;

	-- the signed-in citizen is looked up only where the steps before would
	-- have let the call get that far (reading the claims can fail)
	SELECT EXISTS (SELECT 1 FROM app.service WHERE service_code = svc),
		   CASE WHEN req_role = 'citizen' AND ch = 'app' AND mats_ok
					 AND EXISTS (SELECT 1 FROM app.service WHERE service_code = svc)
				THEN (SELECT person_id FROM app.person_data
					  WHERE subject = app.claim('sub')) END,
		   (SELECT person_id FROM app.person_data WHERE id_number = num),
		   EXISTS (SELECT 1 FROM app.district WHERE district_code = dist),
		   (SELECT company_id FROM app.company_data WHERE uscc = code)
	INTO svc_known, me, holder, dist_known, cid;

	IF NOT svc_known THEN
		RAISE EXCEPTION 'unknown service "%"', svc USING ERRCODE = '22023';
	END IF;
	IF NOT mats_ok THEN
		RAISE EXCEPTION 'materials must be an array of at most 50 documents'
			USING ERRCODE = '22023';
	END IF;

	IF req_role = 'citizen' THEN
		IF ch <> 'app' THEN
			RAISE EXCEPTION 'citizens apply through the app channel'
				USING ERRCODE = '42501';
		END IF;
		IF me IS NULL THEN
			RAISE EXCEPTION 'the token''s subject is not a registered citizen'
				USING ERRCODE = '42501';
		END IF;
		IF holder IS DISTINCT FROM me THEN
			RAISE EXCEPTION 'id_number is not the signed-in citizen''s'
				USING ERRCODE = '42501';
		END IF;
		IF dist IS NULL OR NOT dist_known THEN
			RAISE EXCEPTION 'unknown district "%"', dist USING ERRCODE = '22023';
		END IF;
		pid := me;
		actor := 'citizen';
	ELSE
		IF ch <> 'counter' THEN
			RAISE EXCEPTION 'officers submit through the counter channel'
				USING ERRCODE = '42501';
		END IF;
		officer := app.current_officer_id();
		IF officer IS NULL THEN
			RAISE EXCEPTION 'the token''s subject is not an active officer of its district'
				USING ERRCODE = '42501';
		END IF;
		IF dist IS NOT NULL AND dist <> app.current_district() THEN
			RAISE EXCEPTION 'officers submit for their own district only'
				USING ERRCODE = '42501';
		END IF;
		dist := app.current_district();
		pid := holder;
		IF pid IS NULL THEN
			RAISE EXCEPTION 'no registered person with that identity number'
				USING ERRCODE = '22023';
		END IF;
		actor := 'officer ' || officer;
	END IF;

	IF code IS NOT NULL AND cid IS NULL THEN
		RAISE EXCEPTION 'no registered company with that code'
			USING ERRCODE = '22023';
	END IF;

	-- every material is checked before anything is written (an error
	-- undoes the whole call, so the first error is the same as when each
	-- material was checked just before its own insert)
	FOR pos IN 1 .. n_mats LOOP
		m := mats -> (pos - 1);
		IF jsonb_typeof(m) <> 'object' THEN
			RAISE EXCEPTION 'material % must be an object', pos USING ERRCODE = '22023';
		END IF;
		IF m - ARRAY['name', 'sha256', 'media_type'] <> '{}' THEN
			-- raises the error about the first unknown field
			PERFORM app.parse_object(m::text, ARRAY['name', 'sha256', 'media_type'],
									 'material ' || pos);
		END IF;
		IF app.field(m, 'sha256', 64) !~ '^[0-9a-fA-F]{64}$' THEN
			RAISE EXCEPTION 'material %: sha256 must be 64 hex digits', pos
				USING ERRCODE = '22023';
		END IF;
		IF app.field(m, 'media_type', 100, true) !~ '^[a-z]+/[A-Za-z0-9.+-]+$' THEN
			RAISE EXCEPTION 'material %: media_type is not a media type', pos
				USING ERRCODE = '22023';
		END IF;
		mat_name := app.field(m, 'name', 200);
	END LOOP;

	INSERT INTO app.application (reference, person_id, company_id, service_code,
								 channel, district_code, submitted_by)
	VALUES (app.new_reference(), pid, cid, svc, ch, dist, actor)
	RETURNING application_id, reference, submitted_at INTO aid, ref, submitted;

	IF n_mats > 0 THEN
		INSERT INTO app.material (application_id, position, name, sha256, media_type)
		SELECT aid, e.pos, e.m ->> 'name', decode(lower(e.m ->> 'sha256'), 'hex'),
			   e.m ->> 'media_type'
		FROM jsonb_array_elements(mats) WITH ORDINALITY AS e(m, pos)
		ORDER BY e.pos;
	END IF;

	INSERT INTO app.application_event (application_id, status, actor)
	VALUES (aid, 'submitted', actor);
	IF ch = 'counter' THEN
		PERFORM app.record_access(pid, 'counter application', aid);
		INSERT INTO app.counter_visit (district_code, purpose, application_id)
		VALUES (dist, 'application', aid);
	END IF;

	-- automatic verification (as app.auto_verify), and the response's list
	WITH v AS (
		INSERT INTO app.verification (application_id, requirement,
									  attestation_id, satisfied, detail,
									  checked_at)
		SELECT aid, c.requirement, c.attestation_id, c.satisfied, c.detail, now()
		FROM app.requirement_checks(svc, pid, cid, now()) AS c
		ORDER BY c.requirement
		RETURNING requirement, satisfied, attestation_id, detail)
	SELECT json_agg(json_build_object(
			'requirement', v.requirement, 'satisfied', v.satisfied,
			'attestation_id', v.attestation_id, 'detail', v.detail)
			ORDER BY v.requirement),
		   coalesce(bool_and(v.satisfied), true)
	INTO ver, all_ok
	FROM v;
	INSERT INTO app.application_event (application_id, status, actor)
	VALUES (aid, CASE WHEN all_ok THEN 'verified' ELSE 'needs_review' END,
			'system');

	-- the essentials; the full record (and, once sealed, the receipts)
	-- comes with GET /applications/{reference}
	RETURN json_build_object(
		'reference', ref, 'service', svc,
		'channel', ch, 'district', dist,
		'submitted_at', submitted,
		'status', CASE WHEN all_ok THEN 'verified' ELSE 'needs_review' END,
		'company', CASE WHEN cid IS NOT NULL THEN json_build_object('uscc', code) END,
		'verification', ver);
END
$$;
COMMENT ON FUNCTION api.submit_application(text) IS
	'POST /applications: a citizen applies in the app (or an officer at the counter); materials by SHA-256; verified automatically at once';

-- GET /applications
CREATE OR REPLACE FUNCTION api.my_applications()
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM app.require_citizen();
	RETURN coalesce((
		SELECT json_agg(json_build_object(
			'reference', a.reference, 'service', a.service_code,
			'channel', a.channel, 'district', a.district_code,
			'submitted_at', a.submitted_at,
			'status', app.current_status(a.application_id),
			'licence_no', (SELECT l.licence_no FROM app.licence l
						   WHERE l.application_id = a.application_id))
			ORDER BY a.submitted_at DESC, a.application_id DESC)
		FROM app.application a), '[]');
END
$$;
COMMENT ON FUNCTION api.my_applications() IS 'GET /applications: the citizen''s own applications with their current status';

-- GET /applications/{reference}
CREATE OR REPLACE FUNCTION api.application(reference text)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	aid bigint;
BEGIN
	PERFORM app.require_role('citizen');
	SELECT a.application_id INTO aid FROM app.application a
	WHERE a.reference = upper(application.reference);
	IF aid IS NULL THEN
		RAISE EXCEPTION 'no such application' USING ERRCODE = 'P0002';
	END IF;
	RETURN app.application_json(aid)::json;
END
$$;
COMMENT ON FUNCTION api.application(text) IS
	'GET /applications/{reference}: one of the citizen''s applications with status history, verification, decision, licence and receipts; 404 for anyone else''s';

-- GET /me
CREATE OR REPLACE FUNCTION api.me()
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r json;
BEGIN
	PERFORM app.require_role('citizen');
	SELECT json_build_object(
		'person_id', p.person_id, 'full_name', d.full_name,
		'id_number', d.id_number, 'address', d.address,
		'data', d.data, 'salt', encode(d.salt, 'hex'),
		'commitment', encode(p.commitment, 'hex'),
		'receipt', app.visible_receipt('app.person', p.ledger_entry_id))
	INTO r
	FROM app.person p JOIN app.person_data d USING (person_id);
	IF r IS NULL THEN
		RAISE EXCEPTION 'the token''s subject is not a registered citizen'
			USING ERRCODE = 'P0002';
	END IF;
	RETURN r;
END
$$;
COMMENT ON FUNCTION api.me() IS
	'GET /me: the citizen''s own data, salt and commitment with its receipt (enough to check the commitment on the ledger)';

-- GET /me/access-log
CREATE OR REPLACE FUNCTION api.my_access_log()
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM app.require_citizen();
	RETURN coalesce((
		SELECT json_agg(json_build_object(
			'accessed_at', l.accessed_at, 'official_role', l.official_role,
			'official', l.official_subject, 'unit', l.official_unit,
			'purpose', l.purpose,
			'application', (SELECT a.reference FROM app.application a
							WHERE a.application_id = l.application_id))
			ORDER BY l.accessed_at DESC, l.access_id DESC)
		FROM app.access_log l), '[]');
END
$$;
COMMENT ON FUNCTION api.my_access_log() IS 'GET /me/access-log: which official read the citizen''s data, when, and why';

------------------------------------------------------------------------------
-- agencies

-- POST /attestations  body: {"key_id", "payload", "signature"}
-- payload (signed, exact text): {"type": "attestation", "v": 1, "agency",
--   "kind", "subject": {"id_number"} | {"uscc"}, "claims": {...},
--   "valid_from", "valid_until"?, "nonce"}
CREATE OR REPLACE FUNCTION api.attest(body text)
RETURNS json
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j jsonb := app.parse_object(body, ARRAY['key_id', 'payload', 'signature']);
	payload text := app.field(j, 'payload', 16384);
	sig bytea;
	p jsonb;
	subj jsonb;
	claims jsonb;
	ag text := app.current_agency();
	kind text;
	pid bigint;
	cid bigint;
	rid bigint;
	num text;
	code text;
	att_id bigint;
BEGIN
	PERFORM app.require_role('agency');
	IF ag IS NULL THEN
		RAISE EXCEPTION 'the token names no registered agency' USING ERRCODE = '42501';
	END IF;
	sig := app.decode_signature(app.field(j, 'signature', 200));
	p := app.parse_object(payload, ARRAY['type', 'v', 'agency', 'kind', 'subject',
		'claims', 'valid_from', 'valid_until', 'nonce'], 'payload');
	IF p ->> 'type' IS DISTINCT FROM 'attestation' OR p -> 'v' IS DISTINCT FROM '1' THEN
		RAISE EXCEPTION 'payload must have "type": "attestation" and "v": 1'
			USING ERRCODE = '22023';
	END IF;
	IF app.field(p, 'agency', 32) <> ag THEN
		RAISE EXCEPTION 'payload names agency %, the token %', p ->> 'agency', ag
			USING ERRCODE = '42501';
	END IF;
	IF app.field(p, 'nonce', 128) !~ '^[A-Za-z0-9_-]{16,128}$' THEN
		RAISE EXCEPTION 'payload nonce must be 16 to 128 characters [A-Za-z0-9_-]'
			USING ERRCODE = '22023';
	END IF;
	kind := app.field(p, 'kind', 32);
	subj := p -> 'subject';
	claims := coalesce(p -> 'claims', '{}');
	IF jsonb_typeof(subj) IS DISTINCT FROM 'object'
	   OR jsonb_typeof(claims) <> 'object' THEN
		RAISE EXCEPTION 'payload subject and claims must be objects'
			USING ERRCODE = '22023';
	END IF;

	IF kind IN ('identity_verified', 'qualification') THEN
		PERFORM app.parse_object(subj::text, ARRAY['id_number'], 'subject');
		num := app.ric_normalize(app.field(subj, 'id_number', 18));
		IF app.ric_status(num) <> 'valid' THEN
			RAISE EXCEPTION 'subject: invalid resident identity number (%)',
				app.ric_status(num) USING ERRCODE = '22023';
		END IF;
		IF kind = 'identity_verified' THEN
			PERFORM app.parse_object(claims::text, ARRAY['full_name', 'address'], 'claims');
			pid := app.register_person(NULL, num, app.field(claims, 'full_name', 200),
									   app.field(claims, 'address', 500, true));
		ELSE
			PERFORM app.parse_object(claims::text, ARRAY['qualification'], 'claims');
			IF app.field(claims, 'qualification', 64) !~ '^[a-z][a-z0-9_]{0,63}$' THEN
				RAISE EXCEPTION 'claims: qualification must match [a-z][a-z0-9_]*'
					USING ERRCODE = '22023';
			END IF;
			SELECT person_id INTO pid FROM app.person_data WHERE id_number = num;
			IF pid IS NULL THEN
				RAISE EXCEPTION 'subject: no registered person with that identity number'
					USING ERRCODE = '22023';
			END IF;
		END IF;
	ELSIF kind IN ('company_registered', 'address') THEN
		PERFORM app.parse_object(subj::text, ARRAY['uscc'], 'subject');
		code := upper(app.field(subj, 'uscc', 18));
		IF NOT app.uscc_acceptable(code) THEN
			RAISE EXCEPTION 'subject: invalid unified social credit code (%)',
				app.uscc_status(code) USING ERRCODE = '22023';
		END IF;
		IF kind = 'company_registered' THEN
			PERFORM app.parse_object(claims::text, ARRAY['name', 'status',
				'representative_id_number', 'address'], 'claims');
			IF app.field(claims, 'status', 16) NOT IN ('active', 'suspended', 'cancelled') THEN
				RAISE EXCEPTION 'claims: status must be active, suspended or cancelled'
					USING ERRCODE = '22023';
			END IF;
			num := app.ric_normalize(app.field(claims, 'representative_id_number', 18));
			SELECT person_id INTO rid FROM app.person_data WHERE id_number = num;
			IF rid IS NULL THEN
				RAISE EXCEPTION 'claims: the representative is not a registered person'
					USING ERRCODE = '22023';
			END IF;
			cid := app.register_company(code, app.field(claims, 'name', 200),
										app.field(claims, 'address', 500, true), rid);
		ELSE
			PERFORM app.parse_object(claims::text, ARRAY['address'], 'claims');
			PERFORM app.field(claims, 'address', 500);
			SELECT company_id INTO cid FROM app.company_data WHERE uscc = code;
			IF cid IS NULL THEN
				RAISE EXCEPTION 'subject: no registered company with that code'
					USING ERRCODE = '22023';
			END IF;
		END IF;
	ELSE
		RAISE EXCEPTION 'unknown attestation kind "%"', kind USING ERRCODE = '22023';
	END IF;

	INSERT INTO app.attestation (agency_code, key_id, kind, person_id, company_id,
		representative_id, company_status, qualification, valid_from,
		valid_until, payload_sha256, signature)
	VALUES (ag, app.field(j, 'key_id', 64), kind, pid, cid, rid,
		CASE WHEN kind = 'company_registered' THEN claims ->> 'status' END,
		CASE WHEN kind = 'qualification' THEN claims ->> 'qualification' END,
		app.time_field(p, 'valid_from'), app.time_field(p, 'valid_until', true),
		sha256(convert_to(payload, 'UTF8')), sig)
	RETURNING attestation_id INTO att_id;
	INSERT INTO app.attestation_payload (attestation_id, payload)
	VALUES (att_id, payload);
	RETURN json_build_object('attestation_id', att_id, 'kind', kind,
		'agency', ag, 'payload_sha256', encode(sha256(convert_to(payload, 'UTF8')), 'hex'));
END
$$;
COMMENT ON FUNCTION api.attest(text) IS
	'POST /attestations: an agency records a signed attestation; rejected (400) unless its signature verifies';

-- POST /revocations  body: {"key_id", "payload", "signature"}
-- payload: {"type": "revocation", "v": 1, "agency", "attestation_sha256"
--   (hex SHA-256 of the attestation's payload),
--   "action": "revoke"|"suspend", "reason", "effective_at",
--   "effective_until"?, "nonce"}
CREATE OR REPLACE FUNCTION api.revoke(body text)
RETURNS json
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j jsonb := app.parse_object(body, ARRAY['key_id', 'payload', 'signature']);
	payload text := app.field(j, 'payload', 16384);
	sig bytea;
	p jsonb;
	ag text := app.current_agency();
	att bigint;
	rid bigint;
BEGIN
	PERFORM app.require_role('agency');
	IF ag IS NULL THEN
		RAISE EXCEPTION 'the token names no registered agency' USING ERRCODE = '42501';
	END IF;
	sig := app.decode_signature(app.field(j, 'signature', 200));
	p := app.parse_object(payload, ARRAY['type', 'v', 'agency', 'attestation_sha256',
		'action', 'reason', 'effective_at', 'effective_until', 'nonce'], 'payload');
	IF p ->> 'type' IS DISTINCT FROM 'revocation' OR p -> 'v' IS DISTINCT FROM '1' THEN
		RAISE EXCEPTION 'payload must have "type": "revocation" and "v": 1'
			USING ERRCODE = '22023';
	END IF;
	IF app.field(p, 'agency', 32) <> ag THEN
		RAISE EXCEPTION 'payload names agency %, the token %', p ->> 'agency', ag
			USING ERRCODE = '42501';
	END IF;
	IF app.field(p, 'nonce', 128) !~ '^[A-Za-z0-9_-]{16,128}$' THEN
		RAISE EXCEPTION 'payload nonce must be 16 to 128 characters [A-Za-z0-9_-]'
			USING ERRCODE = '22023';
	END IF;
	IF app.field(p, 'attestation_sha256', 64) !~ '^[0-9a-f]{64}$' THEN
		RAISE EXCEPTION 'payload attestation_sha256 must be 64 lower-case hex digits'
			USING ERRCODE = '22023';
	END IF;
	SELECT attestation_id INTO att FROM app.attestation
	WHERE agency_code = ag
	  AND payload_sha256 = decode(p ->> 'attestation_sha256', 'hex');
	IF att IS NULL THEN
		RAISE EXCEPTION 'no such attestation of agency %', ag USING ERRCODE = 'P0002';
	END IF;
	IF app.field(p, 'action', 16) NOT IN ('revoke', 'suspend') THEN
		RAISE EXCEPTION 'action must be revoke or suspend' USING ERRCODE = '22023';
	END IF;
	IF p ->> 'action' = 'revoke' AND p ? 'effective_until' THEN
		RAISE EXCEPTION 'a revocation has no effective_until' USING ERRCODE = '22023';
	END IF;

	INSERT INTO app.revocation (attestation_id, agency_code, key_id, action,
		reason, effective_at, effective_until, payload_sha256, signature)
	VALUES (att, ag, app.field(j, 'key_id', 64), p ->> 'action',
		app.field(p, 'reason', 500), app.time_field(p, 'effective_at'),
		app.time_field(p, 'effective_until', true),
		sha256(convert_to(payload, 'UTF8')), sig)
	RETURNING revocation_id INTO rid;
	RETURN json_build_object('revocation_id', rid, 'attestation_id', att,
							 'action', p ->> 'action',
							 'effective_at', app.time_field(p, 'effective_at'));
END
$$;
COMMENT ON FUNCTION api.revoke(text) IS
	'POST /revocations: the issuing agency revokes or suspends one of its attestations (signed like attestations)';

-- GET /attestations
CREATE OR REPLACE FUNCTION api.agency_attestations()
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM app.require_role('agency');
	RETURN coalesce((
		SELECT json_agg(json_build_object(
			'attestation_id', x.attestation_id, 'kind', x.kind,
			'key_id', x.key_id, 'recorded_at', x.recorded_at,
			'valid_from', x.valid_from, 'valid_until', x.valid_until,
			'payload_sha256', encode(x.payload_sha256, 'hex'),
			'revocations', (SELECT json_agg(json_build_object(
					'action', r.action, 'reason', r.reason,
					'effective_at', r.effective_at,
					'effective_until', r.effective_until) ORDER BY r.revocation_id)
				FROM app.revocation r WHERE r.attestation_id = x.attestation_id))
			ORDER BY x.attestation_id DESC)
		FROM (SELECT * FROM app.attestation
			  ORDER BY attestation_id DESC LIMIT 1000) AS x), '[]');
END
$$;
COMMENT ON FUNCTION api.agency_attestations() IS 'GET /attestations: the agency''s own latest 1000 attestations with their revocations';

------------------------------------------------------------------------------
-- officers

-- GET /officer/queue
CREATE OR REPLACE FUNCTION api.officer_queue()
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM app.require_role('officer');
	IF app.current_district() IS NULL THEN
		RAISE EXCEPTION 'the token''s subject is not an active officer of its district'
			USING ERRCODE = '42501';
	END IF;
	RETURN coalesce((
		SELECT json_agg(json_build_object(
			'reference', q.reference, 'service', q.service_code,
			'channel', q.channel, 'submitted_at', q.submitted_at,
			'status', q.status,
			'company', (SELECT json_build_object('uscc', c.uscc, 'name', c.name,
												 'uscc_review', c.uscc_review)
						FROM app.company_data c WHERE c.company_id = q.company_id),
			'verification', (SELECT json_agg(json_build_object(
					'requirement', v.requirement, 'satisfied', v.satisfied,
					'attestation_id', v.attestation_id, 'detail', v.detail)
					ORDER BY v.requirement)
				FROM app.verification v WHERE v.application_id = q.application_id))
			ORDER BY q.submitted_at, q.application_id)
		FROM (SELECT a.*, app.current_status(a.application_id) AS status
			  FROM app.application a
			  WHERE NOT EXISTS (SELECT 1 FROM app.decision d
								WHERE d.application_id = a.application_id)
			  ORDER BY a.submitted_at, a.application_id
			  LIMIT 500) AS q), '[]');
END
$$;
COMMENT ON FUNCTION api.officer_queue() IS
	'GET /officer/queue: the oldest 500 undecided applications of the officer''s district, without personal data';

-- POST /officer/applications/{reference}/open (a read that is logged)
CREATE OR REPLACE FUNCTION api.officer_open(reference text)
RETURNS json
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a app.application;
	r jsonb;
BEGIN
	PERFORM app.require_role('officer');
	SELECT * INTO a FROM app.application x
	WHERE x.reference = upper(officer_open.reference)
	  AND x.district_code = app.current_district();
	IF a.application_id IS NULL THEN
		RAISE EXCEPTION 'no such application in your district' USING ERRCODE = 'P0002';
	END IF;
	PERFORM app.record_access(a.person_id, 'application review', a.application_id);
	r := app.application_json(a.application_id);
	RETURN (r || jsonb_build_object(
		'applicant', (SELECT jsonb_build_object('full_name', d.full_name,
				'id_number', d.id_number, 'address', d.address)
			FROM app.person_data d WHERE d.person_id = a.person_id),
		'company_address', (SELECT c.address FROM app.company_data c
							WHERE c.company_id = a.company_id)))::json;
END
$$;
COMMENT ON FUNCTION api.officer_open(text) IS
	'POST /officer/applications/{reference}/open: an officer of the district reads the application with the applicant''s data; the read is written to the access log';

-- POST /officer/applications/{reference}/decision  body: {"outcome", "reason"}
CREATE OR REPLACE FUNCTION api.decide(reference text, body text)
RETURNS json
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j jsonb := app.parse_object(body, ARRAY['outcome', 'reason']);
	outcome text := app.field(j, 'outcome', 16);
	reason text := app.field(j, 'reason', 500);
	a app.application;
	oid bigint := app.current_officer_id();
	actor text;
	lno text;
BEGIN
	PERFORM app.require_role('officer');
	IF outcome NOT IN ('approve', 'reject') THEN
		RAISE EXCEPTION 'outcome must be approve or reject' USING ERRCODE = '22023';
	END IF;
	SELECT * INTO a FROM app.application x
	WHERE x.reference = upper(decide.reference)
	  AND x.district_code = app.current_district();
	IF a.application_id IS NULL THEN
		RAISE EXCEPTION 'no such application in your district' USING ERRCODE = 'P0002';
	END IF;
	-- one decision per application, even with concurrent requests
	PERFORM pg_advisory_xact_lock(a.application_id);
	IF EXISTS (SELECT 1 FROM app.decision d WHERE d.application_id = a.application_id) THEN
		RAISE EXCEPTION 'application % is already decided', a.reference
			USING ERRCODE = '23505';
	END IF;
	actor := 'officer ' || oid;
	INSERT INTO app.decision (application_id, officer_id, outcome, reason)
	VALUES (a.application_id, oid, outcome, reason);
	IF outcome = 'approve' THEN
		PERFORM app.add_event(a.application_id, 'approved', actor, reason);
		lno := app.issue_licence(a.application_id);
		PERFORM app.add_event(a.application_id, 'issued', actor, lno);
	ELSE
		PERFORM app.add_event(a.application_id, 'rejected', actor, reason);
	END IF;
	RETURN json_build_object('reference', a.reference,
		'status', app.current_status(a.application_id), 'licence_no', lno);
END
$$;
COMMENT ON FUNCTION api.decide(text, text) IS
	'POST /officer/applications/{reference}/decision: approve (issues the licence) or reject; 409 if already decided';

-- POST /officer/erasures  body: {"id_number", "reason"}
CREATE OR REPLACE FUNCTION api.erase_person(body text)
RETURNS json
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j jsonb := app.parse_object(body, ARRAY['id_number', 'reason']);
	num text := app.ric_normalize(app.field(j, 'id_number', 18));
	reason text := app.field(j, 'reason', 500);
	pid bigint;
	eid bigint;
BEGIN
	PERFORM app.require_role('officer');
	IF app.current_officer_id() IS NULL THEN
		RAISE EXCEPTION 'the token''s subject is not an active officer of its district'
			USING ERRCODE = '42501';
	END IF;
	IF app.ric_status(num) <> 'valid' THEN
		RAISE EXCEPTION 'invalid resident identity number (%)', app.ric_status(num)
			USING ERRCODE = '22023';
	END IF;
	SELECT person_id INTO pid FROM app.person_data WHERE id_number = num;
	IF pid IS NULL THEN
		RAISE EXCEPTION 'no such person' USING ERRCODE = 'P0002';
	END IF;
	eid := app.erase_person(pid, 'officer ' || app.current_officer_id(), reason);
	RETURN json_build_object('erasure_id', eid, 'person_id', pid);
END
$$;
COMMENT ON FUNCTION api.erase_person(text) IS
	'POST /officer/erasures: carry out a person''s erasure request (data and salt deleted, erasure recorded on the ledger)';

------------------------------------------------------------------------------
-- public

-- GET /public/licences/{licence_no}
CREATE OR REPLACE FUNCTION api.verify_licence(licence_no text)
RETURNS json
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	l app.licence;
	no text := upper(btrim(licence_no));
BEGIN
	IF no IS NULL OR no !~ '^L[0-9]{6}-[0-9]{4}-[0-9]{8}$' THEN
		RAISE EXCEPTION 'malformed licence number' USING ERRCODE = '22023',
			HINT = 'Licence numbers look like L110105-2026-00000001.';
	END IF;
	SELECT * INTO l FROM app.licence x WHERE x.licence_no = no;
	IF l.licence_id IS NULL THEN
		RAISE EXCEPTION 'no such licence' USING ERRCODE = 'P0002';
	END IF;
	RETURN json_build_object(
		'licence', json_build_object(
			'licence_no', l.licence_no, 'service', l.service_code,
			'service_name', (SELECT s.name FROM app.service s
							 WHERE s.service_code = l.service_code),
			'district', l.district_code,
			'company', (SELECT json_build_object('uscc', c.uscc, 'name', c.name)
						FROM app.company_data c WHERE c.company_id = l.company_id),
			'issued_at', l.issued_at, 'valid_until', l.valid_until),
		'status', CASE WHEN now() < l.issued_at THEN 'not_yet_valid'
					   WHEN now() >= l.valid_until THEN 'expired'
					   ELSE 'valid' END,
		'receipt', app.receipt_of('app.licence', l.ledger_entry_id),
		'log_key', app.log_key());
END
$$;
COMMENT ON FUNCTION api.verify_licence(text) IS
	'GET /public/licences/{licence_no}: licence, status and receipt (NULL until sealed) with the log''s verifier key; no token needed';

-- GET /public/checkpoint
CREATE OR REPLACE FUNCTION api.checkpoint()
RETURNS json
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN json_build_object('checkpoint', govledger.checkpoint('main'),
							 'verifier_key', app.log_key());
END
$$;
COMMENT ON FUNCTION api.checkpoint() IS 'GET /public/checkpoint: the latest signed checkpoint of the main log and its verifier key';

-- GET /public/consistency?old=N&new=M
CREATE OR REPLACE FUNCTION api.consistency_proof(old_size text, new_size text DEFAULT NULL)
RETURNS json
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF old_size IS NULL OR old_size !~ '^[0-9]{1,18}$'
	   OR (nullif(new_size, '') IS NOT NULL AND new_size !~ '^[0-9]{1,18}$') THEN
		RAISE EXCEPTION 'old and new must be tree sizes (non-negative integers)'
			USING ERRCODE = '22023';
	END IF;
	RETURN govledger.consistency_proof(old_size::bigint,
									   nullif(new_size, '')::bigint, 'main')::json;
END
$$;
COMMENT ON FUNCTION api.consistency_proof(text, text) IS
	'GET /public/consistency?old=&new=: consistency proof between two tree sizes of the main log (new defaults to the latest)';


-- who may call what
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.submit_application(text) TO citizen, officer;
GRANT EXECUTE ON FUNCTION api.my_applications(), api.application(text),
	api.me(), api.my_access_log() TO citizen;
GRANT EXECUTE ON FUNCTION api.attest(text), api.revoke(text),
	api.agency_attestations() TO agency;
GRANT EXECUTE ON FUNCTION api.officer_queue(), api.officer_open(text),
	api.decide(text, text), api.erase_person(text) TO officer;
GRANT EXECUTE ON FUNCTION api.verify_licence(text), api.checkpoint(),
	api.consistency_proof(text, text)
	TO anonymous, citizen, officer, agency, reporter;
