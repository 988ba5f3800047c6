-- Generated from docs/pgbouncer.md (its sql code blocks, in order): edit the recipe, then run
-- PG_AUTHZ_WRITE_RECIPES=1 cargo test --manifest-path tests/integration/Cargo.toml --test recipes
SET client_min_messages = warning;
DROP DATABASE IF EXISTS recipe_pool;
DROP ROLE IF EXISTS pool_app;
RESET client_min_messages;

CREATE DATABASE recipe_pool;
\c recipe_pool
CREATE EXTENSION pg_authz;
CREATE SCHEMA pool;
CREATE TABLE pool.notes (id int PRIMARY KEY, owner_id text NOT NULL, body text NOT NULL);
CREATE INDEX ON pool.notes (owner_id);
INSERT INTO pool.notes VALUES (1, 'leo', 'leo 1'), (2, 'leo', 'leo 2'), (3, 'mia', 'mia 1');
SELECT authz.protect('pool.notes', '{"model": "pool.Note", "owner": {"column": "owner_id"}}') IS NOT NULL AS protected;
INSERT INTO authz.users (id) VALUES ('leo'), ('mia');
INSERT INTO authz.user_permissions (user_id, permission_id)
SELECT u.id, p.id FROM authz.users u, authz.permissions p WHERE p.codename = 'view_note';

CREATE ROLE pool_app LOGIN IN ROLE authz_authenticator;
GRANT USAGE ON SCHEMA pool TO pool_app;
GRANT SELECT ON pool.notes TO pool_app;

\c - pool_app
BEGIN;
SELECT authz.set_user('leo');
SELECT authz.current_user_id() AS acting_as, string_agg(body, ', ' ORDER BY id) AS notes FROM pool.notes;
COMMIT;
SELECT authz.current_user_id() AS between_transactions, count(*) AS notes_seen FROM pool.notes;
BEGIN;
SET LOCAL authz.user_id = 'mia';
SELECT authz.current_user_id() AS acting_as, string_agg(body, ', ' ORDER BY id) AS notes FROM pool.notes;
COMMIT;

SELECT authz.set_user('leo');
SELECT authz.current_user_id() AS acting_as, count(*) AS notes_seen FROM pool.notes;

SELECT authz.set_user('leo', is_local => false);
BEGIN;
SELECT authz.current_user_id() AS client_b_acts_as, string_agg(body, ', ' ORDER BY id) AS client_b_sees FROM pool.notes;
COMMIT;
DISCARD ALL;
SELECT authz.current_user_id() AS after_discard_all;

\c pg_authz_regress postgres
DROP DATABASE recipe_pool;
DROP ROLE pool_app;
