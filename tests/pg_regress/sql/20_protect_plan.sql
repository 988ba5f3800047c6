-- Policies evaluate every check once per query (InitPlans: no function call per row) and
-- keep row predicates index-friendly. The superuser and see_all bypasses are written as a
-- range over the whole primary key whose bounds are NULL unless the bypass holds, so the
-- planner can OR them with the owner or tenant index (a BitmapOr) instead of scanning the table.
CREATE TABLE rnd.big (id int PRIMARY KEY, owner_id text NOT NULL, tenant_id int NOT NULL, body text);
INSERT INTO rnd.big SELECT i, 'r' || (i % 1000), i % 50, 'x' FROM generate_series(1, 100000) i;
CREATE INDEX ON rnd.big (owner_id);
CREATE INDEX ON rnd.big (tenant_id);
ANALYZE rnd.big;
-- Statistics for the membership table too, so its plan does not depend on whether autovacuum
-- got to it first.
ANALYZE rnd.tenants;
GRANT SELECT ON rnd.big TO regress_app;
SELECT authz.protect('rnd.big', '{"model": "rnd.Big", "owner": {"column": "owner_id"}}') IS NOT NULL AS protected;

BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('r1') \g /dev/null
EXPLAIN (COSTS OFF) SELECT * FROM rnd.big;
ROLLBACK;

SELECT authz.protect('rnd.big', '{"model": "rnd.Big", "tenant": {"column": "tenant_id", "table": "rnd.tenants"}}') IS NOT NULL AS protected;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('r1') \g /dev/null
EXPLAIN (COSTS OFF) SELECT count(*) FROM rnd.big;
ROLLBACK;

-- The rows are the right ones: r1 owns 100 rows, and sees the rows of its tenants.
SELECT authz.protect('rnd.big', '{"model": "rnd.Big", "owner": {"column": "owner_id"}}') IS NOT NULL AS protected;
INSERT INTO authz.user_permissions (user_id, permission_id)
SELECT 'r1', id FROM authz.permissions WHERE codename = 'view_big';
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('r1') \g /dev/null
SELECT count(*) AS r1_owns FROM rnd.big;
ROLLBACK;
