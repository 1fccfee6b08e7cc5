-- sql/30_attestations.sql
--
-- Attestations and their revocations, both signed by the issuing agency.
--
-- An agency signs a JSON payload (its exact bytes are kept off-ledger in
-- app.attestation_payload, as it names a person); the ledger row keeps the
-- payload's SHA-256, the columns taken from it, and the signature over the
-- UTF-8 text
--
--     govledger-attestation/v1 <lower-case hex of sha256(payload)>
--
-- (govledger-revocation/v1 for revocations), so the signature stays
-- checkable from the ledger alone after the payload has been erased.  A row
-- is rejected (SQLSTATE 22023) unless the signature verifies under a key of
-- that agency valid at the time of recording; verification goes through
-- govledger.verify_signature(alg, public_key, message, signature).
-- Safe to run twice.

SET client_min_messages = warning;

CREATE TABLE IF NOT EXISTS app.attestation (
	attestation_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	agency_code text NOT NULL,
	key_id text NOT NULL,
	kind text NOT NULL CHECK (kind IN ('identity_verified', 'company_registered',
									   'address', 'qualification')),
	person_id bigint REFERENCES app.person,
	company_id bigint REFERENCES app.company,
	representative_id bigint REFERENCES app.person,
	company_status text CHECK (company_status IN ('active', 'suspended',
												  'cancelled')),
	qualification text CHECK (qualification ~ '^[a-z][a-z0-9_]{0,63}$'),
	valid_from timestamptz NOT NULL,
	valid_until timestamptz,
	recorded_at timestamptz NOT NULL DEFAULT now(),
	payload_sha256 bytea NOT NULL CHECK (length(payload_sha256) = 32),
	signature bytea NOT NULL,
	FOREIGN KEY (agency_code, key_id) REFERENCES app.agency_key,
	UNIQUE (agency_code, payload_sha256),
	CHECK (valid_until IS NULL OR valid_until > valid_from),
	CHECK (CASE kind
		   WHEN 'identity_verified' THEN person_id IS NOT NULL AND company_id IS NULL
		   WHEN 'qualification' THEN person_id IS NOT NULL AND company_id IS NULL
				AND qualification IS NOT NULL
		   WHEN 'company_registered' THEN company_id IS NOT NULL AND person_id IS NULL
				AND company_status IS NOT NULL AND representative_id IS NOT NULL
		   WHEN 'address' THEN company_id IS NOT NULL AND person_id IS NULL
		   END)
);
COMMENT ON TABLE app.attestation IS 'ledger: signed statements of agencies about a person (identity_verified, qualification) or a company (company_registered with status and representative, address)';

CREATE TABLE IF NOT EXISTS app.attestation_payload (
	attestation_id bigint PRIMARY KEY REFERENCES app.attestation,
	payload text NOT NULL
);
COMMENT ON TABLE app.attestation_payload IS 'the exact signed payload of an attestation (off-ledger: it names people, and goes with an erasure)';

CREATE TABLE IF NOT EXISTS app.revocation (
	revocation_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	attestation_id bigint NOT NULL REFERENCES app.attestation,
	agency_code text NOT NULL,
	key_id text NOT NULL,
	action text NOT NULL CHECK (action IN ('revoke', 'suspend')),
	reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
	effective_at timestamptz NOT NULL,
	effective_until timestamptz,
	recorded_at timestamptz NOT NULL DEFAULT now(),
	payload_sha256 bytea NOT NULL CHECK (length(payload_sha256) = 32),
	signature bytea NOT NULL,
	FOREIGN KEY (agency_code, key_id) REFERENCES app.agency_key,
	UNIQUE (agency_code, payload_sha256),
	CHECK (effective_until IS NULL OR (action = 'suspend'
									   AND effective_until > effective_at))
);
COMMENT ON TABLE app.revocation IS 'ledger: revocations (permanent from effective_at) and suspensions (from effective_at until effective_until, or open-ended) of attestations, signed by the issuing agency';

CREATE INDEX IF NOT EXISTS attestation_person_idx ON app.attestation (person_id, kind);
CREATE INDEX IF NOT EXISTS attestation_company_idx ON app.attestation (company_id, kind);
CREATE INDEX IF NOT EXISTS attestation_agency_idx ON app.attestation (agency_code);
CREATE INDEX IF NOT EXISTS attestation_representative_idx ON app.attestation (representative_id);
CREATE INDEX IF NOT EXISTS revocation_attestation_idx ON app.revocation (attestation_id);

