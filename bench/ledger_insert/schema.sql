-- bench/ledger_insert/schema.sql: the same table twice, once plain and
-- once a ledger table, for the pgbench insert comparison.
SELECT govledger.drop_ledger(relid::regclass, 'benchmark reset')
  FROM govledger.ledger WHERE relid = to_regclass('bench_ledger');
DROP TABLE IF EXISTS bench_plain, bench_ledger;
CREATE TABLE bench_plain (
	id			bigserial PRIMARY KEY,
	account		int NOT NULL,
	amount		numeric(12, 2) NOT NULL,
	currency	char(3) NOT NULL DEFAULT 'CNY',
	memo		text,
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON bench_plain (account);
CREATE TABLE bench_ledger (
	id			bigserial PRIMARY KEY,
	account		int NOT NULL,
	amount		numeric(12, 2) NOT NULL,
	currency	char(3) NOT NULL DEFAULT 'CNY',
	memo		text,
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON bench_ledger (account);
SELECT govledger.protect('bench_ledger');
