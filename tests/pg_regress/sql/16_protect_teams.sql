-- Scenario 4: team projects (seed 001): members see the project's tasks, members with
-- can_edit change them, only the owner deletes; django-guardian object grants on top.
CREATE SCHEMA pm;
CREATE TABLE pm.members (project_id int, user_id text, can_edit boolean NOT NULL DEFAULT false,
                         PRIMARY KEY (project_id, user_id));
CREATE TABLE pm.tasks (id int PRIMARY KEY, project_id int NOT NULL, owner_id text NOT NULL, title text);
INSERT INTO pm.members VALUES (1, 'pat', true), (1, 'viv', false), (2, 'viv', true);
INSERT INTO pm.tasks VALUES (1, 1, 'olga', 'Plan'), (2, 1, 'pat', 'Build'), (3, 2, 'olga', 'Ship'), (4, 3, 'olga', 'Secret');
GRANT USAGE ON SCHEMA pm TO regress_app;
GRANT SELECT, UPDATE, DELETE ON pm.tasks TO regress_app;
GRANT SELECT ON pm.members TO regress_app;

INSERT INTO authz.users (id, is_staff) VALUES ('olga', true), ('pat', true), ('viv', true), ('gus', true);
INSERT INTO authz.groups (name) VALUES ('Team');
SELECT authz.protect('pm.tasks', '{"model": "pm.Task",
    "owner": {"column": "owner_id"},
    "members": [{"column": "project_id", "table": "pm.members", "can_edit": "can_edit"}],
    "object_grants": true}') IS NOT NULL AS protected;
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE ct.app_label = 'pm' AND p.codename IN ('view_task', 'change_task', 'delete_task');
INSERT INTO authz.user_groups (user_id, group_id)
SELECT u, id FROM authz.groups, unnest(ARRAY['olga', 'pat', 'viv']) u WHERE name = 'Team';

BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('viv') \g /dev/null
SELECT id, title FROM pm.tasks ORDER BY id;
-- Viv edits in project 2 (can_edit) but not in project 1; she deletes nothing (not the owner).
UPDATE pm.tasks SET title = title || '!' RETURNING id;
DELETE FROM pm.tasks RETURNING id;
SELECT authz.set_user('pat') \g /dev/null
UPDATE pm.tasks SET title = title || '?' RETURNING id;
DELETE FROM pm.tasks RETURNING id;
SELECT authz.set_user('olga') \g /dev/null
DELETE FROM pm.tasks WHERE id = 4 RETURNING id;
ROLLBACK;

-- Gus is in no team and holds no model permission: an object grant on task 4 opens that
-- task alone, as django-guardian would; through a group it works too.
INSERT INTO authz.object_permissions (permission_id, user_id, object_pk)
SELECT id, 'gus', '4' FROM authz.permissions WHERE codename = 'view_task';
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('gus') \g /dev/null
SELECT id, title FROM pm.tasks ORDER BY id;
UPDATE pm.tasks SET title = 'changed' RETURNING id;
ROLLBACK;
SELECT authz.has_perm('gus', 'pm.view_task', '4') AS object_check, authz.has_perm('gus', 'pm.view_task') AS model_check;
UPDATE authz.users SET is_active = false WHERE id = 'gus';
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('gus') \g /dev/null
SELECT count(*) AS inactive_gus_sees FROM pm.tasks;
ROLLBACK;
