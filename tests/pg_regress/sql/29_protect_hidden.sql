-- Hidden columns (seed 001 "Hide Fields Entirely": password_hash, api_key, internal_notes for
-- superusers only; seed 002 "Hide Fields Based on Permissions": internal_cost for admins only,
-- discount for Managers). Column privileges are per database role, and every app user shares
-- the app's role: so protect generates a view <table>_visible that reads hidden columns as NULL
-- (or a mask) for everyone but holders and active superusers. The app reads the view; the DBA
-- grants the app role SELECT on the view and, on the table, only the columns that are not hidden.
-- The view reads the table with its owner's rights, so the owner must be subject to row-level
-- security (not a superuser, not BYPASSRLS): here regress_admin, an authz_admin member.
CREATE SCHEMA hid AUTHORIZATION regress_admin;
SET ROLE regress_admin;
CREATE TABLE hid.users (
    id int PRIMARY KEY, email text NOT NULL, name text NOT NULL, role text NOT NULL DEFAULT 'staff',
    is_active boolean NOT NULL DEFAULT true,
    password_hash text, api_key text, internal_notes text);
INSERT INTO hid.users VALUES (1, 'ann@example.com', 'Ann', 'staff', true, 'pbkdf2$1', 'key-ann', 'late payer'),
                             (2, 'bo@example.com', 'Bo', 'admin', true, 'pbkdf2$2', 'key-bo', NULL);
CREATE TABLE hid.products (
    id int PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL,
    internal_cost numeric(10,2), discount numeric(4,2) NOT NULL DEFAULT 0);
INSERT INTO hid.products VALUES (1, 'Widget', 10, 4.10, 0.15), (2, 'Gadget', 25, 11.00, 0.05);
RESET ROLE;

INSERT INTO authz.users (id, is_staff, is_superuser) VALUES ('hana', true, false), ('mani', true, false), ('hsu', true, true);
INSERT INTO authz.groups (name) VALUES ('Hid staff'), ('Managers');
SELECT authz.protect('hid.users', '{"model": "hid.User",
    "hidden": [{"columns": ["password_hash", "api_key", "internal_notes"]}]}') IS NOT NULL AS protected;
SELECT authz.protect('hid.products', $${"model": "hid.Product",
    "hidden": [{"columns": ["internal_cost"]},
               {"columns": ["discount"], "unless": ["group:Managers"], "mask": "0"}]}$$, dry_run => true);
SELECT authz.protect('hid.products', $${"model": "hid.Product",
    "hidden": [{"columns": ["internal_cost"]},
               {"columns": ["discount"], "unless": ["group:Managers"], "mask": "0"}]}$$) IS NOT NULL AS protected;
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE g.name IN ('Hid staff', 'Managers') AND ct.app_label = 'hid';
INSERT INTO authz.user_groups (user_id, group_id)
SELECT u, g.id FROM (VALUES ('hana', 'Hid staff'), ('mani', 'Managers')) v(u, gname) JOIN authz.groups g ON g.name = v.gname;

-- What the DBA grants: SELECT on the views, and on the tables SELECT of the columns that are not
-- hidden and the writes the app makes (UPDATE of the table is granted whole here, to show the
-- readonly trigger behind it).
GRANT USAGE ON SCHEMA hid TO regress_app;
GRANT SELECT ON hid.users_visible, hid.products_visible TO regress_app;
GRANT SELECT (id, email, name, role, is_active), UPDATE ON hid.users TO regress_app;
GRANT SELECT (id, name, price) ON hid.products TO regress_app;

CREATE FUNCTION hid.leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
  $$BEGIN RAISE NOTICE 'leak saw %', coalesce($1, 'NULL'); RETURN true; END$$;

-- Staff read the users through the view: hidden columns are NULL, rows still filtered by the
-- table's policies.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('hana') \g /dev/null
SELECT * FROM hid.users_visible ORDER BY id;
-- A condition on a hidden column compares the hidden value (NULL), never the stored one.
SELECT id FROM hid.users_visible WHERE api_key = 'key-ann';
-- A function the caller chooses (a leaky one, say) gets the hidden value, never the stored one.
SELECT id FROM hid.users_visible WHERE hid.leak(api_key) ORDER BY id;
-- The view is for reading: it joins the table to one row of holder checks, so PostgreSQL
-- does not write through it. Writes go to the table, plain columns as before.
SAVEPOINT s;
UPDATE hid.users_visible SET name = 'Ann B.' WHERE id = 1;
ROLLBACK TO s;
UPDATE hid.users SET name = 'Ann B.' WHERE id = 1 RETURNING id, name;
SELECT id, name, api_key FROM hid.users_visible WHERE id = 1;
ROLLBACK;
-- Each holder check is planned once and computed once per query, however many columns it
-- guards: one function scan of the view's checks (ROWS FROM; a rescan reuses its row), and no
-- sub-plan but the policy's.
CREATE FUNCTION pg_temp.plan(query text) RETURNS SETOF text LANGUAGE plpgsql AS
  $$DECLARE line text; BEGIN FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP RETURN NEXT line; END LOOP; END$$;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('hana') \g /dev/null
