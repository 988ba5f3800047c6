-- Finding 1, variant (HIGH): rename the bound user table away and put a copy in its place;
-- Django writes the copy, the mirror watches the original.
-- main: root_still_super = t, bound_to = auth_user_old, breaches = 0.
-- fixed (review3): the CREATE TABLE is refused (2BP01).
\ir setup.sql
SET ROLE repro3_app;
BEGIN;
ALTER TABLE auth_user RENAME TO auth_user_old;
CREATE TABLE auth_user (LIKE auth_user_old INCLUDING ALL);
INSERT INTO auth_user SELECT * FROM auth_user_old;
UPDATE auth_user SET is_superuser = false, is_active = false WHERE username = 'root';
COMMIT;
SELECT authz.has_perm('2', 'any.thing') AS root_still_super, (SELECT is_superuser FROM auth_user WHERE id = 2) AS django_says,
       (SELECT user_table FROM authz.django_binding) AS bound_to, (SELECT count(*) FROM authz.protection_breaches) AS breaches;
RESET ROLE;
\ir teardown.sql
