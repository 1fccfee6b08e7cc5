-- ledger_protect.sql: what protect() does to a table, every refusal of
-- protect(), logs and hash algorithms, and clear errors for bad
-- arguments of the ledger functions.
BEGIN;
SELECT plan(66);

-- the interface
SELECT has_function('govledger', 'protect', ARRAY['regclass', 'text'], 'protect(regclass, text) exists');
SELECT has_function('govledger', 'canonical', ARRAY['regclass', 'bigint'], 'canonical(regclass, bigint) exists');
SELECT has_function('govledger', 'leaf_hash', ARRAY['regclass', 'bigint'], 'leaf_hash(regclass, bigint) exists');
SELECT has_function('govledger', 'verify', ARRAY['regclass'], 'verify(regclass) exists');
SELECT has_function('govledger', 'drop_ledger', ARRAY['regclass', 'text'], 'drop_ledger(regclass, text) exists');
SELECT has_function('govledger', 'add_column', ARRAY['regclass', 'text', 'regtype', 'text'], 'add_column exists');
SELECT has_function('govledger', 'create_log', ARRAY['text', 'text', 'text'], 'create_log exists');
SELECT is((SELECT hash_alg || '/' || sig_alg FROM govledger.log WHERE name = 'main'), 'sha256/ed25519', 'log main exists');
SELECT is((SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'govledger' AND c.relkind IN ('r', 'S')
			  AND obj_description(c.oid, 'pg_class') IS NULL), 0::bigint,
	'every table and sequence of govledger has a comment');
SELECT is((SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
			WHERE n.nspname = 'govledger' AND obj_description(p.oid, 'pg_proc') IS NULL), 0::bigint,
	'every function of govledger has a comment');
SELECT is((SELECT seqcache FROM pg_sequence WHERE seqrelid = 'govledger.entry_id_seq'::regclass) >= 32, true,
	'entry_id_seq caches at least 32 ids');

-- protecting a table with rows
CREATE TABLE pr_ledger (id int PRIMARY KEY, name text);
INSERT INTO pr_ledger VALUES (1, 'one'), (2, 'two'), (3, 'three');
SELECT lives_ok($$SELECT govledger.protect('pr_ledger')$$, 'protect a table with rows');
SELECT col_type_is('pr_ledger', 'ledger_entry_id', 'bigint', 'ledger_entry_id added');
SELECT is((SELECT count(*) FROM pr_ledger WHERE ledger_entry_id IS NULL), 0::bigint, 'existing rows got entry ids');
SELECT is((SELECT count(DISTINCT ledger_entry_id) FROM pr_ledger), 3::bigint, 'distinct entry ids');
SELECT is((SELECT count(*) FROM govledger.entry e JOIN pr_ledger p ON p.ledger_entry_id = e.entry_id), 3::bigint,
	'existing rows became entries');
SELECT is((SELECT count(*) FROM govledger.unsealed u JOIN pr_ledger p ON p.ledger_entry_id = u.entry_id), 3::bigint,
	'and wait to be sealed');
SELECT is((SELECT bool_and(ok) FROM govledger.verify('pr_ledger')), true, 'and verify');
SELECT ok((SELECT indisunique FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
			WHERE i.indrelid = 'pr_ledger'::regclass AND a.attname = 'ledger_entry_id'), 'unique index on ledger_entry_id');
SELECT trigger_is('public', 'pr_ledger', 'zz_govledger_insert', 'govledger', 'insert_trigger', 'insert trigger installed');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'pr_ledger'::regclass AND tgtype & 2 = 0), 0::bigint,
	'no AFTER trigger: an insert queues no trigger event');
SELECT trigger_is('public', 'pr_ledger', 'zz_govledger_append_only', 'govledger', 'append_only_trigger', 'append-only trigger installed');
SELECT is((SELECT name || ' ' || (SELECT l.name FROM govledger.log l WHERE l.log_id = g.log_id) FROM govledger.ledger g
			WHERE relid = 'pr_ledger'::regclass), 'public.pr_ledger main', 'registered with its qualified name in log main');
SELECT is((SELECT detail FROM govledger.ddl_event WHERE event = 'protect' AND target = 'public.pr_ledger'), 'log main',
	'protect recorded in govledger.ddl_event');
SELECT throws_ok($$SELECT govledger.protect('pr_ledger')$$, '42710',
	'table "pr_ledger" is already a ledger table', 'protecting twice refused');

