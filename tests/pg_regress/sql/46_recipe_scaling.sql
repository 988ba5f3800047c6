-- Generated from docs/scaling.md (its sql code blocks, in order): edit the recipe, then run
-- PG_AUTHZ_WRITE_RECIPES=1 cargo test --manifest-path tests/integration/Cargo.toml --test recipes
SET client_min_messages = warning;
DROP DATABASE IF EXISTS recipe_scale;
DROP ROLE IF EXISTS scale_app, scale_reader;
RESET client_min_messages;

CREATE DATABASE recipe_scale;
\c recipe_scale
CREATE EXTENSION pg_authz;
CREATE SCHEMA shard;
CREATE TABLE shard.members (tenant_id int, user_id text, PRIMARY KEY (user_id, tenant_id));
CREATE TABLE shard.events (tenant_id int NOT NULL, id bigint NOT NULL, kind text NOT NULL,
                           PRIMARY KEY (tenant_id, id));
INSERT INTO shard.members VALUES (1, 'una'), (2, 'una'), (2, 'vic');
INSERT INTO shard.events SELECT 1 + i % 3, i, 'click' FROM generate_series(1, 30) AS i;
SELECT authz.protect('shard.events', '{"model": "shard.Event",
    "tenant": {"column": "tenant_id", "table": "shard.members"}}') IS NOT NULL AS protected;
INSERT INTO authz.users (id, is_staff) VALUES ('una', true), ('vic', true);
INSERT INTO authz.user_permissions (user_id, permission_id)
SELECT u.id, p.id FROM authz.users u, authz.permissions p WHERE p.codename IN ('view_event', 'change_event');
CALL authz.sync_admin_actions('[{"model": "shard.Event", "codename": "change_event", "name": "Archive", "kind": "server", "scope": "bulk"}]');
CREATE ROLE scale_app LOGIN IN ROLE authz_authenticator;
CREATE ROLE scale_reader LOGIN;
GRANT USAGE ON SCHEMA shard TO scale_app, scale_reader;
GRANT SELECT ON shard.events, shard.members TO scale_app, scale_reader;

\c - scale_app
BEGIN READ ONLY;
SELECT authz.set_user('una');
SELECT authz.has_perm('shard.view_event') AS una_views, tenant_id, count(*) FROM shard.events GROUP BY tenant_id ORDER BY tenant_id;
SET LOCAL authz.user_id = 'vic';
SELECT tenant_id, count(*) FROM shard.events GROUP BY tenant_id ORDER BY tenant_id;
SELECT authz.perform_action('shard.Event', 'change_event', ARRAY['1']);
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE

\c - postgres
SELECT DISTINCT p.polname AS policy, d.refobjid::regclass AS reads_table
  FROM pg_policy p JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
 WHERE p.polrelid = 'shard.events'::regclass AND d.refclassid = 'pg_class'::regclass
 ORDER BY 1, 2;
SELECT DISTINCT d.refobjid::regprocedure AS calls
  FROM pg_policy p JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
 WHERE p.polrelid = 'shard.events'::regclass AND d.refclassid = 'pg_proc'::regclass
 ORDER BY 1;

SELECT c.oid::regclass AS catalog,
       (SELECT pg_get_constraintdef(k.oid) FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p') AS key,
       EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'catalog_changed') AS invalidates
  FROM pg_class c
 WHERE c.relnamespace = 'authz'::regnamespace AND c.relkind = 'r'
   AND c.relname IN ('content_types', 'permissions', 'groups', 'group_permissions', 'users', 'user_groups',
                     'user_permissions', 'object_permissions', 'actions', 'bound_roles', 'jwt_keys')
 ORDER BY c.relname;

\c - scale_app
BEGIN;
SET LOCAL authz.user_id = 'vic';
SELECT authz.current_user_id() AS as_app_role, count(*) AS events FROM shard.events;
COMMIT;
\c - scale_reader
BEGIN;
SET LOCAL authz.user_id = 'vic';
SELECT authz.current_user_id() AS as_other_role, count(*) AS events FROM shard.events;
COMMIT;

\c pg_authz_regress postgres
DROP DATABASE recipe_scale;
DROP ROLE scale_app, scale_reader;
