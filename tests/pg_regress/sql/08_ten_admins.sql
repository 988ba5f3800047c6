-- The ten-admins scenario of shared/seeds 004, asserted. demo/ten_admins.sql shows it.
\i demo/ten_admins_setup.sql

TABLE matrix;

-- Export users: exactly 3 of 10 admins. Send notification: 10 of 10. Print receipt:
-- 10 of 10 on Orders, 0 of 10 on Subscriptions.
SELECT model, key, count(*) FILTER (WHERE allowed) AS allowed_admins, count(*) AS admins
  FROM action_matrix WHERE user_id LIKE 'admin%'
 GROUP BY model, key ORDER BY model, key;

-- A non-staff user and an inactive admin are allowed nothing, not even send notification.
SELECT user_id, count(*) FILTER (WHERE allowed) AS allowed_actions
  FROM action_matrix WHERE user_id IN ('customer', 'former_admin') GROUP BY user_id ORDER BY 1;

-- A General-staff admin who crafts the export request by hand gets 42501 ...
BEGIN;
SELECT authz.set_user('admin5');
SELECT authz.perform_action('user.User', 'export', ARRAY['1', '2', '3']);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- ... and the audit log shows the denial, although the transaction rolled back.
SELECT app_user, operation, model, action, row_ids, outcome
  FROM authz.audit_log WHERE operation = 'DENIED' AND app_user = 'admin5';

-- Billing gets a member: Subscriptions receipts become allowed for that admin only.
INSERT INTO authz.user_groups (user_id, group_id) SELECT 'admin4', id FROM authz.groups WHERE name = 'Billing';
SELECT user_id FROM action_matrix
 WHERE model = 'subscription.Subscription' AND key = 'print_receipt' AND allowed;

-- Moving an admin from General staff to Data team changes their actions on the next statement.
UPDATE authz.user_groups SET group_id = (SELECT id FROM authz.groups WHERE name = 'Data team')
 WHERE user_id = 'admin5';
SELECT authz.allowed_actions('admin5', 'user.User') AS admin5_now;
BEGIN;
SELECT authz.set_user('admin5');
SELECT authz.perform_action('user.User', 'export', ARRAY['1', '2', '3']) - 'audit_id' AS admin5_exports;
COMMIT;

-- A handler reports per-target failures; the others stay done.
BEGIN;
SELECT authz.set_user('admin4');
SELECT authz.perform_action('order.Order', 'print_receipt', ARRAY['1', '2', '99'], '{"printer": "front"}') - 'audit_id' AS partial;
COMMIT;
SELECT id, receipt_printed_at IS NOT NULL AS printed FROM shop.orders ORDER BY id;

-- One entry per action: actor, action, model, targets, params, outcome.
SELECT app_user, operation, model, action, row_ids, params, outcome
  FROM authz.audit_log WHERE model IN ('user.user', 'order.order') ORDER BY id;
