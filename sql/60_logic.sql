-- sql/60_logic.sql
--
-- The work behind the api functions: registering persons and companies as
-- commitments, automatic verification of an application against the
-- attestations in force, issuing licences, erasure, the access log, receipts,
-- and strict parsing of request bodies.  These run as eservices_owner (they
-- are called from SECURITY DEFINER api functions, or by the loader) and are
-- not executable by the request roles, except app.visible_receipt.  Being
-- internal, they do not set search_path themselves (a SET clause costs every
-- call): every entry point, each api function and each SECURITY DEFINER
-- function, pins it to pg_catalog, pg_temp.  Safe to run twice.

SET client_min_messages = warning;

-- Parse a request body: a JSON object with only the allowed keys.
CREATE OR REPLACE FUNCTION app.parse_object(body text, allowed text[],
											what text DEFAULT 'request body')
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
	j jsonb;
	k text;
BEGIN
	IF body IS NULL OR btrim(body) = '' THEN
		RAISE EXCEPTION '% is empty', what USING ERRCODE = '22023';
	END IF;
	IF octet_length(body) > 65536 THEN
		RAISE EXCEPTION '% is larger than 64 kB', what USING ERRCODE = '22023';
	END IF;
	BEGIN
		j := body::jsonb;
	EXCEPTION WHEN invalid_text_representation THEN
		RAISE EXCEPTION '% is not valid JSON', what USING ERRCODE = '22P02';
	END;
	IF jsonb_typeof(j) <> 'object' THEN
		RAISE EXCEPTION '% must be a JSON object', what USING ERRCODE = '22023';
	END IF;
	-- the keys are listed (a query) only when some key is not allowed
	IF j - allowed <> '{}'::jsonb THEN
		FOR k IN SELECT jsonb_object_keys(j) LOOP
			IF NOT k = ANY (allowed) THEN
				RAISE EXCEPTION '% has an unknown field "%"', what, k
					USING ERRCODE = '22023',
						  HINT = 'Allowed fields: ' || array_to_string(allowed, ', ') || '.';
			END IF;
		END LOOP;
	END IF;
	RETURN j;
END
$$;
COMMENT ON FUNCTION app.parse_object(text, text[], text) IS
	'parse a JSON object, rejecting (22P02/22023) bad JSON, other types, unknown keys and bodies over 64 kB';

