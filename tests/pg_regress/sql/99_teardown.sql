-- Dropping the extension removes everything it created (roles are cluster-wide and stay).
DROP EXTENSION pg_authz;
SELECT count(*) AS objects_left FROM pg_class WHERE relnamespace = 'authz'::regnamespace;
-- The schema named in pg_authz.control was created by CREATE EXTENSION and, as for every
-- extension, stays (empty) after DROP EXTENSION.
SELECT count(*) AS authz_schema_left FROM pg_namespace WHERE nspname = 'authz';
DROP SCHEMA authz;
DROP ROLE regress_app, regress_admin;
