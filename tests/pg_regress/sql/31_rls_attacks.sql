-- The RLS attack suite (issue #13), after the categories of PostgreSQL's own rowsecurity test:
-- an app role without BYPASSRLS, acting for app user u1, tries to see or change u2's rows of a
-- protected table. Every attempt sees or changes u1's rows only, or fails loudly.
CREATE ROLE regress_atk_owner IN ROLE authz_admin;
CREATE ROLE regress_atk_app;
CREATE SCHEMA atk AUTHORIZATION regress_atk_owner;
GRANT USAGE ON SCHEMA atk TO PUBLIC;
CREATE SCHEMA atk_app AUTHORIZATION regress_atk_app;
INSERT INTO authz.users (id, is_staff) VALUES ('u1', true), ('u2', true);
INSERT INTO authz.groups (name) VALUES ('Atk writers');
INSERT INTO authz.user_groups SELECT u, id FROM authz.groups, unnest(ARRAY['u1', 'u2']) u WHERE name = 'Atk writers';
SET ROLE regress_atk_owner;
CREATE TABLE atk.docs (id int PRIMARY KEY, owner_id text NOT NULL, secret text);
INSERT INTO atk.docs VALUES (1, 'u1', 'u1 first'), (2, 'u1', 'u1 second'), (3, 'u2', 'u2 first'), (4, 'u2', 'u2 second');
GRANT SELECT, INSERT, UPDATE, DELETE ON atk.docs TO regress_atk_app;
SELECT authz.enable_audit('atk.docs');
SELECT authz.protect('atk.docs', '{"model": "atk.Doc", "owner": {"column": "owner_id"}}') IS NOT NULL AS protected;
RESET ROLE;
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE g.name = 'Atk writers' AND ct.app_label = 'atk';
-- Act as app user u1 through role regress_atk_app for the rest of each transaction.
CREATE FUNCTION pg_temp.as_u1() RETURNS void LANGUAGE sql AS $$
    SELECT authz.set_user('u1'); SET LOCAL ROLE regress_atk_app $$;

-- 1. Leaky functions in WHERE. A cheap function that reports its argument as a NOTICE is
-- evaluated after the policies (PostgreSQL treats RLS quals as a security barrier): it never
-- sees u2's rows. Only a superuser may mark a function LEAKPROOF, which would lift that order.
SET ROLE regress_atk_app;
CREATE FUNCTION atk_app.f_leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN RAISE NOTICE 'f_leak => %', $1; RETURN true; END $$;
CREATE FUNCTION atk_app.f_leakproof(text) RETURNS boolean LANGUAGE sql LEAKPROOF AS $$ SELECT true $$;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
BEGIN;
SELECT pg_temp.as_u1() \g /dev/null
SELECT id, secret FROM atk.docs WHERE atk_app.f_leak(secret) ORDER BY id;
SELECT id FROM atk.docs WHERE atk_app.f_leak(secret) AND id = 3;
ROLLBACK;

-- 2. Views and SECURITY DEFINER functions. Identity is the session's: a view owned by the table
-- owner (without security_invoker, so run with the owner's privileges, and the owner is under
-- FORCE ROW LEVEL SECURITY) shows u1's rows to u1; so do a security_invoker view and a SECURITY
-- DEFINER function owned by the table owner.
SET ROLE regress_atk_owner;
CREATE VIEW atk.docs_owner_view AS SELECT id, secret FROM atk.docs;
CREATE VIEW atk.docs_invoker_view WITH (security_invoker = true) AS SELECT id, secret FROM atk.docs;
CREATE FUNCTION atk.all_secrets() RETURNS SETOF text LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog AS $$ SELECT secret FROM atk.docs ORDER BY id $$;
GRANT SELECT ON atk.docs_owner_view, atk.docs_invoker_view TO regress_atk_app;
RESET ROLE;
BEGIN;
SELECT pg_temp.as_u1() \g /dev/null
SELECT id, secret FROM atk.docs_owner_view ORDER BY id;
SELECT id, secret FROM atk.docs_invoker_view ORDER BY id;
SELECT atk.all_secrets();
-- A leaky function over the view sees no more than the view's rows.
SELECT id FROM atk.docs_owner_view WHERE atk_app.f_leak(secret) ORDER BY id;
ROLLBACK;

-- 3. Existence probes that RLS cannot hide (README "What row-level security cannot hide"): a
-- unique index answers whether a key exists (23505 on u2's id 3), and so does a foreign key
-- (a reference to u2's row 3 is accepted, one to a missing row 9 is not).
GRANT REFERENCES ON atk.docs TO regress_atk_app;
SET ROLE regress_atk_app;
CREATE TABLE atk_app.refs (doc_id int REFERENCES atk.docs (id));
RESET ROLE;
BEGIN;
SELECT pg_temp.as_u1() \g /dev/null
\set VERBOSITY terse
INSERT INTO atk.docs VALUES (3, 'u1', 'probe');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT pg_temp.as_u1() \g /dev/null
INSERT INTO atk_app.refs VALUES (3);
INSERT INTO atk_app.refs VALUES (9);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
ROLLBACK;

-- 4. COPY TO applies the policies; COPY FROM and INSERT check them on every new row.
BEGIN;
SELECT pg_temp.as_u1() \g /dev/null
COPY atk.docs TO STDOUT;
COPY (SELECT id FROM atk.docs WHERE id > 2) TO STDOUT;
\set VERBOSITY terse
INSERT INTO atk.docs VALUES (5, 'u2', 'planted for u2');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
ROLLBACK;

-- 5. TRUNCATE is not subject to row-level security: the app role lacks the privilege (42501);
-- the owner has it, and the audit entry records that it was used. Grant TRUNCATE to nobody.
BEGIN;
SELECT pg_temp.as_u1() \g /dev/null
\set VERBOSITY terse
TRUNCATE atk.docs;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_atk_owner;
TRUNCATE atk.docs;
RESET ROLE;
SELECT operation, relation, db_role FROM authz.audit_log WHERE relation = 'atk.docs' ORDER BY id DESC LIMIT 1;
ROLLBACK;

-- 6. INSERT ... ON CONFLICT DO UPDATE on u2's key: an error (the existing row fails the UPDATE
-- policy), not a silent update; DO NOTHING leaves it alone.
BEGIN;
SELECT pg_temp.as_u1() \g /dev/null
INSERT INTO atk.docs VALUES (3, 'u1', 'taken over') ON CONFLICT (id) DO UPDATE SET secret = EXCLUDED.secret;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT pg_temp.as_u1() \g /dev/null
INSERT INTO atk.docs VALUES (3, 'u1', 'taken over') ON CONFLICT (id) DO NOTHING;
INSERT INTO atk.docs VALUES (1, 'u1', 'mine, updated') ON CONFLICT (id) DO UPDATE SET secret = EXCLUDED.secret RETURNING *;
ROLLBACK;

-- 7. MERGE: u2's rows do not match (u1 cannot see them), so MERGE goes to NOT MATCHED and the
-- INSERT meets the unique key; u1's own rows merge.
BEGIN;
SELECT pg_temp.as_u1() \g /dev/null
MERGE INTO atk.docs d USING (VALUES (3, 'merged'), (4, 'merged')) v(id, secret) ON d.id = v.id
 WHEN MATCHED THEN UPDATE SET secret = v.secret;
RESET ROLE;
SELECT id, secret FROM atk.docs WHERE id IN (3, 4) ORDER BY id;
SELECT pg_temp.as_u1() \g /dev/null
\set VERBOSITY terse
MERGE INTO atk.docs d USING (VALUES (3, 'merged')) v(id, secret) ON d.id = v.id
 WHEN MATCHED THEN UPDATE SET secret = v.secret
 WHEN NOT MATCHED THEN INSERT VALUES (v.id, 'u1', v.secret);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
ROLLBACK;
BEGIN;
SELECT pg_temp.as_u1() \g /dev/null
MERGE INTO atk.docs d USING (VALUES (1, 'merged')) v(id, secret) ON d.id = v.id
 WHEN MATCHED THEN UPDATE SET secret = v.secret;
SELECT id, secret FROM atk.docs ORDER BY id;
ROLLBACK;

-- 8. RETURNING and writes inside CTEs reach u1's rows only; moving a row to u2 is refused.
BEGIN;
SELECT pg_temp.as_u1() \g /dev/null
UPDATE atk.docs SET secret = secret RETURNING id, secret;
DELETE FROM atk.docs WHERE id IN (2, 3) RETURNING id;
WITH gone AS (DELETE FROM atk.docs WHERE id = 4 RETURNING id),
     changed AS (UPDATE atk.docs SET secret = 'via cte' WHERE id IN (1, 3) RETURNING id)
SELECT (SELECT count(*) FROM gone) AS deleted, (SELECT array_agg(id) FROM changed) AS updated;
\set VERBOSITY terse
UPDATE atk.docs SET owner_id = 'u2' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
ROLLBACK;

-- 9. Cursors see what their query could see.
BEGIN;
SELECT pg_temp.as_u1() \g /dev/null
DECLARE c CURSOR FOR SELECT id FROM atk.docs ORDER BY id;
FETCH ALL FROM c;
CLOSE c;
ROLLBACK;

-- 10. Prepared statements and generic plans across identities: the plan carries no identity,
-- so the same plan answers for u1, then u2, then nobody.
SET plan_cache_mode = force_generic_plan;
SET ROLE regress_atk_app;
PREPARE visible AS SELECT array_agg(id ORDER BY id) AS ids FROM atk.docs;
BEGIN;
SELECT authz.set_user('u1') \g /dev/null
EXECUTE visible;
COMMIT;
BEGIN;
SELECT authz.set_user('u2') \g /dev/null
EXECUTE visible;
COMMIT;
EXECUTE visible;
DEALLOCATE visible;
RESET ROLE;
RESET plan_cache_mode;

-- 11. row_security = off for a role without BYPASSRLS: an error, not a silently filtered answer.
BEGIN;
SELECT pg_temp.as_u1() \g /dev/null
SET LOCAL row_security = off;
SELECT count(*) FROM atk.docs;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- 12. Inheritance and partitions: protect refuses parents and children (their other members would
-- be reachable without the policies), and a protected table cannot join such a tree later.
SET ROLE regress_atk_owner;
CREATE TABLE atk.parted (id int PRIMARY KEY, owner_id text NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE atk.parted_1 PARTITION OF atk.parted FOR VALUES FROM (0) TO (100);
\set VERBOSITY terse
SELECT authz.protect('atk.parted', '{"model": "atk.Parted", "owner": {"column": "owner_id"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('atk.parted_1', '{"model": "atk.Parted", "owner": {"column": "owner_id"}}');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE atk.by_range (id int PRIMARY KEY, owner_id text NOT NULL, secret text) PARTITION BY RANGE (id);
ALTER TABLE atk.by_range ATTACH PARTITION atk.docs FOR VALUES FROM (0) TO (100);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE atk.docs_child () INHERITS (atk.docs);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
RESET ROLE;

-- 13. The table owner is under FORCE ROW LEVEL SECURITY: without an app identity it sees no row,
-- with one it sees that user's rows, like everybody else.
SET ROLE regress_atk_owner;
SELECT count(*) AS owner_as_nobody FROM atk.docs;
BEGIN;
RESET ROLE;
SELECT authz.set_user('u2') \g /dev/null
SET LOCAL ROLE regress_atk_owner;
SELECT array_agg(id ORDER BY id) AS owner_as_u2 FROM atk.docs;
ROLLBACK;
RESET ROLE;

SET client_min_messages = warning;
DROP SCHEMA atk, atk_app CASCADE;
RESET client_min_messages;
DELETE FROM authz.users WHERE id IN ('u1', 'u2');
DELETE FROM authz.groups WHERE name = 'Atk writers';
DROP ROLE regress_atk_owner, regress_atk_app;
