-- Scenario 5: an approval workflow (draft, submitted, approved) with a time lock and
-- readonly fields (seed 002): approved documents change for nobody but superusers, published
-- ones only for editors, nothing older than 30 days changes, and only finance sets prices.
CREATE SCHEMA docs;
CREATE TABLE docs.documents (
    id int PRIMARY KEY, owner_id text NOT NULL, status text NOT NULL DEFAULT 'draft',
    price int NOT NULL DEFAULT 0, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO docs.documents VALUES
  (1, 'wes', 'draft', 10, now()), (2, 'wes', 'published', 20, now()),
  (3, 'wes', 'approved', 30, now()), (4, 'wes', 'draft', 40, now() - interval '45 days');
GRANT USAGE ON SCHEMA docs TO regress_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON docs.documents TO regress_app;

INSERT INTO authz.users (id, is_staff) VALUES ('wes', true), ('fay', true);
INSERT INTO authz.groups (name) VALUES ('Writers'), ('Finance');
SELECT authz.protect('docs.documents', '{"model": "docs.Document",
    "owner": {"column": "owner_id", "edit_all": ["group:Finance"]},
    "status": {"column": "status", "locked": ["approved"], "editors_only": ["published"], "editors": ["group:Finance"]},
    "max_age": {"column": "created_at", "days": 30},
    "readonly": [{"columns": ["price"], "unless": ["group:Finance"]}]}') IS NOT NULL AS protected;
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE ct.app_label = 'docs';
INSERT INTO authz.user_groups (user_id, group_id) SELECT 'wes', id FROM authz.groups WHERE name = 'Writers';
INSERT INTO authz.user_groups (user_id, group_id) SELECT 'fay', id FROM authz.groups WHERE name = 'Finance';

-- Wes edits only his fresh drafts: not the published one, not the approved one, not the old one.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('wes') \g /dev/null
SELECT id, status FROM docs.documents ORDER BY id;
UPDATE docs.documents SET status = status RETURNING id;
-- Submitting for approval (draft -> submitted) is an ordinary edit.
UPDATE docs.documents SET status = 'submitted' WHERE id = 1 RETURNING id, status;
DELETE FROM docs.documents RETURNING id;
ROLLBACK;

-- Prices are readonly for Wes, on UPDATE and INSERT (he may leave the default).
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('wes') \g /dev/null
UPDATE docs.documents SET price = 99 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('wes') \g /dev/null
INSERT INTO docs.documents (id, owner_id, price) VALUES (5, 'wes', 5);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('wes') \g /dev/null
INSERT INTO docs.documents (id, owner_id) VALUES (5, 'wes') RETURNING id, price;
ROLLBACK;
-- Values the database generates (identity, serial) are drawn afresh on INSERT, so a chosen one
-- never stays (see 21_protect_hardening); the row gets the second value drawn.
CREATE TABLE docs.notes (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, owner_id text NOT NULL,
                         serial_no serial, body text);
GRANT SELECT, INSERT ON docs.notes TO regress_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA docs TO regress_app;
SELECT authz.protect('docs.notes', '{"model": "docs.Note", "owner": {"column": "owner_id"},
    "readonly": [{"columns": ["id", "serial_no"]}]}') IS NOT NULL AS protected;
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p WHERE g.name = 'Writers' AND p.codename IN ('add_note', 'view_note');
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('wes') \g /dev/null
INSERT INTO docs.notes (owner_id, body) VALUES ('wes', 'hello') RETURNING id, serial_no;
ROLLBACK;

-- Fay (Finance) edits published documents and prices, approves, but cannot touch what is
-- approved or older than 30 days.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('fay') \g /dev/null
UPDATE docs.documents SET price = price + 1 RETURNING id;
UPDATE docs.documents SET status = 'approved' WHERE id = 1 RETURNING id, status;
UPDATE docs.documents SET price = 0 WHERE id = 1 RETURNING id;
ROLLBACK;

-- The age column itself is fixed once written: moving it forward would reopen a row for ever.
-- Only superusers change it. Inserting with a past date stays allowed (imports); a future one
-- (beyond a few minutes of clock skew) or infinity is refused: see 21_protect_hardening.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('wes') \g /dev/null
UPDATE docs.documents SET created_at = now() + interval '10 years' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('fay') \g /dev/null
UPDATE docs.documents SET created_at = created_at, status = 'submitted' WHERE id = 1 RETURNING id, status;
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('root') \g /dev/null
UPDATE docs.documents SET created_at = now() WHERE id = 4 RETURNING id;
ROLLBACK;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'docs.documents'::regclass AND NOT tgisinternal ORDER BY 1;
-- With "lock_column": false (a column the application moves itself, Django's auto_now) the
-- rule reads "no edits after 30 days without one": no trigger.
SELECT authz.protect('docs.documents', '{"model": "docs.Document",
    "max_age": {"column": "created_at", "days": 30, "lock_column": false}}', dry_run => true) LIKE '%TRIGGER%' AS has_trigger;
-- Calling protect again with the same spec repairs what was dropped by hand, triggers included
-- (by a superuser skipping the tamper guard with session_replication_role = replica).
SET session_replication_role = replica;
DROP TRIGGER authz_age_lock ON docs.documents;
RESET session_replication_role;
SELECT authz.protect('docs.documents', '{"model": "docs.Document",
    "owner": {"column": "owner_id", "edit_all": ["group:Finance"]},
    "status": {"column": "status", "locked": ["approved"], "editors_only": ["published"], "editors": ["group:Finance"]},
    "max_age": {"column": "created_at", "days": 30},
    "readonly": [{"columns": ["price"], "unless": ["group:Finance"]}]}') IS NOT NULL AS protected;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'docs.documents'::regclass AND NOT tgisinternal ORDER BY 1;
