-- Randomized check: for many users and a few thousand rows, the rows visible and updatable
-- under the generated policies equal those an independent hand-written predicate selects.
SELECT setseed(0.42);
CREATE SCHEMA rnd;
CREATE TABLE rnd.tenants (user_id text, tenant_id int, PRIMARY KEY (user_id, tenant_id));
CREATE TABLE rnd.items (id int PRIMARY KEY, owner_id text NOT NULL, tenant_id int NOT NULL, status text NOT NULL);
INSERT INTO rnd.items
SELECT i, 'r' || (random() * 40)::int, (random() * 5)::int, (ARRAY['draft', 'live', 'locked'])[1 + (random() * 2)::int]
  FROM generate_series(1, 3000) i;
INSERT INTO authz.users (id, is_staff, is_active, is_superuser)
SELECT 'r' || i, true, random() > 0.1, random() > 0.95 FROM generate_series(0, 40) i;
INSERT INTO rnd.tenants SELECT DISTINCT 'r' || (random() * 40)::int, (random() * 5)::int FROM generate_series(1, 80);
GRANT USAGE ON SCHEMA rnd TO regress_app;
GRANT SELECT, UPDATE ON rnd.items TO regress_app;
GRANT SELECT ON rnd.tenants TO regress_app;

INSERT INTO authz.groups (name) VALUES ('Rnd viewers'), ('Rnd editors'), ('Rnd all');
SELECT authz.protect('rnd.items', '{"model": "rnd.Item",
    "owner": {"column": "owner_id", "see_all": ["group:Rnd all"]},
    "tenant": {"column": "tenant_id", "table": "rnd.tenants"},
    "status": {"column": "status", "locked": ["locked"]}}') IS NOT NULL AS protected;
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE ct.app_label = 'rnd'
   AND (g.name, p.codename) IN (('Rnd viewers', 'view_item'), ('Rnd editors', 'change_item'), ('Rnd all', 'view_item'));
INSERT INTO authz.user_groups (user_id, group_id)
SELECT DISTINCT 'r' || (random() * 40)::int, g.id FROM authz.groups g, generate_series(1, 12) WHERE g.name LIKE 'Rnd %';

-- The hand-written rules, straight from Django's semantics.
CREATE FUNCTION pg_temp.expected_visible(u text) RETURNS SETOF int LANGUAGE sql AS $$
  SELECT i.id FROM rnd.items i, authz.users usr
   WHERE usr.id = u AND usr.is_active
     AND (usr.is_superuser
          OR (EXISTS (SELECT 1 FROM rnd.tenants t WHERE t.user_id = u AND t.tenant_id = i.tenant_id)
              AND (EXISTS (SELECT 1 FROM authz.user_groups ug JOIN authz.groups g ON g.id = ug.group_id
                            WHERE ug.user_id = u AND g.name IN ('Rnd viewers', 'Rnd editors', 'Rnd all')))
              AND (i.owner_id = u OR EXISTS (SELECT 1 FROM authz.user_groups ug JOIN authz.groups g ON g.id = ug.group_id
                                               WHERE ug.user_id = u AND g.name = 'Rnd all')))) $$;
CREATE FUNCTION pg_temp.expected_updatable(u text) RETURNS SETOF int LANGUAGE sql AS $$
  SELECT i.id FROM rnd.items i, authz.users usr
   WHERE usr.id = u AND usr.is_active
     AND (usr.is_superuser
          OR (EXISTS (SELECT 1 FROM rnd.tenants t WHERE t.user_id = u AND t.tenant_id = i.tenant_id)
              AND EXISTS (SELECT 1 FROM authz.user_groups ug JOIN authz.groups g ON g.id = ug.group_id
                           WHERE ug.user_id = u AND g.name = 'Rnd editors')
              AND i.owner_id = u AND i.status <> 'locked')) $$;

CREATE TABLE rnd.seen (user_id text, visible int[], updatable int[]);
-- Per user: the rows SELECT returns, and the rows an UPDATE reaches (undone at once).
DO $$
DECLARE u text; seen int[]; changed int[];
BEGIN
    FOR u IN SELECT 'r' || i FROM generate_series(0, 40) i LOOP
        BEGIN
            SET LOCAL ROLE regress_app;
            PERFORM authz.set_user(u);
            SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO seen FROM rnd.items;
            WITH touched AS (UPDATE rnd.items SET status = status RETURNING id)
            SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO changed FROM touched;
            RAISE EXCEPTION 'undo';
        EXCEPTION WHEN raise_exception THEN
            INSERT INTO rnd.seen VALUES (u, seen, changed);
        END;
    END LOOP;
END $$;

SELECT count(*) AS users,
       count(*) FILTER (WHERE s.visible = ARRAY(SELECT pg_temp.expected_visible(s.user_id) ORDER BY 1)) AS visible_match,
       count(*) FILTER (WHERE s.updatable = ARRAY(SELECT pg_temp.expected_updatable(s.user_id) ORDER BY 1)) AS updatable_match,
       sum(cardinality(s.visible)) AS rows_visible, sum(cardinality(s.updatable)) AS rows_updatable
  FROM rnd.seen s;

