-- Malformed declarations raise 22023 naming the array index and the field; nothing is written.
SELECT count(*) AS actions_before FROM authz.actions;
SELECT count(*) AS permissions_before FROM authz.permissions;

CALL authz.sync_admin_actions('{"model": "a.B"}');
\echo :LAST_ERROR_SQLSTATE
CALL authz.sync_admin_actions('[42]');
\echo :LAST_ERROR_SQLSTATE
-- The first declaration is valid, the second is not: the first is not written either.
CALL authz.sync_admin_actions($$[
  {"model": "hr.Employee", "codename": "promote", "name": "Promote", "kind": "server", "scope": "bulk"},
  {"model": "hr.Employee", "name": "Fire", "kind": "server", "scope": "bulk"}
]$$);
\echo :LAST_ERROR_SQLSTATE
CALL authz.sync_admin_actions('[{"model": "hr.Employee", "codename": "x", "name": "X", "kind": "sever", "scope": "bulk"}]');
\echo :LAST_ERROR_SQLSTATE
CALL authz.sync_admin_actions('[{"model": "hr.Employee", "codename": "x", "name": "X", "kind": "server", "scope": "all"}]');
\echo :LAST_ERROR_SQLSTATE
CALL authz.sync_admin_actions('[{"model": "Employee", "codename": "x", "name": "X", "kind": "server", "scope": "bulk"}]');
\echo :LAST_ERROR_SQLSTATE
CALL authz.sync_admin_actions('[{"model": "hr.Employee", "codename": 7, "name": "X", "kind": "server", "scope": "bulk"}]');
\echo :LAST_ERROR_SQLSTATE
CALL authz.sync_admin_actions('[{"model": "hr.Employee", "codename": "x", "name": "X", "kind": "server", "scope": "bulk", "colour": "red"}]');
\echo :LAST_ERROR_SQLSTATE
CALL authz.sync_admin_actions($$[
  {"model": "hr.Employee", "codename": "x", "name": "X", "kind": "server", "scope": "bulk"},
  {"model": "hr.employee", "codename": "x", "name": "Y", "kind": "client", "scope": "bulk"}
]$$);
\echo :LAST_ERROR_SQLSTATE
CALL authz.sync_admin_actions('[{"model": "hr.Employee", "codename": "x", "name": "X", "kind": "server", "scope": "bulk", "handler": "public.no_such_function"}]');
\echo :LAST_ERROR_SQLSTATE
CALL authz.sync_admin_actions('[{"model": "hr.Employee", "codename": "x", "name": "X", "kind": "server", "scope": "bulk", "handler": "pg_catalog.lower"}]');
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION public.regress_wrong_return(ids text[], params jsonb) RETURNS text LANGUAGE sql AS 'SELECT 1::text';
CALL authz.sync_admin_actions('[{"model": "hr.Employee", "codename": "x", "name": "X", "kind": "server", "scope": "bulk", "handler": "public.regress_wrong_return"}]');
\echo :LAST_ERROR_SQLSTATE
CALL authz.sync_admin_actions(NULL);
\echo :LAST_ERROR_SQLSTATE

SELECT count(*) AS actions_after FROM authz.actions;
SELECT count(*) AS permissions_after FROM authz.permissions;
SELECT count(*) AS hr_content_types FROM authz.content_types WHERE app_label = 'hr';

-- Listing and running: unknown model or action is P0002; a malformed model 22023; a bulk
-- action without ids 22023.
SELECT authz.allowed_actions('admin1', 'nope.Nothing');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.allowed_actions('admin1', 'nodot');
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SELECT authz.set_user('admin1');
SELECT authz.perform_action('user.User', 'delete_everything', ARRAY['1']);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT authz.set_user('admin1');
SELECT authz.perform_action('nope.Nothing', 'export', ARRAY['1']);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT authz.set_user('admin1');
SELECT authz.perform_action('user.User', 'export', ARRAY[]::text[]);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT authz.set_user('admin1');
SELECT authz.perform_action('user.User', 'export', NULL);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT authz.set_user('admin1');
SELECT authz.perform_action('user.User', 'export', ARRAY['1', NULL]);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- Nobody set, unknown user, non-staff, inactive: 42501, each audited.
SELECT authz.perform_action('notification.Notification', 'send_notification', NULL);
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SELECT authz.set_user('ghost');
SELECT authz.perform_action('notification.Notification', 'send_notification', NULL);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT authz.set_user('customer');
SELECT authz.perform_action('notification.Notification', 'send_notification', NULL);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT authz.set_user('former_admin');
SELECT authz.perform_action('user.User', 'export', ARRAY['1']);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT app_user, model, action, outcome->>'reason' AS reason
  FROM authz.audit_log WHERE operation = 'DENIED' ORDER BY id;
