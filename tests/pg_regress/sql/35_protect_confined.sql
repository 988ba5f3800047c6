-- A tenant rule that confines superusers too ("confine_superusers": true), for platforms where
-- is_superuser means "tenant admin": an active superuser sees and changes the rows of its own
-- tenants only, and no write moves a row out of them. Every generated policy is an index
-- condition on the tenant column: the model permission and the authz_intact check ride inside
-- the tenants subquery, computed once per query, so a count is answered from the index alone.
CREATE SCHEMA conf;
CREATE TABLE conf.staff (user_id text, org_id int, PRIMARY KEY (user_id, org_id));
CREATE TABLE conf.tickets (id int PRIMARY KEY, org_id int NOT NULL, body text);
CREATE INDEX ON conf.tickets (org_id);
INSERT INTO conf.staff VALUES ('cara', 1), ('cara', 2), ('dan', 3), ('root_a', 1);
INSERT INTO conf.tickets SELECT i, 1 + i % 3, 'x' FROM generate_series(1, 3000) i;
VACUUM ANALYZE conf.tickets;
GRANT USAGE ON SCHEMA conf TO regress_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON conf.tickets TO regress_app;
GRANT SELECT ON conf.staff TO regress_app;
INSERT INTO authz.users (id, is_staff, is_superuser) VALUES ('cara', true, false), ('dan', true, false),
    ('root_a', true, true), ('root_none', true, true);
SELECT authz.protect('conf.tickets', '{"model": "conf.Ticket",
    "tenant": {"column": "org_id", "table": "conf.staff", "confine_superusers": true}}') IS NOT NULL AS protected;
INSERT INTO authz.user_permissions (user_id, permission_id)
SELECT u, p.id FROM authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id,
       unnest(ARRAY['cara', 'dan']) u
 WHERE ct.app_label = 'conf' AND p.codename IN ('view_ticket', 'change_ticket', 'add_ticket');

-- What a DBA reads in pg_policies.
SELECT policyname, permissive, cmd, qual, with_check FROM pg_policies
 WHERE schemaname = 'conf' AND tablename = 'tickets' ORDER BY policyname;

-- Each user sees its tenants' rows; the superuser root_a only org 1, root_none (no tenant)
-- nothing; Dan, without delete permission, deletes nothing.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('cara') \g /dev/null
SELECT org_id, count(*) FROM conf.tickets GROUP BY org_id ORDER BY org_id;
SELECT authz.set_user('root_a') \g /dev/null
SELECT org_id, count(*) FROM conf.tickets GROUP BY org_id ORDER BY org_id;
SELECT authz.set_user('root_none') \g /dev/null
SELECT count(*) AS root_none_sees FROM conf.tickets;
SELECT authz.set_user('dan') \g /dev/null
WITH d AS (DELETE FROM conf.tickets RETURNING 1) SELECT count(*) AS dan_deleted FROM d;
ROLLBACK;

-- No write moves a row into a foreign tenant, superusers' included.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('root_a') \g /dev/null
UPDATE conf.tickets SET org_id = 3 WHERE id = 3;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('root_a') \g /dev/null
INSERT INTO conf.tickets VALUES (9001, 2, 'y');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('root_a') \g /dev/null
INSERT INTO conf.tickets VALUES (9001, 1, 'y') RETURNING id, org_id;
ROLLBACK;

-- Every policy is an index condition: Dan's count is an index-only scan with no filter (the
-- table is small, so the other plans are switched off to show it).
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('dan') \g /dev/null
SET LOCAL enable_bitmapscan = off;
SET LOCAL enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM conf.tickets;
ROLLBACK;

-- A lost restriction still fails closed: with the tenant policy gone (a superuser in replica
-- mode, which skips the event trigger), authz_intact's array is empty and nothing is visible.
SET session_replication_role = replica;
DROP POLICY authz_tenant ON conf.tickets;
RESET session_replication_role;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('cara') \g /dev/null
SELECT count(*) AS cara_sees_without_tenant_policy FROM conf.tickets;
ROLLBACK;

-- By default (Django's semantics) active superusers pass the tenant rule.
SELECT authz.unprotect('conf.tickets');
SELECT authz.protect('conf.tickets', '{"model": "conf.Ticket",
    "tenant": {"column": "org_id", "table": "conf.staff"}}') IS NOT NULL AS protected;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('root_none') \g /dev/null
SELECT count(*) AS root_none_sees_by_default FROM conf.tickets;
ROLLBACK;

SELECT authz.unprotect('conf.tickets');
DELETE FROM authz.users WHERE id IN ('cara', 'dan', 'root_a', 'root_none');
DELETE FROM authz.content_types WHERE app_label = 'conf';
DROP SCHEMA conf CASCADE;
