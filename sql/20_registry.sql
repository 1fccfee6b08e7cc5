-- sql/20_registry.sql
--
-- Who is who: districts, agencies and their verifier keys, officers, persons
-- and companies.
--
-- Persons and companies appear on the ledger only as salted commitments
-- (SHA-256 of a random salt followed by the UTF-8 text of a jsonb object of
-- their data); the data and the salt live in ordinary tables, so an erasure
-- deletes them while every ledger entry, and every proof over it, still
-- verifies.  Ledger tables reference only ledger tables, never the personal
-- data tables.  Safe to run twice.

SET client_min_messages = warning;

CREATE TABLE IF NOT EXISTS app.district (
	district_code text PRIMARY KEY CHECK (district_code ~ '^[0-9]{6}$'),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200)
);
COMMENT ON TABLE app.district IS 'administrative districts (GB/T 2260 six-digit codes) whose service centres handle applications';

CREATE TABLE IF NOT EXISTS app.agency (
	agency_code text PRIMARY KEY CHECK (agency_code ~ '^[A-Z][A-Z0-9-]{1,31}$'),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	registered_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE app.agency IS 'ledger: agencies that sign attestations (public security bureau, market regulator, ...)';

CREATE TABLE IF NOT EXISTS app.agency_key (
	agency_code text NOT NULL REFERENCES app.agency,
	key_id text NOT NULL CHECK (key_id ~ '^[A-Za-z0-9._-]{1,64}$'),
	alg text NOT NULL CHECK (alg IN ('ed25519', 'sm2')),
	public_key bytea NOT NULL,
	valid_from timestamptz NOT NULL DEFAULT now(),
	valid_until timestamptz,
	PRIMARY KEY (agency_code, key_id),
	CHECK ((alg = 'ed25519' AND length(public_key) = 32)
		   OR (alg = 'sm2' AND length(public_key) = 65
			   AND get_byte(public_key, 0) = 4)),
	CHECK (valid_until IS NULL OR valid_until > valid_from)
);
COMMENT ON TABLE app.agency_key IS 'ledger: agency verifier keys: raw 32-byte Ed25519 public keys, or 65-byte uncompressed SM2 points; a key is valid in [valid_from, valid_until)';

CREATE TABLE IF NOT EXISTS app.agency_client (
	client_subject text PRIMARY KEY CHECK (length(client_subject) BETWEEN 1 AND 500),
	agency_code text NOT NULL REFERENCES app.agency
);
COMMENT ON TABLE app.agency_client IS 'which agency a client authenticates as when its credentials carry no agency claim: the subject DN of its TLS client certificate (the gateway puts it into sub)';

CREATE TABLE IF NOT EXISTS app.officer (
	officer_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	subject text NOT NULL UNIQUE CHECK (length(subject) BETWEEN 1 AND 200),
	full_name text NOT NULL,
	district_code text NOT NULL REFERENCES app.district,
	active boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE app.officer IS 'service-centre officers; subject is the JWT sub of their tokens, district_code must match the token''s district claim';

CREATE TABLE IF NOT EXISTS app.person (
	person_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	commitment bytea NOT NULL CHECK (length(commitment) = 32),
	registered_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE app.person IS 'ledger: a person as a salted commitment only: sha256(salt || convert_to(data::text, ''UTF8'')) with data and salt in app.person_data';

CREATE TABLE IF NOT EXISTS app.person_data (
	person_id bigint PRIMARY KEY REFERENCES app.person,
	subject text UNIQUE CHECK (length(subject) BETWEEN 1 AND 200),
	id_number text NOT NULL UNIQUE CHECK (app.ric_valid(id_number)
										  AND id_number = upper(id_number)),
	full_name text NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
	address text CHECK (length(address) <= 500),
	salt bytea NOT NULL CHECK (length(salt) = 32),
	data jsonb NOT NULL
);
COMMENT ON TABLE app.person_data IS 'personal data (off-ledger): erased on request; data is the exact jsonb whose text the commitment covers';

CREATE TABLE IF NOT EXISTS app.company (
	company_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	commitment bytea NOT NULL CHECK (length(commitment) = 32),
	registered_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE app.company IS 'ledger: a company as a salted commitment only (see app.company_data)';

CREATE TABLE IF NOT EXISTS app.company_data (
	company_id bigint PRIMARY KEY REFERENCES app.company,
	uscc text NOT NULL UNIQUE CHECK (app.uscc_acceptable(uscc)),
	uscc_review boolean NOT NULL,
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	address text CHECK (length(address) <= 500),
	representative_id bigint REFERENCES app.person,
	salt bytea NOT NULL CHECK (length(salt) = 32),
	data jsonb NOT NULL,
	CHECK (uscc_review = (app.uscc_status(uscc) = 'review'))
);
COMMENT ON TABLE app.company_data IS 'company register data (off-ledger); uscc_review marks codes whose GB 32100 check fails but which are accepted pending a registry lookup';

CREATE TABLE IF NOT EXISTS app.erasure (
	erasure_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	person_id bigint NOT NULL UNIQUE REFERENCES app.person,
	erased_at timestamptz NOT NULL DEFAULT now(),
	requested_by text NOT NULL CHECK (length(requested_by) BETWEEN 1 AND 200),
	reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500)
);
COMMENT ON TABLE app.erasure IS 'ledger: one entry per erased person: the personal data and the salt are gone, the commitment stays';

CREATE INDEX IF NOT EXISTS officer_district_idx ON app.officer (district_code);
CREATE INDEX IF NOT EXISTS company_data_representative_idx ON app.company_data (representative_id);

-- commitment over a person's or company's data
CREATE OR REPLACE FUNCTION app.commitment(salt bytea, data jsonb)
RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT sha256(salt || convert_to(data::text, 'UTF8')) $$;
COMMENT ON FUNCTION app.commitment(bytea, jsonb) IS
	'sha256(salt || UTF-8 bytes of the jsonb text): what app.person and app.company hold';
GRANT EXECUTE ON FUNCTION app.commitment(bytea, jsonb) TO PUBLIC;

-- 32 random bytes from two version-4 UUIDs (244 random bits)
CREATE OR REPLACE FUNCTION app.new_salt()
RETURNS bytea
LANGUAGE sql VOLATILE PARALLEL SAFE
AS $$
	SELECT decode(replace(gen_random_uuid()::text, '-', '')
				  || replace(gen_random_uuid()::text, '-', ''), 'hex')
$$;
COMMENT ON FUNCTION app.new_salt() IS '32 bytes from gen_random_uuid() (strong random source)';


-- Make a table a ledger once: ownership and row-level security are set
-- before protect(), since a ledger table cannot be altered afterwards.
CREATE OR REPLACE FUNCTION app.ledger_setup(tbl regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_attribute
			   WHERE attrelid = tbl AND attname = 'ledger_entry_id'
				 AND NOT attisdropped) THEN
		RETURN;
	END IF;
	EXECUTE format('ALTER TABLE %s OWNER TO eservices_owner', tbl);
	EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
	PERFORM govledger.protect(tbl);
END
$$;
COMMENT ON FUNCTION app.ledger_setup(regclass) IS
	'loader helper: owner, row-level security, then govledger.protect(), once per table';
REVOKE ALL ON FUNCTION app.ledger_setup(regclass) FROM PUBLIC;

DO $ledgers$
BEGIN
	PERFORM app.ledger_setup(t)
	FROM unnest(ARRAY['app.agency', 'app.agency_key', 'app.person',
					  'app.company', 'app.erasure']::regclass[]) AS t;
END
$ledgers$;
ALTER TABLE app.district ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.officer ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.agency_client ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.person_data ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.company_data ENABLE ROW LEVEL SECURITY;
