-- Declaring admin actions: sync_admin_actions get-or-creates content types and permissions
-- (no migration), is idempotent, updates in place keeping grants, and prunes only when asked.

CREATE FUNCTION public.regress_noop_handler(ids text[], params jsonb) RETURNS jsonb
    LANGUAGE sql AS $$ SELECT jsonb_build_object('result', cardinality(ids)) $$;

CALL authz.sync_admin_actions($$[
  {"model": "crm.Lead",    "codename": "export",        "name": "Export leads",  "kind": "server", "scope": "bulk"},
  {"model": "crm.Lead",    "codename": null,            "name": "Refresh list",  "kind": "client", "scope": "toolbar"},
  {"model": "crm.Account", "codename": "export",        "name": "Export accounts", "kind": "server", "scope": "bulk",
   "handler": "public.regress_noop_handler"}
]$$);

-- The same codename on two models gives two independent permissions.
SELECT ct.app_label || '.' || ct.model AS model, p.codename, p.name
  FROM authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE ct.app_label = 'crm' ORDER BY 1, 2;
SELECT ct.app_label || '.' || ct.model AS model, a.key, a.codename, a.name, a.kind, a.scope, a.handler, a.position
  FROM authz.actions a JOIN authz.content_types ct ON ct.id = a.content_type_id ORDER BY a.position;

-- A second identical run changes nothing and says so.
SELECT authz.sync_admin_actions_report($$[
  {"model": "crm.Lead",    "codename": "export",        "name": "Export leads",  "kind": "server", "scope": "bulk"},
  {"model": "crm.Lead",    "codename": null,            "name": "Refresh list",  "kind": "client", "scope": "toolbar"},
  {"model": "crm.Account", "codename": "export",        "name": "Export accounts", "kind": "server", "scope": "bulk",
   "handler": "public.regress_noop_handler"}
]$$) AS second_run;

-- Grant crm.export on leads to a group, then rename the action and make it a toolbar action:
-- updated in place, the grant survives.
INSERT INTO authz.users (id, is_staff) VALUES ('sam', true);
INSERT INTO authz.groups (name) VALUES ('Sales');
INSERT INTO authz.user_groups (user_id, group_id) SELECT 'sam', id FROM authz.groups WHERE name = 'Sales';
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE g.name = 'Sales' AND ct.app_label = 'crm' AND ct.model = 'lead' AND p.codename = 'export';
SELECT authz.allowed_actions('sam', 'crm.Lead') AS before_update;

CALL authz.sync_admin_actions($$[
  {"model": "crm.Lead",    "codename": "export",        "name": "Export all leads", "kind": "server", "scope": "toolbar"},
  {"model": "crm.Lead",    "codename": null,            "name": "Refresh list",  "kind": "client", "scope": "toolbar"},
  {"model": "crm.Account", "codename": "export",        "name": "Export accounts", "kind": "server", "scope": "bulk",
   "handler": "public.regress_noop_handler"}
]$$);
SELECT authz.allowed_actions('sam', 'crm.Lead') AS after_update;

-- Dropping a declaration leaves the action alone unless pruning is asked for.
CALL authz.sync_admin_actions($$[
  {"model": "crm.Lead", "codename": null, "name": "Refresh list", "kind": "client", "scope": "toolbar"}
]$$);
SELECT count(*) AS actions_kept FROM authz.actions;

-- Pruning deletes undeclared actions; a permission still granted is kept, and said so; an
-- unused one goes.
CALL authz.sync_admin_actions($$[
  {"model": "crm.Lead", "codename": null, "name": "Refresh list", "kind": "client", "scope": "toolbar"}
]$$, prune => true);
SELECT ct.app_label || '.' || ct.model AS model, p.codename
  FROM authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE ct.app_label = 'crm' AND p.codename = 'export' ORDER BY 1;
SELECT authz.has_perm('sam', 'crm.export') AS grant_survives;

-- allowed_actions: staff only; codename NULL is open to all staff; superusers pass.
INSERT INTO authz.users (id, is_staff, is_superuser) VALUES ('boss', true, true), ('lurker', false, false);
SELECT u AS user_id, authz.allowed_actions(u, 'crm.Lead') AS actions
  FROM unnest(ARRAY['sam', 'boss', 'lurker', 'nobody']) u;
SELECT authz.allowed_actions(NULL, 'crm.Lead') AS nobody_set;
-- A registered model without actions has none.
SELECT authz.allowed_actions('boss', 'shop.Order') AS no_actions;

-- perform_action runs the handler as the caller and audits once.
CALL authz.sync_admin_actions($$[
  {"model": "crm.Lead",    "codename": null,     "name": "Refresh list",    "kind": "client", "scope": "toolbar"},
  {"model": "crm.Account", "codename": "export", "name": "Export accounts", "kind": "server", "scope": "bulk",
   "handler": "public.regress_noop_handler"}
]$$);
BEGIN;
SELECT authz.set_user('boss');
SELECT authz.perform_action('crm.Account', 'export', ARRAY['7', '8'], '{"format": "csv"}') - 'audit_id' AS result;
SELECT authz.perform_action('crm.Lead', 'refresh_list', NULL) - 'audit_id' AS toolbar_without_ids;
COMMIT;
SELECT app_user, db_role, operation, model, action, row_count, row_ids, params, outcome
  FROM authz.audit_log WHERE model LIKE 'crm.%' ORDER BY id;
