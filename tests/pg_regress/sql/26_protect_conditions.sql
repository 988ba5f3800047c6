-- Conditional rules (seed 002 "Dynamic Permission Checks"): locked orders change only for
-- superusers, orders that require approval only for Approvers, high-value orders only with
-- orders.change_high_value_order. Each "when" is a row predicate, RESTRICTIVE like status.
CREATE SCHEMA orders;
CREATE TABLE orders.orders (
    id int PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL,
    is_locked boolean NOT NULL DEFAULT false, requires_approval boolean NOT NULL DEFAULT false);
INSERT INTO orders.orders VALUES
  (1, 'acme', 500, false, false),     -- plain
  (2, 'acme', 800, true, false),      -- locked
  (3, 'bolt', 900, false, true),      -- requires approval
  (4, 'bolt', 25000, false, false),   -- high value
  (5, 'core', 40000, false, true);    -- high value, requires approval
GRANT USAGE ON SCHEMA orders TO regress_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON orders.orders TO regress_app;

SELECT authz.register_model('orders.Order', 'orders.orders') > 0 AS registered;
INSERT INTO authz.permissions (content_type_id, codename, name)
SELECT id, 'change_high_value_order', 'Can change high-value orders' FROM authz.content_types
 WHERE app_label = 'orders' AND model = 'order';
INSERT INTO authz.users (id, is_staff, is_superuser) VALUES
  ('clerk', true, false), ('approver', true, false), ('senior', true, false), ('owner', true, true);
INSERT INTO authz.groups (name) VALUES ('Order clerks'), ('Approvers');
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE g.name = 'Order clerks' AND ct.app_label = 'orders' AND p.codename IN ('view_order', 'change_order', 'delete_order');
INSERT INTO authz.user_groups (user_id, group_id)
SELECT u, g.id FROM (VALUES ('clerk', 'Order clerks'), ('approver', 'Order clerks'), ('approver', 'Approvers'),
                            ('senior', 'Order clerks')) v(u, gname)
  JOIN authz.groups g ON g.name = v.gname;
INSERT INTO authz.user_permissions (user_id, permission_id)
SELECT 'senior', p.id FROM authz.permissions p WHERE p.codename = 'change_high_value_order';

-- The seed's if/elif chain, one entry per branch. Conditions combine with AND (a row matching
-- two must pass both), so the third excludes what the second decides, as the seed's order does.
-- "superuser" alone means: nobody but active superusers. What the policies carry is
-- PostgreSQL's own reading of each predicate (deparsed), not the text as written.
SELECT authz.protect('orders.orders', $${"model": "orders.Order", "conditions": [
    {"when": "is_locked", "requires": ["superuser"]},
    {"when": "requires_approval", "requires": ["group:Approvers"]},
    {"when": "amount > 10000 AND NOT requires_approval", "requires": ["orders.change_high_value_order"]}]}$$,
    dry_run => true);
SELECT authz.protect('orders.orders', $${"model": "orders.Order", "conditions": [
    {"when": "is_locked", "requires": ["superuser"]},
    {"when": "requires_approval", "requires": ["group:Approvers"]},
    {"when": "amount > 10000 AND NOT requires_approval", "requires": ["orders.change_high_value_order"]}]}$$) IS NOT NULL AS protected;
SELECT policy, command, kind FROM authz.policies WHERE relation = 'orders.orders'::regclass ORDER BY policy;

-- Every clerk sees every order; which ones each changes and deletes:
-- the clerk only plain ones, the approver also those awaiting approval, the senior clerk also
-- high-value ones; nobody but the superuser the locked one.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('clerk') \g /dev/null
SELECT count(*) AS visible FROM orders.orders;
UPDATE orders.orders SET customer = customer RETURNING id;
DELETE FROM orders.orders RETURNING id;
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('approver') \g /dev/null
UPDATE orders.orders SET customer = customer RETURNING id;
DELETE FROM orders.orders RETURNING id;
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('senior') \g /dev/null
UPDATE orders.orders SET customer = customer RETURNING id;
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('owner') \g /dev/null
UPDATE orders.orders SET customer = customer RETURNING id;
ROLLBACK;

