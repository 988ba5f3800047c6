-- The ten-admins scenario (shared/seeds 004): ten admins, three roles, five actions.
-- Shared by the demo (demo/ten_admins.sql) and the test (tests/pg_regress/sql/08_ten_admins.sql).
-- The app's own tables and two action handlers: (ids text[], params jsonb) -> jsonb.
CREATE SCHEMA shop;
CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric NOT NULL, receipt_printed_at timestamptz);
INSERT INTO shop.orders (id, total) SELECT i, i * 10 FROM generate_series(1, 5) i;

CREATE FUNCTION shop.print_receipts(ids text[], params jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE printed text[];
BEGIN
    WITH done AS (UPDATE shop.orders SET receipt_printed_at = now()
                   WHERE id::text = ANY (ids) RETURNING id::text AS id)
    SELECT array_agg(id) INTO printed FROM done;
    -- Unknown ids are reported as failed; the others stay printed.
    RETURN jsonb_build_object(
        'failed', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', i, 'error', 'no such order')), '[]')
                     FROM unnest(ids) i WHERE i <> ALL (coalesce(printed, '{}'))),
        'result', jsonb_build_object('printer', coalesce(params->>'printer', 'default')));
END
$$;

CREATE FUNCTION shop.export_users(ids text[], params jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT jsonb_build_object('result', jsonb_build_object('exported', cardinality(ids))) $$;

-- 1. Declare the actions once (the seed's ADMIN_ACTIONS) and sync: permissions are data.
CALL authz.sync_admin_actions($$[
  {"model": "user.User",                 "codename": "export",            "name": "Export users",      "kind": "server", "scope": "bulk", "handler": "shop.export_users"},
  {"model": "order.Order",               "codename": "print_receipt",     "name": "Print receipt",     "kind": "server", "scope": "bulk", "handler": "shop.print_receipts"},
  {"model": "order.Order",               "codename": "issue_tax_invoice", "name": "Issue tax invoice", "kind": "server", "scope": "bulk"},
  {"model": "subscription.Subscription", "codename": "print_receipt",     "name": "Print receipt",     "kind": "server", "scope": "bulk"},
  {"model": "notification.Notification", "codename": null,                "name": "Send notification", "kind": "server", "scope": "toolbar"}
]$$);

-- 2. Ten active staff admins, a customer (not staff) and a former admin (inactive).
INSERT INTO authz.users (id, is_staff) SELECT 'admin' || i, true FROM generate_series(1, 10) i;
INSERT INTO authz.users (id, is_staff, is_active) VALUES ('customer', false, true), ('former_admin', true, false);

-- 3. Roles are groups; tick the boxes of the role matrix.
INSERT INTO authz.groups (name) VALUES ('Data team'), ('General staff'), ('Billing');
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id
  FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE (g.name, ct.app_label || '.' || p.codename) IN (
        ('Data team',     'user.export'),
        ('Data team',     'order.print_receipt'),
        ('General staff', 'order.print_receipt'),
        ('Billing',       'order.print_receipt'),
        ('Billing',       'order.issue_tax_invoice'),
        ('Billing',       'subscription.print_receipt'));

-- 4. Three admins in Data team, seven in General staff, Billing empty for now; the former
--    admin kept their Data team membership when deactivated.
INSERT INTO authz.user_groups (user_id, group_id)
SELECT u.id, g.id FROM authz.users u JOIN authz.groups g
    ON g.name = CASE WHEN u.id IN ('admin1', 'admin2', 'admin3', 'former_admin') THEN 'Data team'
                     WHEN u.id LIKE 'admin%' THEN 'General staff' END;

-- The matrix an admin panel would render: every user × every declared action.
CREATE TEMP VIEW action_matrix AS
SELECT u.id AS user_id,
       (SELECT string_agg(g.name, ', ' ORDER BY g.name) FROM authz.user_groups ug
          JOIN authz.groups g ON g.id = ug.group_id WHERE ug.user_id = u.id) AS groups,
       m.model, a->>'key' AS key, (a->>'allowed')::boolean AS allowed
  FROM authz.users u
 CROSS JOIN (VALUES ('user.User'), ('order.Order'), ('subscription.Subscription'),
                    ('notification.Notification')) m(model)
 CROSS JOIN LATERAL jsonb_array_elements(authz.allowed_actions(u.id, m.model)) a
 WHERE u.id ~ '^admin[0-9]+$' OR u.id IN ('customer', 'former_admin');

CREATE TEMP VIEW matrix AS
SELECT user_id AS "user", coalesce(groups, '') AS groups,
       CASE WHEN bool_or(allowed) FILTER (WHERE model = 'user.User' AND key = 'export') THEN 'yes' ELSE '-' END AS "export users",
       CASE WHEN bool_or(allowed) FILTER (WHERE model = 'order.Order' AND key = 'print_receipt') THEN 'yes' ELSE '-' END AS "order receipt",
       CASE WHEN bool_or(allowed) FILTER (WHERE model = 'order.Order' AND key = 'issue_tax_invoice') THEN 'yes' ELSE '-' END AS "tax invoice",
       CASE WHEN bool_or(allowed) FILTER (WHERE model = 'subscription.Subscription') THEN 'yes' ELSE '-' END AS "subscription receipt",
       CASE WHEN bool_or(allowed) FILTER (WHERE model = 'notification.Notification') THEN 'yes' ELSE '-' END AS "send notification"
  FROM action_matrix
 GROUP BY user_id, groups
 ORDER BY length(user_id), user_id;
