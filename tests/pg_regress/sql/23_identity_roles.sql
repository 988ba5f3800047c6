-- Identity that no database role can forge (issue #10): who may say who is asking depends on
-- the SESSION user, the role a connection logged in as.
--   * members of authz_authenticator (the app's pooled role; superusers are members of every
--     role, so postgres is one) choose: authz.set_user, SET LOCAL authz.user_id, request.jwt.claims;
--   * a role bound with authz.bind_role always acts as its app user, whatever it sets;
--   * every other role is nobody, and sees nothing under generated policies.
-- Each session below is a real login (\c - role) under the test server's trust authentication.

CREATE SCHEMA ident;
CREATE TABLE ident.notes (id int PRIMARY KEY, owner_id text NOT NULL, body text NOT NULL);
INSERT INTO ident.notes VALUES (1, 'id_ann', 'ann 1'), (2, 'id_ann', 'ann 2'), (3, 'id_ben', 'ben 1'), (4, 'id_root', 'root 1');
GRANT USAGE ON SCHEMA ident TO PUBLIC;
GRANT SELECT, UPDATE ON ident.notes TO PUBLIC;
SELECT authz.register_model('ident.Note', 'ident.notes') > 0 AS registered;
INSERT INTO authz.users (id, is_staff, is_superuser) VALUES ('id_ann', true, false), ('id_ben', true, false), ('id_root', true, true);
INSERT INTO authz.groups (name) VALUES ('Note takers');
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE g.name = 'Note takers' AND ct.app_label = 'ident' AND p.codename IN ('view_note', 'change_note');
INSERT INTO authz.user_groups (user_id, group_id)
SELECT u, g.id FROM (VALUES ('id_ann'), ('id_ben')) v(u), authz.groups g WHERE g.name = 'Note takers';
SELECT authz.protect('ident.notes', '{"model": "ident.Note", "owner": {"column": "owner_id"}}') IS NOT NULL AS protected;

-- The three kinds of session: an authenticator, a bound person, and a role that is neither.
DROP ROLE IF EXISTS regress_id_app, regress_id_person, regress_id_nobody, regress_id_owner;
CREATE ROLE regress_id_app LOGIN NOINHERIT IN ROLE authz_authenticator;
CREATE ROLE regress_id_person LOGIN;
CREATE ROLE regress_id_nobody LOGIN;
-- Like PostgREST's authenticator, the app may switch to a less privileged role.
GRANT regress_id_nobody TO regress_id_app, regress_id_person;
-- Owns SECURITY DEFINER functions below; an authenticator itself, which lends nothing.
CREATE ROLE regress_id_owner IN ROLE authz_authenticator;
SELECT authz.bind_role('regress_id_person', 'id_ann');
SELECT role, user_id, bound_by FROM authz.role_bindings;

-- One query shows who a session is and what it sees.
\set whoami 'SELECT session_user, current_user, authz.current_user_id() AS acting_as, (SELECT string_agg(id::text, \',\' ORDER BY id) FROM ident.notes) AS notes_seen'

CREATE FUNCTION ident.definer_set_user(u text) RETURNS text LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM set_config('authz.user_id', u, true);
    PERFORM set_config('request.jwt.claims', json_build_object('sub', u)::text, true);
    RETURN authz.current_user_id();
END $$;
CREATE FUNCTION ident.definer_call_set_user(u text) RETURNS text LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM authz.set_user(u);
    RETURN authz.current_user_id();
END $$;
ALTER FUNCTION ident.definer_set_user(text) OWNER TO regress_id_owner;
ALTER FUNCTION ident.definer_call_set_user(text) OWNER TO regress_id_owner;
GRANT USAGE ON SCHEMA ident TO regress_id_owner;

------------------------------------------------------------------------------------------------
-- 1. The authenticator: acts for any app user, transaction-locally by default.
\c - regress_id_app
:whoami;
BEGIN;
SELECT authz.set_user('id_ann');
:whoami;
COMMIT;
:whoami;
BEGIN;
SET LOCAL authz.user_id = 'id_ben';
:whoami;
ROLLBACK;
-- PostgREST's convention: the sub claim of request.jwt.claims.
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "id_root", "role": "authenticated"}', true) IS NOT NULL AS claims_set;
:whoami;
ROLLBACK;
-- A sub holding a NUL byte names nobody, never a truncated "99".
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "99\u0000junk"}', true) IS NOT NULL AS claims_set;
SELECT authz.current_user_id() IS NULL AS nobody;
ROLLBACK;
-- Savepoints: a rolled-back set_user is undone with its savepoint.
BEGIN;
SELECT authz.set_user('id_ann');
SAVEPOINT s;
SELECT authz.set_user('id_ben');
SELECT authz.current_user_id() AS inside_savepoint;
ROLLBACK TO SAVEPOINT s;
SELECT authz.current_user_id() AS after_rollback_to;
COMMIT;
-- One prepared statement, run under two identities: the policy reads who is asking per execution.
PREPARE my_notes AS SELECT string_agg(id::text, ',' ORDER BY id) AS notes_seen FROM ident.notes;
BEGIN;
SELECT authz.set_user('id_ann');
EXECUTE my_notes;
SELECT authz.set_user('id_ben');
EXECUTE my_notes;
COMMIT;
-- SET ROLE to a role that is nobody changes neither who is asking nor who may choose.
BEGIN;
SELECT authz.set_user('id_ann');
SET LOCAL ROLE regress_id_nobody;
:whoami;
SELECT authz.set_user('id_ben');
:whoami;
ROLLBACK;
-- Parallel workers see the same identity as their leader.
SELECT regress_force_parallel(true) AS parallel;
SET parallel_leader_participation = off;
BEGIN;
SELECT authz.set_user('id_ben');
SELECT regress_explain_analyze('SELECT authz.current_user_id()') AS plan;
SELECT authz.current_user_id() AS in_worker;
SELECT count(*) AS notes_seen_by_worker FROM ident.notes;
COMMIT;
SELECT regress_force_parallel(false) AS parallel;
RESET parallel_leader_participation;
-- Empty ids are refused; NULL means nobody.
SELECT authz.set_user('');
\echo :LAST_ERROR_SQLSTATE

