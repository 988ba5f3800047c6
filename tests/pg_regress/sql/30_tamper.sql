-- Tamper paths (issue #13): audit coverage and row-level security change only through
-- authz.enable_audit, disable_audit, protect and unprotect, and each change is an audit entry.
-- The owner of an audited and protected table (a member of authz_admin, not a superuser) tries
-- every DDL path around them: each is refused with 2BP01 and a hint naming the function to use.
CREATE ROLE regress_tamper IN ROLE authz_admin;
CREATE SCHEMA tamper AUTHORIZATION regress_tamper;
GRANT USAGE ON SCHEMA tamper TO PUBLIC;
INSERT INTO authz.users (id, is_staff, is_superuser) VALUES ('t1', true, true);
SET ROLE regress_tamper;
CREATE TABLE tamper.orders (id int PRIMARY KEY, owner_id text NOT NULL, price int NOT NULL DEFAULT 0,
                            created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz);
INSERT INTO tamper.orders SELECT g, 't1', g FROM generate_series(1, 100) g;
SELECT authz.enable_audit('tamper.orders', updated_at => 'updated_at');
SELECT authz.protect('tamper.orders', '{"model": "tamper.Order", "owner": {"column": "owner_id"},
    "max_age": {"column": "created_at", "days": 30},
    "readonly": [{"columns": ["price"]}]}') IS NOT NULL AS protected;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'tamper.orders'::regclass ORDER BY 1;
SELECT count(*) AS breaches FROM authz.protection_breaches;

-- 1. Triggers: DISABLE (one, or all the user's), ENABLE REPLICA / ALWAYS, DROP, RENAME.
ALTER TABLE tamper.orders DISABLE TRIGGER USER;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
ALTER TABLE tamper.orders DISABLE TRIGGER authz_audit_update;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE tamper.orders ENABLE REPLICA TRIGGER authz_audit_insert;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE tamper.orders ENABLE ALWAYS TRIGGER authz_audit_insert;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE tamper.orders DISABLE TRIGGER authz_readonly_price;
\echo :LAST_ERROR_SQLSTATE
ALTER TRIGGER authz_audit_delete ON tamper.orders RENAME TO my_trigger;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
DROP TRIGGER authz_audit_update ON tamper.orders;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
DROP TRIGGER authz_updated_at ON tamper.orders;
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER authz_age_lock ON tamper.orders;
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER authz_readonly_price ON tamper.orders;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default

-- 2. Policies: DROP, ALTER (its expression, its name).
DROP POLICY authz_select ON tamper.orders;
\echo :LAST_ERROR_SQLSTATE
ALTER POLICY authz_select ON tamper.orders USING (true);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
ALTER POLICY authz_select ON tamper.orders RENAME TO mine;
\echo :LAST_ERROR_SQLSTATE
ALTER POLICY authz_intact ON tamper.orders TO regress_app;
\echo :LAST_ERROR_SQLSTATE

-- A policy of the owner's own may narrow access (RESTRICTIVE), not widen it (PERMISSIVE).
CREATE POLICY everything ON tamper.orders USING (true);
\echo :LAST_ERROR_SQLSTATE
CREATE POLICY nothing_on_sundays ON tamper.orders AS RESTRICTIVE USING (extract(dow FROM now()) <> 0 OR true);
DROP POLICY nothing_on_sundays ON tamper.orders;
\set VERBOSITY default

-- 3. Row-level security: DISABLE, NO FORCE, and a child table the policies would not cover.
ALTER TABLE tamper.orders DISABLE ROW LEVEL SECURITY;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
ALTER TABLE tamper.orders NO FORCE ROW LEVEL SECURITY;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE tamper.more_orders () INHERITS (tamper.orders);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE tamper.other (LIKE tamper.orders);
ALTER TABLE tamper.other INHERIT tamper.orders;
\echo :LAST_ERROR_SQLSTATE
-- 4. The record the guard trusts cannot be edited by hand, not even by authz_admin.
DELETE FROM authz.protected_relations WHERE relation = 'tamper.orders'::regclass;
\echo :LAST_ERROR_SQLSTATE
UPDATE authz.protected_relations SET spec = '{}' WHERE relation = 'tamper.orders'::regclass;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default

-- Nothing changed: the same triggers, all enabled, the same policies, RLS on and forced.
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'tamper.orders'::regclass ORDER BY 1;
SELECT policy FROM authz.policies WHERE relation = 'tamper.orders'::regclass ORDER BY 1;
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'tamper.orders'::regclass;
-- Other DDL on the table goes on as before.
ALTER TABLE tamper.orders ADD COLUMN note text;
ALTER TABLE tamper.orders ENABLE TRIGGER authz_audit_update;
CREATE INDEX ON tamper.orders (owner_id);
RESET ROLE;

-- 5. A bulk write is still one audit entry; the four functions still work, and each change of
-- coverage or protection is an entry of its own (CONFIGURE): who, which table, before and after.
BEGIN;
SELECT authz.set_user('t1') \g /dev/null
SET LOCAL ROLE regress_tamper;
UPDATE tamper.orders SET note = 'bulk';
COMMIT;
SELECT operation, relation, row_count FROM authz.audit_log WHERE relation = 'tamper.orders' ORDER BY id;
SET ROLE regress_tamper;
SELECT authz.enable_audit('tamper.orders', row_images => true);
SELECT authz.enable_audit('tamper.orders', row_images => true);  -- unchanged: no entry
SELECT authz.disable_audit('tamper.orders');
SELECT authz.unprotect('tamper.orders');
SELECT authz.protect('tamper.orders', '{"model": "tamper.Order"}') IS NOT NULL AS protected;
RESET ROLE;
SELECT operation, relation, action, db_role, params
  FROM authz.audit_log WHERE operation = 'CONFIGURE' AND relation = 'tamper.orders' ORDER BY id;

-- protect itself refuses a table that keeps such a way around its policies.
CREATE TABLE tamper.open_notes (id int PRIMARY KEY, owner_id text);
CREATE POLICY everyone ON tamper.open_notes USING (true);
\set VERBOSITY terse
SELECT authz.protect('tamper.open_notes', '{"model": "tamper.Note", "owner": {"column": "owner_id"}}');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT count(*) AS open_notes_protected FROM authz.protected_relations WHERE relation = 'tamper.open_notes'::regclass;

-- 6. What only a superuser can do, and is therefore not stopped (README "Tamper paths"): skip
-- triggers and event triggers with session_replication_role = replica, or drop the event
-- triggers. Other roles can do neither.
SET ROLE regress_tamper;
SET session_replication_role = replica;
\echo :LAST_ERROR_SQLSTATE
DROP EVENT TRIGGER authz_guard_generated_end;
\echo :LAST_ERROR_SQLSTATE
ALTER EVENT TRIGGER authz_guard_protected_tables DISABLE;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
BEGIN;
SET LOCAL session_replication_role = replica;
ALTER TABLE tamper.orders DISABLE ROW LEVEL SECURITY;
SELECT relation, breach FROM authz.protection_breaches;
ROLLBACK;
-- A table the guard already finds broken (as a restore is half-way) does not block other DDL;
-- only a new breach is refused.
BEGIN;
SET LOCAL session_replication_role = replica;
ALTER TABLE tamper.orders NO FORCE ROW LEVEL SECURITY;
SET LOCAL session_replication_role = origin;
ALTER TABLE tamper.orders ADD COLUMN other_note text;
\set VERBOSITY terse
ALTER TABLE tamper.orders DISABLE ROW LEVEL SECURITY;
\set VERBOSITY default
ROLLBACK;

SET client_min_messages = warning;
DROP SCHEMA tamper CASCADE;
RESET client_min_messages;
DELETE FROM authz.users WHERE id = 't1';
DROP ROLE regress_tamper;
