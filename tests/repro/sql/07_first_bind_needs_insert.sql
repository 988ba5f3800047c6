-- Finding 12 (LOW): bind_django's comment says it takes SELECT and TRIGGER on Django's tables;
-- the first bind also INSERTs into django_content_type and auth_permission as the caller.
-- main: ERROR 42501 permission denied for table django_content_type.
\ir setup.sql
SET ROLE repro3_dba;
SELECT authz.unbind_django();
RESET ROLE;
REVOKE INSERT ON ALL TABLES IN SCHEMA public FROM repro3_dba;
SET ROLE repro3_dba;
SELECT authz.bind_django() ->> 'users' AS users_bound;
RESET ROLE;
\ir teardown.sql
