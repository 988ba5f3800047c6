-- Finding 4 (MEDIUM): a dropped bound table (a migration's DeleteModel, a custom user model's
-- through table) keeps its grants in the catalogs and leaves a dangling oid in the binding:
-- every later insert into auth_user fails with a syntax error until a rebind, and a table
-- re-created under the same name is not watched.
-- main: bob_delete_after_drop = t; INSERT INTO auth_user: ERROR 42601 syntax error at or near "<oid>".
-- fixed: f, the insert works, user_permissions_table is NULL.
\ir setup.sql
SET ROLE repro3_app;
DROP TABLE auth_user_user_permissions;
SELECT authz.has_perm('3', 'blog.delete_post') AS bob_delete_after_drop,
       (SELECT user_permissions_table FROM authz.django_binding) AS user_permissions_table;
INSERT INTO auth_user (username) VALUES ('newbie');
RESET ROLE;
\ir teardown.sql
