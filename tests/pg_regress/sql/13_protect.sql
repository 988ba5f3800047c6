-- Generated row-level security, scenario 1: a blog where authors edit their own posts and
-- editors see and edit all (seed 001). Policies bind every client, not just the admin.
CREATE SCHEMA blog;
CREATE TABLE blog.posts (id int PRIMARY KEY, author_id text NOT NULL, title text NOT NULL);
CREATE INDEX ON blog.posts (author_id);
INSERT INTO blog.posts VALUES (1, 'ann', 'Ann one'), (2, 'ann', 'Ann two'), (3, 'ben', 'Ben one');
GRANT USAGE ON SCHEMA blog TO regress_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON blog.posts TO regress_app;

SELECT authz.register_model('blog.Post', 'blog.posts') > 0 AS registered;
INSERT INTO authz.permissions (content_type_id, codename, name)
SELECT id, 'edit_all_posts', 'Can edit all posts' FROM authz.content_types WHERE app_label = 'blog' AND model = 'post';
INSERT INTO authz.users (id, is_staff) VALUES ('ann', true), ('ben', true), ('ed', true), ('reader', false);
INSERT INTO authz.groups (name) VALUES ('Blog authors'), ('Blog editors');
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE ct.app_label = 'blog'
   AND (g.name, p.codename) IN (('Blog authors', 'view_post'), ('Blog authors', 'add_post'), ('Blog authors', 'change_post'),
                                ('Blog authors', 'delete_post'), ('Blog editors', 'view_post'), ('Blog editors', 'change_post'),
                                ('Blog editors', 'edit_all_posts'));
INSERT INTO authz.user_groups (user_id, group_id)
SELECT u, g.id FROM (VALUES ('ann', 'Blog authors'), ('ben', 'Blog authors'), ('ed', 'Blog editors')) v(u, gname)
  JOIN authz.groups g ON g.name = v.gname;

-- See the SQL first, without running it.
SELECT authz.protect('blog.posts', '{"model": "blog.Post",
                                     "owner": {"column": "author_id", "edit_all": ["group:Blog editors"]}}',
                     dry_run => true);
SELECT relrowsecurity FROM pg_class WHERE oid = 'blog.posts'::regclass;

SELECT authz.protect('blog.posts', '{"model": "blog.Post",
                                     "owner": {"column": "author_id", "edit_all": ["group:Blog editors"]}}') IS NOT NULL AS protected;
SELECT relation, policy, command, kind FROM authz.policies ORDER BY policy;

-- Ann sees and edits her own posts only; Bob's post is invisible and untouchable for her.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('ann') \g /dev/null
SELECT id, title FROM blog.posts ORDER BY id;
UPDATE blog.posts SET title = title || ' (edited)' RETURNING id;
DELETE FROM blog.posts WHERE id = 3 RETURNING id;
-- Writing a post as somebody else is refused.
INSERT INTO blog.posts VALUES (4, 'ben', 'Forged');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- An editor sees and edits everything but cannot delete (no delete_post permission).
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('ed') \g /dev/null
SELECT id, title FROM blog.posts ORDER BY id;
UPDATE blog.posts SET title = upper(title) RETURNING id;
DELETE FROM blog.posts RETURNING id;
ROLLBACK;

-- A reader without permissions, an unknown user and nobody see nothing.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('reader') \g /dev/null
SELECT count(*) AS reader_sees FROM blog.posts;
SELECT authz.set_user('ghost') \g /dev/null
SELECT count(*) AS ghost_sees FROM blog.posts;
SELECT authz.set_user(NULL) \g /dev/null
SELECT count(*) AS nobody_sees FROM blog.posts;
ROLLBACK;

-- An active superuser sees and changes everything.
INSERT INTO authz.users (id, is_staff, is_superuser) VALUES ('chief', true, true);
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('chief') \g /dev/null
SELECT count(*) AS chief_sees FROM blog.posts;
ROLLBACK;

-- The same spec again changes nothing; a new spec replaces the policies.
SELECT oid AS select_policy_oid FROM pg_policy WHERE polname = 'authz_select' AND polrelid = 'blog.posts'::regclass \gset
SELECT authz.protect('blog.posts', '{"model": "blog.Post",
                                     "owner": {"column": "author_id", "edit_all": ["group:Blog editors"]}}') IS NOT NULL AS again;
SELECT oid = :select_policy_oid AS same_policies FROM pg_policy WHERE polname = 'authz_select' AND polrelid = 'blog.posts'::regclass;
-- The same spec repairs what was changed by hand since: RLS turned off, a policy dropped (by a
-- superuser skipping the tamper guard with session_replication_role = replica; see 30_tamper).
SET session_replication_role = replica;
ALTER TABLE blog.posts DISABLE ROW LEVEL SECURITY;
DROP POLICY authz_delete ON blog.posts;
RESET session_replication_role;
SELECT authz.protect('blog.posts', '{"model": "blog.Post",
                                     "owner": {"column": "author_id", "edit_all": ["group:Blog editors"]}}') IS NOT NULL AS repaired;
SELECT relrowsecurity, (SELECT count(*) FROM pg_policy WHERE polrelid = 'blog.posts'::regclass) AS policies
  FROM pg_class WHERE oid = 'blog.posts'::regclass;
SELECT authz.protect('blog.posts', '{"model": "blog.Post", "owner": {"column": "author_id", "see_all": ["group:Blog editors"]}}') IS NOT NULL AS replaced;
SELECT policy, command FROM authz.policies ORDER BY policy;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('ed') \g /dev/null
SELECT count(*) AS editor_sees FROM blog.posts;
UPDATE blog.posts SET title = 'x' RETURNING id;
ROLLBACK;

-- unprotect removes what protect made, and nothing else.
CREATE POLICY own_policy ON blog.posts AS RESTRICTIVE FOR SELECT TO regress_app USING (false);
SELECT authz.unprotect('blog.posts') AS removed, authz.unprotect('blog.posts') AS removed_again;
SELECT polname FROM pg_policy WHERE polrelid = 'blog.posts'::regclass;
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'blog.posts'::regclass;
SELECT count(*) AS still_listed FROM authz.protected_relations;
DROP POLICY own_policy ON blog.posts;

-- Names with quotes, spaces and capitals are quoted everywhere.
CREATE TABLE blog."Odd ""Notes""" ("Key" int PRIMARY KEY, "Owner Id" text);
INSERT INTO blog."Odd ""Notes""" VALUES (1, 'ann'), (2, 'ben');
GRANT SELECT ON blog."Odd ""Notes""" TO regress_app;
SELECT authz.protect('blog."Odd ""Notes"""', '{"model": "blog.Note", "owner": {"column": "Owner Id"}}') IS NOT NULL AS protected;
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p WHERE g.name = 'Blog authors' AND p.codename = 'view_note';
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('ben') \g /dev/null
SELECT * FROM blog."Odd ""Notes""";
ROLLBACK;
