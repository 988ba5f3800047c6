-- Conditional readonly fields (seed 002 get_readonly_fields): "published articles: only title
-- editable" and "lock title after 7 days" are one spec entry each. A conditional entry applies
-- to UPDATE, tested on the row before the change (an article being written is not locked).
CREATE SCHEMA articles;
CREATE TABLE articles.articles (
    id int PRIMARY KEY, title text NOT NULL, content text NOT NULL DEFAULT '', author text NOT NULL,
    status text NOT NULL DEFAULT 'draft', published_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO articles.articles (id, title, content, author, status, published_at, created_at) VALUES
  (1, 'Draft', 'words', 'awen', 'draft', NULL, now()),
  (2, 'Out', 'news', 'awen', 'published', now(), now()),
  (3, 'Old draft', 'old words', 'awen', 'draft', NULL, now() - interval '10 days'),
  (4, 'Almost a week', 'text', 'awen', 'draft', NULL, statement_timestamp() - interval '6 days 23 hours'),
  (5, 'Just over a week', 'text', 'awen', 'draft', NULL, statement_timestamp() - interval '7 days 1 hour');
GRANT USAGE ON SCHEMA articles TO regress_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON articles.articles TO regress_app;

SELECT authz.register_model('articles.Article', 'articles.articles') > 0 AS registered;
INSERT INTO authz.permissions (content_type_id, codename, name)
SELECT id, 'publish_article', 'Can publish articles' FROM authz.content_types
 WHERE app_label = 'articles' AND model = 'article';
INSERT INTO authz.users (id, is_staff, is_superuser) VALUES ('awen', true, false), ('pub', true, false), ('aboss', true, true);
INSERT INTO authz.groups (name) VALUES ('Article writers');
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE g.name = 'Article writers' AND ct.app_label = 'articles' AND p.codename IN ('view_article', 'add_article', 'change_article');
INSERT INTO authz.user_groups (user_id, group_id)
SELECT u, g.id FROM (VALUES ('awen'), ('pub')) v(u), authz.groups g WHERE g.name = 'Article writers';
INSERT INTO authz.user_permissions (user_id, permission_id)
SELECT 'pub', p.id FROM authz.permissions p WHERE p.codename = 'publish_article';

-- Only publishers set published_at (as before); once published, content and author are
-- read-only for everyone but superusers; the title is read-only 7 days after created_at, which
-- is itself read-only (Django's auto_now_add), or moving it forward would reopen the title.
SELECT authz.protect('articles.articles', $${"model": "articles.Article", "readonly": [
    {"columns": ["published_at"], "unless": ["articles.publish_article"]},
    {"columns": ["content", "author"], "when": "status = 'published'"},
    {"columns": ["title"], "after": {"column": "created_at", "days": 7}},
    {"columns": ["created_at"]}]}$$, dry_run => true);
SELECT authz.protect('articles.articles', $${"model": "articles.Article", "readonly": [
    {"columns": ["published_at"], "unless": ["articles.publish_article"]},
    {"columns": ["content", "author"], "when": "status = 'published'"},
    {"columns": ["title"], "after": {"column": "created_at", "days": 7}},
    {"columns": ["created_at"]}]}$$) IS NOT NULL AS protected;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'articles.articles'::regclass AND NOT tgisinternal ORDER BY 1;

-- Published: only the title is editable.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('awen') \g /dev/null
UPDATE articles.articles SET title = 'Out now' WHERE id = 2 RETURNING id, title;
UPDATE articles.articles SET content = 'more words' WHERE id = 1 RETURNING id, content;
SAVEPOINT s;
UPDATE articles.articles SET content = 'rewritten' WHERE id = 2;
ROLLBACK TO s;
UPDATE articles.articles SET author = 'fay' WHERE id = 2;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- Unpublishing is a change of status, which stays allowed; the content is then editable
-- again in the next statement (the condition reads the stored row).
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('awen') \g /dev/null
UPDATE articles.articles SET status = 'draft' WHERE id = 2 RETURNING id, status;
UPDATE articles.articles SET content = 'rewritten' WHERE id = 2 RETURNING id, content;
ROLLBACK;
-- Inserting a published article is not editing one: content and author are given.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('awen') \g /dev/null
INSERT INTO articles.articles (id, title, content, author, status) VALUES (9, 'New', 'fresh', 'awen', 'published') RETURNING id;
ROLLBACK;

-- The title locks 7 days after created_at: article 4 (6 days 23 hours) is open, 5 (7 days 1
-- hour) and 3 are locked; their other columns stay editable.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('awen') \g /dev/null
UPDATE articles.articles SET title = title || '!' WHERE id IN (1, 4) RETURNING id;
SAVEPOINT s;
UPDATE articles.articles SET title = 'Renamed' WHERE id = 5;
ROLLBACK TO s;
UPDATE articles.articles SET title = 'Renamed' WHERE id = 3;
ROLLBACK TO s;
UPDATE articles.articles SET content = 'edited' WHERE id IN (3, 5) RETURNING id;
UPDATE articles.articles SET created_at = now() WHERE id = 3;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- Ages are measured in UTC from statement_timestamp(): no TimeZone moves the deadline.
BEGIN;
SET LOCAL ROLE regress_app;
SET LOCAL TimeZone = 'Pacific/Kiritimati';
SELECT authz.set_user('awen') \g /dev/null
UPDATE articles.articles SET title = title WHERE id = 4 RETURNING id;
UPDATE articles.articles SET title = 'x' WHERE id = 5;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SET LOCAL TimeZone = 'Pacific/Pago_Pago';
SELECT authz.set_user('awen') \g /dev/null
UPDATE articles.articles SET title = title WHERE id = 4 RETURNING id;
UPDATE articles.articles SET title = 'x' WHERE id = 5;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- Superusers change everything; unless-holders their columns only.
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('aboss') \g /dev/null
UPDATE articles.articles SET title = 'T', content = 'C', author = 'A' RETURNING id;
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('pub') \g /dev/null
UPDATE articles.articles SET published_at = now() WHERE id = 1 RETURNING id;
UPDATE articles.articles SET content = 'C' WHERE id = 2;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- The conditional triggers are generated like the others: only unprotect removes them.
SELECT tgname AS conditional_trigger FROM pg_trigger
 WHERE tgrelid = 'articles.articles'::regclass AND tgname LIKE 'authz\_readonly\_%\_content\_author' \gset
DROP TRIGGER :"conditional_trigger" ON articles.articles;
\echo :LAST_ERROR_SQLSTATE

-- Bad entries name the field and change nothing.
\set VERBOSITY terse
SELECT md5(script) AS script_before FROM authz.protected_relations WHERE relation = 'articles.articles'::regclass \gset
SELECT authz.protect('articles.articles', $${"model": "articles.Article", "readonly": [{"columns": ["title"], "when": "status IN (SELECT 'x')"}]}$$);
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('articles.articles', $${"model": "articles.Article", "readonly": [{"columns": ["title"], "when": "status = 'a'; DELETE FROM articles.articles"}]}$$);
SELECT authz.protect('articles.articles', $${"model": "articles.Article", "readonly": [{"columns": ["title"], "when": "state = 'published'"}]}$$);
SELECT authz.protect('articles.articles', $${"model": "articles.Article", "readonly": [{"columns": ["title"], "when": "clock_timestamp() > created_at"}]}$$);
SELECT authz.protect('articles.articles', $${"model": "articles.Article", "readonly": [{"columns": ["title"], "after": {"column": "title", "days": 7}}]}$$);
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('articles.articles', $${"model": "articles.Article", "readonly": [{"columns": ["title"], "after": {"column": "made", "days": 7}}]}$$);
\echo :LAST_ERROR_SQLSTATE
SELECT authz.protect('articles.articles', $${"model": "articles.Article", "readonly": [{"columns": ["title"], "after": {"column": "created_at", "days": 2000000}}]}$$);
SELECT authz.protect('articles.articles', $${"model": "articles.Article", "readonly": [{"columns": ["title"], "after": {"column": "created_at"}}]}$$);
SELECT md5(script) = :'script_before' AS unchanged FROM authz.protected_relations WHERE relation = 'articles.articles'::regclass;
\set VERBOSITY default

SELECT authz.unprotect('articles.articles');
SET client_min_messages = warning;
DROP SCHEMA articles CASCADE;
RESET client_min_messages;
