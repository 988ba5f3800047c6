-- Bad input to enable_audit names the problem, with a SQLSTATE, and installs nothing.
CREATE TABLE app.nopk (a int);
CREATE VIEW app.v AS SELECT 1 AS id;
CREATE TABLE app.stamped (id int PRIMARY KEY, changed date, modified timestamptz);

SELECT authz.enable_audit('app.v');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.enable_audit('app.nopk');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.enable_audit('app.stamped', updated_at => 'missing');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.enable_audit('app.stamped', updated_at => 'changed');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.enable_audit('app.stamped', channel => '');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.enable_audit('app.stamped', channel => repeat('c', 64));
\echo :LAST_ERROR_SQLSTATE
SELECT authz.enable_audit(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT authz.enable_audit('app.no_such_table');
\echo :LAST_ERROR_SQLSTATE
-- Partitioned tables are refused: writes straight to a partition would escape the triggers.
CREATE TABLE app.parted (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE app.parted_1 PARTITION OF app.parted FOR VALUES FROM (0) TO (100);
SELECT authz.enable_audit('app.parted');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.enable_audit('app.parted_1');
\echo :LAST_ERROR_SQLSTATE

-- Nothing half-installed.
SELECT count(*) AS authz_triggers
  FROM pg_trigger WHERE tgname LIKE 'authz_%' AND tgrelid IN ('app.nopk'::regclass, 'app.stamped'::regclass);

-- Only the table's owner may audit it (creating triggers needs the TRIGGER privilege) ...
BEGIN;
GRANT USAGE ON SCHEMA app TO regress_app;
SET LOCAL ROLE regress_app;
SELECT authz.enable_audit('app.stamped');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- ... and only a member of authz_admin, even on a table of its own: audit entries are written
-- as the log's owner, so the audit triggers are not for everyone to attach.
BEGIN;
SET LOCAL ROLE regress_app;
CREATE TEMP TABLE mine (id int PRIMARY KEY);
SELECT authz.enable_audit('mine');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- A schema change that would break auditing is refused when it is made (2BP01), with a hint.
CREATE TABLE app.drift (id int PRIMARY KEY, note text, touched timestamptz);
SELECT authz.enable_audit('app.drift', updated_at => 'touched');
INSERT INTO app.drift VALUES (1, 'a', NULL);
ALTER TABLE app.drift DROP CONSTRAINT drift_pkey;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE app.drift RENAME COLUMN touched TO stamped_at;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE app.drift ALTER COLUMN touched TYPE timestamp;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE app.drift DROP COLUMN id;
\echo :LAST_ERROR_SQLSTATE
-- Other changes pass, and so does replacing the key in one statement.
ALTER TABLE app.drift ADD COLUMN extra int, DROP CONSTRAINT drift_pkey, ADD PRIMARY KEY (id, note);
UPDATE app.drift SET note = 'b c';
SELECT row_ids, changed_columns FROM authz.audit_log
 WHERE relation = 'app.drift' ORDER BY id DESC LIMIT 1;
-- Sessions that skip event triggers (session_replication_role = replica, say) meet the same
-- check in the triggers: a clear 55000 on the next write, not a broken query.
ALTER EVENT TRIGGER authz_guard_audited_tables DISABLE;
ALTER TABLE app.drift DROP CONSTRAINT drift_pkey;
ALTER TABLE app.drift RENAME COLUMN touched TO stamped_at;
ALTER EVENT TRIGGER authz_guard_audited_tables ENABLE;
UPDATE app.drift SET note = 'c';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO app.drift VALUES (2, 'x', NULL);
\echo :LAST_ERROR_SQLSTATE
-- TRUNCATE names no rows, so it is still audited.
TRUNCATE app.drift;
SELECT operation FROM authz.audit_log WHERE relation = 'app.drift' ORDER BY id DESC LIMIT 1;
SELECT authz.disable_audit('app.drift');
DROP TABLE app.drift;

-- The audit trigger function runs only in the shape enable_audit gives it.
CREATE TABLE app.hand_made (id int PRIMARY KEY);
CREATE TRIGGER no_tables AFTER INSERT ON app.hand_made
    FOR EACH STATEMENT EXECUTE FUNCTION authz.audit_statement();
CREATE TRIGGER per_row AFTER UPDATE ON app.hand_made REFERENCING OLD TABLE AS o NEW TABLE AS n
    FOR EACH ROW EXECUTE FUNCTION authz.audit_statement();
INSERT INTO app.hand_made VALUES (1);
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER no_tables ON app.hand_made;
INSERT INTO app.hand_made VALUES (1);
UPDATE app.hand_made SET id = 2;
\echo :LAST_ERROR_SQLSTATE
DROP TABLE app.hand_made;
