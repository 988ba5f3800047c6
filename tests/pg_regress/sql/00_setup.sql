-- Installing pg_authz: one statement, everything lands in schema authz.
CREATE EXTENSION pg_authz;
SELECT extname, extversion, extnamespace::regnamespace AS schema, extrelocatable
  FROM pg_extension WHERE extname = 'pg_authz';

-- Roles used by the other files (cluster-wide, so recreate them cleanly).
DROP ROLE IF EXISTS regress_app, regress_admin;
CREATE ROLE regress_app;
CREATE ROLE regress_admin IN ROLE authz_admin;

-- The catalogs, shaped like Django's auth tables.
SELECT c.relname, pg_catalog.obj_description(c.oid, 'pg_class') AS description
  FROM pg_class c
 WHERE c.relnamespace = 'authz'::regnamespace AND c.relkind = 'r'
 ORDER BY c.relname;
