-- has_perm and friends follow Django's ModelBackend: active superusers hold everything,
-- inactive and unknown users nothing, everyone else direct grants ∪ group grants.

-- register_model creates the content type and Django's four default permissions.
SELECT authz.register_model('shop.Order') > 0 AS registered;
SELECT authz.register_model('shop.Product') > 0 AS registered;
SELECT authz.register_model('blog.Post') > 0 AS registered;
SELECT ct.app_label, ct.model, p.codename, p.name
  FROM authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 ORDER BY 1, 2, 3;

-- Idempotent: registering again creates nothing and returns the same id.
SELECT authz.register_model('shop.Order') = authz.register_model('shop.Order') AS same_id,
       (SELECT count(*) FROM authz.permissions) AS permissions;

INSERT INTO authz.users (id, is_active, is_staff, is_superuser) VALUES
  ('alice', true,  true,  false),   -- in group Editors
  ('bob',   true,  true,  false),   -- direct grant only
  ('root',  true,  true,  true),    -- active superuser
  ('carol', false, true,  true),    -- inactive superuser
  ('dave',  false, true,  false),   -- inactive, with grants
  ('eve',   true,  false, false),   -- active, nothing granted
  ('42',    true,  false, false),   -- an integer id
  ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', true, false, false);  -- a uuid id
INSERT INTO authz.groups (name) VALUES ('Editors'), ('Viewers');

-- Grants by name, the way an admin ticks boxes.
CREATE FUNCTION pg_temp.perm_id(perm text) RETURNS bigint LANGUAGE sql AS $$
  SELECT p.id FROM authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
   WHERE ct.app_label || '.' || p.codename = perm $$;
CREATE FUNCTION pg_temp.group_id(group_name text) RETURNS bigint LANGUAGE sql AS $$
  SELECT id FROM authz.groups WHERE name = group_name $$;
INSERT INTO authz.group_permissions (group_id, permission_id) VALUES
  (pg_temp.group_id('Editors'), pg_temp.perm_id('shop.change_order')),
  (pg_temp.group_id('Editors'), pg_temp.perm_id('blog.view_post')),
  (pg_temp.group_id('Viewers'), pg_temp.perm_id('shop.view_order'));
INSERT INTO authz.user_groups (user_id, group_id) VALUES
  ('alice', pg_temp.group_id('Editors')),
  ('dave',  pg_temp.group_id('Editors')),
  ('42',    pg_temp.group_id('Viewers')),
  ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', pg_temp.group_id('Viewers'));
INSERT INTO authz.user_permissions (user_id, permission_id) VALUES
  ('bob',  pg_temp.perm_id('shop.add_order')),
  ('dave', pg_temp.perm_id('shop.add_order'));

-- The matrix: who holds what.
SELECT u.id AS user_id,
       authz.has_perm(u.id, 'shop.change_order') AS change_order,
       authz.has_perm(u.id, 'shop.add_order')    AS add_order,
       authz.has_perm(u.id, 'shop.view_order')   AS view_order,
       authz.has_perm(u.id, 'blog.view_post')    AS view_post,
       authz.has_perm(u.id, 'made.up_permission') AS not_in_catalog
  FROM authz.users u ORDER BY u.id;

