-- bench/verify/schema.sql: a ledger table to verify, a filler, and the
-- same leaf recomputation written in PL/pgSQL, for comparing
-- govledger.verify with it (and with openssl speed for the same bytes).
--
--   SELECT bench_fill(1000000);                              -- rows, sealed
--   SELECT count(*) FROM govledger.verify('bench_verify');  -- C
--   SELECT bench_plpgsql_verify();                           -- PL/pgSQL, returns mismatches
SELECT govledger.drop_ledger(relid::regclass, 'benchmark reset')
  FROM govledger.ledger WHERE relid = to_regclass('bench_verify');
DROP TABLE IF EXISTS bench_verify;
CREATE TABLE bench_verify (
	id			bigserial PRIMARY KEY,
	account		int NOT NULL,
	amount		numeric(12, 2) NOT NULL,
	currency	char(3) NOT NULL DEFAULT 'CNY',
	memo		text,
	created_at	timestamptz NOT NULL DEFAULT now()
);
SELECT govledger.protect('bench_verify');

CREATE OR REPLACE FUNCTION bench_fill(n int) RETURNS bigint
LANGUAGE sql AS $$
	INSERT INTO bench_verify (account, amount, memo, created_at)
	SELECT g % 100000, (g % 1000000) * 0.01, 'payment reference ' || g,
		   timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second'
	  FROM generate_series(1, n) g;
	-- seal in the same transaction, so that both sides are timed on the
	-- steady state (every entry sealed), not while the sealer works
	SELECT govledger.seal();
	SELECT count(*) FROM bench_verify;
$$;

-- The leaves of bench_verify recomputed in PL/pgSQL: the canonical text
-- of docs/canonical-encoding.md built with SQL string functions for this
-- table's columns, hashed with sha256(); returns how many rows disagree
-- with their stored leaf.
CREATE OR REPLACE FUNCTION bench_plpgsql_verify() RETURNS bigint
LANGUAGE plpgsql
SET TimeZone = 'UTC'
AS $$
DECLARE
	r record;
	lname text;
	canon text;
	bad bigint := 0;
BEGIN
	SELECT to_json(name)::text INTO lname FROM govledger.ledger
	 WHERE relid = 'bench_verify'::regclass;
	FOR r IN
		SELECT b.*, e.recorded_at, e.db_role, e.subject, e.leaf_hash
		  FROM bench_verify b JOIN govledger.entry e ON e.entry_id = b.ledger_entry_id
	LOOP
		canon := '{"entry":"' || r.ledger_entry_id || '","ledger":' || lname
			|| ',"recorded":"' || to_char(r.recorded_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
			|| '","role":' || to_json(r.db_role)::text
			|| ',"row":{"account":' || r.account
			|| ',"amount":"' || r.amount
			|| '","created_at":"' || to_char(r.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
			|| '","currency":' || to_json(r.currency::varchar)::text
			|| ',"id":"' || r.id || '"'
			|| CASE WHEN r.memo IS NOT NULL THEN ',"memo":' || to_json(r.memo)::text ELSE '' END
			|| '}'
			|| CASE WHEN r.subject IS NOT NULL THEN ',"subject":' || to_json(r.subject)::text ELSE '' END
			|| ',"v":1}';
		IF sha256('\x00'::bytea || convert_to(canon, 'UTF8')) <> r.leaf_hash THEN
			bad := bad + 1;
		END IF;
	END LOOP;
	RETURN bad;
END
$$;
