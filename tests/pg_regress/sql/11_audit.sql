-- Every write is audited once per statement, bulk included, whoever sends it.
-- (NOTIFY delivery is checked by tests/integration/tests/audit.rs: psql prints backend pids.)
CREATE SCHEMA app;
CREATE TABLE app.orders (
    id         int PRIMARY KEY,
    status     text NOT NULL DEFAULT 'new',
    total      numeric NOT NULL,
    meta       json,                      -- no equality operator: compared as text
    updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT authz.enable_audit('app.orders', updated_at => 'updated_at');
-- Idempotent: a second call replaces the settings, it does not duplicate triggers.
SELECT authz.enable_audit('app.orders', channel => 'orders', updated_at => 'updated_at');
SELECT tgname FROM pg_trigger WHERE tgrelid = 'app.orders'::regclass ORDER BY tgname;
SELECT * FROM authz.audited_relations WHERE relation = 'app.orders'::regclass;

-- The latest entry, without times, transaction ids or entry ids.
CREATE VIEW pg_temp.last_entry AS
SELECT operation, relation, app_user, row_count, row_ids, changed_columns, old_rows, new_rows
  FROM authz.audit_log ORDER BY id DESC LIMIT 1;

INSERT INTO app.orders (id, total) SELECT i, i * 10 FROM generate_series(1, 5) i;
TABLE pg_temp.last_entry;

-- A bulk UPDATE: one entry with every key and the columns that really changed
-- (updated_at too: the trigger set it).
BEGIN;
SELECT authz.set_user('clerk7') \g /dev/null
UPDATE app.orders SET status = 'paid' WHERE id <= 3;
COMMIT;
TABLE pg_temp.last_entry;
SELECT count(DISTINCT updated_at) AS one_statement_time, bool_and(updated_at > now() - interval '1 minute') AS fresh
  FROM app.orders WHERE id <= 3;

-- An UPDATE that changes nothing still says which rows it touched.
UPDATE app.orders SET status = status WHERE id = 4;
SELECT row_count, row_ids, changed_columns FROM pg_temp.last_entry;
UPDATE app.orders SET meta = '{"gift": true}' WHERE id = 5;
SELECT row_ids, changed_columns FROM pg_temp.last_entry;
-- Moving primary keys lists the old and the new keys, sorted. Each row is still compared with
-- its own old version (the transition tables hold them in pairs), so the changed columns stay
-- exact.
UPDATE app.orders SET id = 50 WHERE id = 5;
SELECT row_ids, changed_columns FROM pg_temp.last_entry;
UPDATE app.orders SET id = id + 10, status = 'moved' WHERE id IN (1, 2);
SELECT row_ids, changed_columns FROM pg_temp.last_entry;

DELETE FROM app.orders WHERE status = 'new';
TABLE pg_temp.last_entry;

-- A rolled-back statement leaves no entry.
SELECT count(*) AS entries_before FROM authz.audit_log \gset
BEGIN;
UPDATE app.orders SET status = 'void';
ROLLBACK;
SELECT count(*) - :entries_before AS entries_added FROM authz.audit_log;
-- A statement that changes no row writes nothing either.
UPDATE app.orders SET status = 'void' WHERE false;
SELECT count(*) - :entries_before AS entries_added_by_empty_update FROM authz.audit_log;

TRUNCATE app.orders;
TABLE pg_temp.last_entry;

-- Row images when asked; composite primary keys.
CREATE TABLE app.lines (order_id int, line int, qty int, PRIMARY KEY (order_id, line));
SELECT authz.enable_audit('app.lines', row_images => true);
INSERT INTO app.lines VALUES (1, 1, 2), (1, 2, 5);
UPDATE app.lines SET qty = qty + 1 WHERE line = 2;
TABLE pg_temp.last_entry;

-- Large (TOASTed) values are compared by content, however they are stored.
CREATE TABLE app.notes (id int PRIMARY KEY, body text, n int);
SELECT authz.enable_audit('app.notes');
INSERT INTO app.notes SELECT 1, string_agg(md5(i::text), ''), 0 FROM generate_series(1, 2000) i;
UPDATE app.notes SET n = 1;
SELECT changed_columns FROM pg_temp.last_entry;
UPDATE app.notes SET body = body || '';
SELECT changed_columns FROM pg_temp.last_entry;
UPDATE app.notes SET body = body || 'x';
SELECT changed_columns FROM pg_temp.last_entry;

-- Tables, columns and channels named with quotes, spaces and capitals work.
CREATE TABLE app."Odd ""Table""" ("Key" int PRIMARY KEY, "Some Value" text);
SELECT authz.enable_audit('app."Odd ""Table"""', channel => 'odd "channel"');
INSERT INTO app."Odd ""Table""" VALUES (1, 'a');
UPDATE app."Odd ""Table""" SET "Some Value" = 'b';
SELECT relation, row_ids, changed_columns FROM pg_temp.last_entry;
SELECT relation, channel FROM authz.audited_relations WHERE relation::text LIKE 'app.%' ORDER BY 1;

-- Changes to the permission catalogs are audited too (grants, group moves, flag changes).
UPDATE authz.users SET is_staff = true WHERE id = 'customer';
SELECT operation, relation, row_ids, changed_columns FROM pg_temp.last_entry;
INSERT INTO authz.user_groups (user_id, group_id) SELECT 'customer', id FROM authz.groups WHERE name = 'Billing';
SELECT operation, relation, row_count FROM pg_temp.last_entry;

-- An action's entry joins the row entries its handler caused.
INSERT INTO app.orders (id, total) SELECT i, i FROM generate_series(1, 3) i;
CREATE FUNCTION app.mark_paid(ids text[], params jsonb) RETURNS jsonb LANGUAGE sql AS $$
    UPDATE app.orders SET status = 'paid' WHERE id::text = ANY (ids);
    SELECT jsonb_build_object('result', cardinality(ids)) $$;
CALL authz.sync_admin_actions($$[
  {"model": "app.Order", "codename": "mark_paid", "name": "Mark paid", "kind": "server", "scope": "bulk",
   "handler": "app.mark_paid"}
]$$) \g /dev/null
BEGIN;
SELECT authz.set_user('boss') \g /dev/null
SELECT authz.perform_action('app.Order', 'mark_paid', ARRAY['1', '2', '3']) ->> 'ok' AS ok;
-- A later statement in the same transaction is not attributed to the action.
UPDATE app.orders SET total = total + 1 WHERE id = 1;
COMMIT;
SELECT a.operation AS action_entry, a.action, a.app_user, r.operation AS row_entry, r.relation, r.row_ids
  FROM authz.audit_log a JOIN authz.audit_log r ON r.action_id = a.id
 WHERE a.action = 'mark_paid';
SELECT action_id IS NULL AS later_write_unlinked FROM authz.audit_log
 WHERE relation = 'app.orders' ORDER BY id DESC LIMIT 1;
-- The link lives in the backend, not in a setting: nobody can attribute writes to an action.
BEGIN;
SET LOCAL authz.action_id = '1';
UPDATE app.orders SET total = total + 1 WHERE id = 2;
COMMIT;
SELECT action_id IS NULL AS forged_link_ignored FROM authz.audit_log
 WHERE relation = 'app.orders' ORDER BY id DESC LIMIT 1;

-- disable_audit drops what enable_audit made, and nothing else.
CREATE FUNCTION app.keep_me() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER users_own_trigger BEFORE UPDATE ON app.orders FOR EACH ROW EXECUTE FUNCTION app.keep_me();
SELECT authz.disable_audit('app.orders') AS removed, authz.disable_audit('app.orders') AS removed_again;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'app.orders'::regclass AND NOT tgisinternal;
SELECT count(*) - :entries_before > 0 AS still_auditing_elsewhere FROM authz.audit_log;