SELECT v AS view, count(*) FILTER (WHERE line LIKE '%Function Scan on %holds%') AS scans_of_checks,
       count(*) FILTER (WHERE line ~ '^\s*(InitPlan|SubPlan) \d') AS sub_plans
  FROM unnest('{hid.users_visible,hid.products_visible}'::text[]) v,
       pg_temp.plan('SELECT * FROM ' || v || ' WHERE id BETWEEN 1 AND 2') line
 GROUP BY v ORDER BY v;
ROLLBACK;
-- On the table the hidden columns are out of the app role's reach, whatever it asks.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('hana') \g /dev/null
SAVEPOINT s;
SELECT * FROM hid.users;
ROLLBACK TO s;
SELECT api_key FROM hid.users;
ROLLBACK TO s;
SELECT id FROM hid.users WHERE password_hash LIKE 'pbkdf2%';
ROLLBACK TO s;
COPY hid.users TO STDOUT;
ROLLBACK TO s;
SELECT id, email, name FROM hid.users ORDER BY id;
ROLLBACK;
-- Writing a hidden column is refused as for readonly columns: through the view (which is not
-- updatable) and through the table (the trigger, 42501).
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('hana') \g /dev/null
SAVEPOINT s;
UPDATE hid.users_visible SET api_key = 'stolen' WHERE id = 1;
ROLLBACK TO s;
UPDATE hid.users SET api_key = 'stolen' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- Nor can a non-holder test a guess by writing the value a hidden column already holds (the
-- readonly check alone lets an unchanged value pass): an UPDATE naming a hidden column is
-- refused whatever the value, here a right guess of Ann's api_key, through ON CONFLICT too.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('hana') \g /dev/null
SAVEPOINT s;
UPDATE hid.users SET api_key = 'key-ann' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
GRANT INSERT ON hid.users TO regress_app;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('hana') \g /dev/null
INSERT INTO hid.users (id, email, name, role, is_active) VALUES (1, 'x', 'x', 'x', true)
    ON CONFLICT (id) DO UPDATE SET api_key = 'key-ann';
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
REVOKE INSERT ON hid.users FROM regress_app;
-- An active superuser sees and changes everything, through the same view.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('hsu') \g /dev/null
SELECT id, password_hash, api_key, internal_notes FROM hid.users_visible ORDER BY id;
UPDATE hid.users SET api_key = 'rotated' WHERE id = 2 RETURNING id;
ROLLBACK;

-- Products: internal_cost for superusers only; discount for Managers, shown as 0 otherwise.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('hana') \g /dev/null
SELECT * FROM hid.products_visible ORDER BY id;
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('mani') \g /dev/null
SELECT * FROM hid.products_visible ORDER BY id;
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('hsu') \g /dev/null
SELECT * FROM hid.products_visible ORDER BY id;
ROLLBACK;
-- Nobody sees no rows at all, through the view too: the table's policies apply to it.
SELECT relowner::regrole AS view_owner FROM pg_class WHERE oid = 'hid.products_visible'::regclass;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT count(*) AS rows_for_nobody FROM hid.products_visible;
ROLLBACK;
-- Should the view's owner come to bypass row-level security (only a superuser can make it so,
-- and ALTER ROLE fires no event trigger), the view shows no row rather than every row, and
-- authz.protection_breaches says so. Views are found by their dependency on the table, not by
-- name: the generated view renamed, and a view its owner made by hand, are breaches all the
-- same; a security_invoker view, which reads with its caller's rights, is none.
SET ROLE regress_admin;
ALTER VIEW hid.products_visible RENAME TO products_masked;
CREATE VIEW hid.product_costs AS SELECT id, internal_cost FROM hid.products;
CREATE VIEW hid.product_costs_invoker WITH (security_invoker = on) AS SELECT id, internal_cost FROM hid.products;
RESET ROLE;
ALTER ROLE regress_admin BYPASSRLS;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('hana') \g /dev/null
SELECT count(*) AS rows_through_the_view FROM hid.products_masked;
ROLLBACK;
SELECT breach, remedy FROM authz.protection_breaches WHERE relation = 'hid.products'::regclass ORDER BY breach;
ALTER ROLE regress_admin NOBYPASSRLS;
SET ROLE regress_admin;
DROP VIEW hid.product_costs, hid.product_costs_invoker;
ALTER VIEW hid.products_masked RENAME TO products_visible;
RESET ROLE;
-- Giving the view to a role that bypasses row-level security is refused (the tamper guard fires
-- on ALTER VIEW and CREATE VIEW), even to a superuser; so is a new view of the table by such a role.
CREATE ROLE regress_bypass NOLOGIN BYPASSRLS;
\set VERBOSITY terse
ALTER VIEW hid.products_visible OWNER TO regress_bypass;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
GRANT USAGE, CREATE ON SCHEMA hid TO regress_bypass;
GRANT SELECT ON hid.products TO regress_bypass;
SET ROLE regress_bypass;
\set VERBOSITY terse
CREATE VIEW hid.bypassing AS SELECT id FROM hid.products;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
RESET ROLE;
REVOKE ALL ON hid.products FROM regress_bypass;
REVOKE ALL ON SCHEMA hid FROM regress_bypass;
DROP ROLE regress_bypass;
SELECT relowner::regrole AS view_owner_after, to_regclass('hid.bypassing') AS bypassing_view
  FROM pg_class WHERE oid = 'hid.products_visible'::regclass;
