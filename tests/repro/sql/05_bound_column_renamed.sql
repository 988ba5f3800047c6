-- Finding 9 (MEDIUM): a migration that renames, drops or retypes a bound column
-- (RenameField/RemoveField on a custom user model, a BigAutoField switch) breaks every write
-- to the table until post_migrate rebinds: a RunPython data migration in between fails with
-- an error naming pg_authz's internal alias.
-- main: ERROR 42703 column d.is_superuser does not exist; ERROR 22003 value
-- "3000000000" is out of range for type integer. review3: every statement passes (the binding follows).
\ir setup.sql
SET ROLE repro3_app;
BEGIN;
ALTER TABLE auth_user RENAME COLUMN is_superuser TO is_admin;
UPDATE auth_user SET last_login = now() WHERE id = 1;
ROLLBACK;
BEGIN;
ALTER TABLE auth_user DROP COLUMN is_staff;
INSERT INTO auth_user (username) VALUES ('x');
ROLLBACK;
BEGIN;
ALTER TABLE auth_user_groups ALTER COLUMN user_id TYPE bigint;
ALTER TABLE auth_user_user_permissions ALTER COLUMN user_id TYPE bigint;
ALTER TABLE auth_user ALTER COLUMN id TYPE bigint;
INSERT INTO auth_user (id, username) VALUES (3000000000, 'big');
ROLLBACK;
RESET ROLE;
\ir teardown.sql
