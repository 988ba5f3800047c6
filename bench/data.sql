-- pg_authz benchmark data set (bench/run loads it into a fresh database pg_authz_bench).
--
-- psql variables set by bench/run (scaled with BENCH_SCALE):
--   nusers  users (10 000 at scale 1)          ndocs  rows of bench.documents (1 000 000)
--   nupd    rows of each UPDATE-metric table (100 000)
-- Fixed whatever the scale: 200 groups, 500 models x 4 default permissions = 2 000 permissions,
-- 100 tenants. Everything random is seeded, so two runs at the same scale load the same data.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE EXTENSION pg_authz;
CREATE SCHEMA bench;

-- ---------------------------------------------------------------------------------------------
-- Catalogs: 500 models registered the way an application would (authz.register_model), each
-- with add_/change_/delete_/view_ permissions. 499 are spread over 25 apps; the 500th is the
-- benchmark table itself, bench.Document (permissions bench.view_document, ...).
-- ---------------------------------------------------------------------------------------------
CREATE TABLE bench.documents (
    id         bigint PRIMARY KEY,
    owner_id   text NOT NULL,
    tenant_id  int NOT NULL,
    status     text NOT NULL,
    updated_at timestamptz NOT NULL,
    payload    text NOT NULL
);

SELECT count(authz.register_model(format('app%s.Model%s', lpad((m % 25 + 1)::text, 2, '0'),
                                         lpad(m::text, 3, '0'))))
  FROM generate_series(1, 499) m;
SELECT authz.register_model('bench.Document', 'bench.documents');

INSERT INTO authz.groups (name)
SELECT format('group_%s', lpad(g::text, 3, '0')) FROM generate_series(1, 200) g;

-- Each group holds 10-50 permissions, drawn mostly from "its" app (admins of one area) plus a
-- few from anywhere.
SELECT setseed(0.42);
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT DISTINCT g.id, p.id
  FROM authz.groups g
 CROSS JOIN LATERAL (SELECT 10 + floor(random() * 41)::int + 0 * g.id AS n) k
 CROSS JOIN LATERAL (
       SELECT p.id FROM authz.permissions p
        ORDER BY (p.id % 25 = g.id % 25) DESC, random() + 0 * g.id
        LIMIT k.n) p;
-- Documents are everybody's work: every group may view, add and change documents (the
-- generated policies of authz.protect, like Django's admin, require the model's permission
-- before the owner rule applies); group_001 and group_002 may also delete them.
INSERT INTO authz.group_permissions (group_id, permission_id)
SELECT g.id, p.id
  FROM authz.groups g, authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE ct.app_label = 'bench'
   AND (p.codename IN ('view_document', 'add_document', 'change_document')
        OR g.name IN ('group_001', 'group_002'))
ON CONFLICT DO NOTHING;

-- Users '1'..'nusers' (integer ids as text, as a Django app has them): ~1% superusers,
-- ~2% inactive, ~30% staff.
INSERT INTO authz.users (id, is_active, is_staff, is_superuser)
SELECT u::text, u % 50 <> 7, u % 10 < 3, u % 100 = 0
  FROM generate_series(1, :nusers) u;

-- Each user is in 1-3 groups.
INSERT INTO authz.user_groups (user_id, group_id)
SELECT DISTINCT u.id, 1 + floor(random() * 200)::bigint
  FROM authz.users u
 CROSS JOIN LATERAL generate_series(1, 1 + (hashtext(u.id) & 2147483647) % 3 + 0 * length(u.id)) k;

-- ~5% of users have 1-3 direct grants.
INSERT INTO authz.user_permissions (user_id, permission_id)
SELECT DISTINCT u.id, 1 + floor(random() * 2000)::bigint
  FROM authz.users u
 CROSS JOIN LATERAL generate_series(1, 1 + (hashtext(u.id) & 2147483647) % 3 + 0 * length(u.id)) k
 WHERE (u.id::int) % 20 = 3;

-- ---------------------------------------------------------------------------------------------
-- The 1 000 000-row table: document d is owned by user ((d - 1) % nusers) + 1 (so each user owns
-- ndocs / nusers documents: d = u, u + nusers, u + 2 nusers, ...) and user u belongs to tenant
-- ((u - 1) % 100) + 1 (each tenant holds 1% of the rows).
-- ---------------------------------------------------------------------------------------------
INSERT INTO bench.documents (id, owner_id, tenant_id, status, updated_at, payload)
SELECT d,
       ((d - 1) % :nusers + 1)::text,
       ((d - 1) % :nusers) % 100 + 1,
       (ARRAY['draft', 'review', 'published', 'archived'])[1 + d % 4],
       timestamptz '2024-01-01' + make_interval(secs => d * 17),
       repeat(md5(d::text), 3)
  FROM generate_series(1, :ndocs) d;
CREATE INDEX documents_owner_id_idx ON bench.documents (owner_id);
CREATE INDEX documents_tenant_id_idx ON bench.documents (tenant_id);

CREATE TABLE bench.user_tenants (user_id text PRIMARY KEY, tenant_id int NOT NULL);
INSERT INTO bench.user_tenants SELECT id, (id::int - 1) % 100 + 1 FROM authz.users;

-- ---------------------------------------------------------------------------------------------
-- Metric 5: three identical nupd-row tables, one per variant (bare, pg_authz audit, classic
-- row-level trigger), and the classic trigger's log table.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE bench.upd_bare (LIKE bench.documents INCLUDING ALL);
INSERT INTO bench.upd_bare SELECT * FROM bench.documents WHERE id <= :nupd;
CREATE TABLE bench.upd_authz (LIKE bench.documents INCLUDING ALL);
INSERT INTO bench.upd_authz SELECT * FROM bench.upd_bare;
CREATE TABLE bench.upd_rowtrig (LIKE bench.documents INCLUDING ALL);
INSERT INTO bench.upd_rowtrig SELECT * FROM bench.upd_bare;

VACUUM ANALYZE;