------------------------------------------------------------------------------------------------
-- 2. A role that is neither bound nor an authenticator: nobody, whatever it tries.
\c - regress_id_nobody
:whoami;
SELECT authz.set_user('id_root');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.set_user('id_root', is_local => false);
\echo :LAST_ERROR_SQLSTATE
SET authz.user_id = 'id_root';
:whoami;
BEGIN;
SET LOCAL authz.user_id = 'id_root';
:whoami;
ROLLBACK;
SELECT set_config('authz.user_id', 'id_root', false) AS set_session;
SELECT set_config('authz.user_id', 'id_root', true) AS set_local;
:whoami;
SET request.jwt.claims = '{"sub": "id_root"}';
:whoami;
RESET ALL;
SET request.jwt.claims = '{"sub": "id_root"}';
:whoami;
DISCARD ALL;
SET request.jwt.claims = '{"sub": "id_root"}';
:whoami;
-- The token setting cannot be written by SQL at all (superuser-only, and then refused).
SET authz.verified_user_id = 'id_root';
\echo :LAST_ERROR_SQLSTATE
-- A SECURITY DEFINER function owned by an authenticator lends it nothing: the session user decides.
SELECT ident.definer_set_user('id_root') IS NULL AS definer_sets_nobody;
SELECT ident.definer_call_set_user('id_root');
\echo :LAST_ERROR_SQLSTATE
:whoami;
UPDATE ident.notes SET body = 'forged' RETURNING id;
-- ALTER ROLE self SET: the value arrives at login and is ignored.
ALTER ROLE regress_id_nobody SET authz.user_id = 'id_root';
\c - regress_id_nobody
SHOW authz.user_id;
:whoami;
RESET authz.user_id;
ALTER ROLE regress_id_nobody RESET authz.user_id;
-- A value set before the library is loaded (a placeholder) is checked when it loads.
\c - regress_id_nobody
SET authz.user_id = 'id_root';
SET request.jwt.claims = '{"sub": "id_root"}';
SET authz.verified_user_id = 'id_root';
:whoami;
SHOW authz.verified_user_id;
-- A connection option: the same.
\c 'dbname=pg_authz_regress user=regress_id_nobody options=''-c authz.user_id=id_root -c request.jwt.claims={"sub":"id_root"}'''
SHOW authz.user_id;
:whoami;