-- The condition is tested on the row before the change: a clerk may make an order high-value
-- (as the seed's has_change_permission(obj) looks at the stored order), then not touch it again.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('clerk') \g /dev/null
UPDATE orders.orders SET amount = 20000 WHERE id = 1 RETURNING id, amount;
UPDATE orders.orders SET amount = 100 WHERE id = 1 RETURNING id, amount;
ROLLBACK;

-- "strict": true: a statement reaching a row the user sees but may not change fails with 42501
-- naming the rule, instead of silently changing fewer rows. The rows it does not reach (its
-- WHERE leaves them out) raise nothing. UPDATE and DELETE conditions become row triggers.
SELECT authz.protect('orders.orders', $${"model": "orders.Order", "strict": true, "conditions": [
    {"when": "is_locked", "requires": ["superuser"]},
    {"when": "requires_approval", "requires": ["group:Approvers"]},
    {"when": "amount > 10000 AND NOT requires_approval", "requires": ["orders.change_high_value_order"]}]}$$) IS NOT NULL AS protected;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'orders.orders'::regclass AND NOT tgisinternal ORDER BY 1;
-- Each trigger's WHEN holds the whole test (the old row matches, and the user is neither an
-- active superuser nor a holder), so a holder's statement runs no trigger function at all; the
-- function runs only to raise, naming what is missing.
\pset format unaligned
\pset tuples_only on
SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'orders.orders'::regclass AND tgname = 'authz_condition_2';
\pset format aligned
\pset tuples_only off
SELECT policy FROM authz.policies WHERE relation = 'orders.orders'::regclass ORDER BY policy;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('clerk') \g /dev/null
UPDATE orders.orders SET customer = 'x' WHERE id = 1 RETURNING id;
UPDATE orders.orders SET customer = 'x';
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('clerk') \g /dev/null
DELETE FROM orders.orders WHERE id = 3;
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('approver') \g /dev/null
UPDATE orders.orders SET customer = 'x' WHERE id IN (1, 3, 5) RETURNING id;
UPDATE orders.orders SET customer = 'x' WHERE id = 4;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('owner') \g /dev/null
UPDATE orders.orders SET customer = 'x' RETURNING id;
ROLLBACK;
-- The strict triggers are generated objects like the others: only unprotect removes them.
DROP TRIGGER authz_condition_0 ON orders.orders;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
ALTER TABLE orders.orders DISABLE TRIGGER authz_condition_1;
ALTER TRIGGER authz_condition_2 ON orders.orders RENAME TO mine;
\set VERBOSITY default
SELECT count(*) AS breaches FROM authz.protection_breaches WHERE relation = 'orders.orders'::regclass;

