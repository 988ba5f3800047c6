-- A user's first load reads its row alone: every user's memberships (user_groups) and direct
-- grants (user_permissions) are read whole with the groups when those tables are small, as here.
-- A change to a user's memberships or grants names the user's key; the users under that key
-- are probed again (their memberships and grants read by primary key) until the next change that
-- invalidates everything. Shown by the index scans this backend made on each table within one
-- transaction (pg_stat_xact_user_tables), next to the answers.
-- (Other sessions: tests/integration/tests/freshness.rs.)
SELECT authz.register_model('links.Item') IS NOT NULL AS registered;
INSERT INTO authz.users (id) VALUES ('l1'), ('l2'), ('l3'), ('l4'), ('l5');
INSERT INTO authz.groups (name) VALUES ('item_readers');
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p
 WHERE g.name = 'item_readers' AND p.codename = 'view_item';
INSERT INTO authz.user_groups (user_id, group_id) SELECT 'l1', id FROM authz.groups WHERE name = 'item_readers';
INSERT INTO authz.user_permissions (user_id, permission_id)
SELECT 'l2', id FROM authz.permissions WHERE codename = 'change_item';

-- The index scans made so far in this transaction, per table; `probes` shows those made since
-- `mark` (both read in one transaction: a backend's counters are flushed between transactions).
CREATE TEMP TABLE marks AS SELECT ''::text AS relname, 0::bigint AS n WHERE false;
CREATE TEMP VIEW scans AS
SELECT relname, coalesce(idx_scan, 0) AS n FROM pg_stat_xact_user_tables
 WHERE schemaname = 'authz' AND relname IN ('users', 'user_groups', 'user_permissions');
CREATE FUNCTION pg_temp.mark() RETURNS void LANGUAGE sql AS $$
    DELETE FROM marks; INSERT INTO marks SELECT * FROM scans $$;
CREATE TEMP VIEW probes AS
SELECT sum(s.n - coalesce(m.n, 0)) FILTER (WHERE s.relname = 'users') AS users,
       sum(s.n - coalesce(m.n, 0)) FILTER (WHERE s.relname = 'user_groups') AS user_groups,
       sum(s.n - coalesce(m.n, 0)) FILTER (WHERE s.relname = 'user_permissions') AS user_permissions
  FROM scans s LEFT JOIN marks m USING (relname);
CREATE TEMP VIEW checks AS
SELECT authz.has_perm('l1', 'links.view_item') AS l1_views,
       authz.has_perm('l2', 'links.change_item') AS l2_changes,
       authz.has_perm('l3', 'links.view_item') AS l3_views,
       authz.has_perm('l4', 'links.change_item') AS l4_changes,
       authz.has_perm('l5', 'links.view_item') AS l5_views;

-- First loads after a change that invalidated everything (the model registered above): one
-- probe of users each, none of the link tables, and l1's group and l2's direct grant are there.
BEGIN;
SELECT pg_temp.mark();
SELECT * FROM checks;
SELECT * FROM probes;
COMMIT;

-- A membership for l3 and a direct grant for l4 (both read above, holding nothing): each is read
-- again, its links probed; the others stay cached.
INSERT INTO authz.user_groups (user_id, group_id) SELECT 'l3', id FROM authz.groups WHERE name = 'item_readers';
INSERT INTO authz.user_permissions (user_id, permission_id)
SELECT 'l4', id FROM authz.permissions WHERE codename = 'change_item';
BEGIN;
SELECT pg_temp.mark();
SELECT * FROM checks;
SELECT * FROM probes;
COMMIT;

-- A revoke and a membership removed: seen at once.
DELETE FROM authz.user_permissions WHERE user_id = 'l2';
DELETE FROM authz.user_groups WHERE user_id = 'l1';
SELECT * FROM checks;

-- Inside one transaction, its own changes are seen by the next statement, for a user read
-- before and for one read for the first time after the change; rolled back, they are gone.
SELECT authz.register_model('links.Other') IS NOT NULL AS everything_invalidated;
BEGIN;
SELECT authz.has_perm('l1', 'links.view_item') AS l1_views_before;
INSERT INTO authz.user_groups (user_id, group_id) SELECT 'l1', id FROM authz.groups WHERE name = 'item_readers';
INSERT INTO authz.user_groups (user_id, group_id) SELECT 'l5', id FROM authz.groups WHERE name = 'item_readers';
SELECT authz.has_perm('l1', 'links.view_item') AS l1_views_inside,
       authz.has_perm('l5', 'links.view_item') AS l5_views_inside;
ROLLBACK;
SELECT * FROM checks;

-- The same from a PL/pgSQL function, one statement: each change is seen by the next check.
SELECT authz.register_model('links.More') IS NOT NULL AS everything_invalidated;
CREATE FUNCTION pg_temp.grant_and_check() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    seen text := '';
BEGIN
    seen := seen || authz.has_perm('l1', 'links.change_item')::text;
    INSERT INTO authz.user_permissions (user_id, permission_id)
    SELECT 'l1', id FROM authz.permissions WHERE codename = 'change_item';
    seen := seen || ' ' || authz.has_perm('l1', 'links.change_item')::text;
    INSERT INTO authz.user_permissions (user_id, permission_id)
    SELECT 'l5', id FROM authz.permissions WHERE codename = 'change_item';
    seen := seen || ' ' || authz.has_perm('l5', 'links.change_item')::text;
    DELETE FROM authz.user_permissions WHERE user_id IN ('l1', 'l5');
    RETURN seen || ' ' || authz.has_perm('l1', 'links.change_item')::text
                || ' ' || authz.has_perm('l5', 'links.change_item')::text;
END
$$;
SELECT pg_temp.grant_and_check() AS l1_before_after_l5_after_both_revoked;

-- The links read whole do not lift the privilege check: a role that may read users but not
-- user_groups is refused at a user's first load, as a query reading the tables would be.
SELECT authz.register_model('links.Again') IS NOT NULL AS everything_invalidated;
SELECT authz.has_perm('l2', 'links.view_item') AS links_read_by_a_privileged_role;
BEGIN;
REVOKE SELECT ON authz.user_groups FROM PUBLIC;
SET LOCAL ROLE regress_app;
SELECT authz.has_perm('l4', 'links.change_item');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- A statement's own change to a user's links is seen by that statement, though its row trigger
-- names the user only at the statement's end: in a transaction that has changed the link tables,
-- the links read whole are not used. l5, not read since the last invalidation of everything:
SELECT authz.register_model('links.Once') IS NOT NULL AS everything_invalidated;
SELECT authz.has_perm('l2', 'links.view_item') AS links_read_whole;
WITH granted AS (INSERT INTO authz.user_permissions (user_id, permission_id)
                 SELECT 'l5', p.id FROM authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
                  WHERE ct.app_label = 'links' AND p.codename = 'change_item' RETURNING user_id)
SELECT authz.has_perm(user_id, 'links.change_item') AS l5_sees_its_grant FROM granted;
SELECT authz.register_model('links.Twice') IS NOT NULL AS everything_invalidated;
SELECT authz.has_perm('l2', 'links.view_item') AS links_read_whole;
WITH revoked AS (DELETE FROM authz.user_permissions up USING authz.permissions p, authz.content_types ct
                  WHERE up.user_id = 'l5' AND p.id = up.permission_id AND ct.id = p.content_type_id
                    AND ct.app_label = 'links' RETURNING up.user_id)
SELECT authz.has_perm(user_id, 'links.change_item') AS l5_sees_the_revoke FROM revoked;

DELETE FROM authz.users WHERE id IN ('l1', 'l2', 'l3', 'l4', 'l5');
DELETE FROM authz.groups WHERE name = 'item_readers';
DELETE FROM authz.content_types WHERE app_label = 'links';
