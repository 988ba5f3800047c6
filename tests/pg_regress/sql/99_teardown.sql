-- The extension cannot be dropped while tables are audited: their triggers depend on it.
\set VERBOSITY terse
DROP EXTENSION pg_authz;
\echo :LAST_ERROR_SQLSTATE
SET client_min_messages = warning;
DROP SCHEMA app, shop, blog, saas, hr, pm, docs, rnd CASCADE;
RESET client_min_messages;
\set VERBOSITY default
DROP EXTENSION pg_authz;
SELECT count(*) AS objects_left FROM pg_class WHERE relnamespace = 'authz'::regnamespace;

-- Dropping and recreating the extension in one session leaves no stale permission behind.
CREATE EXTENSION pg_authz;
INSERT INTO authz.users (id, is_superuser) VALUES ('x', true);
SELECT authz.has_perm('x', 'any.thing') AS superuser_before;
DROP EXTENSION pg_authz;
CREATE EXTENSION pg_authz;
INSERT INTO authz.users (id) VALUES ('x');
SELECT authz.has_perm('x', 'any.thing') AS plain_user_after;
DROP EXTENSION pg_authz;
-- The schema named in pg_authz.control was created by CREATE EXTENSION and, as for every
-- extension, stays (empty) after DROP EXTENSION.
SELECT count(*) AS authz_schema_left FROM pg_namespace WHERE nspname = 'authz';
DROP SCHEMA authz;
DROP ROLE regress_app, regress_admin;
