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
