-- Generated from README.md (its sql code blocks, in order): edit it, then run
-- PG_AUTHZ_WRITE_RECIPES=1 cargo test --manifest-path tests/integration/Cargo.toml --test recipes
-- Every sql block below, in order, in a fresh database; an error stops the file (ON_ERROR_STOP) but in
-- the blocks marked regress-errors, whose errors are shown.
\set ON_ERROR_STOP 1
\set SHOW_CONTEXT never
\set regress_database :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS pg_authz_readme WITH (FORCE);
DROP ROLE IF EXISTS blog_app, app_server, analyst;
RESET client_min_messages;
CREATE DATABASE pg_authz_readme;
\c pg_authz_readme

CREATE EXTENSION pg_authz;
SELECT authz.register_model('shop.Order');            -- shop.add_order, shop.change_order, ...
INSERT INTO authz.users (id, is_staff) VALUES ('42', true), ('43', true);
INSERT INTO authz.groups (name) VALUES ('Clerks');
INSERT INTO authz.group_permissions (group_id, permission_id)
  SELECT g.id, p.id FROM authz.groups g, authz.permissions p
   WHERE g.name = 'Clerks' AND p.codename = 'view_order';
INSERT INTO authz.user_groups (user_id, group_id) SELECT '42', id FROM authz.groups WHERE name = 'Clerks';

SELECT authz.has_perm('42', 'shop.view_order');    -- true (through Clerks)
SELECT authz.has_perm('43', 'shop.view_order');    -- false
SELECT authz.has_perm('42', 'nodot');              -- false: malformed input is never granted, never an error
SELECT authz.explain('42', 'shop.view_order');
-- {"user": "42", "direct": false, "groups": ["Clerks"], "allowed": true, "decided_by": "group", ...}

BEGIN;
SELECT authz.set_user('42');                        -- transaction-local: safe behind PgBouncer
SELECT authz.has_perm('shop.view_order');          -- true
COMMIT;

-- A handler: a function (ids text[], params jsonb) returns jsonb, run as the calling role.
CREATE SCHEMA app;
CREATE FUNCTION app.export_users(ids text[], params jsonb) RETURNS jsonb LANGUAGE sql
  AS $$ SELECT jsonb_build_object('exported', cardinality(ids), 'format', params->>'format') $$;

CALL authz.sync_admin_actions($$[
  {"model": "user.User",   "codename": "export",        "name": "Export users",  "kind": "server", "scope": "bulk",
   "handler": "app.export_users"},
  {"model": "order.Order", "codename": "print_receipt", "name": "Print receipt", "kind": "server", "scope": "bulk"},
  {"model": "notification.Notification", "codename": null, "name": "Send notification", "kind": "server", "scope": "toolbar"}
]$$);
-- NOTICE:  created permission user.export (user.user)
-- NOTICE:  created action user.user:export   ... and a report: {"created": [...], "unchanged": [...], ...}

SELECT authz.allowed_actions('42', 'order.Order');
-- [{"key": "print_receipt", "kind": "server", "label": "Print receipt", "scope": "bulk", "allowed": false}]

\set ON_ERROR_STOP 0
BEGIN;
SELECT authz.set_user('42');
SELECT authz.perform_action('user.User', 'export', ARRAY['1', '2']);
-- ERROR:  permission denied for action "export" on model user.User: user "42" lacks permission user.export
-- (SQLSTATE 42501; the denial is in authz.audit_log although this transaction rolls back)
ROLLBACK;
\echo SQLSTATE of the last error: :LAST_ERROR_SQLSTATE
\set ON_ERROR_STOP 1

INSERT INTO authz.user_permissions (user_id, permission_id)
  SELECT '42', id FROM authz.permissions WHERE codename = 'export';
BEGIN;
SELECT authz.set_user('42');
SELECT authz.perform_action('user.User', 'export', ARRAY['1', '2'], '{"format": "csv"}');
-- {"ok": ["1", "2"], "model": "user.user", "action": "export", "failed": [], "result": {"format": "csv", "exported": 2}, "audit_id": 20}
COMMIT;
SELECT operation, app_user, action, model, row_count FROM authz.audit_log WHERE action = 'export' ORDER BY id;
-- DENIED | 42 | export | user.user | 2       (kept although its transaction rolled back)
-- ACTION | 42 | export | user.user | 2

