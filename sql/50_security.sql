-- sql/50_security.sql
--
-- Who may read what.  The gateway sets, per request and transaction-local,
-- the role (citizen, officer, agency, reporter, anonymous) and
-- request.jwt.claims (PostgREST's names); the policies below read
-- sub/district/agency from the claims and tie them to the role:
--
--   citizen   rows about the person whose person_data.subject = sub
--   officer   rows of applications in the officer's district, where sub is an
--             active officer registered in the district the token names
--   agency    its own attestations and revocations (agency claim, or the
--             client certificate subject mapped in app.agency_client)
--   reporter  nothing here: only the report views
--   anonymous nothing here: only the public api functions
--
-- No request role may write any table directly: writes go through the api
-- functions.  Safe to run twice.

SET client_min_messages = warning;

-- The claim helpers are plain SQL without SET clauses so that the planner
-- inlines them (they are called for every row a policy checks); callers that
-- matter pin their own search_path.
CREATE OR REPLACE FUNCTION app.claims()
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(nullif(pg_catalog.current_setting('request.jwt.claims', true),
						   '')::jsonb, '{}'::jsonb)
$$;
COMMENT ON FUNCTION app.claims() IS 'the JWT claims the gateway put into request.jwt.claims, or {}';

CREATE OR REPLACE FUNCTION app.claim(name text)
RETURNS text
LANGUAGE sql STABLE
AS $$
	SELECT nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb
		   OPERATOR(pg_catalog.->>) name
$$;
COMMENT ON FUNCTION app.claim(text) IS 'one claim as text, NULL when absent (or when the claims are not an object)';

-- the request role survives SECURITY DEFINER calls (the GUC is not changed)
CREATE OR REPLACE FUNCTION app.request_role()
RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT pg_catalog.current_setting('role') $$;
COMMENT ON FUNCTION app.request_role() IS 'the role set for this request (citizen, officer, ...), none outside a request';

CREATE OR REPLACE FUNCTION app.current_person_id()
RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN (SELECT person_id FROM app.person_data
		WHERE app.request_role() = 'citizen' AND subject = app.claim('sub'));
END
$$;
COMMENT ON FUNCTION app.current_person_id() IS 'the calling citizen''s person_id (NULL unless the role is citizen and sub is a registered subject)';

CREATE OR REPLACE FUNCTION app.current_officer_id()
RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN (SELECT officer_id FROM app.officer
		WHERE app.request_role() = 'officer' AND active
		  AND subject = app.claim('sub') AND district_code = app.claim('district'));
END
$$;
COMMENT ON FUNCTION app.current_officer_id() IS 'the calling officer (NULL unless role officer, an active officer with that sub, registered in the token''s district)';

CREATE OR REPLACE FUNCTION app.current_district()
RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN (SELECT district_code FROM app.officer
		WHERE officer_id = app.current_officer_id());
END
$$;
COMMENT ON FUNCTION app.current_district() IS 'the calling officer''s district, NULL for anyone else';

CREATE OR REPLACE FUNCTION app.current_agency()
RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN (SELECT CASE WHEN app.request_role() = 'agency' THEN
			CASE WHEN app.claim('agency') IS NOT NULL
				 THEN (SELECT agency_code FROM app.agency
					   WHERE agency_code = app.claim('agency'))
				 ELSE (SELECT agency_code FROM app.agency_client
					   WHERE client_subject = app.claim('sub'))
			END
		END);
END
$$;
COMMENT ON FUNCTION app.current_agency() IS 'the calling agency: its agency claim (JWT), or else its client certificate subject in app.agency_client (mTLS); NULL unless role agency';

CREATE OR REPLACE FUNCTION app.application_visible(aid bigint)
RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN (SELECT CASE app.request_role()
			WHEN 'citizen' THEN EXISTS (SELECT 1 FROM app.application a
										WHERE a.application_id = aid
										  AND a.person_id = app.current_person_id())
			WHEN 'officer' THEN EXISTS (SELECT 1 FROM app.application a
										WHERE a.application_id = aid
										  AND a.district_code = app.current_district())
			ELSE false
		END);
END
$$;
COMMENT ON FUNCTION app.application_visible(bigint) IS 'whether the caller may see that application: its applicant, or an officer of its district';


GRANT EXECUTE ON FUNCTION app.claims(), app.claim(text), app.request_role(),
	app.current_person_id(), app.current_officer_id(), app.current_district(),
	app.current_agency(), app.application_visible(bigint)
	TO citizen, officer, agency;

-- Policies are created once (a ledger table takes no later ALTER).
CREATE OR REPLACE FUNCTION app.policy_setup(tbl regclass, pol text,
											roles text, using_expr text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_policy
				   WHERE polrelid = tbl AND polname = pol) THEN
		EXECUTE format('CREATE POLICY %I ON %s FOR SELECT TO %s USING (%s)',
					   pol, tbl, roles, using_expr);
	END IF;
END
$$;
COMMENT ON FUNCTION app.policy_setup(regclass, text, text, text) IS
	'loader helper: a SELECT policy, created when missing';
REVOKE ALL ON FUNCTION app.policy_setup(regclass, text, text, text) FROM PUBLIC;

DO $policies$
BEGIN
	-- reference data everyone signed in may read
	PERFORM app.policy_setup('app.district', 'read_all', 'citizen, officer, agency', 'true');
	PERFORM app.policy_setup('app.service', 'read_all', 'citizen, officer, agency', 'true');
	PERFORM app.policy_setup('app.service_requirement', 'read_all', 'citizen, officer, agency', 'true');
	PERFORM app.policy_setup('app.agency', 'read_all', 'citizen, officer, agency', 'true');
	PERFORM app.policy_setup('app.agency_key', 'read_all', 'citizen, officer, agency', 'true');
	PERFORM app.policy_setup('app.company_data', 'read_register', 'citizen, officer, agency', 'true');

	-- officers: their own row, their district's work
	PERFORM app.policy_setup('app.officer', 'officer_self', 'officer',
		'officer_id = app.current_officer_id()');
	PERFORM app.policy_setup('app.counter_visit', 'officer_district', 'officer',
		'district_code = app.current_district()');

	-- citizens: themselves
	PERFORM app.policy_setup('app.person', 'citizen_self', 'citizen',
		'person_id = app.current_person_id()');
	PERFORM app.policy_setup('app.person_data', 'citizen_self', 'citizen',
		'person_id = app.current_person_id()');
	PERFORM app.policy_setup('app.access_log', 'citizen_self', 'citizen',
		'person_id = app.current_person_id()');

	-- applications: the applicant and officers of the district
	PERFORM app.policy_setup('app.application', 'citizen_own', 'citizen',
		'person_id = app.current_person_id()');
	PERFORM app.policy_setup('app.application', 'officer_district', 'officer',
		'district_code = app.current_district()');
	PERFORM app.policy_setup('app.material', 'application_visible', 'citizen, officer',
		'app.application_visible(application_id)');
	PERFORM app.policy_setup('app.verification', 'application_visible', 'citizen, officer',
		'app.application_visible(application_id)');
	PERFORM app.policy_setup('app.application_event', 'application_visible', 'citizen, officer',
		'app.application_visible(application_id)');
	PERFORM app.policy_setup('app.decision', 'application_visible', 'citizen, officer',
		'app.application_visible(application_id)');
	PERFORM app.policy_setup('app.licence', 'application_visible', 'citizen, officer',
		'app.application_visible(application_id)');

	-- attestations: the issuing agency, and the person they are about
	PERFORM app.policy_setup('app.attestation', 'agency_own', 'agency',
		'agency_code = app.current_agency()');
	PERFORM app.policy_setup('app.attestation', 'citizen_about', 'citizen',
		'person_id = app.current_person_id() OR representative_id = app.current_person_id()');
	PERFORM app.policy_setup('app.attestation_payload', 'agency_own', 'agency',
		'EXISTS (SELECT 1 FROM app.attestation a WHERE a.attestation_id = attestation_payload.attestation_id AND a.agency_code = app.current_agency())');
	PERFORM app.policy_setup('app.revocation', 'agency_own', 'agency',
		'agency_code = app.current_agency()');
	PERFORM app.policy_setup('app.revocation', 'citizen_about', 'citizen',
		'EXISTS (SELECT 1 FROM app.attestation a WHERE a.attestation_id = revocation.attestation_id AND (a.person_id = app.current_person_id() OR a.representative_id = app.current_person_id()))');
END
$policies$;

-- table rights: SELECT only, rows limited by the policies above
REVOKE ALL ON ALL TABLES IN SCHEMA app FROM PUBLIC, citizen, officer, agency,
	reporter, anonymous, govledger_gateway;
GRANT SELECT ON app.district, app.service, app.service_requirement,
	app.agency, app.agency_key TO citizen, officer, agency;
GRANT SELECT (company_id, uscc, uscc_review, name) ON app.company_data
	TO citizen, officer, agency;
GRANT SELECT ON app.officer, app.counter_visit TO officer;
GRANT SELECT ON app.person, app.person_data, app.access_log TO citizen;
GRANT SELECT ON app.application, app.material, app.verification,
	app.application_event, app.decision, app.licence TO citizen, officer;
GRANT SELECT ON app.attestation, app.revocation TO citizen, agency;
GRANT SELECT ON app.attestation_payload TO agency;
