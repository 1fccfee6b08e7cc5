-- sql/00_roles.sql
--
-- Roles and schemas of the e-services schema.
--
-- The gateway logs in as govledger_gateway and, for each request, switches
-- with SET ROLE into exactly one of the five request roles (citizen, officer,
-- agency, reporter, anonymous).  It is NOINHERIT, so it has no rights of its
-- own on any table: everything it can do it does as one of those roles.
-- eservices_owner owns the tables, views and SECURITY DEFINER functions; it
-- cannot log in.  Safe to run twice.

SET client_min_messages = warning;

DO $roles$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['citizen', 'officer', 'agency', 'reporter',
							 'anonymous', 'eservices_owner']
	LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
			EXECUTE format('CREATE ROLE %I NOLOGIN', r);
		END IF;
		EXECUTE format('ALTER ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', r);
	END LOOP;

	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'govledger_gateway') THEN
		CREATE ROLE govledger_gateway LOGIN NOINHERIT;
	END IF;
	ALTER ROLE govledger_gateway LOGIN NOINHERIT NOSUPERUSER NOCREATEDB
		NOCREATEROLE NOREPLICATION NOBYPASSRLS;

	FOREACH r IN ARRAY ARRAY['citizen', 'officer', 'agency', 'reporter',
							 'anonymous']
	LOOP
		IF NOT pg_has_role('govledger_gateway', r, 'MEMBER') THEN
			EXECUTE format('GRANT %I TO govledger_gateway', r);
		END IF;
	END LOOP;
END
$roles$;

COMMENT ON ROLE govledger_gateway IS
	'login role of the nginx gateway: NOINHERIT, can only SET ROLE into citizen, officer, agency, reporter, anonymous';
COMMENT ON ROLE eservices_owner IS
	'owns the e-services tables, views and SECURITY DEFINER functions; cannot log in';

-- The loader (a superuser) creates every object; sql/89_owner.sql then
-- hands them to eservices_owner.  The owner's SECURITY DEFINER functions
-- call the govledger functions (receipt, checkpoint, verify_signature ...).
GRANT USAGE ON SCHEMA govledger TO eservices_owner;

CREATE SCHEMA IF NOT EXISTS app AUTHORIZATION eservices_owner;
CREATE SCHEMA IF NOT EXISTS api AUTHORIZATION eservices_owner;
CREATE SCHEMA IF NOT EXISTS report AUTHORIZATION eservices_owner;
ALTER SCHEMA app OWNER TO eservices_owner;
ALTER SCHEMA api OWNER TO eservices_owner;
ALTER SCHEMA report OWNER TO eservices_owner;

COMMENT ON SCHEMA app IS 'e-services tables (ledger tables hold commitments and events, ordinary tables hold personal data)';
COMMENT ON SCHEMA api IS 'functions the HTTP gateway calls; text/json in, json out';
COMMENT ON SCHEMA report IS 'aggregate views for reporting tools; the only objects the reporter role can read';

-- nobody but the owner creates objects in these schemas
REVOKE ALL ON SCHEMA app, api, report FROM PUBLIC;
GRANT USAGE ON SCHEMA app TO citizen, officer, agency;
GRANT USAGE ON SCHEMA api TO citizen, officer, agency, reporter, anonymous;
-- the gateway prepares its calls before switching role: it must resolve the
-- names in api, but may execute none of them as itself
GRANT USAGE ON SCHEMA api TO govledger_gateway;
GRANT USAGE ON SCHEMA report TO reporter;
