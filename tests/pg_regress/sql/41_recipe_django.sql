-- Generated from docs/django.md (its sql code blocks, in order): edit the recipe, then run
-- PG_AUTHZ_WRITE_RECIPES=1 cargo test --manifest-path tests/integration/Cargo.toml --test recipes
SET client_min_messages = warning;
DROP DATABASE IF EXISTS recipe_django;
DROP ROLE IF EXISTS django_app;
RESET client_min_messages;

CREATE ROLE django_app LOGIN;
GRANT authz_admin, authz_authenticator TO django_app;
CREATE DATABASE recipe_django OWNER django_app;
\c recipe_django
CREATE EXTENSION pg_authz;

\c - django_app
CREATE TABLE django_content_type (id serial PRIMARY KEY, app_label varchar(100) NOT NULL,
    model varchar(100) NOT NULL, UNIQUE (app_label, model));
CREATE TABLE auth_permission (id serial PRIMARY KEY, name varchar(255) NOT NULL,
    content_type_id integer NOT NULL REFERENCES django_content_type DEFERRABLE INITIALLY DEFERRED,
    codename varchar(100) NOT NULL, UNIQUE (content_type_id, codename));
CREATE TABLE auth_group (id serial PRIMARY KEY, name varchar(150) NOT NULL UNIQUE);
CREATE TABLE auth_group_permissions (id bigserial PRIMARY KEY,
    group_id integer NOT NULL REFERENCES auth_group DEFERRABLE INITIALLY DEFERRED,
    permission_id integer NOT NULL REFERENCES auth_permission DEFERRABLE INITIALLY DEFERRED,
    UNIQUE (group_id, permission_id));
CREATE TABLE auth_user (id serial PRIMARY KEY, password varchar(128) NOT NULL DEFAULT '',
    username varchar(150) NOT NULL UNIQUE, is_superuser boolean NOT NULL DEFAULT false,
    is_staff boolean NOT NULL DEFAULT false, is_active boolean NOT NULL DEFAULT true, last_login timestamptz);
CREATE TABLE auth_user_groups (id bigserial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES auth_user DEFERRABLE INITIALLY DEFERRED,
    group_id integer NOT NULL REFERENCES auth_group DEFERRABLE INITIALLY DEFERRED, UNIQUE (user_id, group_id));
CREATE TABLE auth_user_user_permissions (id bigserial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES auth_user DEFERRABLE INITIALLY DEFERRED,
    permission_id integer NOT NULL REFERENCES auth_permission DEFERRABLE INITIALLY DEFERRED,
    UNIQUE (user_id, permission_id));
CREATE TABLE blog_post (id bigserial PRIMARY KEY, author_id integer NOT NULL REFERENCES auth_user,
    title varchar(200) NOT NULL);
CREATE INDEX ON blog_post (author_id);

SELECT authz.bind_django() - 'user_table' AS bound;

INSERT INTO django_content_type (app_label, model) VALUES ('blog', 'post');
INSERT INTO auth_permission (name, content_type_id, codename)
SELECT 'Can ' || a || ' post', 1, a || '_post' FROM unnest('{add,change,delete,view}'::text[]) AS a;
INSERT INTO auth_user (username, is_staff) VALUES ('ann', true), ('ben', true);
INSERT INTO auth_group (name) VALUES ('Authors');
INSERT INTO auth_group_permissions (group_id, permission_id) SELECT 1, id FROM auth_permission;
INSERT INTO auth_user_groups (user_id, group_id) VALUES (1, 1);
INSERT INTO blog_post (author_id, title) VALUES (1, 'Ann''s post'), (2, 'Ben''s post');
SELECT id, is_staff FROM authz.users ORDER BY id;
SELECT authz.has_perm('1', 'blog.change_post') AS ann, authz.has_perm('2', 'blog.change_post') AS ben;

SELECT authz.protect('blog_post', '{"model": "blog.Post", "owner": {"column": "author_id"}}') IS NOT NULL AS protected;

BEGIN;
SELECT authz.set_user('1');
SELECT id, title FROM blog_post ORDER BY id;
UPDATE blog_post SET title = upper(title) RETURNING id;
COMMIT;

BEGIN;
SELECT authz.set_user('2');
SELECT count(*) AS ben_sees FROM blog_post;
COMMIT;
INSERT INTO auth_user_groups (user_id, group_id) VALUES (2, 1);
BEGIN;
SELECT authz.set_user('2');
SELECT id, title FROM blog_post ORDER BY id;
COMMIT;
SELECT count(*) AS nobody_sees FROM blog_post;

\c pg_authz_regress postgres
DROP DATABASE recipe_django;
DROP ROLE django_app;
