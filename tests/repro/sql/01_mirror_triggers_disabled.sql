-- Finding 1 (HIGH): the owner of Django's tables switches the mirror off; Django demotes and
-- deactivates root, pg_authz keeps him an active superuser, unseen in Django's admin.
-- main (844e1e9): root_still_super = t, breaches = 0; also DROP TRIGGER passes.
-- fixed (review3): the ALTER/DROP are refused with 2BP01.
\ir setup.sql
SET ROLE repro3_app;
ALTER TABLE auth_user DISABLE TRIGGER authz_django_update;
UPDATE auth_user SET is_superuser = false, is_active = false WHERE username = 'root';
SELECT authz.has_perm('2', 'any.thing') AS root_still_super,
       (SELECT is_superuser FROM auth_user WHERE id = 2) AS django_says,
       (SELECT count(*) FROM authz.protection_breaches) AS breaches;
DROP TRIGGER authz_django_delete ON auth_user_groups;
DELETE FROM auth_user_groups;
SELECT authz.in_group('1', 'Editors') AS ann_still_editor, (SELECT count(*) FROM auth_user_groups) AS django_rows;
-- (Finding 5 is the same through an inheritance child: rows deleted through the child
-- skip the parent's triggers; 33_django_review shows the refusal.)
RESET ROLE;
\ir teardown.sql
