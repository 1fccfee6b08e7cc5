-- sql/80_report.sql
--
-- Aggregate views for reporting tools, and their CSV export.  Days and
-- months are local to the district (Asia/Shanghai).  The views run with
-- their owner's rights, so the reporter role reads these aggregates and
-- nothing else: it has no access to schema app.  Safe to run twice.

SET client_min_messages = warning;

CREATE OR REPLACE VIEW report.applications_per_day AS
	SELECT (a.submitted_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
		   a.channel,
		   count(*) AS applications
	FROM app.application a
	GROUP BY 1, 2;
COMMENT ON VIEW report.applications_per_day IS 'applications submitted per local day and channel (app, counter)';

CREATE OR REPLACE VIEW report.online_share AS
	SELECT date_trunc('month', a.submitted_at AT TIME ZONE 'Asia/Shanghai')::date AS month,
		   count(*) FILTER (WHERE a.channel = 'app') AS online,
		   count(*) FILTER (WHERE a.channel = 'counter') AS counter,
		   count(*) AS total,
		   round(count(*) FILTER (WHERE a.channel = 'app')::numeric / count(*), 4)
			   AS online_share
	FROM app.application a
	GROUP BY 1;
COMMENT ON VIEW report.online_share IS 'per local month: applications through the app, at the counter, and the online share (0..1)';

CREATE OR REPLACE VIEW report.processing_time AS
	SELECT date_trunc('month', l.issued_at AT TIME ZONE 'Asia/Shanghai')::date AS month,
		   count(*) AS licences,
		   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY
				 extract(epoch FROM l.issued_at - a.submitted_at))::numeric / 3600, 2)
			   AS p50_hours,
		   round(percentile_cont(0.9) WITHIN GROUP (ORDER BY
				 extract(epoch FROM l.issued_at - a.submitted_at))::numeric / 3600, 2)
			   AS p90_hours
	FROM app.licence l
	JOIN app.application a USING (application_id)
	GROUP BY 1;
COMMENT ON VIEW report.processing_time IS 'per local month of issue: licences issued and the median and 90th percentile of hours from submission to licence';

CREATE OR REPLACE VIEW report.auto_verification_rate AS
	SELECT date_trunc('month', a.submitted_at AT TIME ZONE 'Asia/Shanghai')::date AS month,
		   count(*) AS applications,
		   count(*) FILTER (WHERE v.all_satisfied) AS auto_verified,
		   round(count(*) FILTER (WHERE v.all_satisfied)::numeric / count(*), 4)
			   AS rate
	FROM app.application a
	LEFT JOIN LATERAL (SELECT bool_and(x.satisfied) AS all_satisfied
					   FROM app.verification x
					   WHERE x.application_id = a.application_id) AS v ON true
	GROUP BY 1;
COMMENT ON VIEW report.auto_verification_rate IS 'per local month: applications, those whose every requirement was met by an attestation automatically, and the rate (0..1)';

CREATE OR REPLACE VIEW report.counter_visits_per_day AS
	SELECT (c.visited_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
		   c.district_code,
		   count(*) AS visits
	FROM app.counter_visit c
	GROUP BY 1, 2;
COMMENT ON VIEW report.counter_visits_per_day IS 'service-centre counter visits per local day and district';

-- GET /reports/{view}.csv
CREATE OR REPLACE FUNCTION api.report_csv(view_name text)
RETURNS SETOF text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	rel oid;
	field constant text :=
		'CASE WHEN value IS NULL THEN '''' '
		'WHEN value ~ ''[",\r\n]'' THEN ''"'' || replace(value, ''"'', ''""'') || ''"'' '
		'ELSE value END';
BEGIN
	IF current_setting('role') NOT IN ('reporter', 'none') THEN
		RAISE EXCEPTION 'reports are for the reporter role' USING ERRCODE = '42501';
	END IF;
	SELECT c.oid INTO rel FROM pg_class c
	WHERE c.relnamespace = 'report'::regnamespace AND c.relkind = 'v'
	  AND c.relname = view_name;
	IF rel IS NULL THEN
		RAISE EXCEPTION 'no such report' USING ERRCODE = 'P0002';
	END IF;
	RETURN NEXT (SELECT string_agg(attname, ',' ORDER BY attnum)
				 FROM pg_attribute WHERE attrelid = rel AND attnum > 0
				   AND NOT attisdropped);
	RETURN QUERY EXECUTE format(
		'SELECT (SELECT string_agg(%s, '','' ORDER BY ord) '
		'FROM json_each_text(row_to_json(v)) WITH ORDINALITY AS e(key, value, ord)) '
		'FROM report.%I v ORDER BY v', field, view_name);
END
$$;
COMMENT ON FUNCTION api.report_csv(text) IS
	'GET /reports/{view}.csv: a header line, then one RFC 4180 line per row of a report view, rows in column order';


REVOKE ALL ON ALL TABLES IN SCHEMA report FROM PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA report TO reporter;
REVOKE ALL ON FUNCTION api.report_csv(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.report_csv(text) TO reporter;
