-- Scenario 3: departments (seed 002). HR sees every employee, managers see and edit their
-- department, everyone else sees only their own row.
CREATE SCHEMA hr;
CREATE TABLE hr.managers (user_id text, department_id int, PRIMARY KEY (user_id, department_id));
CREATE TABLE hr.employees (id int PRIMARY KEY, user_id text, department_id int, salary int);
INSERT INTO hr.managers VALUES ('mia', 10);
INSERT INTO hr.employees VALUES (1, 'mia', 10, 100), (2, 'stan', 10, 50), (3, 'zoe', 20, 60), (4, 'hal', 30, 70);
GRANT USAGE ON SCHEMA hr TO regress_app;
GRANT SELECT, UPDATE ON hr.employees TO regress_app;
GRANT SELECT ON hr.managers TO regress_app;

INSERT INTO authz.users (id, is_staff) VALUES ('mia', true), ('stan', true), ('zoe', true), ('hal', true);
INSERT INTO authz.groups (name) VALUES ('HR'), ('Employees');
SELECT authz.protect('hr.employees', '{"model": "hr.Employee",
    "owner": {"column": "user_id", "edit": false, "edit_all": ["group:HR"]},
    "members": [{"column": "department_id", "table": "hr.managers"}]}') IS NOT NULL AS protected;
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE ct.app_label = 'hr' AND p.codename IN ('view_employee', 'change_employee');
INSERT INTO authz.user_groups (user_id, group_id) SELECT 'hal', id FROM authz.groups WHERE name = 'HR';
INSERT INTO authz.user_groups (user_id, group_id)
SELECT u, id FROM authz.groups, unnest(ARRAY['mia', 'stan', 'zoe']) u WHERE name = 'Employees';

BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('mia') \g /dev/null
SELECT id, user_id FROM hr.employees ORDER BY id;
UPDATE hr.employees SET salary = salary + 1 RETURNING id;
SELECT authz.set_user('stan') \g /dev/null
SELECT id, user_id FROM hr.employees ORDER BY id;
UPDATE hr.employees SET salary = salary * 2 RETURNING id;
SELECT authz.set_user('hal') \g /dev/null
SELECT count(*) AS hr_sees FROM hr.employees;
WITH changed AS (UPDATE hr.employees SET salary = salary RETURNING id) SELECT count(*) AS hr_updates FROM changed;
ROLLBACK;
