-- The cache is never stale: a change is seen on the next statement, a rollback leaves no trace.
-- (Changes committed by another session are covered by tests/integration.)

SELECT authz.has_perm('eve', 'shop.view_order') AS before_grant;

BEGIN;
INSERT INTO authz.user_groups (user_id, group_id) SELECT 'eve', id FROM authz.groups WHERE name = 'Viewers';
SELECT authz.has_perm('eve', 'shop.view_order') AS own_change_seen;
ROLLBACK;
SELECT authz.has_perm('eve', 'shop.view_order') AS after_rollback;

-- A savepoint rolled back leaves no trace either.
BEGIN;
SAVEPOINT s;
UPDATE authz.users SET is_superuser = true WHERE id = 'eve';
SELECT authz.has_perm('eve', 'made.up') AS superuser_inside_savepoint;
ROLLBACK TO SAVEPOINT s;
SELECT authz.has_perm('eve', 'made.up') AS after_rollback_to_savepoint;
COMMIT;

-- Flag changes, revokes and group moves all count.
UPDATE authz.users SET is_active = false WHERE id = 'alice';
SELECT authz.has_perm('alice', 'shop.change_order') AS deactivated;
UPDATE authz.users SET is_active = true WHERE id = 'alice';
SELECT authz.has_perm('alice', 'shop.change_order') AS reactivated;
DELETE FROM authz.group_permissions
 WHERE group_id = (SELECT id FROM authz.groups WHERE name = 'Viewers');
SELECT authz.has_perm('42', 'shop.view_order') AS group_revoked;
DELETE FROM authz.groups WHERE name = 'Viewers';
SELECT authz.has_perm('42', 'shop.view_order') AS group_deleted;

-- 100 000 checks in one statement run no catalog query per call: one load per user at most,
-- counted by the cache and, independently, by PostgreSQL's own table statistics.
BEGIN;
SELECT authz.has_perm('bob', 'shop.add_order') AS warm_up;
SELECT (authz.cache_stats()->>'loads')::int AS loads_before \gset
SELECT seq_scan + coalesce(idx_scan, 0) AS user_scans_before
  FROM pg_stat_xact_user_tables WHERE relid = 'authz.users'::regclass \gset
SELECT count(*) FILTER (WHERE authz.has_perm(CASE WHEN i % 2 = 0 THEN 'alice' ELSE 'bob' END,
                                              'shop.change_order')) AS allowed,
       count(*) AS checks
  FROM generate_series(1, 100000) AS i;
SELECT (authz.cache_stats()->>'loads')::int - :loads_before AS catalog_loads,
       (SELECT seq_scan + coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables
         WHERE relid = 'authz.users'::regclass) - :user_scans_before AS user_table_scans;
COMMIT;
