-- authz.lint(): one row per finding a DBA should act on, each with the SQL that fixes it.
-- Below, each kind of finding is provoked, shown, fixed by running the fix lint gives
-- (\gexec runs it as written), and is gone. lint looks at the whole database and cluster; this
-- file shows the findings about its own schema and roles.
CREATE SCHEMA lint;
CREATE TEMP VIEW my_findings AS
SELECT * FROM authz.lint() WHERE object LIKE 'lint.%' OR object LIKE 'regress\_lint\_%';

-- A blog inside organizations: posts are protected by owner and tenant; comments hold the
-- same columns but are forgotten.
CREATE TABLE lint.org_staff (org_id int, user_id text, PRIMARY KEY (org_id, user_id));
CREATE TABLE lint.posts (id int PRIMARY KEY, org_id int NOT NULL, author_id text NOT NULL, title text);
CREATE TABLE lint.comments (id int PRIMARY KEY, post_id int, org_id int NOT NULL, author_id text NOT NULL, body text);
SELECT count(*) AS findings_before_protect FROM my_findings;
SELECT authz.protect('lint.posts', '{"model": "lint.Post", "owner": {"column": "author_id"},
                                     "tenant": {"column": "org_id", "table": "lint.org_staff"}}') IS NOT NULL AS protected;
\x on
SELECT * FROM my_findings;
\x off

-- 1. Policy columns without an index: the owner and tenant columns, and the membership
-- table's user column (its primary key leads with org_id).
SELECT fix FROM my_findings WHERE kind = 'unindexed_policy_column' \gexec
SELECT kind, object FROM my_findings;

-- 2. The unprotected table: the fix protects it with the rules of its protected neighbour that
-- name its columns (the model is its table's name; choose another if the app has one).
SELECT fix FROM my_findings WHERE kind = 'unprotected_table';
\o /dev/null
SELECT fix FROM my_findings WHERE kind = 'unprotected_table' \gexec
\o
SELECT spec FROM authz.protected_relations WHERE relation = 'lint.comments'::regclass;
-- Protected now, its owner column needs an index in turn.
SELECT kind, object FROM my_findings;
SELECT fix FROM my_findings WHERE kind = 'unindexed_policy_column' \gexec
SELECT count(*) AS findings FROM my_findings;

-- 3. A SECURITY DEFINER function that does not pin search_path.
CREATE FUNCTION lint.publish(post int) RETURNS void LANGUAGE sql SECURITY DEFINER
    AS $$ UPDATE lint.posts SET title = upper(title) WHERE id = post $$;
SELECT kind, object, fix FROM my_findings;
SELECT fix FROM my_findings WHERE kind = 'definer_without_search_path' \gexec
SELECT proconfig FROM pg_proc WHERE oid = 'lint.publish(int)'::regprocedure;
SELECT count(*) AS findings FROM my_findings;

-- 4. An audited table without a primary key. enable_audit refuses such a table and dropping the
-- key is refused, but a session that skips event triggers can drop it; every write then fails.
CREATE TABLE lint.payments (id int PRIMARY KEY, reference text NOT NULL UNIQUE, amount int);
SELECT authz.enable_audit('lint.payments');
\set VERBOSITY terse
ALTER TABLE lint.payments DROP CONSTRAINT payments_pkey;
SET session_replication_role = replica;
ALTER TABLE lint.payments DROP CONSTRAINT payments_pkey;
RESET session_replication_role;
INSERT INTO lint.payments VALUES (1, 'r1', 10);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT kind, object, fix FROM my_findings;
-- The fix makes the columns of its unique index the primary key (without a unique index, it
-- says to stop auditing the table: SELECT authz.disable_audit(...)).
SELECT fix FROM my_findings WHERE kind = 'audited_without_primary_key' \gexec
INSERT INTO lint.payments VALUES (1, 'r1', 10) RETURNING reference;
SELECT count(*) AS findings FROM my_findings;

-- 5. Row-level security enabled by hand, not forced: the owner bypasses it.
CREATE TABLE lint.notes (id int PRIMARY KEY, body text);
ALTER TABLE lint.notes ENABLE ROW LEVEL SECURITY;
SELECT kind, object, detail, fix FROM my_findings;
SELECT fix FROM my_findings WHERE kind = 'rls_not_forced' \gexec
SELECT relforcerowsecurity FROM pg_class WHERE oid = 'lint.notes'::regclass;
SELECT count(*) AS findings FROM my_findings;

-- 6. Authenticators that row-level security does not bind: a superuser app role, and a
-- BYPASSRLS role that is an authenticator through another role (membership is transitive).
CREATE ROLE regress_lint_app LOGIN SUPERUSER IN ROLE authz_authenticator;
CREATE ROLE regress_lint_api NOLOGIN IN ROLE authz_authenticator;
CREATE ROLE regress_lint_worker LOGIN BYPASSRLS IN ROLE regress_lint_api;
CREATE ROLE regress_lint_reporter LOGIN BYPASSRLS;
SELECT kind, object, detail, fix FROM my_findings;
SELECT fix FROM my_findings WHERE kind LIKE 'authenticator\_%' \gexec
SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname LIKE 'regress\_lint\_%' ORDER BY rolname;
SELECT count(*) AS findings FROM my_findings;

-- 7. TRUNCATE granted on a protected table: it empties the table whatever the policies allow
-- (row-level security does not apply to TRUNCATE). GRANT ALL grants it too.
GRANT ALL ON lint.posts TO regress_app;
GRANT TRUNCATE ON lint.posts TO PUBLIC;
SELECT kind, object, detail, fix FROM my_findings;
SELECT fix FROM my_findings WHERE kind = 'truncate_on_protected' \gexec
SELECT has_table_privilege('regress_app', 'lint.posts', 'TRUNCATE') AS app_may_truncate,
       has_table_privilege('regress_app', 'lint.posts', 'DELETE') AS app_may_delete;
SELECT count(*) AS findings FROM my_findings;
REVOKE ALL ON lint.posts FROM regress_app;

-- 8. Hidden columns read on the table itself, past the view that masks them: SELECT on the
-- whole table granted to a reporting role, and SELECT of a hidden column to the app's role.
-- The table's owner (subject to row-level security, as the view's owner must be) and
-- superusers are not findings.
CREATE ROLE regress_lint_owner NOLOGIN;
CREATE ROLE regress_lint_reports NOLOGIN;
CREATE TABLE lint.accounts (id int PRIMARY KEY, email text NOT NULL, api_key text, internal_notes text);
ALTER TABLE lint.accounts OWNER TO regress_lint_owner;
SELECT authz.protect('lint.accounts', '{"model": "lint.Account",
    "hidden": [{"columns": ["api_key", "internal_notes"]}]}') IS NOT NULL AS protected;