-- Posts, and the tables the rules read: each site's staff, each project's members.
CREATE SCHEMA blog;
CREATE TABLE app.site_staff (user_id text NOT NULL, site_id int NOT NULL);
CREATE TABLE app.project_members (project_id int NOT NULL, user_id text NOT NULL, can_edit boolean NOT NULL);
CREATE TABLE blog.posts (id int PRIMARY KEY, title text NOT NULL, author_id text NOT NULL, site_id int NOT NULL,
  project_id int, status text NOT NULL DEFAULT 'draft', price numeric NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON blog.posts (author_id);
CREATE INDEX ON blog.posts (site_id);
CREATE INDEX ON blog.posts (project_id);

-- Authors ann, ben and cy; eve edits. The permissions are Django's: the model's four and one of our own.
SELECT authz.register_model('blog.Post', 'blog.posts');
INSERT INTO authz.permissions (content_type_id, codename, name)
  SELECT id, 'edit_all_posts', 'Can edit all posts' FROM authz.content_types WHERE app_label = 'blog';
INSERT INTO authz.users (id, is_staff) VALUES ('ann', true), ('ben', true), ('cy', true), ('eve', true);
INSERT INTO authz.groups (name) VALUES ('Authors'), ('Editors');
INSERT INTO authz.group_permissions (group_id, permission_id)
  SELECT g.id, p.id FROM authz.groups g JOIN authz.permissions p
    ON p.codename IN ('view_post', 'add_post', 'change_post') OR (g.name = 'Editors' AND p.codename = 'edit_all_posts')
   WHERE g.name IN ('Authors', 'Editors');
INSERT INTO authz.user_groups (user_id, group_id)
  SELECT v.user_id, g.id FROM (VALUES ('ann', 'Authors'), ('ben', 'Authors'), ('cy', 'Authors'), ('eve', 'Editors'))
    AS v(user_id, name) JOIN authz.groups g USING (name);
INSERT INTO app.site_staff VALUES ('ann', 1), ('ben', 1), ('cy', 1), ('eve', 1);
INSERT INTO app.project_members VALUES (7, 'ann', true), (7, 'ben', false);
INSERT INTO blog.posts (id, title, author_id, site_id, project_id, status) VALUES
  (1, 'Ann''s draft', 'ann', 1, NULL, 'draft'),   (2, 'Ben''s draft', 'ben', 1, NULL, 'draft'),
  (3, 'Project 7 plan', 'cy', 1, 7, 'draft'),     (4, 'Ann''s approved post', 'ann', 1, NULL, 'approved'),
  (5, 'Ann on site 2', 'ann', 2, NULL, 'draft');

SELECT authz.protect('blog.posts', $${
  "model":  "blog.Post",
  "owner":  {"column": "author_id", "see_all": ["group:Editors"], "edit_all": ["blog.edit_all_posts"]},
  "tenant": {"column": "site_id", "table": "app.site_staff", "user": "user_id"},
  "members": [{"column": "project_id", "table": "app.project_members", "can_edit": "can_edit", "can_delete": false}],
  "object_grants": true,
  "status":  {"column": "status", "locked": ["approved"], "editors_only": ["published"], "editors": ["group:Editors"]},
  "max_age": {"column": "created_at", "days": 30},
  "readonly": [{"columns": ["price"], "unless": ["group:Editors"]}]
}$$);   -- returns the SQL it ran, in one transaction; with dry_run => true it only returns it

CREATE ROLE blog_app;
GRANT USAGE ON SCHEMA blog, app TO blog_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON blog.posts TO blog_app;
GRANT SELECT ON app.site_staff, app.project_members TO blog_app;

BEGIN;
SET LOCAL ROLE blog_app;
SELECT authz.set_user('ann');
SELECT id, title FROM blog.posts ORDER BY id;              -- 1, 3, 4: her own and project 7's, not site 2's
UPDATE blog.posts SET title = title || '!' RETURNING id;   -- 1, 3: post 4 is approved, locked
SELECT authz.set_user('ben');
SELECT id, title FROM blog.posts ORDER BY id;              -- 2, 3
UPDATE blog.posts SET title = title || '!' RETURNING id;   -- 2: in project 7 without can_edit
SELECT authz.set_user('eve');
SELECT id, title FROM blog.posts ORDER BY id;              -- 1, 2, 3, 4: Editors see all of site 1
UPDATE blog.posts SET price = 10 RETURNING id;             -- 1, 2, 3: edit_all, and price is theirs to change
ROLLBACK;

\set ON_ERROR_STOP 0
BEGIN;
SET LOCAL ROLE blog_app;
SELECT authz.set_user('ann');
UPDATE blog.posts SET price = 10 WHERE id = 1;
-- ERROR:  permission denied: column "price" of blog.posts is read-only for user "ann"   (42501)
ROLLBACK;
\echo SQLSTATE of the last error: :LAST_ERROR_SQLSTATE
\set ON_ERROR_STOP 1

CREATE SCHEMA shop;
CREATE TABLE shop.orders (id bigint PRIMARY KEY, status text NOT NULL DEFAULT 'new',
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz);
INSERT INTO shop.orders (id, created_at) SELECT i, now() - interval '2 days' FROM generate_series(1, 10000) i;

SELECT authz.enable_audit('shop.orders', channel => 'orders', updated_at => 'updated_at');
-- a dashboard's session: LISTEN orders;
UPDATE shop.orders SET status = 'shipped' WHERE created_at < now() - interval '1 day';   -- 10 000 rows
-- one authz.audit_log entry (row_count, all primary keys, changed columns, actor, role, xid) and one
-- notification: {"table": "shop.orders", "operation": "UPDATE", "count": 10000, "audit_id": 34, "action_id": null}
SELECT id, operation, relation, row_count, cardinality(row_ids) AS keys, changed_columns
  FROM authz.audit_log ORDER BY id DESC LIMIT 1;
-- 34 | UPDATE | shop.orders | 10000 | 10000 | {status,updated_at}

CREATE ROLE app_server LOGIN IN ROLE authz_authenticator;   -- PostgREST: GRANT authz_authenticator TO authenticator;
-- per request, as app_server:
BEGIN;
SELECT authz.set_user('42');          -- transaction-local: safe behind PgBouncer in transaction mode
SELECT authz.has_perm('shop.view_order');
COMMIT;                               -- nobody again

CREATE ROLE analyst LOGIN;
SELECT authz.bind_role('analyst', '42');    -- as authz_admin (42501 otherwise); P0002 for an unknown user
SELECT role, user_id, bound_by FROM authz.role_bindings;   -- analyst | 42 | postgres (and bound_at)
-- as analyst: SET authz.user_id = '1' changes nothing; authz.current_user_id() is '42';
-- authz.set_user('1') raises 42501 naming the role.
SELECT authz.unbind_role('analyst');        -- true; analyst is nobody again

INSERT INTO authz.jwt_keys (kid, alg, key, issuer, audience) VALUES ('ed', 'EdDSA',
'-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=
-----END PUBLIC KEY-----', 'https://login.example', 'shop');
BEGIN;
SELECT authz.set_user_token('eyJhbGciOiJFZERTQSIsImtpZCI6ImVkIiwidHlwIjoiSldUIn0.eyJzdWIiOiJiZW4iLCJleHAiOjQxMDI0NDQ4MDAsImlzcyI6Imh0dHBzOi8vbG9naW4uZXhhbXBsZSIsImF1ZCI6WyJzaG9wIiwib3RoZXIiXX0.rV7c4TTAtbx5KX7Fq-iH7LIglRC_tThdE2l4fyP37wsb1FYLxSyo_kKZH_Ji3hV0j3-HLOMq53MMb83-fz3GCg');    -- 'ben' (exp 2100; a test token of tests/pg_regress)
COMMIT;

-- Clean up: the database and the roles the examples created.
\c :regress_database
DROP DATABASE pg_authz_readme;
DROP ROLE blog_app, app_server, analyst;
