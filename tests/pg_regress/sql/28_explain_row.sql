-- authz.explain_row: why a row is or is not within reach (seed 002 Troubleshooting: "user can't
-- see any objects", "can't edit despite permissions"). Every generated policy that applies to
-- the command is evaluated on the row for the user; a failing one names its rule and what is
-- missing. A row the caller cannot see is never described, except to authz_admin.
CREATE SCHEMA expl;
CREATE TABLE expl.orders (
    id int PRIMARY KEY, owner_id text NOT NULL, amount numeric(12,2) NOT NULL,
    is_locked boolean NOT NULL DEFAULT false);
INSERT INTO expl.orders VALUES (1, 'eva', 100, false), (2, 'eva', 200, true), (3, 'eli', 300, false),
                               (4, 'eli', 25000, false);
GRANT USAGE ON SCHEMA expl TO regress_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON expl.orders TO regress_app;
SELECT authz.register_model('expl.Order', 'expl.orders') > 0 AS registered;
INSERT INTO authz.permissions (content_type_id, codename, name)
SELECT id, 'change_high_value_order', 'Can change high-value orders' FROM authz.content_types
 WHERE app_label = 'expl' AND model = 'order';
INSERT INTO authz.users (id, is_staff) VALUES ('eva', true), ('eli', true), ('ema', true);
INSERT INTO authz.groups (name) VALUES ('Expl clerks'), ('Expl managers');
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE g.name IN ('Expl clerks', 'Expl managers') AND ct.app_label = 'expl'
   AND p.codename IN ('view_order', 'change_order', 'delete_order');
INSERT INTO authz.user_groups (user_id, group_id)
SELECT u, g.id FROM (VALUES ('eva', 'Expl clerks'), ('eli', 'Expl clerks'), ('ema', 'Expl managers')) v(u, gname)
  JOIN authz.groups g ON g.name = v.gname;
SELECT authz.protect('expl.orders', $${"model": "expl.Order",
    "owner": {"column": "owner_id", "see_all": ["group:Expl managers"]},
    "conditions": [{"when": "is_locked", "requires": ["superuser"]},
                   {"when": "amount > 10000", "requires": ["expl.change_high_value_order"]}]}$$) IS NOT NULL AS protected;

-- Eva's own order: every policy passes.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('eva') \g /dev/null
SELECT jsonb_pretty(authz.explain_row('expl.orders', '1', 'UPDATE'));
-- Her locked order: she sees it, but conditions[0] keeps it for superusers.
SELECT jsonb_pretty(authz.explain_row('expl.orders', '2', 'UPDATE'));
-- Inserting such a row takes expl.add_order, which the clerks lack: the policy says so.
SELECT authz.explain_row('expl.orders', '1', 'INSERT') -> 'policies' -> 0 AS insert_policy;
-- Eli's order is invisible to her: nothing about it, exactly as for a key that does not exist.
SELECT authz.explain_row('expl.orders', '3', 'DELETE');
SELECT authz.explain_row('expl.orders', '99', 'DELETE');
-- Explaining another user's access takes authz_admin.
SELECT authz.explain_row('expl.orders', '1', 'UPDATE', 'eli');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- The manager sees every order (see_all) but changes none: not an owner, and order 4 is
-- high-value. Both failures are named.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('ema') \g /dev/null
SELECT jsonb_pretty(authz.explain_row('expl.orders', '4', 'UPDATE'));
SELECT jsonb_pretty(authz.explain_row('expl.orders', '4'));
ROLLBACK;

-- Nobody (no identity) sees nothing and learns nothing.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.explain_row('expl.orders', '1');
ROLLBACK;

-- authz_admin explains any row for any user, without any privilege on the table (USAGE on its
-- schema names it): why Eva cannot see Eli's order.
GRANT USAGE ON SCHEMA expl TO regress_admin;
BEGIN;
SET LOCAL ROLE regress_admin;
SELECT jsonb_pretty(authz.explain_row('expl.orders', '3', 'SELECT', 'eva'));
SELECT authz.explain_row('expl.orders', '99', 'SELECT', 'eva');
ROLLBACK;

-- With "strict": true the UPDATE/DELETE conditions are triggers, reported as such.
SELECT authz.protect('expl.orders', $${"model": "expl.Order", "strict": true,
    "owner": {"column": "owner_id", "see_all": ["group:Expl managers"]},
    "conditions": [{"when": "is_locked", "requires": ["superuser"]},
                   {"when": "amount > 10000", "requires": ["expl.change_high_value_order"]}]}$$) IS NOT NULL AS protected;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('eva') \g /dev/null
SELECT jsonb_pretty(authz.explain_row('expl.orders', '2', 'DELETE'));
ROLLBACK;

-- Strict status and max_age rules are triggers too, named by their rule.
CREATE TABLE expl.invoices (id int PRIMARY KEY, status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO expl.invoices VALUES (1, 'sent', now()), (2, 'draft', now() - interval '60 days');
GRANT SELECT, UPDATE, DELETE ON expl.invoices TO regress_app;
SELECT authz.protect('expl.invoices', $${"model": "expl.Invoice", "strict": true,
    "status": {"column": "status", "editors_only": ["sent"], "editors": ["group:Expl managers", "expl.change_high_value_order"]},
    "max_age": {"column": "created_at", "days": 30}}$$) IS NOT NULL AS protected;
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE g.name = 'Expl clerks' AND ct.app_label = 'expl' AND ct.model = 'invoice';
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('eva') \g /dev/null
SELECT k, e->'allowed' AS allowed, jsonb_pretty(e->'triggers') AS triggers
  FROM (VALUES ('1'), ('2')) v(k), LATERAL (SELECT authz.explain_row('expl.invoices', k, 'UPDATE')) x(e);
ROLLBACK;
SELECT authz.unprotect('expl.invoices');

-- A caller granted only some columns of the table (as for a table with hidden columns) names
-- a row by its key columns: it learns whether it sees the row, as a query naming them would.
-- The policies are evaluated over the whole row, so their details would tell it about columns
-- it may not read (here, whether amount > 10000): they are withheld. Without SELECT on a key
-- column it sees no row at all.
REVOKE SELECT ON expl.orders FROM regress_app;
GRANT SELECT (id, owner_id, is_locked) ON expl.orders TO regress_app;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('eva') \g /dev/null
SELECT jsonb_pretty(authz.explain_row('expl.orders', '1', 'UPDATE'));
ROLLBACK;
REVOKE SELECT (id) ON expl.orders FROM regress_app;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('eva') \g /dev/null
SELECT authz.explain_row('expl.orders', '1', 'UPDATE');
ROLLBACK;
GRANT SELECT ON expl.orders TO regress_app;

-- Bad arguments.
\set VERBOSITY terse
SELECT authz.explain_row('expl.orders', '1', 'MERGE');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE expl.plain (id int PRIMARY KEY);
SELECT authz.explain_row('expl.plain', '1');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.explain_row('expl.orders', NULL);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default

-- explain_row runs none of the table owner's code with more rights than the owner's. A table's
-- owner may define casts from and to its row type: the row and its key are read as text through
-- the types' output functions, never a cast; the policies are evaluated on the row, cast back
-- from text, as the owner inside a security-restricted operation, and any setting the owner's
-- code changes there is rolled back.
CREATE ROLE regress_expl_owner;
GRANT USAGE ON SCHEMA expl TO regress_expl_owner;
GRANT CREATE ON SCHEMA expl TO regress_expl_owner;
CREATE TABLE expl.gadgets (id int PRIMARY KEY, owner_id text NOT NULL);
INSERT INTO expl.gadgets VALUES (1, 'eva');
ALTER TABLE expl.gadgets OWNER TO regress_expl_owner;
GRANT SELECT ON expl.gadgets TO regress_app;
SELECT authz.protect('expl.gadgets', '{"model": "expl.Gadget", "owner": {"column": "owner_id"}}') IS NOT NULL AS protected;
INSERT INTO authz.user_permissions (user_id, permission_id)
SELECT 'eva', p.id FROM authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE ct.app_label = 'expl' AND ct.model = 'gadget' AND p.codename = 'view_gadget';
SET ROLE regress_expl_owner;
CREATE FUNCTION expl.gadget_text(expl.gadgets) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'the row-to-text cast runs as %', current_user;
    RETURN 'forged';
END $$;
CREATE CAST (expl.gadgets AS text) WITH FUNCTION expl.gadget_text(expl.gadgets);
CREATE FUNCTION expl.gadget_of(text) RETURNS expl.gadgets LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'the text-to-row cast runs as %', current_user;
    PERFORM pg_catalog.set_config('search_path', 'expl, pg_catalog', false);
    RETURN ROW(1, 'eva')::expl.gadgets;
END $$;
CREATE CAST (text AS expl.gadgets) WITH FUNCTION expl.gadget_of(text);
RESET ROLE;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('eva') \g /dev/null
SELECT e->'allowed' AS allowed, e->'policies'->0->'passes' AS select_policy_passes
  FROM authz.explain_row('expl.gadgets', '1') e;
SHOW search_path;
ROLLBACK;
SELECT authz.unprotect('expl.gadgets');

SELECT authz.unprotect('expl.orders');
SET client_min_messages = warning;
DROP SCHEMA expl CASCADE;
RESET client_min_messages;
DROP ROLE regress_expl_owner;
