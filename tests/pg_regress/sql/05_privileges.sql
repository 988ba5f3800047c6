-- Catalogs are readable by everyone (has_perm runs as the caller) and writable only by their
-- owner and members of authz_admin.

SELECT c.relname,
       has_table_privilege('regress_app', c.oid, 'SELECT') AS app_select,
       has_table_privilege('regress_app', c.oid, 'INSERT,UPDATE,DELETE,TRUNCATE') AS app_write,
       has_table_privilege('regress_admin', c.oid, 'INSERT') AS admin_insert,
       has_table_privilege('regress_admin', c.oid, 'TRUNCATE') AS admin_truncate
  FROM pg_class c
 WHERE c.relnamespace = 'authz'::regnamespace AND c.relkind = 'r'
 ORDER BY c.relname;

SELECT has_schema_privilege('regress_app', 'authz', 'CREATE') AS app_can_create_in_authz;

-- An ordinary role checks permissions but cannot grant itself any.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.has_perm('alice', 'shop.change_order') AS app_can_check;
INSERT INTO authz.user_permissions (user_id, permission_id)
  SELECT 'eve', id FROM authz.permissions WHERE codename = 'add_order';
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

BEGIN;
SET LOCAL ROLE regress_app;
UPDATE authz.users SET is_superuser = true WHERE id = 'eve';
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.register_model('crm.Lead');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- A member of authz_admin manages the catalogs.
BEGIN;
SET LOCAL ROLE regress_admin;
SELECT authz.register_model('crm.Lead') > 0 AS admin_registers;
INSERT INTO authz.users (id) VALUES ('frank');
INSERT INTO authz.user_permissions (user_id, permission_id)
  SELECT 'frank', p.id FROM authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
   WHERE ct.app_label = 'crm' AND p.codename = 'view_lead';
SELECT authz.has_perm('frank', 'crm.view_lead') AS granted_by_admin;
ROLLBACK;

-- A caller's own operators cannot change what the cache loader's catalog queries mean.
BEGIN;
CREATE SCHEMA regress_evil;
CREATE FUNCTION regress_evil.texteq_always(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR regress_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_evil.texteq_always);
SET LOCAL search_path = regress_evil, pg_catalog;
UPDATE authz.users SET is_staff = is_staff WHERE id = 'eve';  -- drop cached entries
SELECT authz.has_perm('eve', 'shop.change_order') AS eve_still_denied,
       authz.has_perm('eve', 'shop.add_order')    AS eve_still_denied_too;
ROLLBACK;
