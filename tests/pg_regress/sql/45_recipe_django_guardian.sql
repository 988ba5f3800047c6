-- Generated from docs/django-guardian.md (its sql code blocks, in order): edit the recipe, then run
-- PG_AUTHZ_WRITE_RECIPES=1 cargo test --manifest-path tests/integration/Cargo.toml --test recipes
SET client_min_messages = warning;
DROP DATABASE IF EXISTS recipe_guardian;
DROP ROLE IF EXISTS library_app;
RESET client_min_messages;

CREATE DATABASE recipe_guardian;
\c recipe_guardian
CREATE EXTENSION pg_authz;

CREATE TABLE django_content_type (id serial PRIMARY KEY, app_label varchar(100) NOT NULL,
    model varchar(100) NOT NULL, UNIQUE (app_label, model));
CREATE TABLE auth_permission (id serial PRIMARY KEY, name varchar(255) NOT NULL,
    content_type_id integer NOT NULL REFERENCES django_content_type, codename varchar(100) NOT NULL,
    UNIQUE (content_type_id, codename));
CREATE TABLE auth_user (id serial PRIMARY KEY, username varchar(150) NOT NULL UNIQUE,
    is_active boolean NOT NULL, is_staff boolean NOT NULL, is_superuser boolean NOT NULL);
CREATE TABLE auth_group (id serial PRIMARY KEY, name varchar(150) NOT NULL UNIQUE);
CREATE TABLE auth_user_groups (id bigserial PRIMARY KEY, user_id integer NOT NULL REFERENCES auth_user,
    group_id integer NOT NULL REFERENCES auth_group, UNIQUE (user_id, group_id));
CREATE TABLE guardian_userobjectpermission (id serial PRIMARY KEY, object_pk varchar(255) NOT NULL,
    content_type_id integer NOT NULL REFERENCES django_content_type,
    permission_id integer NOT NULL REFERENCES auth_permission, user_id integer NOT NULL REFERENCES auth_user,
    UNIQUE (user_id, permission_id, object_pk));
CREATE TABLE guardian_groupobjectpermission (id serial PRIMARY KEY, object_pk varchar(255) NOT NULL,
    content_type_id integer NOT NULL REFERENCES django_content_type,
    permission_id integer NOT NULL REFERENCES auth_permission, group_id integer NOT NULL REFERENCES auth_group,
    UNIQUE (group_id, permission_id, object_pk));
CREATE TABLE library_book (id serial PRIMARY KEY, title varchar(200) NOT NULL);

INSERT INTO library_book (title) VALUES ('Dune'), ('Emma'), ('Ulysses');
INSERT INTO django_content_type (app_label, model) VALUES ('library', 'book');
INSERT INTO auth_permission (name, content_type_id, codename)
SELECT 'Can ' || a || ' book', 1, a || '_book' FROM unnest('{add,change,delete,view,lend}'::text[]) AS a;
INSERT INTO auth_user (username, is_active, is_staff, is_superuser) VALUES
    ('ann', true, false, false), ('ben', true, false, false), ('cy', false, false, false), ('root', true, true, true);
INSERT INTO auth_group (name) VALUES ('Reviewers');
INSERT INTO auth_user_groups (user_id, group_id) VALUES (2, 1), (3, 1);
INSERT INTO guardian_userobjectpermission (object_pk, content_type_id, permission_id, user_id)
SELECT o.pk, 1, p.id, o.user_id FROM auth_permission p
  JOIN (VALUES ('1', 1, 'view_book'), ('1', 1, 'change_book'), ('3', 1, 'lend_book'), ('2', 3, 'view_book'))
       AS o(pk, user_id, codename) USING (codename);
INSERT INTO guardian_groupobjectpermission (object_pk, content_type_id, permission_id, group_id)
SELECT o.pk, 1, p.id, 1 FROM auth_permission p
  JOIN (VALUES ('2', 'view_book'), ('2', 'change_book')) AS o(pk, codename) USING (codename);

BEGIN;
-- Users, groups and memberships (skip what pg_authz already has).
INSERT INTO authz.users (id, is_active, is_staff, is_superuser)
SELECT u.id::text, u.is_active, u.is_staff, u.is_superuser FROM auth_user u
ON CONFLICT (id) DO NOTHING;
INSERT INTO authz.groups (name) SELECT g.name FROM auth_group g
ON CONFLICT (name) DO NOTHING;
INSERT INTO authz.user_groups (user_id, group_id)
SELECT ug.user_id::text, ag.id FROM auth_user_groups ug
  JOIN auth_group g ON g.id = ug.group_id JOIN authz.groups ag ON ag.name = g.name
