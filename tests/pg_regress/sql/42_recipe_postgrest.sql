-- Generated from docs/postgrest.md (its sql code blocks, in order): edit the recipe, then run
-- PG_AUTHZ_WRITE_RECIPES=1 cargo test --manifest-path tests/integration/Cargo.toml --test recipes
SET client_min_messages = warning;
DROP DATABASE IF EXISTS recipe_postgrest;
DROP ROLE IF EXISTS authenticator, web_anon, api_user;
RESET client_min_messages;

CREATE DATABASE recipe_postgrest;
\c recipe_postgrest
CREATE EXTENSION pg_authz;

CREATE SCHEMA api;
CREATE TABLE api.todos (id int PRIMARY KEY, owner_id text NOT NULL, task text NOT NULL,
                        done boolean NOT NULL DEFAULT false);
CREATE INDEX ON api.todos (owner_id);
INSERT INTO api.todos VALUES (1, 'ada', 'write the recipe', false), (2, 'ada', 'test it', false),
                             (3, 'grace', 'review it', false);

CREATE ROLE authenticator LOGIN NOINHERIT;
CREATE ROLE web_anon NOLOGIN;
CREATE ROLE api_user NOLOGIN;
GRANT web_anon, api_user TO authenticator;
GRANT USAGE ON SCHEMA api TO web_anon, api_user;
GRANT SELECT ON api.todos TO web_anon;
GRANT SELECT, INSERT, UPDATE, DELETE ON api.todos TO api_user;

SELECT authz.protect('api.todos', '{"model": "todo.Todo", "owner": {"column": "owner_id"}}') IS NOT NULL AS protected;
INSERT INTO authz.users (id) VALUES ('ada'), ('grace');
INSERT INTO authz.groups (name) VALUES ('Todo users');
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE g.name = 'Todo users' AND ct.app_label = 'todo';
INSERT INTO authz.user_groups (user_id, group_id)
SELECT u, g.id FROM authz.groups g, unnest(ARRAY['ada', 'grace']) AS u WHERE g.name = 'Todo users';

GRANT authz_authenticator TO authenticator;

\c - authenticator
BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY;
SELECT set_config('search_path', 'api', true), set_config('role', 'api_user', true),
       set_config('request.jwt.claims', '{"sub":"ada","role":"api_user","exp":4102444800}', true),
       set_config('request.method', 'GET', true), set_config('request.path', '/todos', true) \g /dev/null
SELECT session_user, current_user, authz.current_user_id() AS acting_as;
SELECT coalesce(json_agg(t ORDER BY t.id), '[]') AS body FROM (SELECT id, task, done FROM api.todos) AS t;
COMMIT;

BEGIN;
SELECT set_config('search_path', 'api', true), set_config('role', 'api_user', true),
       set_config('request.jwt.claims', '{"sub":"grace","role":"api_user","exp":4102444800}', true) \g /dev/null
UPDATE api.todos SET done = true WHERE id = 1 RETURNING id;
UPDATE api.todos SET done = true WHERE id = 3 RETURNING id, task;
COMMIT;

BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY;
SELECT set_config('search_path', 'api', true), set_config('role', 'web_anon', true),
       set_config('request.jwt.claims', '{"role":"web_anon"}', true) \g /dev/null
SELECT authz.current_user_id() AS acting_as, coalesce(json_agg(t), '[]') AS body FROM api.todos AS t;
COMMIT;
SELECT authz.current_user_id() AS between_requests;

\c - postgres
REVOKE authz_authenticator FROM authenticator;
INSERT INTO authz.jwt_keys (kid, alg, key) VALUES ('postgrest', 'HS256', 'postgrest-recipe-secret-0123456789abcdef');
CREATE FUNCTION api.authenticate() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    auth_header text := nullif(current_setting('request.headers', true), '')::json ->> 'authorization';
BEGIN
    IF auth_header ILIKE 'bearer %' THEN
        PERFORM authz.set_user_token(substr(auth_header, 8));
    END IF;
END $$;

\set ada_token 'eyJhbGciOiJIUzI1NiIsImtpZCI6InBvc3RncmVzdCIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZGEiLCJyb2xlIjoiYXBpX3VzZXIiLCJleHAiOjQxMDI0NDQ4MDB9.gN10JDmQkCq-zmB_wv0LhxufU-A644etH1_0NmH30fo'
\c - authenticator
BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY;
SELECT set_config('search_path', 'api', true), set_config('role', 'api_user', true),
       set_config('request.jwt.claims', '{"sub":"ada","role":"api_user","exp":4102444800}', true),
       set_config('request.headers', json_build_object('authorization', 'Bearer ' || :'ada_token')::text, true) \g /dev/null
SELECT authz.current_user_id() AS before_pre_request;
SELECT api.authenticate();
SELECT authz.current_user_id() AS acting_as, json_agg(t.id ORDER BY t.id) AS body FROM api.todos AS t;
COMMIT;

\set forged 'eyJhbGciOiJIUzI1NiIsImtpZCI6InBvc3RncmVzdCIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJncmFjZSIsInJvbGUiOiJhcGlfdXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.gN10JDmQkCq-zmB_wv0LhxufU-A644etH1_0NmH30fo'
BEGIN;
SELECT set_config('role', 'api_user', true),
       set_config('request.headers', json_build_object('authorization', 'Bearer ' || :'forged')::text, true) \g /dev/null
SELECT api.authenticate();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

\c pg_authz_regress postgres
DROP DATABASE recipe_postgrest;
DROP ROLE authenticator, web_anon, api_user;
