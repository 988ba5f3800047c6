-- Invalidation by key: a change to one user's memberships or direct grants reloads that user
-- only, a change to its row only its flags; a change to a group or its grants reloads the group
-- and its members; any other catalog change reloads everything. Shown by this backend's cache
-- counters: users read (loads), users whose flags alone were read again (row_loads), groups
-- read one by one (group_loads) and permission-string tables read (catalog_loads, with every
-- group when the group tables are small, as here).
-- (Other sessions and standbys: tests/integration.)
SELECT authz.register_model('keys.Thing') IS NOT NULL AS registered;
INSERT INTO authz.users (id) VALUES ('k1'), ('k2'), ('k3');
INSERT INTO authz.groups (name) VALUES ('key_readers'), ('key_writers');
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p
 WHERE g.name = 'key_readers' AND p.codename = 'view_thing';
INSERT INTO authz.user_groups (user_id, group_id) SELECT 'k1', id FROM authz.groups WHERE name = 'key_readers';
INSERT INTO authz.user_groups (user_id, group_id) SELECT 'k2', id FROM authz.groups WHERE name = 'key_writers';

-- The three users checked, then the counters noted: what each change reloads is the difference.
CREATE TEMP VIEW checks AS
SELECT authz.has_perm('k1', 'keys.view_thing') AS k1_views,
       authz.has_perm('k2', 'keys.view_thing') AS k2_views,
       authz.has_perm('k2', 'keys.change_thing') AS k2_changes,
       authz.has_perm('k3', 'keys.view_thing') AS k3_views,
       authz.has_perm('k4', 'keys.view_thing') AS k4_views;
CREATE TEMP TABLE counters AS SELECT authz.cache_stats() AS s;
CREATE TEMP VIEW reloaded AS
SELECT (now.s->>'loads')::int - (c.s->>'loads')::int AS users,
       (now.s->>'row_loads')::int - (c.s->>'row_loads')::int AS rows,
       (now.s->>'group_loads')::int - (c.s->>'group_loads')::int AS groups,
       (now.s->>'catalog_loads')::int - (c.s->>'catalog_loads')::int AS catalogs
  FROM (SELECT authz.cache_stats() AS s) now, counters c;
SELECT * FROM checks;
UPDATE counters SET s = authz.cache_stats();

-- A flag change: that user's flags only (its row read again; its groups and grants kept).
UPDATE authz.users SET is_staff = true WHERE id = 'k3';
SELECT * FROM checks;
SELECT * FROM reloaded;
UPDATE counters SET s = authz.cache_stats();

-- One that shows: k1 deactivated holds nothing, reactivated holds its group's permission again.
UPDATE authz.users SET is_active = false WHERE id = 'k1';
SELECT * FROM checks;
UPDATE authz.users SET is_active = true WHERE id = 'k1';
SELECT * FROM checks;
SELECT * FROM reloaded;
UPDATE counters SET s = authz.cache_stats();

-- A flag change rolled back to a savepoint: seen inside, gone after (the abort empties the cache).
BEGIN;
SAVEPOINT s;
UPDATE authz.users SET is_superuser = true WHERE id = 'k3';
SELECT authz.has_perm('k3', 'keys.view_thing') AS k3_superuser_inside;
ROLLBACK TO SAVEPOINT s;
SELECT authz.has_perm('k3', 'keys.view_thing') AS k3_views_after_rollback;
COMMIT;
SELECT * FROM checks;
UPDATE counters SET s = authz.cache_stats();

