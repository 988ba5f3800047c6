-- The audit log is append-only for every role, its owner and superusers included.
SELECT count(*) > 0 AS has_entries FROM authz.audit_log;
UPDATE authz.audit_log SET app_user = 'someone else';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM authz.audit_log;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE authz.audit_log;
\echo :LAST_ERROR_SQLSTATE
-- Even a statement that matches no row is refused.
DELETE FROM authz.audit_log WHERE false;
\echo :LAST_ERROR_SQLSTATE

-- Ordinary roles and catalog admins can neither read nor write it; auditors read it.
SELECT has_table_privilege('regress_app', 'authz.audit_log', 'SELECT') AS app_reads,
       has_table_privilege('regress_admin', 'authz.audit_log', 'SELECT,INSERT') AS admin_reads_or_writes,
       has_table_privilege('authz_auditor', 'authz.audit_log', 'SELECT') AS auditor_reads,
       has_table_privilege('authz_auditor', 'authz.audit_log', 'INSERT') AS auditor_writes;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT count(*) FROM authz.audit_log;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
INSERT INTO authz.audit_log (operation) VALUES ('ACTION');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- An ordinary role still runs actions (the entry is written by pg_authz, not by the role).
GRANT USAGE ON SCHEMA shop TO regress_app;
GRANT UPDATE, SELECT ON shop.orders TO regress_app;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('admin4');
SELECT authz.perform_action('order.Order', 'print_receipt', ARRAY['3']) -> 'ok' AS printed_by_app_role;
COMMIT;
SELECT app_user, db_role, operation, action, row_ids FROM authz.audit_log ORDER BY id DESC LIMIT 1;
REVOKE ALL ON shop.orders FROM regress_app;
REVOKE ALL ON SCHEMA shop FROM regress_app;
