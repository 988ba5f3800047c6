-- Scenario 2: multi-tenant stores (seed 002). The tenant rule is RESTRICTIVE: no other rule
-- widens it, a user may belong to several stores, and no write moves a row to a foreign store.
CREATE SCHEMA saas;
CREATE TABLE saas.store_staff (user_id text, store_id int, PRIMARY KEY (user_id, store_id));
CREATE TABLE saas.orders (id int PRIMARY KEY, store_id int NOT NULL, total int NOT NULL);
CREATE INDEX ON saas.orders (store_id);
INSERT INTO saas.store_staff VALUES ('sue', 1), ('sue', 2), ('tom', 3);
INSERT INTO saas.orders SELECT i, 1 + i % 3, i * 10 FROM generate_series(1, 9) i;
GRANT USAGE ON SCHEMA saas TO regress_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON saas.orders TO regress_app;
GRANT SELECT ON saas.store_staff TO regress_app;

INSERT INTO authz.users (id, is_staff) VALUES ('sue', true), ('tom', true);
INSERT INTO authz.groups (name) VALUES ('Store staff');
SELECT authz.protect('saas.orders', '{"model": "saas.Order",
    "tenant": {"column": "store_id", "table": "saas.store_staff"}}') IS NOT NULL AS protected;
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE g.name = 'Store staff' AND ct.app_label = 'saas' AND ct.model = 'order';
INSERT INTO authz.user_groups (user_id, group_id) SELECT u, id FROM authz.groups, unnest(ARRAY['sue', 'tom']) u WHERE name = 'Store staff';
SELECT policy, command, kind FROM authz.policies WHERE relation = 'saas.orders'::regclass ORDER BY policy;

BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('sue') \g /dev/null
SELECT store_id, count(*) FROM saas.orders GROUP BY store_id ORDER BY store_id;
-- Moving an order into a store Sue does not work for is refused, and so is creating one there.
UPDATE saas.orders SET store_id = 3 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('sue') \g /dev/null
INSERT INTO saas.orders VALUES (100, 3, 1);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('sue') \g /dev/null
INSERT INTO saas.orders VALUES (100, 2, 1) RETURNING id;
UPDATE saas.orders SET store_id = 2 WHERE id = 1 RETURNING id, store_id;
SELECT authz.set_user('tom') \g /dev/null
SELECT store_id, count(*) FROM saas.orders GROUP BY store_id ORDER BY store_id;
ROLLBACK;

-- Even a permission that sees everything in another rule cannot widen a tenant: a second
-- protect with an owner rule whose see_all Tom holds still keeps him in store 3.
SELECT authz.protect('saas.orders', '{"model": "saas.Order",
    "tenant": {"column": "store_id", "table": "saas.store_staff"},
    "owner": {"column": "total", "see_all": ["group:Store staff"]}}') IS NOT NULL AS protected;
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('tom') \g /dev/null
SELECT DISTINCT store_id FROM saas.orders;
ROLLBACK;

-- uuid tenant keys work too (bounded by the whole key range, as PostgreSQL has no min(uuid)).
CREATE TABLE saas.org_staff (user_id text, org_id uuid, PRIMARY KEY (user_id, org_id));
CREATE TABLE saas.invoices (id int PRIMARY KEY, org_id uuid NOT NULL);
INSERT INTO saas.org_staff VALUES ('sue', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
INSERT INTO saas.invoices VALUES (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), (2, 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12');
GRANT SELECT ON saas.invoices, saas.org_staff TO regress_app;
SELECT authz.protect('saas.invoices', '{"model": "saas.Invoice",
    "tenant": {"column": "org_id", "table": "saas.org_staff"}}') IS NOT NULL AS protected;
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p WHERE g.name = 'Store staff' AND p.codename = 'view_invoice';
BEGIN;
SET LOCAL ROLE regress_app;
SELECT authz.set_user('sue') \g /dev/null
SELECT id FROM saas.invoices;
ROLLBACK;