-- refusals
CREATE VIEW pr_view AS SELECT 1 AS x;
SELECT throws_ok($$SELECT govledger.protect('pr_view')$$, '42809', 'cannot protect view "pr_view"', 'view refused');
CREATE MATERIALIZED VIEW pr_mview AS SELECT 1 AS x;
SELECT throws_ok($$SELECT govledger.protect('pr_mview')$$, '42809', 'cannot protect view "pr_mview"', 'materialized view refused');
CREATE FOREIGN DATA WRAPPER pr_fdw;
CREATE SERVER pr_server FOREIGN DATA WRAPPER pr_fdw;
CREATE FOREIGN TABLE pr_foreign (x int) SERVER pr_server;
SELECT throws_ok($$SELECT govledger.protect('pr_foreign')$$, '42809', 'cannot protect foreign table "pr_foreign"', 'foreign table refused');
CREATE TEMP TABLE pr_temp (x int);
SELECT throws_ok($$SELECT govledger.protect('pr_temp')$$, '0A000', 'cannot protect temporary table "pr_temp"', 'temporary table refused');
CREATE UNLOGGED TABLE pr_unlogged (x int);
SELECT throws_ok($$SELECT govledger.protect('pr_unlogged')$$, '0A000', 'cannot protect unlogged table "pr_unlogged"', 'unlogged table refused');
CREATE TABLE pr_parted (x int) PARTITION BY RANGE (x);
CREATE TABLE pr_part1 PARTITION OF pr_parted FOR VALUES FROM (0) TO (10);
SELECT throws_ok($$SELECT govledger.protect('pr_parted')$$, '0A000', 'cannot protect partitioned table "pr_parted"', 'partitioned table refused');
SELECT throws_ok($$SELECT govledger.protect('pr_part1')$$, '0A000', 'cannot protect "pr_part1" because it is a partition', 'partition refused');
CREATE TABLE pr_parent (x int);
CREATE TABLE pr_child () INHERITS (pr_parent);
SELECT throws_ok($$SELECT govledger.protect('pr_parent')$$, '0A000', 'cannot protect "pr_parent" because it has inheritance children', 'inheritance parent refused');
CREATE SEQUENCE pr_seq;
SELECT throws_ok($$SELECT govledger.protect('pr_seq')$$, '42809', '"pr_seq" is not a table', 'sequence refused');
SELECT throws_ok($$SELECT govledger.protect('pg_catalog.pg_class')$$, '42809', 'cannot protect system table "pg_class"', 'system catalog refused');
SELECT throws_ok($$SELECT govledger.protect('govledger.entry_sealed')$$, '42809', 'cannot protect system table "entry_sealed"', 'govledger''s own table refused');
CREATE TABLE pr_point (id int, location point);
SELECT throws_ok($$SELECT govledger.protect('pr_point')$$, '0A000',
	'column "location" of table "pr_point" has type point, which has no canonical encoding', 'unsupported type names the column');
CREATE TABLE pr_json (id int, doc json);
SELECT throws_ok($$SELECT govledger.protect('pr_json')$$, '0A000',
	'column "doc" of table "pr_json" has type json, which has no canonical encoding', 'json (not jsonb) refused');
CREATE TABLE pr_arr (id int, pts point[]);
SELECT throws_ok($$SELECT govledger.protect('pr_arr')$$, '0A000',
	'column "pts" of table "pr_arr" has type point[], which has no canonical encoding', 'array of unsupported type refused');
CREATE TABLE pr_has_col (id int, ledger_entry_id bigint);
SELECT throws_ok($$SELECT govledger.protect('pr_has_col')$$, '42701',
	'table "pr_has_col" already has a column named "ledger_entry_id"', 'existing ledger_entry_id column refused');
CREATE TABLE pr_gen (a int, b int GENERATED ALWAYS AS (a * 2) STORED);
SELECT throws_ok($$SELECT govledger.protect('pr_gen')$$, '0A000',
	'column "b" of table "pr_gen" is a generated column', 'generated column refused');
CREATE TABLE pr_nolog (id int);
SELECT throws_ok($$SELECT govledger.protect('pr_nolog', 'no_such_log')$$, '42704',
	'log "no_such_log" does not exist', 'unknown log refused');
