-- The schema of a database as one JSON object, "kind name" -> definition (tests/upgrade/run
-- compares an upgraded install with a fresh one). Covers every schema but the system ones, the
-- extension's members wherever they are, and event triggers; no oid appears, so two databases
-- compare. Columns keep their order (the n-th live column), since SELECT * and row values see it.
WITH nsp AS (
    SELECT oid, nspname FROM pg_catalog.pg_namespace
     WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_(toast|temp_)'
), ext AS (
    SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'pg_authz'
), rel AS (
    SELECT c.*, n.nspname, pg_catalog.format('%I.%I', n.nspname, c.relname) AS qname
      FROM pg_catalog.pg_class c JOIN nsp n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
), entries(k, v) AS (
    SELECT 'schema ' || n.nspname,
           pg_catalog.concat_ws(E'\n', 'owner ' || s.nspowner::regrole,
               'acl ' || (SELECT pg_catalog.string_agg(a::text, ' ' ORDER BY a::text) FROM unnest(s.nspacl) a))
      FROM nsp n JOIN pg_catalog.pg_namespace s ON s.oid = n.oid
    UNION ALL
    SELECT 'relation ' || r.qname,
           pg_catalog.concat_ws(E'\n', 'kind ' || r.relkind::text, 'owner ' || r.relowner::regrole,
               'persistence ' || r.relpersistence::text, 'replica identity ' || r.relreplident::text,
               'row security ' || r.relrowsecurity || ' forced ' || r.relforcerowsecurity,
               'options ' || r.reloptions::text,
               'acl ' || (SELECT pg_catalog.string_agg(a::text, ' ' ORDER BY a::text) FROM unnest(r.relacl) a),
               CASE WHEN r.relkind::text IN ('v', 'm') THEN 'definition' || E'\n' || pg_catalog.pg_get_viewdef(r.oid) END)
      FROM rel r
    UNION ALL
    SELECT 'column ' || r.qname || '.' || pg_catalog.quote_ident(a.attname),
           pg_catalog.concat_ws(E'\n',
               'position ' || pg_catalog.row_number() OVER (PARTITION BY r.oid ORDER BY a.attnum),
               'type ' || pg_catalog.format_type(a.atttypid, a.atttypmod),
               'not null ' || a.attnotnull,
               'default ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid),
               'identity ' || NULLIF(a.attidentity::text, ''), 'generated ' || NULLIF(a.attgenerated::text, ''),
               'collation ' || (SELECT co.collname FROM pg_catalog.pg_collation co
                                 WHERE co.oid = a.attcollation AND co.collname <> 'default'),
               'compression ' || NULLIF(a.attcompression::text, ''), 'storage ' || a.attstorage::text,
               'acl ' || (SELECT pg_catalog.string_agg(x::text, ' ' ORDER BY x::text) FROM unnest(a.attacl) x))
      FROM rel r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE r.relkind::text <> 'S'
    UNION ALL
    SELECT 'index ' || pg_catalog.format('%I.%I', n.nspname, ic.relname),
           pg_catalog.pg_get_indexdef(i.indexrelid)
      FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
      JOIN nsp n ON n.oid = ic.relnamespace
    UNION ALL
    SELECT 'constraint ' || COALESCE(r.qname, pg_catalog.format('%I.%I', n.nspname, t.typname)) || ' '
               || pg_catalog.quote_ident(c.conname),
           pg_catalog.pg_get_constraintdef(c.oid)
      FROM pg_catalog.pg_constraint c JOIN nsp n ON n.oid = c.connamespace
      LEFT JOIN rel r ON r.oid = c.conrelid LEFT JOIN pg_catalog.pg_type t ON t.oid = c.contypid
    UNION ALL
    SELECT 'sequence ' || r.qname,
           pg_catalog.concat_ws(' ', pg_catalog.format_type(s.seqtypid, NULL), 'start', s.seqstart,
               'increment', s.seqincrement, 'min', s.seqmin, 'max', s.seqmax, 'cache', s.seqcache,
               'cycle', s.seqcycle,
               'owned by ' || (SELECT pg_catalog.pg_describe_object(dep.refclassid, dep.refobjid, dep.refobjsubid)
                                 || ' (' || dep.deptype::text || ')'
                                FROM pg_catalog.pg_depend dep
                               WHERE dep.classid = 'pg_catalog.pg_class'::regclass AND dep.objid = r.oid
                                 AND dep.deptype::text IN ('a', 'i') AND dep.refobjsubid > 0))
      FROM rel r JOIN pg_catalog.pg_sequence s ON s.seqrelid = r.oid
    UNION ALL
    SELECT 'policy ' || pg_catalog.format('%I.%I', p.schemaname, p.tablename) || ' ' || pg_catalog.quote_ident(p.policyname),
           pg_catalog.concat_ws(E'\n', p.permissive || ' ' || p.cmd || ' to ' || p.roles::text,
               'using ' || p.qual, 'with check ' || p.with_check)
      FROM pg_catalog.pg_policies p JOIN nsp n ON n.nspname = p.schemaname
    UNION ALL
    SELECT 'trigger ' || r.qname || ' ' || pg_catalog.quote_ident(t.tgname),
           pg_catalog.pg_get_triggerdef(t.oid) || E'\nenabled ' || t.tgenabled::text
      FROM pg_catalog.pg_trigger t JOIN rel r ON r.oid = t.tgrelid
     WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'event trigger ' || pg_catalog.quote_ident(e.evtname),
           pg_catalog.concat_ws(E'\n', 'on ' || e.evtevent, 'tags ' || e.evttags::text,
               'function ' || e.evtfoid::regprocedure, 'enabled ' || e.evtenabled::text, 'owner ' || e.evtowner::regrole)
      FROM pg_catalog.pg_event_trigger e
    UNION ALL
    SELECT 'rule ' || pg_catalog.format('%I.%I', ru.schemaname, ru.tablename) || ' ' || pg_catalog.quote_ident(ru.rulename),
           ru.definition
      FROM pg_catalog.pg_rules ru JOIN nsp n ON n.nspname = ru.schemaname
    UNION ALL
    SELECT 'function ' || p.oid::regprocedure,
           pg_catalog.concat_ws(E'\n', 'owner ' || p.proowner::regrole,
               'acl ' || (SELECT pg_catalog.string_agg(a::text, ' ' ORDER BY a::text) FROM unnest(p.proacl) a),
               CASE WHEN p.prokind = 'a' THEN 'aggregate' ELSE pg_catalog.pg_get_functiondef(p.oid) END)
      FROM pg_catalog.pg_proc p JOIN nsp n ON n.oid = p.pronamespace
    UNION ALL
    SELECT 'type ' || t.oid::regtype,
           pg_catalog.concat_ws(E'\n', 'kind ' || t.typtype::text, 'owner ' || t.typowner::regrole,
               'base ' || NULLIF(t.typbasetype, 0)::regtype, 'not null ' || t.typnotnull,
               'default ' || t.typdefault,
               'labels ' || (SELECT pg_catalog.string_agg(en.enumlabel, ' ' ORDER BY en.enumsortorder)
                               FROM pg_catalog.pg_enum en WHERE en.enumtypid = t.oid),
               'acl ' || (SELECT pg_catalog.string_agg(a::text, ' ' ORDER BY a::text) FROM unnest(t.typacl) a))
      FROM pg_catalog.pg_type t JOIN nsp n ON n.oid = t.typnamespace
     WHERE t.typtype::text IN ('d', 'e', 'r', 'm', 'b', 'p')
        OR (t.typtype::text = 'c' AND EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))
    UNION ALL
    SELECT 'comment on ' || pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description
      FROM pg_catalog.pg_description d
     WHERE d.objoid >= 16384
       AND d.classoid <> 'pg_catalog.pg_database'::regclass
    UNION ALL
    SELECT 'initial privileges of ' || pg_catalog.pg_describe_object(ip.classoid, ip.objoid, ip.objsubid),
           ip.privtype::text || ' ' || (SELECT pg_catalog.string_agg(a::text, ' ' ORDER BY a::text) FROM unnest(ip.initprivs) a)
      FROM pg_catalog.pg_init_privs ip
     WHERE ip.objoid >= 16384
    UNION ALL
    SELECT 'default privileges ' || da.defaclrole::regrole || ' ' || COALESCE(n.nspname, '(all schemas)') || ' '
               || da.defaclobjtype::text,
           (SELECT pg_catalog.string_agg(a::text, ' ' ORDER BY a::text) FROM unnest(da.defaclacl) a)
      FROM pg_catalog.pg_default_acl da LEFT JOIN pg_catalog.pg_namespace n ON n.oid = da.defaclnamespace
    UNION ALL
    SELECT 'member of extension pg_authz: ' || pg_catalog.pg_describe_object(dep.classid, dep.objid, dep.objsubid),
           'yes'
      FROM pg_catalog.pg_depend dep, ext
     WHERE dep.refclassid = 'pg_catalog.pg_extension'::regclass AND dep.refobjid = ext.oid AND dep.deptype::text = 'e'
    UNION ALL
    SELECT 'extension ' || e.extname,
           pg_catalog.concat_ws(E'\n', 'version ' || e.extversion, 'schema ' || e.extnamespace::regnamespace,
               'relocatable ' || e.extrelocatable, 'owner ' || e.extowner::regrole,
               'dumped tables ' || (SELECT pg_catalog.string_agg(c.t::regclass::text || ' ' || quote_literal(c.w), ', '
                                                                 ORDER BY c.t::regclass::text)
                                      FROM unnest(e.extconfig, e.extcondition) c(t, w)))
      FROM pg_catalog.pg_extension e
)
SELECT pg_catalog.jsonb_object_agg(k, v) FROM entries;
