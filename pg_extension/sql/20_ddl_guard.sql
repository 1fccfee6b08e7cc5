/*
 * 20_ddl_guard.sql
 *	  The ledger of definition changes, govledger.ddl_event, and the
 *	  event triggers that let ledger tables be altered or dropped only
 *	  through govledger.add_column and govledger.drop_ledger, which record
 *	  the act there.
 */

CREATE TABLE govledger.ddl_event (
	event		text NOT NULL,
	target		text NOT NULL,
	detail		text,
	reason		text,
	ledger_entry_id bigint
);
CREATE UNIQUE INDEX ddl_event_ledger_entry_id_idx
	ON govledger.ddl_event (ledger_entry_id);
COMMENT ON TABLE govledger.ddl_event IS
	'Ledger table of acts on ledger tables (protect, add_column, drop_ledger): who did what to which table, and why';
REVOKE ALL ON govledger.ddl_event FROM PUBLIC;
GRANT SELECT ON govledger.ddl_event TO PUBLIC;

INSERT INTO govledger.ledger (ledger_id, relid, name, log_id, protected_at)
	VALUES (nextval('govledger.ledger_id_seq'),
			'govledger.ddl_event'::regclass, 'govledger.ddl_event', 1,
			pg_catalog.now());

CREATE TRIGGER zz_govledger_insert BEFORE INSERT ON govledger.ddl_event
	FOR EACH ROW EXECUTE FUNCTION govledger.insert_trigger();
CREATE TRIGGER zz_govledger_append_only BEFORE UPDATE OR DELETE
	ON govledger.ddl_event
	FOR EACH STATEMENT EXECUTE FUNCTION govledger.append_only_trigger();
CREATE TRIGGER zz_govledger_no_truncate BEFORE TRUNCATE ON govledger.ddl_event
	FOR EACH STATEMENT EXECUTE FUNCTION govledger.append_only_trigger();

CREATE FUNCTION govledger.guard_ddl() RETURNS event_trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	cmd record;
	target oid;
BEGIN
	FOR cmd IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
		target := NULL;
		IF cmd.classid = 'pg_class'::regclass
			AND cmd.command_tag = 'ALTER TABLE'
			AND NOT govledger._ddl_harmless(cmd.command) THEN
			target := cmd.objid;
		ELSIF cmd.classid = 'pg_rewrite'::regclass THEN
			SELECT ev_class INTO target FROM pg_rewrite WHERE oid = cmd.objid;
		END IF;
		IF target IS NOT NULL
			AND EXISTS (SELECT 1 FROM govledger.ledger l WHERE l.relid = target)
			AND NOT govledger._ddl_permitted(target) THEN
			RAISE EXCEPTION 'cannot change ledger table %: % is not allowed',
				(SELECT l.name FROM govledger.ledger l WHERE l.relid = target),
				cmd.command_tag
				USING ERRCODE = '2F003',
					HINT = 'Add a column with govledger.add_column(); drop the table with govledger.drop_ledger().';
		END IF;
	END LOOP;
END
$$;
COMMENT ON FUNCTION govledger.guard_ddl() IS
	'Event trigger function: refuses ALTER TABLE (but for row security, owner, storage parameters, statistics, CLUSTER ON, REPLICA IDENTITY) and CREATE RULE on ledger tables unless run by govledger.add_column';

CREATE FUNCTION govledger.guard_drop() RETURNS event_trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	obj record;
	target oid;
BEGIN
	IF EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() d
			   WHERE d.object_type = 'extension'
				 AND d.object_identity = 'govledger') THEN
		RETURN;
	END IF;
	FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
		IF obj.object_type = 'table'
			AND EXISTS (SELECT 1 FROM govledger.ledger l WHERE l.relid = obj.objid)
			AND NOT govledger._ddl_permitted(obj.objid) THEN
			RAISE EXCEPTION 'cannot drop ledger table %', obj.object_identity
				USING ERRCODE = '2F003',
					HINT = 'Drop it with govledger.drop_ledger(table, reason), which records the act.';
		END IF;
		IF obj.object_type IN ('trigger', 'rule')
			AND pg_catalog.array_length(obj.address_names, 1) = 3 THEN
			target := pg_catalog.to_regclass(
				pg_catalog.quote_ident(obj.address_names[1]) || '.' ||
				pg_catalog.quote_ident(obj.address_names[2]));
			IF obj.object_type = 'trigger'
				AND obj.address_names[3] NOT LIKE 'zz\_govledger\_%' THEN
				target := NULL;
			END IF;
			IF target IS NOT NULL
				AND EXISTS (SELECT 1 FROM govledger.ledger l WHERE l.relid = target)
				AND NOT govledger._ddl_permitted(target) THEN
				RAISE EXCEPTION 'cannot drop % of ledger table %',
					obj.object_identity, target::regclass
					USING ERRCODE = '2F003';
			END IF;
		END IF;
	END LOOP;
END
$$;
COMMENT ON FUNCTION govledger.guard_drop() IS
	'Event trigger function: refuses dropping a ledger table or its govledger triggers unless run by govledger.drop_ledger';

CREATE EVENT TRIGGER govledger_guard_ddl ON ddl_command_end
	EXECUTE FUNCTION govledger.guard_ddl();
CREATE EVENT TRIGGER govledger_guard_drop ON sql_drop
	EXECUTE FUNCTION govledger.guard_drop();

SELECT pg_catalog.pg_extension_config_dump('govledger.log', 'WHERE log_id <> 1');
SELECT pg_catalog.pg_extension_config_dump('govledger.ledger', 'WHERE ledger_id <> 1');
SELECT pg_catalog.pg_extension_config_dump('govledger.entry_sealed', '');
SELECT pg_catalog.pg_extension_config_dump('govledger.unsealed', '');
SELECT pg_catalog.pg_extension_config_dump('govledger.ddl_event', '');
SELECT pg_catalog.pg_extension_config_dump('govledger.entry_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('govledger.ledger_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('govledger.log_id_seq', '');