-- Integer ids are text too: the app passes its own id.
SELECT authz.has_perm(42::text, 'shop.view_order') AS integer_id,
       authz.has_perm('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid::text, 'shop.view_order') AS uuid_id;

-- Exact matching of app_label.codename: the same codename on another app is another permission.
SELECT authz.has_perm('alice', 'shop.change_order') AS exact,
       authz.has_perm('alice', 'blog.change_order') AS other_app,
       authz.has_perm('alice', 'SHOP.change_order') AS case_matters,
       authz.has_perm('alice', 'shop.change_order ') AS trailing_space;

-- NULL, unknown and malformed input is never granted and never an error.
SELECT authz.has_perm(NULL, 'shop.view_order')  AS null_user,
       authz.has_perm('alice', NULL)            AS null_perm,
       authz.has_perm('nobody', 'shop.view_order') AS unknown_user,
       authz.has_perm('alice', 'nodot')         AS no_dot,
       authz.has_perm('root', 'nodot')          AS superuser_no_dot,
       authz.has_perm('alice', '')              AS empty,
       authz.has_perm('alice', '.change_order') AS no_app,
       authz.has_perm('alice', 'shop.')         AS no_codename;

-- has_perms: all of them; an empty list holds (Django's all([])).
SELECT authz.has_perms('alice', ARRAY['shop.change_order', 'blog.view_post']) AS both,
       authz.has_perms('alice', ARRAY['shop.change_order', 'shop.add_order']) AS one_missing,
       authz.has_perms('alice', ARRAY[]::text[])  AS empty_list,
       authz.has_perms('alice', ARRAY['shop.change_order', NULL]) AS null_element,
       authz.has_perms('alice', NULL)              AS null_list,
       authz.has_perms(NULL, ARRAY[]::text[])      AS null_user,
       authz.has_perms('root', ARRAY['x.y', 'shop.add_order']) AS superuser,
       authz.has_perms('carol', ARRAY['shop.add_order']) AS inactive_superuser;

-- has_module_perms: any permission of the app label.
SELECT u.id AS user_id,
       authz.has_module_perms(u.id, 'shop') AS shop,
       authz.has_module_perms(u.id, 'blog') AS blog,
       authz.has_module_perms(u.id, 'crm')  AS crm
  FROM authz.users u ORDER BY u.id;
SELECT authz.has_module_perms(NULL, 'shop') AS null_user, authz.has_module_perms('alice', NULL) AS null_app;

-- get_all_permissions = direct ∪ groups, sorted; everything for an active superuser; nothing
-- for inactive users; get_user_permissions / get_group_permissions split it by source.
SELECT authz.get_all_permissions('alice');
SELECT authz.get_all_permissions('bob');
SELECT count(*) AS root_all, (SELECT count(*) FROM authz.permissions) AS catalog
  FROM authz.get_all_permissions('root');
SELECT count(*) AS inactive_all FROM authz.get_all_permissions('dave');
SELECT count(*) AS unknown_all FROM authz.get_all_permissions('nobody');
SELECT count(*) AS null_all FROM authz.get_all_permissions(NULL);
SELECT authz.get_user_permissions('bob') AS bob_direct;
SELECT count(*) AS bob_through_groups FROM authz.get_group_permissions('bob');
SELECT authz.get_group_permissions('alice') AS alice_through_groups;
SELECT count(*) AS alice_direct FROM authz.get_user_permissions('alice');
SELECT count(*) AS root_direct FROM authz.get_user_permissions('root');

-- A permission held both directly and through a group is listed once.
INSERT INTO authz.user_permissions (user_id, permission_id) VALUES ('alice', pg_temp.perm_id('shop.change_order'));
SELECT authz.get_all_permissions('alice');

-- explain names what decided.
SELECT authz.explain('alice', 'shop.change_order');
SELECT authz.explain('alice', 'blog.view_post');
SELECT authz.explain('bob', 'shop.add_order');
SELECT authz.explain('eve', 'shop.add_order');
SELECT authz.explain('eve', 'made.up');
SELECT authz.explain('root', 'made.up');
SELECT authz.explain('carol', 'shop.add_order');
SELECT authz.explain('nobody', 'shop.add_order');
SELECT authz.explain(NULL, 'shop.add_order');
SELECT authz.explain('alice', 'nodot');

-- explain and has_perm never disagree.
SELECT count(*) AS disagreements
  FROM authz.users u
 CROSS JOIN (VALUES ('shop.change_order'), ('shop.add_order'), ('blog.view_post'), ('x.y'), ('bad')) v(perm)
 WHERE (authz.explain(u.id, v.perm)->>'allowed')::boolean IS DISTINCT FROM authz.has_perm(u.id, v.perm);
