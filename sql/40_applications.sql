-- sql/40_applications.sql
--
-- Services, applications and what happens to them: materials (document
-- hashes), automatic verification results, status history, officer
-- decisions, licences, counter visits and the access log.
--
-- Everything that is a fact about an application is a ledger row and is
-- never updated: the status of an application is its latest
-- app.application_event.  Applications name people only by person_id.
-- Safe to run twice.

SET client_min_messages = warning;

CREATE TABLE IF NOT EXISTS app.service (
	service_code text PRIMARY KEY CHECK (service_code ~ '^[a-z][a-z0-9_]{1,63}$'),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	licence_valid_days integer NOT NULL CHECK (licence_valid_days > 0)
);
COMMENT ON TABLE app.service IS 'services that end in a licence, and how long the licence is valid';

CREATE TABLE IF NOT EXISTS app.service_requirement (
	service_code text NOT NULL REFERENCES app.service,
	requirement text NOT NULL CHECK (requirement IN ('identity_verified',
		'company_registered', 'address', 'qualification')),
	qualification text CHECK (qualification ~ '^[a-z][a-z0-9_]{0,63}$'),
	PRIMARY KEY (service_code, requirement),
	CHECK ((requirement = 'qualification') = (qualification IS NOT NULL))
);
COMMENT ON TABLE app.service_requirement IS 'attestations a service needs: identity_verified (applicant), company_registered (company active, applicant its representative), address (company), qualification (applicant, named)';

CREATE TABLE IF NOT EXISTS app.application (
	application_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	reference text NOT NULL UNIQUE CHECK (reference ~ '^A[0-9A-F]{16}$'),
	person_id bigint NOT NULL REFERENCES app.person,
	company_id bigint REFERENCES app.company,
	service_code text NOT NULL,
	channel text NOT NULL CHECK (channel IN ('app', 'counter')),
	district_code text NOT NULL,
	submitted_at timestamptz NOT NULL DEFAULT now(),
	submitted_by text NOT NULL CHECK (length(submitted_by) BETWEEN 1 AND 200)
);
COMMENT ON TABLE app.application IS 'ledger: an application for a service, through the app or at a service-centre counter; reference is its unguessable public handle';

CREATE TABLE IF NOT EXISTS app.material (
	application_id bigint NOT NULL REFERENCES app.application,
	position integer NOT NULL CHECK (position BETWEEN 1 AND 50),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	sha256 bytea NOT NULL CHECK (length(sha256) = 32),
	media_type text CHECK (media_type ~ '^[a-z]+/[A-Za-z0-9.+-]+$'),
	PRIMARY KEY (application_id, position)
);
COMMENT ON TABLE app.material IS 'ledger: documents handed in with an application, by SHA-256 only';

CREATE TABLE IF NOT EXISTS app.verification (
	application_id bigint NOT NULL REFERENCES app.application,
	requirement text NOT NULL,
	attestation_id bigint REFERENCES app.attestation,
	satisfied boolean NOT NULL,
	detail text NOT NULL,
	checked_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (application_id, requirement),
	CHECK (NOT satisfied OR attestation_id IS NOT NULL)
);
COMMENT ON TABLE app.verification IS 'ledger: the automatic check of each requirement of an application: which attestation satisfied it, or why none did';

CREATE TABLE IF NOT EXISTS app.application_event (
	event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	application_id bigint NOT NULL REFERENCES app.application,
	status text NOT NULL CHECK (status IN ('submitted', 'verified',
		'needs_review', 'approved', 'rejected', 'issued')),
	at timestamptz NOT NULL DEFAULT now(),
	actor text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
	note text CHECK (length(note) <= 500)
);
COMMENT ON TABLE app.application_event IS 'ledger: status history of applications; the current status is the latest event';

CREATE TABLE IF NOT EXISTS app.decision (
	application_id bigint PRIMARY KEY REFERENCES app.application,
	officer_id bigint NOT NULL,
	outcome text NOT NULL CHECK (outcome IN ('approve', 'reject')),
	reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
	decided_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE app.decision IS 'ledger: the officer''s decision, one per application';

CREATE TABLE IF NOT EXISTS app.licence (
	licence_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	licence_no text NOT NULL UNIQUE CHECK (licence_no ~ '^L[0-9]{6}-[0-9]{4}-[0-9]{8}$'),
	application_id bigint NOT NULL UNIQUE REFERENCES app.application,
	company_id bigint REFERENCES app.company,
	service_code text NOT NULL,
	district_code text NOT NULL,
	issued_at timestamptz NOT NULL DEFAULT now(),
	valid_until timestamptz NOT NULL,
	CHECK (valid_until > issued_at)
);
COMMENT ON TABLE app.licence IS 'ledger: issued licences; the log''s signed checkpoint over this row (govledger.receipt) is the licence''s signature';

CREATE TABLE IF NOT EXISTS app.access_log (
	access_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	person_id bigint NOT NULL REFERENCES app.person,
	accessed_at timestamptz NOT NULL DEFAULT now(),
	official_role text NOT NULL CHECK (official_role IN ('officer', 'agency')),
	official_subject text NOT NULL,
	official_unit text NOT NULL,
	purpose text NOT NULL CHECK (length(purpose) BETWEEN 1 AND 200),
	application_id bigint REFERENCES app.application
);
COMMENT ON TABLE app.access_log IS 'ledger: every read of a person''s data by an official; the person can list it';

CREATE TABLE IF NOT EXISTS app.counter_visit (
	visit_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	district_code text NOT NULL REFERENCES app.district,
	visited_at timestamptz NOT NULL DEFAULT now(),
	purpose text NOT NULL CHECK (purpose IN ('application', 'enquiry',
											 'collection')),
	application_id bigint REFERENCES app.application
);
COMMENT ON TABLE app.counter_visit IS 'visits at service-centre counters (every counter application is one)';

CREATE INDEX IF NOT EXISTS application_person_idx ON app.application (person_id);
CREATE INDEX IF NOT EXISTS application_district_idx ON app.application (district_code, submitted_at);
CREATE INDEX IF NOT EXISTS application_submitted_idx ON app.application (submitted_at);
CREATE INDEX IF NOT EXISTS application_event_app_idx ON app.application_event (application_id, at, event_id);
CREATE INDEX IF NOT EXISTS access_log_person_idx ON app.access_log (person_id, accessed_at);
CREATE INDEX IF NOT EXISTS counter_visit_day_idx ON app.counter_visit (visited_at);


ALTER TABLE app.service ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.service_requirement ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.counter_visit ENABLE ROW LEVEL SECURITY;
DO $ledgers$
BEGIN
	PERFORM app.ledger_setup(t)
	FROM unnest(ARRAY['app.application', 'app.material', 'app.verification',
					  'app.application_event', 'app.decision', 'app.licence',
					  'app.access_log']::regclass[]) AS t;
END
$ledgers$;