ON CONFLICT DO NOTHING;
-- Models and permissions, by app_label, model and codename.
INSERT INTO authz.content_types (app_label, model)
SELECT ct.app_label, ct.model FROM django_content_type ct
ON CONFLICT (app_label, model) DO NOTHING;
INSERT INTO authz.permissions (content_type_id, codename, name)
SELECT act.id, p.codename, p.name FROM auth_permission p
  JOIN django_content_type ct ON ct.id = p.content_type_id
  JOIN authz.content_types act ON act.app_label = ct.app_label AND act.model = ct.model
ON CONFLICT (content_type_id, codename) DO NOTHING;
-- The object grants.
CREATE TEMP TABLE guardian_permission_map ON COMMIT DROP AS
SELECT p.id AS django_id, ap.id AS authz_id
  FROM auth_permission p
  JOIN django_content_type ct ON ct.id = p.content_type_id
  JOIN authz.content_types act ON act.app_label = ct.app_label AND act.model = ct.model
  JOIN authz.permissions ap ON ap.content_type_id = act.id AND ap.codename = p.codename;
INSERT INTO authz.object_permissions (permission_id, user_id, object_pk)
SELECT m.authz_id, g.user_id::text, g.object_pk
  FROM guardian_userobjectpermission g JOIN guardian_permission_map m ON m.django_id = g.permission_id
ON CONFLICT (permission_id, object_pk, user_id) WHERE user_id IS NOT NULL DO NOTHING;
INSERT INTO authz.object_permissions (permission_id, group_id, object_pk)
SELECT m.authz_id, ag.id, g.object_pk
  FROM guardian_groupobjectpermission g JOIN guardian_permission_map m ON m.django_id = g.permission_id
  JOIN auth_group dg ON dg.id = g.group_id JOIN authz.groups ag ON ag.name = dg.name
ON CONFLICT (permission_id, object_pk, group_id) WHERE group_id IS NOT NULL DO NOTHING;
COMMIT;

SELECT (SELECT count(*) FROM guardian_userobjectpermission) + (SELECT count(*) FROM guardian_groupobjectpermission) AS guardian_grants,
       (SELECT count(*) FROM authz.object_permissions) AS authz_grants;

WITH guardian AS (
    SELECT u.id::text AS user_id, ct.app_label || '.' || p.codename AS perm, b.id::text AS object_pk,
           u.is_active AND (u.is_superuser
               OR EXISTS (SELECT FROM guardian_userobjectpermission g
                           WHERE g.user_id = u.id AND g.permission_id = p.id AND g.object_pk = b.id::text)
               OR EXISTS (SELECT FROM guardian_groupobjectpermission g JOIN auth_user_groups ug ON ug.group_id = g.group_id
                           WHERE ug.user_id = u.id AND g.permission_id = p.id AND g.object_pk = b.id::text)) AS allowed
      FROM auth_user u, auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id, library_book b
)
SELECT count(*) AS answers, count(*) FILTER (WHERE allowed) AS allowed,
       count(*) FILTER (WHERE allowed IS DISTINCT FROM authz.has_perm(user_id, perm, object_pk)) AS disagreements
  FROM guardian;
SELECT authz.has_perm('1', 'library.change_book', '1') AS ann_changes_dune,
       authz.has_perm('2', 'library.change_book', '2') AS ben_changes_emma_as_reviewer,
       authz.has_perm('3', 'library.view_book', '2') AS cy_inactive,
       authz.has_perm('1', 'library.change_book', '2') AS ann_changes_emma;

SELECT authz.protect('library_book', '{"model": "library.Book", "object_grants": true}') IS NOT NULL AS protected;
CREATE ROLE library_app LOGIN IN ROLE authz_authenticator;
GRANT SELECT, UPDATE ON library_book TO library_app;
\c - library_app
BEGIN;
SELECT authz.set_user('1');
SELECT id, title FROM library_book ORDER BY id;
UPDATE library_book SET title = title || '!' RETURNING id;
SELECT authz.set_user('2');
SELECT id, title FROM library_book ORDER BY id;
SELECT authz.set_user('3');
SELECT count(*) AS cy_sees FROM library_book;
ROLLBACK;

\c - postgres
INSERT INTO authz.object_permissions (permission_id, user_id, object_pk)
SELECT p.id, '1', '2' FROM authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE ct.app_label = 'library' AND p.codename = 'lend_book';
SELECT authz.has_perm('1', 'library.lend_book', '2') AS ann_lends_emma;

\c pg_authz_regress postgres
DROP DATABASE recipe_guardian;
DROP ROLE library_app;