-- Strict mode covers the status and max_age rules too: a locked status (superusers only), an
-- editors-only one (any one of the editors), rows older than max_age (superusers only).
CREATE TABLE orders.invoices (id int PRIMARY KEY, status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO orders.invoices VALUES (1, 'draft', now()), (2, 'paid', now()), (3, 'sent', now()),
                                   (4, 'draft', now() - interval '60 days');
GRANT SELECT, UPDATE, DELETE ON orders.invoices TO regress_app;
SELECT authz.protect('orders.invoices', $${"model": "orders.Invoice", "strict": true,
    "status": {"column": "status", "locked": ["paid"], "editors_only": ["sent"],
               "editors": ["group:Approvers", "orders.change_high_value_order"]},
    "max_age": {"column": "created_at", "days": 30}}$$) IS NOT NULL AS protected;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'orders.invoices'::regclass AND NOT tgisinternal ORDER BY 1;
SELECT policy FROM authz.policies WHERE relation = 'orders.invoices'::regclass ORDER BY policy;
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE g.name = 'Order clerks' AND ct.app_label = 'orders' AND ct.model = 'invoice';
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('clerk') \g /dev/null
UPDATE orders.invoices SET status = status WHERE id = 1 RETURNING id;
SAVEPOINT s;
UPDATE orders.invoices SET status = 'draft' WHERE id = 3;
ROLLBACK TO s;
\set VERBOSITY terse
UPDATE orders.invoices SET status = 'draft' WHERE id = 2;
ROLLBACK TO s;
UPDATE orders.invoices SET status = 'sent' WHERE id = 4;
ROLLBACK TO s;
DELETE FROM orders.invoices WHERE id = 4;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('senior') \g /dev/null
UPDATE orders.invoices SET status = 'paid' WHERE id IN (1, 3) RETURNING id, status;
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('owner') \g /dev/null
UPDATE orders.invoices SET status = status RETURNING id;
ROLLBACK;
SELECT authz.unprotect('orders.invoices');

-- Other commands: SELECT hides matching rows from non-holders, INSERT refuses them.
CREATE TABLE orders.notes (id int PRIMARY KEY, body text NOT NULL, private boolean NOT NULL DEFAULT false);
INSERT INTO orders.notes VALUES (1, 'public', false), (2, 'secret', true);
GRANT SELECT, INSERT ON orders.notes TO regress_app;
SELECT authz.protect('orders.notes', $${"model": "orders.Note", "conditions": [
    {"when": "private", "requires": ["group:Approvers"], "commands": ["SELECT", "INSERT"]}]}$$) IS NOT NULL AS protected;
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE g.name = 'Order clerks' AND ct.app_label = 'orders' AND p.codename IN ('view_note', 'add_note');
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('clerk') \g /dev/null
SELECT id, body FROM orders.notes ORDER BY id;
INSERT INTO orders.notes VALUES (3, 'mine', true);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('approver') \g /dev/null
SELECT id, body FROM orders.notes ORDER BY id;
ROLLBACK;

-- Bad conditions give 22023 naming the field, and change nothing: the predicate is parsed and
-- analysed by PostgreSQL, so what is refused is what it is, not what it looks like.
\set VERBOSITY terse
SELECT md5(script) AS script_before FROM authz.protected_relations WHERE relation = 'orders.orders'::regclass \gset
SELECT authz.protect('orders.orders', '{"model": "orders.Order", "conditions": [{"when": "amount > (SELECT max(amount) FROM orders.orders)", "requires": ["group:Approvers"]}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('orders.orders', '{"model": "orders.Order", "conditions": [{"when": "amount > 0 OR EXISTS (SELECT 1 FROM authz.users)", "requires": ["group:Approvers"]}]}');
SELECT authz.protect('orders.orders', '{"model": "orders.Order", "conditions": [{"when": "true; DROP TABLE orders.notes", "requires": ["group:Approvers"]}]}');
SELECT authz.protect('orders.orders', '{"model": "orders.Order", "conditions": [{"when": "true) FROM orders.orders; SELECT (true", "requires": ["group:Approvers"]}]}');
SELECT authz.protect('orders.orders', $${"model": "orders.Order", "conditions": [{"when": "true) FROM orders.orders --", "requires": ["group:Approvers"]}]}$$);
SELECT authz.protect('orders.orders', '{"model": "orders.Order", "conditions": [{"when": "true) FROM orders.orders WHERE (false", "requires": ["group:Approvers"]}]}');
SELECT authz.protect('orders.orders', '{"model": "orders.Order", "conditions": [{"when": "nope > 1", "requires": ["group:Approvers"]}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('orders.orders', '{"model": "orders.Order", "conditions": [{"when": "notes.private", "requires": ["group:Approvers"]}]}');
SELECT authz.protect('orders.orders', '{"model": "orders.Order", "conditions": [{"when": "random() > 0.5", "requires": ["group:Approvers"]}]}');
SELECT authz.protect('orders.orders', '{"model": "orders.Order", "conditions": [{"when": "amount", "requires": ["group:Approvers"]}]}');
SELECT authz.protect('orders.orders', '{"model": "orders.Order", "conditions": [{"when": "count(*) > 1", "requires": ["group:Approvers"]}]}');
SELECT authz.protect('orders.orders', '{"model": "orders.Order", "conditions": [{"when": "amount >", "requires": ["group:Approvers"]}]}');
SELECT authz.protect('orders.orders', '{"model": "orders.Order", "conditions": [{"when": " ", "requires": ["group:Approvers"]}]}');
SELECT authz.protect('orders.orders', '{"model": "orders.Order", "conditions": [{"when": "is_locked", "requires": []}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('orders.orders', '{"model": "orders.Order", "conditions": [{"when": "is_locked"}]}');
SELECT authz.protect('orders.orders', '{"model": "orders.Order", "conditions": [{"when": "is_locked", "requires": ["superuser", "group:Approvers"]}]}');
SELECT authz.protect('orders.orders', '{"model": "orders.Order", "conditions": [{"when": "is_locked", "requires": ["group:Nobody"]}]}');
SELECT authz.protect('orders.orders', '{"model": "orders.Order", "conditions": [{"when": "is_locked", "requires": ["superuser"], "commands": ["TRUNCATE"]}]}');
SELECT authz.protect('orders.orders', '{"model": "orders.Order", "conditions": [{"when": "is_locked", "requires": ["superuser"], "commands": []}]}');
SELECT md5(script) = :'script_before' AS unchanged FROM authz.protected_relations WHERE relation = 'orders.orders'::regclass;
\set VERBOSITY default

SELECT authz.unprotect('orders.orders'), authz.unprotect('orders.notes');
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'orders.orders'::regclass AND NOT tgisinternal;
SET client_min_messages = warning;
DROP SCHEMA orders CASCADE;
RESET client_min_messages;