CREATE OR REPLACE FUNCTION app.signing_message(purpose text, payload_sha256 bytea)
RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT convert_to('govledger-' || purpose || '/v1 '
					  || encode(payload_sha256, 'hex'), 'UTF8')
$$;
COMMENT ON FUNCTION app.signing_message(text, bytea) IS
	'the bytes an agency signs: "govledger-<attestation|revocation>/v1 " followed by the hex SHA-256 of the payload';
GRANT EXECUTE ON FUNCTION app.signing_message(text, bytea) TO PUBLIC;

-- Trigger: reject a row whose signature does not verify under a key of its
-- agency valid now; a revocation must come from the attestation's issuer.
CREATE OR REPLACE FUNCTION app.check_agency_signature()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	k record;
	issuer text;
	purpose text := CASE TG_TABLE_NAME WHEN 'revocation' THEN 'revocation'
									   ELSE 'attestation' END;
BEGIN
	SELECT alg, public_key INTO k
	FROM app.agency_key
	WHERE agency_code = NEW.agency_code AND key_id = NEW.key_id
	  AND valid_from <= now() AND (valid_until IS NULL OR now() < valid_until);
	IF NOT FOUND THEN
		RAISE EXCEPTION 'agency key %/% is unknown or not valid now',
			NEW.agency_code, NEW.key_id
			USING ERRCODE = '22023';
	END IF;
	IF NOT coalesce(govledger.verify_signature(k.alg, k.public_key,
				app.signing_message(purpose, NEW.payload_sha256),
				NEW.signature), false) THEN
		RAISE EXCEPTION '% signature does not verify under key %/%',
			purpose, NEW.agency_code, NEW.key_id
			USING ERRCODE = '22023',
				  HINT = 'Sign "govledger-' || purpose || '/v1 " followed by the hex SHA-256 of the exact payload bytes.';
	END IF;
	IF TG_TABLE_NAME = 'revocation' THEN
		SELECT agency_code INTO issuer FROM app.attestation
		WHERE attestation_id = NEW.attestation_id;
		IF issuer IS DISTINCT FROM NEW.agency_code THEN
			RAISE EXCEPTION 'only the issuing agency can revoke or suspend attestation %',
				NEW.attestation_id
				USING ERRCODE = '42501';
		END IF;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION app.check_agency_signature() IS
	'BEFORE INSERT trigger of app.attestation and app.revocation: the agency signature must verify';

-- created once: a ledger table takes no DROP or ALTER afterwards
DO $triggers$
DECLARE
	t regclass;
BEGIN
	FOREACH t IN ARRAY ARRAY['app.attestation', 'app.revocation']::regclass[]
	LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_trigger
					   WHERE tgrelid = t AND tgname = 'a_check_signature') THEN
			EXECUTE format('CREATE TRIGGER a_check_signature BEFORE INSERT ON %s '
						   'FOR EACH ROW EXECUTE FUNCTION app.check_agency_signature()', t);
		END IF;
	END LOOP;
END
$triggers$;

-- NULL when the attestation is in force at the given time, else why not
CREATE OR REPLACE FUNCTION app.attestation_problem(a_id bigint, at timestamptz)
RETURNS text
LANGUAGE plpgsql STABLE STRICT
AS $$
BEGIN
	RETURN (SELECT CASE
			WHEN a.attestation_id IS NULL THEN 'unknown attestation'
			WHEN at < a.valid_from THEN 'not yet valid'
			WHEN a.valid_until IS NOT NULL AND at >= a.valid_until THEN 'expired'
			ELSE (SELECT CASE r.action WHEN 'revoke' THEN 'revoked: ' ELSE 'suspended: ' END
						 || r.reason
				  FROM app.revocation r
				  WHERE r.attestation_id = a.attestation_id
					AND r.effective_at <= at
					AND (r.effective_until IS NULL OR at < r.effective_until)
				  ORDER BY r.action = 'revoke' DESC, r.effective_at
				  LIMIT 1)
		END
		FROM (SELECT 1) AS one
		LEFT JOIN app.attestation a ON a.attestation_id = a_id);
END
$$;
COMMENT ON FUNCTION app.attestation_problem(bigint, timestamptz) IS
	'NULL if the attestation is valid and neither revoked nor suspended at that time; otherwise the reason';


ALTER TABLE app.attestation_payload ENABLE ROW LEVEL SECURITY;
DO $ledgers$
BEGIN
	PERFORM app.ledger_setup(t)
	FROM unnest(ARRAY['app.attestation', 'app.revocation']::regclass[]) AS t;
END
$ledgers$;