-- A string field: required unless optional, at most maxlen characters.
CREATE OR REPLACE FUNCTION app.field(j jsonb, key text, maxlen int,
									 optional boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
	IF j -> key IS NULL OR jsonb_typeof(j -> key) = 'null' THEN
		IF optional THEN
			RETURN NULL;
		END IF;
		RAISE EXCEPTION 'field "%" is required', key USING ERRCODE = '22023';
	END IF;
	IF jsonb_typeof(j -> key) <> 'string' THEN
		RAISE EXCEPTION 'field "%" must be a string', key USING ERRCODE = '22023';
	END IF;
	IF length(j ->> key) = 0 OR length(j ->> key) > maxlen THEN
		RAISE EXCEPTION 'field "%" must have 1 to % characters', key, maxlen
			USING ERRCODE = '22023';
	END IF;
	RETURN j ->> key;
END
$$;
COMMENT ON FUNCTION app.field(jsonb, text, int, boolean) IS
	'a string field of a parsed body, 22023 when missing, not a string, empty or too long';

CREATE OR REPLACE FUNCTION app.time_field(j jsonb, key text,
										  optional boolean DEFAULT false)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	s text := app.field(j, key, 40, optional);
BEGIN
	IF s IS NULL THEN
		RETURN NULL;
	END IF;
	IF s !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$' THEN
		RAISE EXCEPTION 'field "%" must be an RFC 3339 time with offset', key
			USING ERRCODE = '22007';
	END IF;
	RETURN s::timestamptz;
END
$$;
COMMENT ON FUNCTION app.time_field(jsonb, text, boolean) IS
	'an RFC 3339 timestamp field (with Z or an offset), 22007 otherwise';

CREATE OR REPLACE FUNCTION app.new_reference()
RETURNS text
LANGUAGE sql VOLATILE
AS $$
	SELECT 'A' OPERATOR(pg_catalog.||) pg_catalog.upper(pg_catalog.substr(
		pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', ''), 1, 16))
$$;
COMMENT ON FUNCTION app.new_reference() IS 'a fresh unguessable application reference (A + 16 hex digits)';

-- Register a person: a commitment on the ledger, the data beside it.  An
-- already registered id_number only gains the subject if it had none.
CREATE OR REPLACE FUNCTION app.register_person(p_subject text, p_id_number text,
											   p_full_name text, p_address text)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
	num text := app.ric_normalize(p_id_number);
	pid bigint;
	s bytea := app.new_salt();
	d jsonb;
BEGIN
	IF num IS NULL OR app.ric_status(num) <> 'valid' THEN
		RAISE EXCEPTION 'invalid resident identity number (%)',
			coalesce(app.ric_status(num), 'missing')
			USING ERRCODE = '22023';
	END IF;
	SELECT person_id INTO pid FROM app.person_data WHERE id_number = num;
	IF FOUND THEN
		IF p_subject IS NOT NULL THEN
			UPDATE app.person_data SET subject = p_subject
			WHERE person_id = pid AND subject IS NULL;
		END IF;
		RETURN pid;
	END IF;
	d := jsonb_build_object('v', 1, 'id_number', num, 'full_name', p_full_name,
							'address', p_address);
	INSERT INTO app.person (commitment) VALUES (app.commitment(s, d))
	RETURNING person_id INTO pid;
	INSERT INTO app.person_data (person_id, subject, id_number, full_name,
								 address, salt, data)
	VALUES (pid, p_subject, num, p_full_name, p_address, s, d);
	RETURN pid;
END
$$;
COMMENT ON FUNCTION app.register_person(text, text, text, text) IS
	'register a person (ledger commitment + off-ledger data) or return the existing person_id';

CREATE OR REPLACE FUNCTION app.register_company(p_uscc text, p_name text,
												p_address text,
												p_representative_id bigint)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
	code text := upper(p_uscc);
	cid bigint;
	s bytea := app.new_salt();
	d jsonb;
BEGIN
	IF code IS NULL OR NOT app.uscc_acceptable(code) THEN
		RAISE EXCEPTION 'invalid unified social credit code (%)',
			coalesce(app.uscc_status(code), 'missing')
			USING ERRCODE = '22023';
	END IF;
	SELECT company_id INTO cid FROM app.company_data WHERE uscc = code;
	IF FOUND THEN
		RETURN cid;
	END IF;
	d := jsonb_build_object('v', 1, 'uscc', code, 'name', p_name,
							'address', p_address);
	INSERT INTO app.company (commitment) VALUES (app.commitment(s, d))
	RETURNING company_id INTO cid;
	INSERT INTO app.company_data (company_id, uscc, uscc_review, name, address,
								  representative_id, salt, data)
	VALUES (cid, code, app.uscc_status(code) = 'review', p_name, p_address,
			p_representative_id, s, d);
	RETURN cid;
END
$$;
COMMENT ON FUNCTION app.register_company(text, text, text, bigint) IS
	'register a company (ledger commitment + register data) or return the existing company_id';

CREATE OR REPLACE FUNCTION app.add_event(aid bigint, st text, actor text,
										 note text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	INSERT INTO app.application_event (application_id, status, actor, note)
	VALUES (aid, st, actor, note);
END
$$;
COMMENT ON FUNCTION app.add_event(bigint, text, text, text) IS 'append a status to an application''s history';

CREATE OR REPLACE FUNCTION app.current_status(aid bigint)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	RETURN (SELECT status FROM app.application_event
		WHERE application_id = aid ORDER BY at DESC, event_id DESC LIMIT 1);
END
$$;
COMMENT ON FUNCTION app.current_status(bigint) IS 'the latest status of an application';

-- The automatic check of every requirement of a service, for an applicant
-- and (perhaps) a company, against the attestations in force at a time:
-- one row per requirement, in requirement order, naming the attestation
-- that satisfies it or saying why none does.  Candidates are tried newest
-- first (recorded_at, then attestation_id); the first one in force wins;
-- when none is, the reason is that of the newest.  "In force" is the rule of
-- app.attestation_problem (valid at that time, neither revoked nor
-- suspended then), written out over the candidate's own columns so that
-- the whole check is one query: it reads only the applicant's and the
-- company's attestations (by index, also in a generic plan), and the
-- planner inlines it into the statement that uses it (SQL, STABLE, not
-- STRICT, no SET clause).
CREATE OR REPLACE FUNCTION app.requirement_checks(p_service text, p_person bigint,
												  p_company bigint, p_at timestamptz)
RETURNS TABLE (requirement text, attestation_id bigint, satisfied boolean,
			   detail text)
LANGUAGE sql STABLE
AS $$
	SELECT r.requirement, c.found, c.found IS NOT NULL,
		   CASE WHEN c.found IS NOT NULL
				THEN 'attestation ' || c.found || ' in force'
				WHEN r.requirement IN ('company_registered', 'address')
					 AND p_company IS NULL
				THEN 'no company given'
				ELSE coalesce(c.why, 'no attestation')
		   END
	FROM app.service_requirement r
	CROSS JOIN LATERAL (
		SELECT (array_agg(x.attestation_id
						  ORDER BY x.recorded_at DESC, x.attestation_id DESC)
					FILTER (WHERE x.problem IS NULL))[1] AS found,
			   (array_agg('attestation ' || x.attestation_id || x.problem
						  ORDER BY x.recorded_at DESC, x.attestation_id DESC))[1] AS why
		FROM (SELECT a.attestation_id, a.recorded_at,
					 CASE
						 WHEN p_at < a.valid_from THEN ' not yet valid'
						 WHEN a.valid_until IS NOT NULL AND p_at >= a.valid_until
						 THEN ' expired'
						 ELSE coalesce(' ' || (
								SELECT CASE v.action WHEN 'revoke' THEN 'revoked: '
													 ELSE 'suspended: ' END
									   || v.reason
								FROM app.revocation v
								WHERE v.attestation_id = a.attestation_id
								  AND v.effective_at <= p_at
								  AND (v.effective_until IS NULL OR p_at < v.effective_until)
								ORDER BY v.action = 'revoke' DESC, v.effective_at
								LIMIT 1),
							CASE WHEN r.requirement = 'company_registered'
									  AND a.company_status <> 'active'
								 THEN ': company status ' || a.company_status END)
					 END AS problem
			  FROM app.attestation a
			  WHERE a.kind = r.requirement
				AND ((r.requirement IN ('identity_verified', 'qualification')
					  AND a.person_id = p_person)
					 OR (r.requirement IN ('company_registered', 'address')
						 AND a.company_id = p_company))
				AND (r.requirement <> 'qualification'
					 OR a.qualification = r.qualification)
				AND (r.requirement <> 'company_registered'
					 OR a.representative_id = p_person)
			  OFFSET 0) AS x  -- not flattened: problem is computed once per row
	) AS c
	WHERE r.service_code = p_service
	ORDER BY r.requirement
$$;
COMMENT ON FUNCTION app.requirement_checks(text, bigint, bigint, timestamptz) IS
	'for each requirement of a service (in order): the attestation in force at that time that satisfies it for that applicant and company, or why none does';

-- Check every requirement of the application's service against the
-- attestations in force now; record which attestation satisfied which
-- requirement, or why none did.  Returns true when all are satisfied.
-- (api.submit_application does the same inline, with the values at hand.)
CREATE OR REPLACE FUNCTION app.auto_verify(aid bigint)
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
	a app.application;
	all_ok boolean;
BEGIN
	SELECT * INTO STRICT a FROM app.application WHERE application_id = aid;
	WITH v AS (
		INSERT INTO app.verification (application_id, requirement,
									  attestation_id, satisfied, detail,
									  checked_at)
		SELECT aid, c.requirement, c.attestation_id, c.satisfied, c.detail, now()
		FROM app.requirement_checks(a.service_code, a.person_id, a.company_id,
									now()) AS c
		ORDER BY c.requirement
		RETURNING satisfied)
	SELECT coalesce(bool_and(satisfied), true) INTO all_ok FROM v;
	INSERT INTO app.application_event (application_id, status, actor)
	VALUES (aid, CASE WHEN all_ok THEN 'verified' ELSE 'needs_review' END,
			'system');
	RETURN all_ok;
END
$$;
COMMENT ON FUNCTION app.auto_verify(bigint) IS
	'verify an application against current, unrevoked, unsuspended attestations; records app.verification rows and a verified or needs_review event';

CREATE OR REPLACE FUNCTION app.record_access(pid bigint, purpose text,
											 aid bigint DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	IF app.request_role() NOT IN ('officer', 'agency') THEN
		RAISE EXCEPTION 'only officials'' reads are logged' USING ERRCODE = '42501';
	END IF;
	INSERT INTO app.access_log (person_id, official_role, official_subject,
								official_unit, purpose, application_id)
	VALUES (pid, app.request_role(), coalesce(app.claim('sub'), '?'),
			coalesce(app.current_district(), app.current_agency(), '?'),
			purpose, aid);
END
$$;
COMMENT ON FUNCTION app.record_access(bigint, text, bigint) IS
	'append to the access log: the calling official read that person''s data, for that purpose';

-- A receipt, or NULL while the entry is not sealed yet.
CREATE OR REPLACE FUNCTION app.receipt_of(tbl regclass, entry bigint)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
	IF entry IS NULL THEN
		RETURN NULL;
	END IF;
	RETURN govledger.receipt(tbl, entry);
EXCEPTION
	WHEN insufficient_privilege THEN
		RAISE;
	WHEN OTHERS THEN
		-- not sealed yet, or a server whose govledger has no proofs yet
		RETURN NULL;
END
$$;
COMMENT ON FUNCTION app.receipt_of(regclass, bigint) IS
	'govledger.receipt of an entry, NULL when it cannot be given (yet): the entry is not sealed, or the installed govledger has no receipts';

-- The receipt of a ledger row the caller may see.
CREATE OR REPLACE FUNCTION app.visible_receipt(tbl regclass, entry bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ok boolean := false;
BEGIN
	IF tbl IN ('app.application'::regclass, 'app.material'::regclass,
			   'app.verification'::regclass, 'app.application_event'::regclass,
			   'app.decision'::regclass) THEN
		EXECUTE format('SELECT app.application_visible(application_id) FROM %s'
					   ' WHERE ledger_entry_id = $1', tbl)
			INTO ok USING entry;
	ELSIF tbl = 'app.licence'::regclass THEN
		ok := EXISTS (SELECT 1 FROM app.licence WHERE ledger_entry_id = entry);
	ELSIF tbl = 'app.person'::regclass THEN
		ok := EXISTS (SELECT 1 FROM app.person WHERE ledger_entry_id = entry
					  AND person_id = app.current_person_id());
	ELSIF tbl = 'app.attestation'::regclass THEN
		ok := EXISTS (SELECT 1 FROM app.attestation WHERE ledger_entry_id = entry
					  AND (agency_code = app.current_agency()
						   OR person_id = app.current_person_id()
						   OR representative_id = app.current_person_id()));
	ELSIF tbl = 'app.access_log'::regclass THEN
		ok := EXISTS (SELECT 1 FROM app.access_log WHERE ledger_entry_id = entry
					  AND person_id = app.current_person_id());
	END IF;
	IF NOT coalesce(ok, false) THEN
		RAISE EXCEPTION 'no such entry' USING ERRCODE = 'P0002';
	END IF;
	RETURN app.receipt_of(tbl, entry);
END
$$;
COMMENT ON FUNCTION app.visible_receipt(regclass, bigint) IS
	'the receipt of a ledger row the caller may see (the same rules as the row-level policies; licences are public); P0002 otherwise';

-- Erase a person: personal data, salt and signed payloads naming them go;
-- the erasure itself becomes a ledger entry.  Ledger rows stay untouched.
CREATE OR REPLACE FUNCTION app.erase_person(pid bigint, requested_by text,
											reason text)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
	eid bigint;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM app.person WHERE person_id = pid) THEN
		RAISE EXCEPTION 'no such person' USING ERRCODE = 'P0002';
	END IF;
	IF EXISTS (SELECT 1 FROM app.erasure WHERE person_id = pid) THEN
		RAISE EXCEPTION 'person % is already erased', pid USING ERRCODE = '23505';
	END IF;
	DELETE FROM app.attestation_payload p
	USING app.attestation a
	WHERE a.attestation_id = p.attestation_id
	  AND (a.person_id = pid OR a.representative_id = pid);
	UPDATE app.company_data SET representative_id = NULL
	WHERE representative_id = pid;
	DELETE FROM app.person_data WHERE person_id = pid;
	INSERT INTO app.erasure (person_id, requested_by, reason)
	VALUES (pid, requested_by, reason)
	RETURNING erasure_id INTO eid;
	RETURN eid;
END
$$;
COMMENT ON FUNCTION app.erase_person(bigint, text, text) IS
	'delete a person''s data, salt and the signed payloads naming them; record the erasure on the ledger';

-- Issue the licence of an approved application.
CREATE OR REPLACE FUNCTION app.issue_licence(aid bigint, at timestamptz DEFAULT now())
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
	a app.application;
	lid bigint;
	no text;
BEGIN
	SELECT * INTO STRICT a FROM app.application WHERE application_id = aid;
	lid := nextval(pg_get_serial_sequence('app.licence', 'licence_id'));
	no := 'L' || a.district_code || '-'
		  || to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYYY') || '-'
		  || lpad(lid::text, 8, '0');
	INSERT INTO app.licence (licence_id, licence_no, application_id, company_id,
							 service_code, district_code, issued_at, valid_until)
	OVERRIDING SYSTEM VALUE
	SELECT lid, no, aid, a.company_id, a.service_code, a.district_code, at,
		   at + make_interval(days => s.licence_valid_days)
	FROM app.service s WHERE s.service_code = a.service_code;
	RETURN no;
END
$$;
COMMENT ON FUNCTION app.issue_licence(bigint, timestamptz) IS
	'insert the licence of an application; number L<district>-<year>-<8 digits>';

GRANT EXECUTE ON FUNCTION app.visible_receipt(regclass, bigint) TO citizen, officer, agency;

