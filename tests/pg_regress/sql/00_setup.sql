-- Installing pg_authz: one statement, everything lands in schema authz.
CREATE EXTENSION pg_authz;
SELECT extname, extversion, extnamespace::regnamespace AS schema, extrelocatable
  FROM pg_extension WHERE extname = 'pg_authz';

-- Helpers for the other files, so that their output is the same on every major the tests run on
-- (PostgreSQL 15 and 18). regress_force_parallel: run queries in a parallel worker, through
-- force_parallel_mode (debug_parallel_query from PostgreSQL 16 on). regress_explain_analyze: a
-- plan with row counts, without costs, timings or buffers (PostgreSQL 18 prints "rows=1.00").
CREATE FUNCTION public.regress_force_parallel(enabled boolean, is_local boolean DEFAULT false) RETURNS text
    LANGUAGE sql AS $$
    SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                           THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END,
                      CASE WHEN enabled THEN 'on' ELSE 'off' END, is_local) $$;
CREATE FUNCTION public.regress_explain_analyze(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) ' || query LOOP
        RETURN NEXT regexp_replace(line, 'rows=([0-9]+)\.00 ', 'rows=\1 ', 'g');
    END LOOP;
END
$$;

-- Roles used by the other files (cluster-wide, so recreate them cleanly).
DROP ROLE IF EXISTS regress_app, regress_admin;
CREATE ROLE regress_app;
CREATE ROLE regress_admin IN ROLE authz_admin;

-- The catalogs, shaped like Django's auth tables.
SELECT c.relname, pg_catalog.obj_description(c.oid, 'pg_class') AS description
  FROM pg_class c
 WHERE c.relnamespace = 'authz'::regnamespace AND c.relkind = 'r'
 ORDER BY c.relname;
