-- Install-time safety (issue #13; the extension CVE class: CVE-2022-2625, CVE-2023-39417). A
-- hostile role prepares a database before a superuser runs CREATE EXTENSION pg_authz there:
-- CREATE EXTENSION either refuses, or installs so that nothing the role made ever runs.
CREATE DATABASE regress_install_safety;
\c regress_install_safety
CREATE ROLE regress_hostile;
-- Every hostile function records that it ran (and as whom), and says so.
CREATE TABLE public.hostile_log (ran_as text, what text);
GRANT INSERT, SELECT ON public.hostile_log TO PUBLIC;

-- 1. The role created schema authz itself (empty): refused, since its owner could later drop or
-- replace what the extension puts there.
CREATE SCHEMA authz AUTHORIZATION regress_hostile;
-- (Without the error's context: PostgreSQL 18 adds the script's statement to it.)
\set SHOW_CONTEXT never
CREATE EXTENSION pg_authz;
\set SHOW_CONTEXT errors
\echo :LAST_ERROR_SQLSTATE
-- 2. ... and planted look-alikes of our objects in it: refused the same way.
SET ROLE regress_hostile;
CREATE TABLE authz.users (id text PRIMARY KEY, is_active boolean, is_staff boolean, is_superuser boolean);
CREATE FUNCTION authz.has_perm(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
RESET ROLE;
\set VERBOSITY terse
CREATE EXTENSION pg_authz;
\echo :LAST_ERROR_SQLSTATE
DROP SCHEMA authz CASCADE;
-- 3. A superuser's schema authz in which the role may create objects: refused; once the grant
-- is gone, the objects it left keep the install out (42P06).
CREATE SCHEMA authz;
GRANT CREATE, USAGE ON SCHEMA authz TO regress_hostile;
SET ROLE regress_hostile;
CREATE FUNCTION authz.current_user_id() RETURNS text LANGUAGE sql AS $$ SELECT 'admin' $$;
RESET ROLE;
CREATE EXTENSION pg_authz;
\echo :LAST_ERROR_SQLSTATE
REVOKE CREATE ON SCHEMA authz FROM regress_hostile;
CREATE EXTENSION pg_authz;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
DROP SCHEMA authz CASCADE;
SELECT count(*) AS left_behind FROM pg_extension WHERE extname = 'pg_authz';

-- 4. Functions named like ours and like the built-ins we call, and operators shadowing =, <>
-- and ||, in schema public (a database from before PostgreSQL 15, where anyone may create
-- there). With public first on the search path, install and use pg_authz: none of them runs.
GRANT CREATE ON SCHEMA public TO regress_hostile;
SET ROLE regress_hostile;
CREATE FUNCTION public.hostile(what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.hostile_log VALUES (current_user, what);
    RAISE NOTICE 'hostile code ran as %: %', current_user, what;
END $$;
CREATE FUNCTION public.has_perm(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile('has_perm'); RETURN true; END $$;
CREATE FUNCTION public.has_perm(text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile('has_perm'); RETURN true; END $$;
CREATE FUNCTION public.current_user_id() RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile('current_user_id'); RETURN 'admin'; END $$;
CREATE FUNCTION public.is_superuser() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile('is_superuser'); RETURN true; END $$;
CREATE FUNCTION public.current_setting(text, boolean) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile('current_setting'); RETURN pg_catalog.current_setting($1, $2); END $$;
CREATE FUNCTION public.pg_has_role(name, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile('pg_has_role'); RETURN true; END $$;
CREATE FUNCTION public.quote_ident(text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile('quote_ident'); RETURN pg_catalog.quote_ident($1); END $$;
CREATE FUNCTION public.nextval(regclass) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile('nextval'); RETURN pg_catalog.nextval($1); END $$;
CREATE FUNCTION public.pg_notify(text, text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile('pg_notify'); END $$;
CREATE FUNCTION public.eq(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile('= on text'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE FUNCTION public.eq(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile('= on bigint'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE FUNCTION public.eq(oid, oid) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile('= on oid'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE FUNCTION public.eq(name, name) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile('= on name'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE FUNCTION public.ne(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile('<> on text'); RETURN $1 OPERATOR(pg_catalog.<>) $2; END $$;
CREATE FUNCTION public.cat(text, text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM public.hostile('|| on text'); RETURN $1 OPERATOR(pg_catalog.||) $2; END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.eq);
CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.eq);
CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = public.eq);
CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = name, FUNCTION = public.eq);
CREATE OPERATOR public.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = public.ne);
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = public.cat);
RESET ROLE;
-- The shadowing works for anyone who puts public first:
SET search_path = public, pg_catalog;
SELECT 'a' = 'a' AS shadowed;
TRUNCATE public.hostile_log;
-- Install, then use every part of pg_authz with that search_path: users, groups, grants,
-- checks, an action, auditing, protection, the tamper guard, and taking it all down again.
CREATE EXTENSION pg_authz;
SELECT extname FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'pg_authz';
CREATE TABLE public.orders (id bigint PRIMARY KEY, owner_id text NOT NULL, note text);
INSERT INTO public.orders VALUES (1, 'ann', 'a'), (2, 'bob', 'b');
SELECT authz.register_model('shop.Order', 'public.orders') > 0 AS registered;
INSERT INTO authz.users (id, is_staff) VALUES ('ann', true), ('bob', true);
INSERT INTO authz.groups (name) VALUES ('Clerks');
INSERT INTO authz.user_groups SELECT 'ann', id FROM authz.groups;
INSERT INTO authz.group_permissions SELECT g.id, p.id FROM authz.groups g, authz.permissions p;
SELECT authz.has_perm('ann', 'shop.view_order') AS ann, authz.has_perm('bob', 'shop.view_order') AS bob,
       authz.has_perms('ann', ARRAY['shop.view_order', 'shop.change_order']) AS ann_all,
       authz.has_module_perms('bob', 'shop') AS bob_module;
SELECT authz.explain('bob', 'shop.view_order')->>'decided_by' AS bob_why;
SELECT authz.enable_audit('public.orders', row_images => true);
SELECT authz.protect('public.orders', '{"model": "shop.Order", "owner": {"column": "owner_id"}}') IS NOT NULL AS protected;
CREATE FUNCTION public.touch(ids text[], params jsonb) RETURNS jsonb
    LANGUAGE sql SET search_path = pg_catalog AS $$ UPDATE public.orders SET note = 'touched' WHERE id::text = ANY (ids); SELECT '{}'::jsonb $$;
CALL authz.sync_admin_actions('[{"model": "shop.Order", "codename": "change_order", "name": "Touch",
    "kind": "server", "scope": "bulk", "handler": "public.touch", "key": "touch"}]');
BEGIN;
SELECT authz.set_user('ann') \g /dev/null
SELECT authz.has_perm('shop.view_order') AS ann_now, authz.current_user_id() AS acting_for;
SELECT authz.perform_action('shop.Order', 'touch', ARRAY['1'], '{}')->>'ok' AS touched;
UPDATE public.orders SET note = 'by ann';
COMMIT;
BEGIN;
SELECT authz.set_user('bob') \g /dev/null
\set VERBOSITY terse
SELECT authz.perform_action('shop.Order', 'touch', ARRAY['2'], '{}');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
ROLLBACK;
\set VERBOSITY terse
DROP POLICY authz_select ON public.orders;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE public.orders DISABLE TRIGGER authz_audit_update;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT count(*) AS breaches FROM authz.protection_breaches;
SELECT authz.unprotect('public.orders') AS unprotected, authz.disable_audit('public.orders') AS unaudited;
SELECT operation, relation, row_count FROM authz.audit_log
 WHERE relation OPERATOR(pg_catalog.=) 'public.orders' ORDER BY id;
-- None of the hostile code ran, at install or since.
RESET search_path;
SELECT count(*) AS hostile_runs FROM public.hostile_log;

\c pg_authz_regress
DROP DATABASE regress_install_safety;
DROP ROLE regress_hostile;
