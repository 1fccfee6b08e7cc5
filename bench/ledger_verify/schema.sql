-- bench/ledger_verify/schema.sql: a ledger table to verify, and the same
-- leaf-hash recomputation written in PL/pgSQL, to compare with
-- govledger.verify over the same rows.
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

-- fill with n rows through the ordinary insert path
CREATE OR REPLACE FUNCTION bench_fill(n bigint) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO bench_verify (account, amount, memo)
	SELECT g % 100000, (g % 100000) * 0.01, 'payment reference ' || g
	  FROM generate_series(1, n) g;
$$;

-- UTC timestamp text of the canonical encoding (docs/canonical-encoding.md)
CREATE OR REPLACE FUNCTION bench_ts(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- recompute every leaf of bench_verify in PL/pgSQL; returns the number of
-- rows whose recomputed leaf differs from the stored one
CREATE OR REPLACE FUNCTION bench_plpgsql_verify() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	r		record;
	canon	text;
	bad		bigint := 0;
BEGIN
	FOR r IN
		SELECT t.*, e.recorded_at, e.db_role, e.leaf_hash
		  FROM bench_verify t
		  JOIN govledger.entry e ON e.entry_id = t.ledger_entry_id
	LOOP
		canon := '{"entry":"' || r.ledger_entry_id
			|| '","ledger":"public.bench_verify","recorded":"'
			|| bench_ts(r.recorded_at) || '","role":' || to_json(r.db_role)::text
			|| ',"row":{"account":' || r.account
			|| ',"amount":"' || r.amount
			|| '","created_at":"' || bench_ts(r.created_at)
			|| '","currency":' || to_json(r.currency)::text
			|| ',"id":"' || r.id || '"'
			|| CASE WHEN r.memo IS NULL THEN ''
					ELSE ',"memo":' || to_json(r.memo)::text END
			|| '},"v":1}';
		IF sha256('\x00'::bytea || convert_to(canon, 'UTF8')) <> r.leaf_hash THEN
			bad := bad + 1;
		END IF;
	END LOOP;
	RETURN bad;
END;
$$;
