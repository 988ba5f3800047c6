-- Every row of every table and the state of every sequence, as one JSON object "relation" ->
-- rows (tests/upgrade/run compares them before and after ALTER EXTENSION pg_authz UPDATE). Run
-- as a superuser, so row-level security hides nothing.
\set ON_ERROR_STOP 1
CREATE FUNCTION pg_temp.all_rows() RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    r record;
    snapshot jsonb := '{}';
    rows jsonb;
BEGIN
    FOR r IN SELECT c.oid::regclass AS rel, pg_catalog.format('%I.%I', n.nspname, c.relname) AS name, c.relkind
               FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p', 'S')
                AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'
    LOOP
        IF r.relkind = 'S' THEN
            EXECUTE pg_catalog.format('SELECT pg_catalog.to_jsonb(s) FROM (SELECT last_value, is_called FROM %s) s', r.rel)
               INTO rows;
        ELSE
            EXECUTE pg_catalog.format('SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(t)), ''[]'') FROM %s t', r.rel)
               INTO rows;
        END IF;
        snapshot := snapshot || pg_catalog.jsonb_build_object(r.name, rows);
    END LOOP;
    RETURN snapshot;
END
$$;
SELECT pg_temp.all_rows();