SELECT count(*) AS breaches FROM authz.protection_breaches WHERE relation = 'hid.products'::regclass;

-- protect again (same or new spec) keeps the view, and so the DBA's grants on it; unprotect
-- (or a spec without hidden columns) drops it.
SELECT authz.protect('hid.products', $${"model": "hid.Product",
    "hidden": [{"columns": ["internal_cost", "discount"], "unless": ["group:Managers"]}]}$$) IS NOT NULL AS protected;
SELECT has_table_privilege('regress_app', 'hid.products_visible', 'SELECT') AS app_still_reads_view;

-- Bad entries name the field and change nothing.
\set VERBOSITY terse
SELECT md5(script) AS script_before FROM authz.protected_relations WHERE relation = 'hid.products'::regclass \gset
SELECT authz.protect('hid.products', '{"model": "hid.Product", "hidden": [{"columns": ["cost"]}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('hid.products', '{"model": "hid.Product", "hidden": [{"columns": []}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('hid.products', '{"model": "hid.Product", "hidden": [{"columns": ["discount"]}, {"columns": ["discount"]}]}');
SELECT authz.protect('hid.products', '{"model": "hid.Product", "hidden": [{"columns": ["discount"], "mask": "price / 2"}]}');
SELECT authz.protect('hid.products', $${"model": "hid.Product", "hidden": [{"columns": ["discount"], "mask": "'lots'"}]}$$);
SELECT authz.protect('hid.products', '{"model": "hid.Product", "hidden": [{"columns": ["discount"], "mask": "(SELECT 1)"}]}');
SELECT authz.protect('hid.products', '{"model": "hid.Product", "hidden": [{"columns": ["discount"], "mask": "random()"}]}');
SELECT authz.protect('hid.products', '{"model": "hid.Product", "hidden": [{"columns": ["discount"], "unless": ["group:Nobody"]}]}');
SELECT md5(script) = :'script_before' AS unchanged FROM authz.protected_relations WHERE relation = 'hid.products'::regclass;
-- A table owned by a superuser cannot have hidden columns: the view would show every row.
CREATE TABLE hid.su_owned (id int PRIMARY KEY, secret text);
SELECT authz.protect('hid.su_owned', '{"model": "hid.SuOwned", "hidden": [{"columns": ["secret"]}]}');
\echo :LAST_ERROR_SQLSTATE
-- A relation already named like the view is not replaced.
CREATE TABLE hid.su_owned_visible (x int);
ALTER TABLE hid.su_owned OWNER TO regress_admin;
SELECT authz.protect('hid.su_owned', '{"model": "hid.SuOwned", "hidden": [{"columns": ["secret"]}]}');
\set VERBOSITY default

-- A view of that name made by hand, even one reading the table, is not taken for the generated
-- one: protect refuses to replace it, and it is still there, unchanged.
DROP TABLE hid.su_owned_visible;
CREATE VIEW hid.su_owned_visible AS SELECT id FROM hid.su_owned;
ALTER VIEW hid.su_owned_visible OWNER TO regress_admin;
\set VERBOSITY terse
SELECT authz.protect('hid.su_owned', '{"model": "hid.SuOwned", "hidden": [{"columns": ["secret"]}]}');
\set VERBOSITY default
SELECT string_agg(attname, ', ' ORDER BY attnum) AS hand_made_view_columns FROM pg_attribute
 WHERE attrelid = 'hid.su_owned_visible'::regclass AND attnum > 0;
DROP VIEW hid.su_owned_visible;

-- A generated column computed from a hidden column would show the hidden value: protect refuses
-- until it is hidden too.
SET ROLE regress_admin;
CREATE TABLE hid.keys (id int PRIMARY KEY, api_key text,
                       api_key_upper text GENERATED ALWAYS AS (upper(api_key)) STORED);
RESET ROLE;
\set VERBOSITY terse
SELECT authz.protect('hid.keys', '{"model": "hid.Key", "hidden": [{"columns": ["api_key"]}]}');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT to_regclass('hid.keys_visible') AS no_view_after_refusal;
SELECT authz.protect('hid.keys', '{"model": "hid.Key", "hidden": [{"columns": ["api_key"]}, {"columns": ["api_key_upper"], "mask": "''***''"}]}') IS NOT NULL AS protected_with_both;
SELECT authz.unprotect('hid.keys') AS unprotected;
-- So is a CHECK constraint or a unique index naming a hidden column and a shown one: a
-- non-holder writing the shown column would learn from the error how it compares with the
-- hidden value (CHECK (discount <= price): a discount of 73 passes, 74 fails, so price is 73).
SET ROLE regress_admin;
CREATE TABLE hid.quotes (id int PRIMARY KEY, name text, price numeric, discount numeric,
                         CONSTRAINT discount_within_price CHECK (discount <= price));
RESET ROLE;
\set VERBOSITY terse
SELECT authz.protect('hid.quotes', '{"model": "hid.Quote", "hidden": [{"columns": ["price"]}]}');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SET ROLE regress_admin;
ALTER TABLE hid.quotes DROP CONSTRAINT discount_within_price;
CREATE UNIQUE INDEX quotes_name_dear ON hid.quotes (name, (price > 50));
RESET ROLE;
\set VERBOSITY terse
SELECT authz.protect('hid.quotes', '{"model": "hid.Quote", "hidden": [{"columns": ["price"]}]}');
\set VERBOSITY default
-- A constraint on hidden columns alone, or on shown ones alone, is fine.
SET ROLE regress_admin;
DROP INDEX hid.quotes_name_dear;
ALTER TABLE hid.quotes ADD CHECK (price >= 0), ADD CHECK (discount >= 0), ADD UNIQUE (name);
RESET ROLE;
SELECT authz.protect('hid.quotes', '{"model": "hid.Quote", "hidden": [{"columns": ["price"]}]}') IS NOT NULL AS protected;
SELECT authz.unprotect('hid.quotes') AS unprotected;

-- The view's name keeps its suffix whole: a long table name is cut as PostgreSQL cuts
-- identifiers (at 63 bytes, never inside a character) to leave room for it. A table of 30
-- two-byte letters (60 bytes) gets 27 of them and _visible; protect finds it again (the second
-- call changes nothing) and unprotect drops it.
SET ROLE regress_admin;
SELECT format('CREATE TABLE hid.%I (id int PRIMARY KEY, secret text)', repeat('ü', 30)) \gexec
RESET ROLE;
SELECT format('hid.%I', repeat('ü', 30)) AS long_name \gset
SELECT authz.protect(:'long_name', '{"model": "hid.Long", "hidden": [{"columns": ["secret"]}]}') =
       authz.protect(:'long_name', '{"model": "hid.Long", "hidden": [{"columns": ["secret"]}]}') AS same_script;
SELECT right(relname, 10) AS name_ends, octet_length(relname) AS bytes FROM pg_class
 WHERE relkind = 'v' AND relname LIKE 'üü%';
SELECT authz.unprotect(:'long_name') AS unprotected;
SELECT count(*) AS views_left FROM pg_class WHERE relkind = 'v' AND relname LIKE 'üü%';
-- A table name of 63 bytes gets a view of its own, not its own name.
SET ROLE regress_admin;
SELECT format('CREATE TABLE hid.%I (id int PRIMARY KEY, secret text)', repeat('t', 63)) \gexec
RESET ROLE;
SELECT format('hid.%I', repeat('t', 63)) AS longest_name \gset
SELECT authz.protect(:'longest_name', '{"model": "hid.Longest", "hidden": [{"columns": ["secret"]}]}') IS NOT NULL AS protected;
SELECT octet_length(relname) AS bytes, right(relname, 10) AS name_ends FROM pg_class
 WHERE relkind = 'v' AND relname LIKE 'ttt%';
SELECT authz.unprotect(:'longest_name') AS unprotected;

SELECT authz.protect('hid.products', '{"model": "hid.Product"}') IS NOT NULL AS protected;
SELECT to_regclass('hid.products_visible') AS view_after_spec_without_hidden;
SELECT authz.unprotect('hid.users'), authz.unprotect('hid.products');
SELECT to_regclass('hid.users_visible') AS view_after_unprotect;
SET client_min_messages = warning;
DROP SCHEMA hid CASCADE;
RESET client_min_messages;
