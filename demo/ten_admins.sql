-- The README demo: the ten-admins scenario on a real server. Run by `make demo`.
CREATE EXTENSION pg_authz;
\ir ten_admins_setup.sql
\pset footer off
\echo
\echo 'Who may do what (authz.allowed_actions for every user and model):'
TABLE matrix;

\echo 'admin5 (General staff) crafts the export request by hand: the database refuses it.'
BEGIN;
SELECT authz.set_user('admin5') \g /dev/null
\set ON_ERROR_STOP off
SELECT authz.perform_action('user.User', 'export', ARRAY['1', '2', '3']);
\set ON_ERROR_STOP on
ROLLBACK;
\echo '... and the refusal is in the audit log, although its transaction rolled back:'
SELECT id, app_user, operation, model, action, outcome->>'reason' AS reason
  FROM authz.audit_log WHERE operation = 'DENIED' ORDER BY id;

\echo 'admin1 (Data team) exports; admin4 prints receipts for orders 1, 2 and 99 (99 does not exist):'
BEGIN;
SELECT authz.set_user('admin1') \g /dev/null
SELECT authz.perform_action('user.User', 'export', ARRAY['1', '2', '3']);
SELECT authz.set_user('admin4') \g /dev/null
SELECT jsonb_pretty(authz.perform_action('order.Order', 'print_receipt', ARRAY['1', '2', '99'], '{"printer": "front desk"}'));
COMMIT;

\echo 'admin4 joins Billing and admin5 moves to Data team: no code, no migration.'
INSERT INTO authz.user_groups (user_id, group_id) SELECT 'admin4', id FROM authz.groups WHERE name = 'Billing';
UPDATE authz.user_groups SET group_id = (SELECT id FROM authz.groups WHERE name = 'Data team')
 WHERE user_id = 'admin5';
TABLE matrix;
\echo 'The audit log: actions and refusals (actor, action, targets, outcome) ...'
SELECT id, app_user, operation, model, action, row_ids, outcome
  FROM authz.audit_log WHERE operation IN ('ACTION', 'DENIED') ORDER BY id;
\echo '... and every write, catalog changes included (one entry per statement):'
SELECT relation, operation, count(*) AS statements, sum(row_count) AS rows
  FROM authz.audit_log WHERE relation IS NOT NULL GROUP BY relation, operation ORDER BY relation, operation;