GRANT SELECT ON lint.accounts_visible TO regress_lint_reports, regress_app;
GRANT SELECT ON lint.accounts TO regress_lint_reports;
GRANT SELECT (id, email, api_key) ON lint.accounts TO regress_app;
SELECT kind, object, detail, fix FROM my_findings WHERE kind = 'hidden_columns_readable';
SELECT fix FROM my_findings WHERE kind = 'hidden_columns_readable' \gexec
SELECT r AS role, c AS column_name, has_column_privilege(r, 'lint.accounts', c, 'SELECT') AS can_select
  FROM unnest('{regress_lint_reports,regress_app}'::text[]) r, unnest('{id,email,api_key,internal_notes}'::text[]) c
 ORDER BY r, c;
SELECT count(*) AS findings FROM my_findings;
-- The same through a membership: of the table's owner (its privileges), or of pg_read_all_data.
GRANT regress_lint_owner TO regress_lint_reports;
GRANT pg_read_all_data TO regress_app;
SELECT kind, object, detail, fix FROM my_findings WHERE kind = 'hidden_columns_readable';
SELECT fix FROM my_findings WHERE kind = 'hidden_columns_readable' \gexec
SELECT r AS role, has_column_privilege(r, 'lint.accounts', 'api_key', 'SELECT') AS can_select_api_key
  FROM unnest('{regress_lint_reports,regress_app}'::text[]) r ORDER BY r;
SELECT count(*) AS findings FROM my_findings;

-- Anyone may run lint: it reads only catalogs every role can read, so an ordinary role gets the
-- same findings as a superuser.
CREATE TABLE lint.drafts (id int PRIMARY KEY, author_id text);
SELECT array_agg(kind || ' ' || object ORDER BY kind, object) AS as_superuser FROM my_findings \gset
SET ROLE regress_app;
SELECT array_agg(kind || ' ' || object ORDER BY kind, object) = :'as_superuser' AS same_for_regress_app,
       :'as_superuser' AS findings
  FROM authz.lint() WHERE object LIKE 'lint.%';
RESET ROLE;

SET client_min_messages = warning;
DROP SCHEMA lint CASCADE;
RESET client_min_messages;
DROP ROLE regress_lint_app, regress_lint_worker, regress_lint_api, regress_lint_reporter, regress_lint_owner, regress_lint_reports;