------------------------------------------------------------------------------------------------
-- 3. A bound role: always its app user, whatever it sets; it cannot choose another.
\c - regress_id_person
:whoami;
SET authz.user_id = 'id_root';
SET request.jwt.claims = '{"sub": "id_root"}';
:whoami;
SELECT authz.set_user('id_root');
\echo :LAST_ERROR_SQLSTATE
UPDATE ident.notes SET body = body || ' (edited)' RETURNING id, body;
-- SET ROLE and SECURITY DEFINER do not change who is asking.
SET ROLE regress_id_nobody;
:whoami;
RESET ROLE;
SELECT ident.definer_set_user('id_root') AS inside_definer;
-- Parallel workers see the binding too.
SELECT regress_force_parallel(true) AS parallel;
SELECT authz.current_user_id() AS in_worker, (SELECT count(*) FROM ident.notes) AS notes_seen;
SELECT regress_force_parallel(false) AS parallel;
-- Binding is for authz_admin only.
SELECT authz.bind_role('regress_id_person', 'id_root');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.unbind_role('regress_id_person');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO authz.bound_roles VALUES ('regress_id_person', 'id_root');
\echo :LAST_ERROR_SQLSTATE

------------------------------------------------------------------------------------------------
-- 4. Administering bindings (postgres, a superuser, is authz_admin and an authenticator).
\c - postgres
SELECT authz.bind_role('regress_id_nobody', 'no_such_user');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.bind_role(NULL, 'id_ann');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.bind_role('no_such_role', 'id_ann');
\echo :LAST_ERROR_SQLSTATE
-- A role OID that names no role is refused too (a restore could give it to another role).
SELECT authz.bind_role(12345678::regrole, 'id_ann');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.bind_role(0::regrole, 'id_ann');
\echo :LAST_ERROR_SQLSTATE
-- Rebinding moves the role; a rename keeps the binding (it stores the role, not its name).
SELECT authz.bind_role('regress_id_person', 'id_ben');
ALTER ROLE regress_id_person RENAME TO regress_id_person2;
SELECT role, user_id FROM authz.role_bindings;
\c - regress_id_person2
:whoami;
\c - postgres
ALTER ROLE regress_id_person2 RENAME TO regress_id_person;
-- An authenticator that is also bound acts as its user: the binding wins.
SELECT authz.bind_role('regress_id_app', 'id_ben');
\c - regress_id_app
:whoami;
SELECT authz.set_user('id_ann');
\echo :LAST_ERROR_SQLSTATE
\c - postgres
SELECT authz.unbind_role('regress_id_app') AS unbound, authz.unbind_role('regress_id_app') AS unbound_again;
-- Unbound, the role is nobody again (tests/integration/tests/identity.rs shows open sessions
-- see it at their next statement).
SELECT authz.unbind_role('regress_id_person') AS unbound;
\c - regress_id_person
:whoami;
\c - postgres
-- Revoking authz_authenticator takes the right away.
REVOKE authz_authenticator FROM regress_id_app;
\c - regress_id_app
SELECT authz.set_user('id_ann');
\echo :LAST_ERROR_SQLSTATE
\c - postgres
GRANT authz_authenticator TO regress_id_app;
-- A dropped role's binding goes away: hidden at once, deleted by the next bind or unbind
-- (PostgreSQL runs no event trigger for DROP ROLE).
CREATE ROLE regress_id_temp LOGIN;
SELECT authz.bind_role('regress_id_temp', 'id_ann');
DROP ROLE regress_id_temp;
SELECT count(*) AS listed FROM authz.role_bindings;
SELECT count(*) AS stored FROM authz.bound_roles;
SELECT authz.unbind_role('regress_id_nobody') AS was_bound;
SELECT count(*) AS stored_after_cleanup FROM authz.bound_roles;
-- Deleting the app user removes its bindings.
SELECT authz.bind_role('regress_id_person', 'id_ben');
DELETE FROM authz.users WHERE id = 'id_ben';
SELECT count(*) AS bindings_of_deleted_user FROM authz.role_bindings;
-- pg_dump keeps the bindings (and the keys), but not the rows of dropped roles: written as bare
-- OIDs, they would bind whichever role has that OID where the dump is restored.
SELECT c.relname, cond FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS t(oid, cond)
  JOIN pg_class c ON c.oid = t.oid
 WHERE e.extname = 'pg_authz' AND c.relname IN ('bound_roles', 'jwt_keys') ORDER BY 1;

DEALLOCATE ALL;
DROP SCHEMA ident CASCADE;
DELETE FROM authz.users WHERE id LIKE 'id\_%';
DELETE FROM authz.groups WHERE name = 'Note takers';
DROP ROLE regress_id_app, regress_id_person, regress_id_nobody, regress_id_owner;
