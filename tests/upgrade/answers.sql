-- What pg_authz answers about the data set of setup.sql, as JSON lines (tests/upgrade/run
-- compares them before and after the upgrade, and with a fresh install): has_perm for every user
-- and permission and on objects, module permissions, all permissions, allowed actions, explain,
-- role bindings, and the rows each user sees in the protected table.
\set ON_ERROR_STOP 1
WITH perms AS (
    SELECT ct.app_label || '.' || p.codename AS perm
      FROM authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
)
SELECT pg_catalog.jsonb_build_object(
    'has_perm', (SELECT pg_catalog.jsonb_object_agg(u.id || ' ' || p.perm, authz.has_perm(u.id, p.perm))
                   FROM authz.users u, perms p),
    'has_perm on objects', (SELECT pg_catalog.jsonb_object_agg(u.id || ' ' || o.perm || ' ' || o.pk,
                                                               authz.has_perm(u.id, o.perm, o.pk))
                              FROM authz.users u, (VALUES ('shop.view_order', '7'), ('shop.view_order', '8'),
                                                          ('shop.void', '3'), ('shop.void', '4')) o(perm, pk)),
    'has_module_perms', (SELECT pg_catalog.jsonb_object_agg(u.id, authz.has_module_perms(u.id, 'shop'))
                           FROM authz.users u),
    'get_all_permissions', (SELECT pg_catalog.jsonb_object_agg(u.id,
                                       ARRAY(SELECT x FROM authz.get_all_permissions(u.id) x ORDER BY 1))
                              FROM authz.users u),
    'allowed_actions', (SELECT pg_catalog.jsonb_object_agg(u.id || ' ' || m, authz.allowed_actions(u.id, m))
                          FROM authz.users u, unnest(ARRAY['shop.Order', 'shop.Invoice']) m),
    'explain', (SELECT pg_catalog.jsonb_object_agg(u.id, authz.explain(u.id, 'shop.export')) FROM authz.users u),
    'role_bindings', (SELECT pg_catalog.jsonb_agg(b.role::text || ' ' || b.user_id ORDER BY 1) FROM authz.role_bindings b)
);
BEGIN;
DO $$ BEGIN PERFORM authz.set_user('alice'); END $$;
SET LOCAL ROLE authz_upgrade_reader;
SELECT pg_catalog.jsonb_build_object('orders alice sees', (SELECT pg_catalog.jsonb_agg(id ORDER BY id) FROM shop.orders));
ROLLBACK;
BEGIN;
DO $$ BEGIN PERFORM authz.set_user('bob'); END $$;
SET LOCAL ROLE authz_upgrade_reader;
SELECT pg_catalog.jsonb_build_object('orders bob sees', (SELECT pg_catalog.jsonb_agg(id ORDER BY id) FROM shop.orders));
ROLLBACK;
BEGIN;
DO $$ BEGIN PERFORM authz.set_user('carol'); END $$;
SET LOCAL ROLE authz_upgrade_reader;
SELECT pg_catalog.jsonb_build_object('orders carol sees', (SELECT pg_catalog.jsonb_agg(id ORDER BY id) FROM shop.orders));
ROLLBACK;
BEGIN;
DO $$ BEGIN PERFORM authz.set_user('root'); END $$;
SET LOCAL ROLE authz_upgrade_reader;
SELECT pg_catalog.jsonb_build_object('orders root sees', (SELECT pg_catalog.jsonb_agg(id ORDER BY id) FROM shop.orders));
ROLLBACK;
