-- pg_authz 0.1.0 -> 0.2.0
--
-- Every schema change since the 0.1.0 release goes here, and into the fresh-install sources
-- (sql/bootstrap.sql, sql/finalize.sql, the #[pg_extern] functions) in the same commit. The
-- upgrade test compares `ALTER EXTENSION pg_authz UPDATE` from 0.1.0 with a fresh 0.2.0 install.
-- sql/pg_authz--0.1.0.sql is the released install script: it is never edited.

\echo Use "ALTER EXTENSION pg_authz UPDATE TO '0.2.0'" to load this file. \quit

-- docs: authz.lint()
-- authz.lint(): what a DBA should act on, one row per finding, each with the SQL that fixes it.
-- SECURITY INVOKER and open to everyone: it reads only catalogs every role can read
-- (pg_catalog, authz.protected_relations, authz.audited_relations), so it shows nobody more
-- than they could query themselves.
CREATE FUNCTION authz.lint(OUT kind text, OUT object text, OUT detail text, OUT fix text) RETURNS SETOF record
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
WITH RECURSIVE
protected AS (
    SELECT pr.relation::oid AS relid, pr.spec, c.relnamespace
      FROM authz.protected_relations pr
      JOIN pg_class c ON c.oid = pr.relation
),
-- The row rules of each spec that name a column of the protected table.
rules AS (
    SELECT p.relid, p.relnamespace, p.spec, r.rule, r.body, r.body->>'column' AS column_name
      FROM protected p
     CROSS JOIN LATERAL (
            SELECT 'owner', p.spec->'owner' WHERE jsonb_typeof(p.spec->'owner') = 'object'
            UNION ALL
            SELECT 'tenant', p.spec->'tenant' WHERE jsonb_typeof(p.spec->'tenant') = 'object'
            UNION ALL
            SELECT 'members', m.body
              FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p.spec->'members') = 'array'
                                             THEN p.spec->'members' ELSE '[]' END) AS m(body)
         ) AS r(rule, body)
),
-- The membership tables the tenant and members rules read, with the column they filter on.
memberships AS (
    -- Looked up in the catalogs, not with to_regclass, which needs USAGE on the schema.
    SELECT (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = t.name[1] AND c.relname = t.name[2]) AS relid,
           coalesce(r.body->>'user', 'user_id') AS column_name
      FROM rules r
     CROSS JOIN LATERAL (SELECT parse_ident(r.body->>'table', false)) AS t(name)
     WHERE r.rule IN ('tenant', 'members') AND jsonb_typeof(r.body->'table') = 'string'
       AND cardinality(t.name) = 2
),
-- Columns the generated policies filter rows by.
policy_columns AS (
    SELECT DISTINCT relid, column_name FROM (
        SELECT r.relid, r.column_name FROM rules r
        UNION ALL
        SELECT m.relid, m.column_name FROM memberships m WHERE m.relid IS NOT NULL
    ) AS c
    WHERE column_name IS NOT NULL
),
authenticators(roleid) AS (
    SELECT m.member FROM pg_auth_members m JOIN pg_roles a ON a.oid = m.roleid
     WHERE a.rolname = 'authz_authenticator'
    UNION
    SELECT m.member FROM pg_auth_members m JOIN authenticators x ON m.roleid = x.roleid
),
findings AS (
    -- 1. A table beside protected tables, holding one of their owner or tenant columns, unprotected.
    SELECT 'unprotected_table' AS kind, c.oid::regclass::text AS object,
           format('column %s is an %s column of protected table %s in the same schema, but %s is not protected (%s)',
                  quote_ident(sib.column_name), sib.rule, sib.relid::regclass, c.oid::regclass,
                  CASE WHEN c.relrowsecurity THEN 'it has row-level security of its own'
                       ELSE 'every role with privileges on it reaches every row' END) AS detail,
           format('SELECT authz.protect(%L, %L);', c.oid::regclass::text,
                  jsonb_build_object('model', split_part(sib.spec->>'model', '.', 1) || '.' || c.relname)
                  || (SELECT jsonb_object_agg(x.rule, x.body)
                        FROM (SELECT DISTINCT ON (r.rule) r.rule, r.body
                                FROM rules r
                               WHERE r.relnamespace = c.relnamespace AND r.rule IN ('owner', 'tenant')
                                 AND EXISTS (SELECT FROM pg_attribute a
                                              WHERE a.attrelid = c.oid AND a.attname = r.column_name
                                                AND a.attnum > 0 AND NOT a.attisdropped)
                               ORDER BY r.rule, r.relid::regclass::text) AS x)) AS fix
      FROM pg_class c
     CROSS JOIN LATERAL (
            SELECT r.relid, r.rule, r.column_name, r.spec
              FROM rules r
              JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = r.column_name
                                 AND a.attnum > 0 AND NOT a.attisdropped
             WHERE r.relnamespace = c.relnamespace AND r.rule IN ('owner', 'tenant')
             ORDER BY r.rule, r.relid::regclass::text
             LIMIT 1
         ) AS sib
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND c.oid NOT IN (SELECT p.relid FROM protected p)
       AND c.oid NOT IN (SELECT m.relid FROM memberships m WHERE m.relid IS NOT NULL)
    UNION ALL
    -- 2. A column the policies filter by, without an index that leads with it.
    SELECT 'unindexed_policy_column', format('%s.%s', pc.relid::regclass, quote_ident(pc.column_name)),
           format('the generated policies filter %s by %s, and no index leads with it: every query scans the whole table',
                  pc.relid::regclass, quote_ident(pc.column_name)),
           format('CREATE INDEX ON %s (%s);', pc.relid::regclass, quote_ident(pc.column_name))
      FROM policy_columns pc
      JOIN pg_attribute a ON a.attrelid = pc.relid AND a.attname = pc.column_name AND NOT a.attisdropped
     WHERE NOT EXISTS (SELECT FROM pg_index i
                        WHERE i.indrelid = pc.relid AND i.indisvalid AND i.indpred IS NULL
                          AND i.indkey[0] = a.attnum)
    UNION ALL
    -- 3. SECURITY DEFINER code that resolves names through its caller's search_path.
    SELECT 'definer_without_search_path', p.oid::regprocedure::text,
           format('SECURITY DEFINER %s runs with the privileges of %s but resolves names through its caller''s search_path: a caller''s objects (in pg_temp, say) can stand in for what it calls',
                  CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, quote_ident(pg_get_userbyid(p.proowner))),
           format('ALTER %s %s SET search_path = %s, pg_temp;',
                  CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, p.oid::regprocedure, quote_ident(n.nspname))
      FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE p.prosecdef
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
       AND NOT EXISTS (SELECT FROM unnest(p.proconfig) AS s(setting) WHERE s.setting LIKE 'search\_path=%')
       -- Another extension's functions are fixed by upgrading it.
       AND NOT EXISTS (SELECT FROM pg_depend d
                        WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    UNION ALL
    -- 4. An audited table without a primary key: every write to it fails (55000).
    SELECT 'audited_without_primary_key', au.relation::text,
           format('%s is audited but has no primary key (dropped in a session that skipped event triggers): every write to it fails until it has one again',
                  au.relation),
           -- The columns of its narrowest unique index, if it has one; else stop auditing it.
           coalesce((SELECT format('ALTER TABLE %s ADD PRIMARY KEY (%s);', au.relation,
                                   (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.i)
                                      FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, i)
                                      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum))
                       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                      WHERE i.indrelid = au.relation AND i.indisunique AND i.indisvalid
                        AND i.indpred IS NULL AND i.indexprs IS NULL
                      ORDER BY i.indnatts, ic.relname LIMIT 1),
                    format('SELECT authz.disable_audit(%L);', au.relation::text))
      FROM authz.audited_relations au
     WHERE NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = au.relation AND i.indisprimary)
    UNION ALL
    -- 5. Row-level security that the table's owner bypasses.
    SELECT 'rls_not_forced', c.oid::regclass::text,
           format('row-level security is enabled on %s but not forced: its owner %s, and every member of that role, bypasses the policies',
                  c.oid::regclass, quote_ident(pg_get_userbyid(c.relowner))),
           format('ALTER TABLE %s FORCE ROW LEVEL SECURITY;', c.oid::regclass)
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity AND NOT c.relforcerowsecurity
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
    UNION ALL
    -- 6. Authenticators that row-level security does not bind.
    SELECT CASE WHEN r.rolsuper THEN 'authenticator_superuser' ELSE 'authenticator_bypassrls' END,
           quote_ident(r.rolname),
           format('%s is a member of authz_authenticator (it acts for any app user) and %s: no generated policy binds its sessions',
                  quote_ident(r.rolname), CASE WHEN r.rolsuper THEN 'a superuser' ELSE 'has BYPASSRLS' END),
           CASE WHEN r.rolsuper AND r.oid = 10 THEN format('REVOKE authz_authenticator FROM %s;', quote_ident(r.rolname))
                WHEN r.rolsuper THEN format('ALTER ROLE %s NOSUPERUSER;', quote_ident(r.rolname))
                ELSE format('ALTER ROLE %s NOBYPASSRLS;', quote_ident(r.rolname)) END
      FROM pg_roles r
     WHERE r.oid IN (SELECT a.roleid FROM authenticators a) AND (r.rolsuper OR r.rolbypassrls)
)
SELECT f.kind, f.object, f.detail, f.fix FROM findings f ORDER BY f.kind, f.object
$fn$;
COMMENT ON FUNCTION authz.lint() IS
    'Findings a DBA should act on, each with the SQL that fixes it (kind, object, detail, fix): unprotected_table (an owner or tenant column beside protected tables), unindexed_policy_column, definer_without_search_path, audited_without_primary_key, rls_not_forced, authenticator_superuser, authenticator_bypassrls. Anyone may run it: it reads only catalogs every role can read.';
