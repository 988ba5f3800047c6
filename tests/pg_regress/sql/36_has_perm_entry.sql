-- authz.has_perm(user_id, perm) is a hand-written C entry point (src/checks.rs): a warm check
-- is answered in place, anything else (a miss, a stale entry, arguments compressed or out of
-- line, a new statement) goes through pgrx's error boundary. Both paths give the same answers,
-- NULLs give false, and errors keep their SQLSTATEs.

-- The definition 0.1.0 created, with the same C symbol: not STRICT (NULL gives false, not
-- NULL), STABLE, PARALLEL SAFE.
SELECT p.oid::regprocedure AS function, p.prosrc, p.proisstrict, p.provolatile, p.proparallel,
       p.prorettype::regtype AS returns
  FROM pg_proc p WHERE p.oid = 'authz.has_perm(text, text)'::regprocedure;

SELECT authz.register_model('entry.Note') IS NOT NULL AS registered;
INSERT INTO authz.users (id, is_active, is_superuser) VALUES
  ('e_reader', true, false), ('e_root', true, true), ('e_gone', false, true);
-- A user id too long to stay in line uncompressed: its rows and index entries hold it compressed.
INSERT INTO authz.users (id) VALUES ('e_long_' || repeat('x', 5000));
INSERT INTO authz.user_permissions (user_id, permission_id)
SELECT u.id, p.id FROM authz.users u, authz.permissions p
 WHERE (u.id = 'e_reader' OR u.id LIKE 'e\_long\_%') AND p.codename = 'view_note';

-- The arguments from a table: in line with short headers, except the long ones, stored
-- compressed (read through the general path).
CREATE TEMP TABLE entry_args (user_id text, perm text);
ALTER TABLE entry_args ALTER COLUMN user_id SET STORAGE main;
INSERT INTO entry_args
SELECT u, p
  FROM unnest(ARRAY['e_reader', 'e_root', 'e_gone', 'e_nobody', NULL,
                    'e_long_' || repeat('x', 5000)]) u,
       unnest(ARRAY['entry.view_note', 'entry.change_note', 'nodot', '', NULL,
                    'entry.' || repeat('y', 5000)]) p;
SELECT pg_column_compression(user_id) AS user_id_stored, pg_column_compression(perm) AS perm_stored,
       count(*)
  FROM entry_args GROUP BY 1, 2 ORDER BY 1, 2;
\pset null '(null)'

-- Each pair checked three times in one statement: the first call of a user loads it, the
-- others are warm. Every answer is true or false, never NULL, and the three agree.
SELECT CASE WHEN length(user_id) > 20 THEN 'e_long_…' ELSE user_id END AS user_id,
       CASE WHEN length(perm) > 20 THEN 'entry.yyy…' ELSE perm END AS perm,
       authz.has_perm(user_id, perm) AS held,
       authz.has_perm(user_id, perm) IS NOT DISTINCT FROM authz.has_perm(user_id, perm)
         AND authz.has_perm(user_id, perm) IS NOT NULL AS same_warm
  FROM entry_args
 ORDER BY user_id NULLS LAST, perm NULLS LAST;

-- NULL arguments give false, cold or warm, in line or from constants.
SELECT authz.has_perm(NULL, NULL) AS both_null,
       authz.has_perm('e_reader', NULL) AS null_perm,
       authz.has_perm(NULL, 'entry.view_note') AS null_user,
       authz.has_perm(NULL::text, NULL::text) IS NULL AS is_null;

-- The warm path agrees with authz.explain on every pair (explain reads the catalogs with SQL).
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE authz.has_perm(user_id, perm)
                              IS DISTINCT FROM coalesce((authz.explain(user_id, perm)->>'allowed')::boolean, false))
         AS disagreeing
  FROM entry_args;

-- A change between two statements of one transaction is seen by the next statement: the warm
-- path answers only within the statement (and view) of the last lookup.
BEGIN;
SELECT authz.has_perm('e_reader', 'entry.change_note') AS before_grant;
INSERT INTO authz.user_permissions (user_id, permission_id)
SELECT 'e_reader', id FROM authz.permissions WHERE codename = 'change_note';
SELECT authz.has_perm('e_reader', 'entry.change_note') AS after_grant;
ROLLBACK;
SELECT authz.has_perm('e_reader', 'entry.change_note') AS after_rollback;

-- In a function's loop, each statement sees the changes of the ones before it.
CREATE FUNCTION pg_temp.flip_and_check() RETURNS SETOF boolean LANGUAGE plpgsql AS $$
BEGIN
    RETURN NEXT authz.has_perm('e_reader', 'entry.view_note');
    UPDATE authz.users SET is_active = false WHERE id = 'e_reader';
    RETURN NEXT authz.has_perm('e_reader', 'entry.view_note');
    UPDATE authz.users SET is_active = true WHERE id = 'e_reader';
    RETURN NEXT authz.has_perm('e_reader', 'entry.view_note');
END $$;
SELECT * FROM pg_temp.flip_and_check() AS held;

-- Errors keep their SQLSTATE: a role that may not read the catalogs is refused when a user has
-- to be read (42501). After the rollback the role reads them again.
BEGIN;
REVOKE SELECT ON authz.users FROM PUBLIC;
SET LOCAL ROLE regress_app;
SELECT authz.has_perm('e_not_cached_yet', 'entry.view_note');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SET ROLE regress_app;
SELECT authz.has_perm('e_not_cached_yet', 'entry.view_note') AS unknown_user_after_rollback,
       authz.has_perm('e_reader', 'entry.view_note') AS reader;
RESET ROLE;

-- In a parallel worker: the same answers.
SELECT public.regress_force_parallel(true, false) IS NOT NULL AS parallel;
SELECT count(*) FILTER (WHERE authz.has_perm(user_id, perm)) AS held, count(*) AS pairs
  FROM entry_args;
SELECT public.regress_force_parallel(false, false) IS NOT NULL AS serial;

\pset null ''
DELETE FROM authz.user_permissions WHERE user_id LIKE 'e\_%';
DELETE FROM authz.users WHERE id LIKE 'e\_%';