-- A membership change: that user only (its new group is already in the cache, as k1's).
INSERT INTO authz.user_groups (user_id, group_id) SELECT 'k2', id FROM authz.groups WHERE name = 'key_readers';
SELECT * FROM checks;
SELECT * FROM reloaded;
UPDATE counters SET s = authz.cache_stats();

-- A grant to a group: the group is read again, and its one member, k2, takes it again (no user
-- read); k1 keeps its entry.
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p
 WHERE g.name = 'key_writers' AND p.codename = 'change_thing';
SELECT * FROM checks;
SELECT * FROM reloaded;
UPDATE counters SET s = authz.cache_stats();

-- A signup: the unknown id k4 was remembered as unknown; now it is read again, and only it.
INSERT INTO authz.users (id, is_superuser) VALUES ('k4', true);
SELECT * FROM checks;
SELECT * FROM reloaded;
UPDATE counters SET s = authz.cache_stats();

-- A membership removed inside a savepoint, then rolled back: seen inside, gone after.
BEGIN;
SAVEPOINT s;
DELETE FROM authz.user_groups WHERE user_id = 'k1';
SELECT authz.has_perm('k1', 'keys.view_thing') AS k1_views_inside;
ROLLBACK TO SAVEPOINT s;
SELECT authz.has_perm('k1', 'keys.view_thing') AS k1_views_after_rollback;
COMMIT;
UPDATE counters SET s = authz.cache_stats();

-- A group renamed: in_group follows, for its members.
UPDATE authz.groups SET name = 'key_editors' WHERE name = 'key_writers';
SELECT authz.in_group('k2', 'key_editors') AS k2_in_editors, authz.in_group('k2', 'key_writers') AS k2_in_writers;
UPDATE counters SET s = authz.cache_stats();

-- Any other catalog change (here a new model's permissions) reloads everything.
SELECT * FROM checks;
UPDATE counters SET s = authz.cache_stats();
SELECT authz.register_model('keys.Other') IS NOT NULL AS registered;
SELECT * FROM checks;
SELECT * FROM reloaded;

-- A statement touching more than 256 users invalidates everything once instead of naming each
-- (the local processing and the shared queue may count it twice); two users are named again.
SELECT (authz.cache_stats()->>'invalidations')::int AS before \gset
INSERT INTO authz.users (id) SELECT 'bulk' || i FROM generate_series(1, 300) i;
SELECT * FROM checks;
SELECT (authz.cache_stats()->>'invalidations')::int > :before AS everything_invalidated;
SELECT (authz.cache_stats()->>'invalidations')::int AS before \gset
UPDATE authz.users SET is_staff = true WHERE id IN ('bulk1', 'bulk2');
SELECT * FROM checks;
SELECT (authz.cache_stats()->>'invalidations')::int > :before AS everything_invalidated;

-- The limit counts per transaction, not per statement: 300 users changed one statement at a
-- time in one transaction also invalidate everything once.
SELECT (authz.cache_stats()->>'invalidations')::int AS before \gset
DO $$
BEGIN
    FOR i IN 1..300 LOOP
        UPDATE authz.users SET is_staff = false WHERE id = 'bulk' || i;
    END LOOP;
END
$$;
SELECT * FROM checks;
SELECT (authz.cache_stats()->>'invalidations')::int > :before AS everything_invalidated;

-- A backend that has read 256 users one by one since the last invalidation of everything reads
-- the others at once (the user tables are small here): 257 loads, then one of everyone, for 300
-- users checked in one statement; bulk290 (a direct grant) and bulk299 (a superuser), among those
-- read at once, answer as they must, and later checks are hits.
INSERT INTO authz.user_permissions (user_id, permission_id)
SELECT 'bulk290', id FROM authz.permissions WHERE codename = 'view_thing';
UPDATE authz.users SET is_superuser = true WHERE id = 'bulk299';
SELECT authz.register_model('keys.More') IS NOT NULL AS registered;
SELECT (authz.cache_stats()->>'loads')::int AS loads0,
       (authz.cache_stats()->>'everyone_loads')::int AS everyone0 \gset
SELECT count(*) FILTER (WHERE authz.has_perm('bulk' || i, 'keys.view_thing')) AS bulk_views,
       count(*) FILTER (WHERE authz.has_perm('bulk' || i, 'keys.anything')) AS bulk_anything
  FROM generate_series(1, 300) i;
SELECT (authz.cache_stats()->>'loads')::int - :loads0 AS users_read_one_by_one,
       (authz.cache_stats()->>'everyone_loads')::int - :everyone0 AS everyone_read;
SELECT (authz.cache_stats()->>'hits')::int AS hits0 \gset
SELECT * FROM checks;
SELECT (authz.cache_stats()->>'hits')::int - :hits0 AS hits,
       (authz.cache_stats()->>'loads')::int - :loads0 AS users_read_one_by_one;

-- Past the limit, every later command of the transaction that changes a key invalidates
-- everything again: this backend applies its own messages at the end of each command, so an
-- entry it reads in between does not outlive a later change in the same transaction.
BEGIN;
UPDATE authz.users SET is_staff = is_staff WHERE id LIKE 'bulk%';
SELECT authz.has_perm('bulk290', 'keys.view_thing') AS before_revoke;
DELETE FROM authz.user_permissions WHERE user_id = 'bulk290';
SELECT authz.has_perm('bulk290', 'keys.view_thing') AS after_revoke;
ROLLBACK;

-- The row trigger runs only as the catalogs' row trigger.
SELECT authz.catalog_rows_changed();
CREATE TEMP TABLE spam (id text);
CREATE TRIGGER spam_keys AFTER INSERT ON spam FOR EACH STATEMENT
    EXECUTE FUNCTION authz.catalog_rows_changed('user', 'id');
INSERT INTO spam VALUES ('x');

DELETE FROM authz.users WHERE id LIKE 'bulk%' OR id IN ('k1', 'k2', 'k3', 'k4');
DELETE FROM authz.groups WHERE name IN ('key_readers', 'key_editors');
DELETE FROM authz.content_types WHERE app_label = 'keys';