SELECT hasnt_column('pr_nolog', 'ledger_entry_id', 'a refused protect changes nothing');
CREATE ROLE pr_stranger;
GRANT USAGE ON SCHEMA public TO pr_stranger;
SET LOCAL ROLE pr_stranger;
SELECT throws_ok($$SELECT govledger.protect('pr_nolog')$$, '42501', 'must be owner of table pr_nolog', 'only the owner may protect');
SELECT throws_ok($$SELECT govledger.drop_ledger('pr_ledger', 'not mine')$$, '42501', 'must be owner of table pr_ledger', 'only the owner may drop a ledger');
SELECT throws_ok($$SELECT govledger._adopt_row('pr_ledger'::regclass::oid, NULL::record)$$, '22004', NULL, 'internal adopt function needs its arguments');
SELECT throws_ok($$SELECT govledger.canonical('pr_ledger', 1)$$, '42501', 'permission denied for table pr_ledger',
	'canonical needs SELECT on the table');
RESET ROLE;
GRANT SELECT ON pr_ledger TO pr_stranger;
SELECT lives_ok($$ALTER TABLE pr_ledger ENABLE ROW LEVEL SECURITY$$, 'row security can be enabled on a ledger table');
SELECT lives_ok($$ALTER TABLE pr_ledger SET (fillfactor = 100), OWNER TO CURRENT_USER$$, 'storage parameters and owner can change');
SELECT throws_ok($$ALTER TABLE pr_ledger SET (fillfactor = 90), ALTER name SET DEFAULT 'x'$$, '2F003', NULL,
	'a harmless change does not carry a harmful one');
SET LOCAL ROLE pr_stranger;
SELECT throws_ok($$SELECT govledger.canonical('pr_ledger', 1)$$, '42501',
	'row-level security of table "pr_ledger" applies to role "pr_stranger"', 'canonical does not bypass row-level security');
SELECT throws_ok($$SELECT * FROM govledger.verify('pr_ledger')$$, '42501', NULL, 'nor does verify');
SELECT is((SELECT count(*) FROM govledger.verify() WHERE ledger = 'pr_ledger'::regclass), 0::bigint,
	'verify() of all ledgers skips what the role may not read');
RESET ROLE;
SELECT throws_ok($$SELECT govledger._adopt_row('pr_ledger'::regclass::oid, p) FROM pr_ledger p$$, '42501',
	'govledger._adopt_row() can only be called by govledger.protect()', 'internal adopt function refuses direct calls');

-- another log, with SM3
SELECT lives_ok($$SELECT govledger.create_log('sm3log', 'sm3')$$, 'create an SM3 log');
CREATE TABLE pr_sm3 (id int, v text);
SELECT govledger.protect('pr_sm3', 'sm3log');
INSERT INTO pr_sm3 VALUES (1, 'x');
SELECT is((SELECT octet_length(govledger.leaf_hash('pr_sm3', ledger_entry_id)) FROM pr_sm3), 32, 'SM3 leaf is 32 bytes');
SELECT isnt((SELECT govledger.leaf_hash('pr_sm3', ledger_entry_id) FROM pr_sm3),
	(SELECT sha256('\x00'::bytea || convert_to(govledger.canonical('pr_sm3', ledger_entry_id), 'UTF8')) FROM pr_sm3),
	'SM3 leaf is not the SHA-256 one');
SELECT is((SELECT bool_and(ok) FROM govledger.verify('pr_sm3')), true, 'SM3 ledger verifies');
SELECT throws_ok($$SELECT govledger.create_log('badalg', 'md5')$$, '22023', 'unsupported hash algorithm "md5"', 'unknown hash algorithm refused');

-- bad arguments
SELECT throws_ok($$SELECT govledger.protect(NULL)$$, '22004', 'table must not be NULL', 'protect(NULL)');
SELECT throws_ok($$SELECT govledger.canonical('pr_ledger', NULL)$$, '22004', 'entry id must not be NULL', 'canonical with NULL entry');
SELECT throws_ok($$SELECT govledger.leaf_hash(NULL, 1)$$, '22004', 'table must not be NULL', 'leaf_hash with NULL table');
SELECT throws_ok($$SELECT govledger.canonical('pr_ledger', -5)$$, 'P0002',
	'ledger table "public.pr_ledger" has no row with entry id -5', 'unknown entry');
SELECT throws_ok($$SELECT govledger.leaf_hash('pr_nolog', 1)$$, '22023', 'table "pr_nolog" is not a ledger table', 'leaf_hash of a plain table');
SELECT throws_ok($$SELECT * FROM govledger.verify('pr_nolog')$$, '22023', 'table "pr_nolog" is not a ledger table', 'verify of a plain table');
SELECT throws_ok($$SELECT govledger.drop_ledger('pr_ledger', NULL)$$, '22004',
	'arguments of govledger.drop_ledger() must not be NULL', 'drop_ledger without a reason');

SELECT * FROM finish();
ROLLBACK;