-- The same check for conditions, conditional readonly columns and hidden columns (issue #17):
-- per user, the rows an UPDATE reaches, the rows whose note it may change, and what the view of
-- hidden columns shows, against hand-written predicates.
INSERT INTO authz.groups (name) VALUES ('Rnd big');
INSERT INTO authz.user_groups (user_id, group_id)
SELECT DISTINCT 'r' || (random() * 40)::int, g.id FROM authz.groups g, generate_series(1, 12) WHERE g.name = 'Rnd big';
GRANT USAGE, CREATE ON SCHEMA rnd TO regress_admin;
SET ROLE regress_admin;
CREATE TABLE rnd.orders (id int PRIMARY KEY, amount int NOT NULL, locked boolean NOT NULL, status text NOT NULL,
                         note text NOT NULL DEFAULT '', secret text);
INSERT INTO rnd.orders
SELECT i, (random() * 10000)::int, random() < 0.2, (ARRAY['draft', 'live'])[1 + (random() < 0.5)::int], '', 's' || i
  FROM generate_series(1, 200) i;
RESET ROLE;
SELECT authz.protect('rnd.orders', $${"model": "rnd.Order",
    "conditions": [{"when": "locked", "requires": ["superuser"]},
                   {"when": "amount > 5000", "requires": ["group:Rnd big"]}],
    "readonly": [{"columns": ["note"], "when": "status = 'live'", "unless": ["group:Rnd all"]}],
    "hidden": [{"columns": ["secret"], "unless": ["group:Rnd all"]}]}$$) IS NOT NULL AS protected;
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE ct.app_label = 'rnd' AND p.codename IN ('view_order', 'change_order')
   AND (g.name, p.codename) IN (('Rnd viewers', 'view_order'), ('Rnd editors', 'change_order'), ('Rnd all', 'view_order'));
GRANT SELECT, UPDATE ON rnd.orders_visible TO regress_app;
GRANT SELECT (id, amount, locked, status, note), UPDATE ON rnd.orders TO regress_app;

CREATE FUNCTION pg_temp.in_group(u text, g text) RETURNS boolean LANGUAGE sql AS $$
  SELECT EXISTS (SELECT 1 FROM authz.users usr JOIN authz.user_groups ug ON ug.user_id = usr.id
                   JOIN authz.groups gr ON gr.id = ug.group_id WHERE usr.id = u AND usr.is_active AND gr.name = g) $$;
CREATE FUNCTION pg_temp.super(u text) RETURNS boolean LANGUAGE sql AS $$
  SELECT EXISTS (SELECT 1 FROM authz.users usr WHERE usr.id = u AND usr.is_active AND usr.is_superuser) $$;
CREATE FUNCTION pg_temp.expected_changed(u text) RETURNS SETOF int LANGUAGE sql AS $$
  SELECT o.id FROM rnd.orders o
   WHERE pg_temp.super(u)
      OR (pg_temp.in_group(u, 'Rnd editors') AND NOT o.locked AND (o.amount <= 5000 OR pg_temp.in_group(u, 'Rnd big'))) $$;
CREATE FUNCTION pg_temp.expected_note(u text) RETURNS SETOF int LANGUAGE sql AS $$
  SELECT id FROM pg_temp.expected_changed(u) AS c(id)
   WHERE pg_temp.super(u) OR pg_temp.in_group(u, 'Rnd all')
      OR (SELECT status FROM rnd.orders o WHERE o.id = c.id) <> 'live' $$;
CREATE FUNCTION pg_temp.expected_secrets(u text) RETURNS text[] LANGUAGE sql AS $$
  SELECT coalesce(array_agg(CASE WHEN pg_temp.super(u) OR pg_temp.in_group(u, 'Rnd all') THEN o.secret END ORDER BY o.id), '{}')
    FROM rnd.orders o
   WHERE pg_temp.super(u) OR pg_temp.in_group(u, 'Rnd viewers') OR pg_temp.in_group(u, 'Rnd editors')
      OR pg_temp.in_group(u, 'Rnd all') $$;

CREATE TABLE rnd.seen_orders (user_id text, changed int[], note_ok int[], secrets text[]);
DO $$
DECLARE u text; changed int[]; note_ok int[] := '{}'; secrets text[]; r int;
BEGIN
    FOR u IN SELECT 'r' || i FROM generate_series(0, 40) i LOOP
        note_ok := '{}';
        BEGIN
            SET LOCAL ROLE regress_app;
            PERFORM authz.set_user(u);
            SELECT coalesce(array_agg(secret ORDER BY id), '{}') INTO secrets FROM rnd.orders_visible;
            WITH touched AS (UPDATE rnd.orders SET amount = amount RETURNING id)
            SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO changed FROM touched;
            FOREACH r IN ARRAY changed LOOP
                BEGIN
                    UPDATE rnd.orders SET note = 'n' WHERE id = r;
                    note_ok := note_ok || r;
                EXCEPTION WHEN insufficient_privilege THEN NULL;
                END;
            END LOOP;
            RAISE EXCEPTION 'undo';
        EXCEPTION WHEN raise_exception THEN
            INSERT INTO rnd.seen_orders VALUES (u, changed, note_ok, secrets);
        END;
    END LOOP;
END $$;
SELECT count(*) AS users,
       count(*) FILTER (WHERE s.changed = ARRAY(SELECT pg_temp.expected_changed(s.user_id) ORDER BY 1)) AS changed_match,
       count(*) FILTER (WHERE s.note_ok = ARRAY(SELECT pg_temp.expected_note(s.user_id) ORDER BY 1)) AS note_match,
       count(*) FILTER (WHERE s.secrets = pg_temp.expected_secrets(s.user_id)) AS hidden_match,
       sum(cardinality(s.changed)) AS rows_changed, sum(cardinality(s.note_ok)) AS notes_changed,
       sum(cardinality(array_remove(s.secrets, NULL))) AS secrets_shown
  FROM rnd.seen_orders s;
