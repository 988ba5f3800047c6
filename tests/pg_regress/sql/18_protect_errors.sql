-- Bad specs name the problem (22023, or 42703 for a missing column) and change nothing.
CREATE TABLE blog.plain (id int PRIMARY KEY, owner text, made date, stamp int);
CREATE TABLE blog.nokey (owner text);
CREATE VIEW blog.v AS SELECT 1 AS id;

SELECT authz.protect('blog.plain', '{"model": "blog.Plain", "owner": {"column": "nobody"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('blog.plain', '{"model": "blog.Plain", "owner": {"column": "made"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('blog.plain', '{"model": "blog.Plain", "owner": {"column": "owner", "see_all": ["blog.no_such_perm"]}}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('blog.plain', '{"model": "blog.Plain", "owner": {"column": "owner", "see_all": ["group:Nobody"]}}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('blog.plain', '{"model": "blog.Plain", "ownr": {"column": "owner"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('blog.plain', '{"owner": {"column": "owner"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('blog.plain', '{"model": "Plain"}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('blog.plain', '{"model": "blog.Plain", "max_age": {"column": "stamp", "days": 3}}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('blog.plain', '{"model": "blog.Plain", "members": [{"column": "id", "table": "blog.no_table"}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('blog.plain', '{"model": "blog.Plain", "readonly": [{"columns": ["nope"]}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('blog.plain', '{"model": "blog.Plain", "status": {"column": "owner", "editors_only": ["x"]}}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('blog.nokey', '{"model": "blog.Nokey", "object_grants": true}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('blog.v', '{"model": "blog.V"}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect(NULL, '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('blog.plain', NULL);
\echo :LAST_ERROR_SQLSTATE
-- A model is bound to one table: protecting another table as blog.Post is refused.
SELECT authz.protect('blog.plain', '{"model": "blog.Post"}');
\echo :LAST_ERROR_SQLSTATE
-- Partitioned tables are refused: direct access to a partition would escape the policies.
CREATE TABLE blog.parted (id int PRIMARY KEY) PARTITION BY RANGE (id);
SELECT authz.protect('blog.parted', '{"model": "blog.Parted"}');
\echo :LAST_ERROR_SQLSTATE

-- Nothing changed: no policy, RLS still off, nothing recorded, no model registered.
SELECT count(*) AS policies FROM pg_policy WHERE polrelid IN ('blog.plain'::regclass, 'blog.nokey'::regclass);
SELECT relrowsecurity FROM pg_class WHERE oid = 'blog.plain'::regclass;
SELECT count(*) AS recorded FROM authz.protected_relations WHERE relation = 'blog.plain'::regclass;
SELECT count(*) AS registered FROM authz.content_types WHERE model IN ('plain', 'nokey');

-- Only the table's owner may protect it.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.protect('blog.posts', '{"model": "blog.Post"}');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
