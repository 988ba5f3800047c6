-- The upgrade test's data set (tests/upgrade/run): run in a database with pg_authz 0.1.0 before
-- ALTER EXTENSION pg_authz UPDATE, and in a fresh 0.2.0 database, so both hold the same objects
-- and rows. Every catalog gets rows: content types, permissions, groups and their permissions,
-- users, memberships, direct and object grants, declared actions (one with a handler), a bound
-- role, a signing key, a protected and an audited table with rows, and audit entries of each
-- kind (ACTION, DENIED, INSERT, UPDATE, DELETE, CONFIGURE).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE SCHEMA shop;
GRANT USAGE ON SCHEMA shop TO PUBLIC;
CREATE TABLE shop.orders (id int PRIMARY KEY, owner_id text NOT NULL, total int NOT NULL DEFAULT 0,
                          note text, updated_at timestamptz);
COMMENT ON TABLE shop.orders IS 'Orders: protected (owner) and audited with row images.';
CREATE TABLE shop.invoices (id int PRIMARY KEY, order_id int NOT NULL, amount numeric NOT NULL);
GRANT SELECT, UPDATE ON shop.orders TO authz_upgrade_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON shop.invoices TO authz_upgrade_reader;

CREATE FUNCTION shop.export_orders(ids text[], params jsonb) RETURNS jsonb
    LANGUAGE sql AS $$ SELECT jsonb_build_object('exported', cardinality(ids), 'format', params->>'format') $$;

CALL authz.sync_admin_actions($$[
  {"model": "shop.Order", "codename": "export", "name": "Export orders", "kind": "server", "scope": "bulk",
   "handler": "shop.export_orders"},
  {"model": "shop.Order", "codename": null, "name": "Refresh", "kind": "client", "scope": "toolbar"},
  {"model": "shop.Invoice", "codename": "void", "name": "Void invoices", "kind": "server", "scope": "bulk"}
]$$);

SELECT authz.enable_audit('shop.orders', updated_at => 'updated_at', row_images => true);
SELECT authz.enable_audit('shop.invoices');
SELECT authz.protect('shop.orders', '{"model": "shop.Order", "owner": {"column": "owner_id"},
                                      "readonly": [{"columns": ["total"]}]}');

INSERT INTO authz.users (id, is_staff, is_superuser, is_active) VALUES
    ('alice', true, false, true), ('bob', true, false, true), ('carol', false, false, true),
    ('dave', true, false, false), ('root', true, true, true);
INSERT INTO authz.groups (name) VALUES ('clerks'), ('auditors');
INSERT INTO authz.user_groups (user_id, group_id) SELECT 'alice', id FROM authz.groups WHERE name = 'clerks';
INSERT INTO authz.user_groups (user_id, group_id) SELECT u, id FROM authz.groups, unnest(ARRAY['bob', 'dave']) u
 WHERE name = 'auditors';
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p
 WHERE g.name = 'clerks' AND p.codename IN ('view_order', 'change_order', 'export');
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE g.name = 'auditors' AND ct.model = 'invoice' AND p.codename LIKE 'view_%';
INSERT INTO authz.user_permissions (user_id, permission_id)
SELECT 'bob', id FROM authz.permissions WHERE codename = 'view_order';
INSERT INTO authz.object_permissions (permission_id, user_id, object_pk)
SELECT id, 'carol', '7' FROM authz.permissions WHERE codename = 'view_order';
INSERT INTO authz.object_permissions (permission_id, group_id, object_pk)
SELECT p.id, g.id, '3' FROM authz.permissions p, authz.groups g WHERE p.codename = 'void' AND g.name = 'auditors';

SELECT authz.bind_role('authz_upgrade_bound', 'bob');
INSERT INTO authz.jwt_keys (kid, alg, key, issuer, audience, created_at)
VALUES ('hs', 'HS256', 'an HS256 secret of at least thirty-two bytes', 'https://login.example', 'shop',
        '2026-01-01 00:00:00+00');

-- Audited writes (INSERT, UPDATE, DELETE), an action and a denial.
INSERT INTO shop.orders (id, owner_id) SELECT g, CASE WHEN g % 2 = 0 THEN 'alice' ELSE 'bob' END
  FROM generate_series(1, 20) g;
UPDATE shop.orders SET note = 'checked' WHERE id <= 5;
DELETE FROM shop.orders WHERE id = 20;
INSERT INTO shop.invoices SELECT g, g, g * 10 FROM generate_series(1, 6) g;
DELETE FROM shop.invoices WHERE id = 6;

BEGIN;
SELECT authz.set_user('alice');
SELECT authz.perform_action('shop.Order', 'export', ARRAY['2', '4'], '{"format": "csv"}') - 'audit_id';
COMMIT;
DO $$
BEGIN
    PERFORM authz.set_user('carol');
    PERFORM authz.perform_action('shop.Order', 'export', ARRAY['1']);
    RAISE EXCEPTION 'carol may not export';
EXCEPTION WHEN insufficient_privilege THEN NULL;
END
$$;
