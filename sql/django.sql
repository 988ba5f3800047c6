-- Django's auth tables as the source of truth (authz.bind_django, src/django.rs).
--
-- Design: the authz catalogs MIRROR Django's tables, in the same transaction as Django's own
-- write. Statement-level triggers on Django's tables (with transition tables, and TRUNCATE
-- triggers for the test runner's flush) recompute the mirrored rows of every key a statement
-- touched, from Django's rows as they are after the statement. Django's ids are kept
-- (authz.permissions.id = auth_permission.id, authz.users.id = the user id as text), so every
-- existing code path (cache, checks, actions, policies, invalidation through catalog_changed)
-- works unchanged, and nothing points into Django's tables: no foreign key, so flushes and
-- migrations are untouched.

-- The binding: which tables and columns hold Django's auth data. One row at most.
CREATE TABLE authz.django_binding (
    singleton                   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    content_type_table          regclass NOT NULL,
    permission_table            regclass NOT NULL,
    group_table                 regclass NOT NULL,
    group_permissions_table     regclass NOT NULL,
    user_table                  regclass NOT NULL,
    user_id_column              text NOT NULL,
    user_id_type                text NOT NULL,
    is_active_column            text,
    is_staff_column             text,
    is_superuser_column         text,
    user_groups_table           regclass,
    user_permissions_table      regclass,
    user_column                 text NOT NULL,
    user_object_permissions_table  regclass,
    group_object_permissions_table regclass,
    bound_at                    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- The bound tables' schema-qualified names at bind time: a table that takes one of these
    -- names while the bound one is elsewhere (renamed away, a copy put in its place) is a breach.
    bound_names                 text[] NOT NULL DEFAULT '{}',
    -- The attribute numbers of user_id_column, is_active_column, is_staff_column and
    -- is_superuser_column at bind time (NULL for a column not bound): a migration's rename,
    -- drop or retype of one of them is followed (authz.django_follow_columns).
    user_attnums                smallint[]
);
COMMENT ON TABLE authz.django_binding IS 'The Django auth tables the catalogs mirror (written by authz.bind_django, emptied by authz.unbind_django).';
SELECT pg_catalog.pg_extension_config_dump('authz.django_binding', '');

-- What a mirrored kind of row looks like on both sides. Keys: Django-side expressions on alias
-- d with the type to compare them in, and the mirror's columns (alias m) with theirs.
CREATE FUNCTION authz.django_kind(b authz.django_binding, kind text,
    OUT src regclass, OUT mirror text, OUT scope text,
    OUT src_keys text[], OUT src_types text[], OUT mirror_keys text[], OUT mirror_types text[],
    OUT columns text, OUT vals text, OUT same text, OUT parents text, OUT conflict text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    uid text := format('d.%I', b.user_id_column);
    ucol text := format('d.%I', b.user_column);
    active text;
    staff text;
    superuser text;
BEGIN
    scope := 'true';
    parents := 'true';
    CASE kind
    WHEN 'content_type' THEN
        src := b.content_type_table; mirror := 'authz.content_types';
        src_keys := '{d.id}'; src_types := '{bigint}'; mirror_keys := '{m.id}'; mirror_types := '{bigint}';
        columns := 'id, app_label, model'; vals := 'd.id, d.app_label, d.model';
        same := 'm.app_label = d.app_label AND m.model = d.model';
        conflict := 'ON CONFLICT (id) DO UPDATE SET app_label = EXCLUDED.app_label, model = EXCLUDED.model';
    WHEN 'permission' THEN
        src := b.permission_table; mirror := 'authz.permissions';
        src_keys := '{d.id}'; src_types := '{bigint}'; mirror_keys := '{m.id}'; mirror_types := '{bigint}';
        columns := 'id, content_type_id, codename, name'; vals := 'd.id, d.content_type_id, d.codename, d.name';
        same := 'm.content_type_id = d.content_type_id AND m.codename = d.codename AND m.name = d.name';
        parents := 'EXISTS (SELECT 1 FROM authz.content_types p WHERE p.id = d.content_type_id)';
        conflict := 'ON CONFLICT (id) DO UPDATE SET content_type_id = EXCLUDED.content_type_id, codename = EXCLUDED.codename, name = EXCLUDED.name';
    WHEN 'group' THEN
        src := b.group_table; mirror := 'authz.groups';
        src_keys := '{d.id}'; src_types := '{bigint}'; mirror_keys := '{m.id}'; mirror_types := '{bigint}';
        columns := 'id, name'; vals := 'd.id, d.name';
        same := 'm.name = d.name';
        conflict := 'ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name';
    WHEN 'user' THEN
        src := b.user_table; mirror := 'authz.users';
        src_keys := ARRAY[uid]; src_types := ARRAY[b.user_id_type]; mirror_keys := '{m.id}'; mirror_types := '{text}';
        -- Django without the field: AbstractBaseUser.is_active is True; no is_staff or
        -- is_superuser means neither.
        active := CASE WHEN b.is_active_column IS NULL THEN 'true' ELSE format('coalesce(d.%I, false)', b.is_active_column) END;
        staff := CASE WHEN b.is_staff_column IS NULL THEN 'false' ELSE format('coalesce(d.%I, false)', b.is_staff_column) END;
        superuser := CASE WHEN b.is_superuser_column IS NULL THEN 'false' ELSE format('coalesce(d.%I, false)', b.is_superuser_column) END;
        vals := format('%s::text, %s, %s, %s', uid, active, staff, superuser);
        columns := 'id, is_active, is_staff, is_superuser';
        same := format('(m.is_active, m.is_staff, m.is_superuser) = (%s, %s, %s)', active, staff, superuser);
        conflict := 'ON CONFLICT (id) DO UPDATE SET is_active = EXCLUDED.is_active, is_staff = EXCLUDED.is_staff, is_superuser = EXCLUDED.is_superuser';
    WHEN 'group_permission' THEN
        src := b.group_permissions_table; mirror := 'authz.group_permissions';
        src_keys := '{d.group_id, d.permission_id}'; src_types := '{bigint, bigint}';
        mirror_keys := '{m.group_id, m.permission_id}'; mirror_types := '{bigint, bigint}';
        columns := 'group_id, permission_id'; vals := 'd.group_id, d.permission_id';
        parents := 'EXISTS (SELECT 1 FROM authz.groups p WHERE p.id = d.group_id)
                    AND EXISTS (SELECT 1 FROM authz.permissions p WHERE p.id = d.permission_id)';
        conflict := 'ON CONFLICT DO NOTHING';
    WHEN 'user_group' THEN
        src := b.user_groups_table; mirror := 'authz.user_groups';
        src_keys := ARRAY[ucol, 'd.group_id']; src_types := ARRAY[b.user_id_type, 'bigint'];
        mirror_keys := '{m.user_id, m.group_id}'; mirror_types := '{text, bigint}';
        columns := 'user_id, group_id'; vals := ucol || '::text, d.group_id';
        parents := format('EXISTS (SELECT 1 FROM authz.users p WHERE p.id = %s::text)
                    AND EXISTS (SELECT 1 FROM authz.groups p WHERE p.id = d.group_id)', ucol);
        conflict := 'ON CONFLICT DO NOTHING';
    WHEN 'user_permission' THEN
        src := b.user_permissions_table; mirror := 'authz.user_permissions';
        src_keys := ARRAY[ucol, 'd.permission_id']; src_types := ARRAY[b.user_id_type, 'bigint'];
        mirror_keys := '{m.user_id, m.permission_id}'; mirror_types := '{text, bigint}';
        columns := 'user_id, permission_id'; vals := ucol || '::text, d.permission_id';
        parents := format('EXISTS (SELECT 1 FROM authz.users p WHERE p.id = %s::text)
                    AND EXISTS (SELECT 1 FROM authz.permissions p WHERE p.id = d.permission_id)', ucol);
        conflict := 'ON CONFLICT DO NOTHING';
    WHEN 'user_object' THEN
        src := b.user_object_permissions_table; mirror := 'authz.object_permissions';
        scope := 'm.user_id IS NOT NULL';
        src_keys := '{d.user_id, d.permission_id, d.object_pk}'; src_types := ARRAY[b.user_id_type, 'bigint', 'text'];
        mirror_keys := '{m.user_id, m.permission_id, m.object_pk}'; mirror_types := '{text, bigint, text}';
        columns := 'user_id, permission_id, object_pk'; vals := 'd.user_id::text, d.permission_id, d.object_pk';
        parents := 'EXISTS (SELECT 1 FROM authz.users p WHERE p.id = d.user_id::text)
                    AND EXISTS (SELECT 1 FROM authz.permissions p WHERE p.id = d.permission_id)';
        conflict := 'ON CONFLICT (permission_id, object_pk, user_id) WHERE user_id IS NOT NULL DO NOTHING';
    WHEN 'group_object' THEN
        src := b.group_object_permissions_table; mirror := 'authz.object_permissions';
        scope := 'm.group_id IS NOT NULL';
        src_keys := '{d.group_id, d.permission_id, d.object_pk}'; src_types := '{bigint, bigint, text}';
        mirror_keys := '{m.group_id, m.permission_id, m.object_pk}'; mirror_types := '{bigint, bigint, text}';
        columns := 'group_id, permission_id, object_pk'; vals := 'd.group_id, d.permission_id, d.object_pk';
        parents := 'EXISTS (SELECT 1 FROM authz.groups p WHERE p.id = d.group_id)
                    AND EXISTS (SELECT 1 FROM authz.permissions p WHERE p.id = d.permission_id)';
        conflict := 'ON CONFLICT (permission_id, object_pk, group_id) WHERE group_id IS NOT NULL DO NOTHING';
    END CASE;
    IF same IS NULL THEN
        same := 'true';
    END IF;
END
$fn$;

-- `(a, b) IN (SELECT u1::t1, u2::t2 FROM unnest($1, $2, $3) u(u1, u2, u3))`: the keys given as
-- text arrays, compared in each side's own types so that indexes apply.
CREATE FUNCTION authz.django_key_filter(exprs text[], types text[]) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT format('(%s) IN (SELECT %s FROM unnest($1, $2, $3) u(u1, u2, u3))',
                  array_to_string(exprs, ', '),
                  (SELECT string_agg(format('u%s::%s', i, types[i]), ', ' ORDER BY i)
                     FROM generate_subscripts(exprs, 1) i))
$fn$;

-- Three text columns from up to three key expressions (missing ones NULL).
CREATE FUNCTION authz.django_key_list(exprs text[]) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT string_agg(CASE WHEN exprs[i] IS NULL THEN 'NULL::text' ELSE format('(%s)::text', exprs[i]) END, ', ' ORDER BY i)
      FROM generate_series(1, 3) i
$fn$;

-- Recompute the mirrored rows of `kind` for the given keys (NULL: all of them) from Django's
-- current rows: delete what Django no longer has, insert or update what differs, then bring in
-- the children whose parents just arrived (fixtures may insert links before their targets).
-- Writes nothing, and so invalidates no cache, when the mirror already agrees.
CREATE FUNCTION authz.django_sync(kind text, k1 text[] DEFAULT NULL, k2 text[] DEFAULT NULL,
                                  k3 text[] DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    b authz.django_binding;
    s record;
    src_filter text := 'true';
    mirror_filter text := 'true';
    src_match text;
    gone text[];
    changed boolean;
    child record;
    c1 text[]; c2 text[]; c3 text[];
BEGIN
    SELECT * INTO b FROM authz.django_binding;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    s := authz.django_kind(b, kind);
    IF s.src IS NULL THEN
        RETURN;  -- not bound (a model without groups, no django-guardian)
    END IF;
    IF k1 IS NOT NULL THEN
        src_filter := authz.django_key_filter(s.src_keys, s.src_types);
        mirror_filter := authz.django_key_filter(s.mirror_keys, s.mirror_types);
    END IF;
    -- The Django row with the mirror row's key.
    SELECT string_agg(format('%s = (%s)::%s', s.src_keys[i], s.mirror_keys[i], s.src_types[i]), ' AND ')
      INTO src_match FROM generate_subscripts(s.src_keys, 1) i;

    -- Gone from Django.
    IF kind IN ('content_type', 'permission') THEN
        EXECUTE format('SELECT array_agg(m.id::text) FROM %s m WHERE %s AND NOT EXISTS (SELECT 1 FROM %s d WHERE %s)',
                       s.mirror, mirror_filter, s.src, src_match)
            INTO gone USING k1, k2, k3;
        IF gone IS NOT NULL THEN
            -- Actions follow their model and permission (never left open to all staff).
            IF kind = 'content_type' THEN
                DELETE FROM authz.actions a
                 WHERE a.content_type_id = ANY (gone::bigint[])
                    OR a.permission_id IN (SELECT p.id FROM authz.permissions p
                                            WHERE p.content_type_id = ANY (gone::bigint[]));
            ELSE
                DELETE FROM authz.actions a WHERE a.permission_id = ANY (gone::bigint[]);
            END IF;
            EXECUTE format('DELETE FROM %s WHERE id = ANY ($1::bigint[])', s.mirror) USING gone;
        END IF;
    ELSE
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s m WHERE %s AND %s AND NOT EXISTS (SELECT 1 FROM %s d WHERE %s))',
                       s.mirror, s.scope, mirror_filter, s.src, src_match)
            INTO changed USING k1, k2, k3;
        IF changed THEN
            EXECUTE format('DELETE FROM %s m WHERE %s AND %s AND NOT EXISTS (SELECT 1 FROM %s d WHERE %s)',
                           s.mirror, s.scope, mirror_filter, s.src, src_match)
                USING k1, k2, k3;
        END IF;
    END IF;

    -- New or changed in Django.
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s d WHERE %s AND %s AND NOT EXISTS (SELECT 1 FROM %s m WHERE %s AND %s AND %s))',
                   s.src, src_filter, s.parents, s.mirror, s.scope, src_match, s.same)
        INTO changed USING k1, k2, k3;
    IF NOT changed THEN
        RETURN;
    END IF;
    -- xmax = 0: the row was inserted, not updated (only new parents can have children waiting).
    EXECUTE format('WITH w AS (INSERT INTO %s AS m (%s) SELECT %s FROM %s d WHERE %s AND %s
                      AND NOT EXISTS (SELECT 1 FROM %s m WHERE %s AND %s AND %s) %s
                      RETURNING m.xmax OPERATOR(pg_catalog.=) 0 AS inserted)
                    SELECT coalesce(bool_or(inserted), false) FROM w',
                   s.mirror, s.columns, s.vals, s.src, src_filter, s.parents,
                   s.mirror, s.scope, src_match, s.same, s.conflict)
        INTO changed USING k1, k2, k3;
    IF k1 IS NULL OR NOT changed THEN
        RETURN;  -- a full sync (the caller syncs the children in order), or no new parent
    END IF;

    -- Children whose parent just arrived.
    FOR child IN
        SELECT * FROM (VALUES
            ('content_type', 'permission', 'd.content_type_id', 'bigint'),
            ('permission', 'group_permission', 'd.permission_id', 'bigint'),
            ('permission', 'user_permission', 'd.permission_id', 'bigint'),
            ('permission', 'user_object', 'd.permission_id', 'bigint'),
            ('permission', 'group_object', 'd.permission_id', 'bigint'),
            ('group', 'group_permission', 'd.group_id', 'bigint'),
            ('group', 'user_group', 'd.group_id', 'bigint'),
            ('group', 'group_object', 'd.group_id', 'bigint'),
            ('user', 'user_group', 'user', NULL),
            ('user', 'user_permission', 'user', NULL),
            ('user', 'user_object', 'd.user_id', NULL)) AS c(parent, child_kind, fk, fk_type)
         WHERE c.parent = django_sync.kind
    LOOP
        s := authz.django_kind(b, child.child_kind);
        CONTINUE WHEN s.src IS NULL;
        IF child.fk = 'user' THEN
            child.fk := format('d.%I', b.user_column);
        END IF;
        EXECUTE format('SELECT array_agg(k1), array_agg(k2), array_agg(k3) FROM (
                          SELECT %s FROM %s d WHERE %s IN (SELECT u1::%s FROM unnest($1) u(u1))
                             AND NOT EXISTS (SELECT 1 FROM %s m WHERE %s AND %s)) k(k1, k2, k3)',
                       authz.django_key_list(s.src_keys),
                       s.src, child.fk, coalesce(child.fk_type, b.user_id_type),
                       s.mirror, s.scope,
                       (SELECT string_agg(format('%s = (%s)::%s', s.src_keys[i], s.mirror_keys[i], s.src_types[i]), ' AND ')
                          FROM generate_subscripts(s.src_keys, 1) i))
            INTO c1, c2, c3 USING k1;
        IF c1 IS NOT NULL THEN
            PERFORM authz.django_sync(child.child_kind, c1, c2, c3);
        END IF;
    END LOOP;
END
$fn$;

-- The kinds in dependency order, and the tables they come from.
CREATE FUNCTION authz.django_tables(b authz.django_binding, OUT kind text, OUT src regclass, OUT key_columns text[])
    RETURNS SETOF record LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT k.kind, k.src, k.key_columns FROM (VALUES
        (1, 'content_type', b.content_type_table, '{id}'::text[]),
        (2, 'permission', b.permission_table, '{id}'),
        (3, 'group', b.group_table, '{id}'),
        (4, 'user', b.user_table, ARRAY[b.user_id_column]),
        (5, 'group_permission', b.group_permissions_table, '{group_id, permission_id}'),
        (6, 'user_group', b.user_groups_table, ARRAY[b.user_column, 'group_id']),
        (7, 'user_permission', b.user_permissions_table, ARRAY[b.user_column, 'permission_id']),
        (8, 'user_object', b.user_object_permissions_table, '{user_id, permission_id, object_pk}'),
        (9, 'group_object', b.group_object_permissions_table, '{group_id, permission_id, object_pk}'))
        AS k(n, kind, src, key_columns)
     WHERE k.src IS NOT NULL
     ORDER BY k.n
$fn$;

-- Statement trigger on Django's tables: the keys the statement touched, then django_sync.
CREATE FUNCTION authz.django_mirror() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    b authz.django_binding;
    t record;
    keys text;
    k1 text[]; k2 text[]; k3 text[];
BEGIN
    SELECT * INTO b FROM authz.django_binding;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT * INTO t FROM authz.django_tables(b) x WHERE x.kind = TG_ARGV[0];
    IF t.src IS DISTINCT FROM TG_RELID::regclass THEN
        RAISE EXCEPTION 'authz.django_mirror(%) fired on %, which is not the bound table %',
            TG_ARGV[0], TG_RELID::regclass, t.src USING ERRCODE = '42501';
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM authz.django_sync(t.kind);
        RETURN NULL;
    END IF;
    keys := authz.django_key_list(ARRAY(SELECT format('%I', c) FROM unnest(t.key_columns) c));
    EXECUTE format('SELECT array_agg(k1), array_agg(k2), array_agg(k3) FROM (%s) k(k1, k2, k3)',
                   CASE TG_OP
                   WHEN 'INSERT' THEN format('SELECT DISTINCT %s FROM new_rows', keys)
                   WHEN 'DELETE' THEN format('SELECT DISTINCT %s FROM old_rows', keys)
                   ELSE format('SELECT %s FROM new_rows UNION SELECT %s FROM old_rows', keys, keys) END)
        INTO k1, k2, k3;
    IF k1 IS NOT NULL THEN
        PERFORM authz.django_sync(t.kind, k1, k2, k3);
    END IF;
    RETURN NULL;
END
$fn$;

-- Every kind, parents first (bind_django's initial sync; a rebind's diff).
CREATE FUNCTION authz.django_sync_all() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT x.kind FROM authz.django_binding b, authz.django_tables(b) x LOOP
        PERFORM authz.django_sync(t.kind);
    END LOOP;
END
$fn$;

-- The first bind (after bind_django copied pg_authz's content types and permissions into
-- Django's tables, as the caller): the catalogs are rebuilt from Django's rows with Django's
-- ids, and declared actions and model relations are carried over by name. Users, groups and
-- grants come from Django only.
CREATE FUNCTION authz.django_adopt() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    b authz.django_binding;
    saved_actions jsonb;
    saved_relations jsonb;
BEGIN
    SELECT * INTO STRICT b FROM authz.django_binding;
    SELECT jsonb_agg(jsonb_build_object('id', a.id, 'app_label', c.app_label, 'model', c.model,
                                        'key', a.key, 'codename', a.codename, 'name', a.name, 'kind', a.kind,
                                        'scope', a.scope, 'handler', a.handler::text, 'position', a.position))
      INTO saved_actions
      FROM authz.actions a JOIN authz.content_types c ON c.id = a.content_type_id;
    SELECT jsonb_agg(jsonb_build_object('app_label', c.app_label, 'model', c.model, 'relation', c.relation::oid))
      INTO saved_relations
      FROM authz.content_types c WHERE c.relation IS NOT NULL;
    DELETE FROM authz.actions;
    DELETE FROM authz.object_permissions;
    DELETE FROM authz.user_permissions;
    DELETE FROM authz.user_groups;
    DELETE FROM authz.group_permissions;
    DELETE FROM authz.users;
    DELETE FROM authz.groups;
    DELETE FROM authz.permissions;
    DELETE FROM authz.content_types;
    PERFORM authz.django_sync_all();
    UPDATE authz.content_types c SET relation = (r->>'relation')::oid::regclass
      FROM jsonb_array_elements(coalesce(saved_relations, '[]')) r
     WHERE c.app_label = r->>'app_label' AND c.model = r->>'model';
    INSERT INTO authz.actions (id, content_type_id, key, codename, permission_id, name, kind, scope, handler, position)
    SELECT (a->>'id')::bigint, c.id, a->>'key', a->>'codename', p.id, a->>'name', a->>'kind', a->>'scope',
           (a->>'handler')::regprocedure, (a->>'position')::integer
      FROM jsonb_array_elements(coalesce(saved_actions, '[]')) a
      JOIN authz.content_types c ON c.app_label = a->>'app_label' AND c.model = a->>'model'
      LEFT JOIN authz.permissions p ON p.content_type_id = c.id AND p.codename = a->>'codename';
END
$fn$;

-- The four statement triggers on every bound table, and what the guards follow: the tables'
-- names (bound_names), the user columns' attribute numbers (user_attnums).
CREATE FUNCTION authz.django_create_triggers() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    t record;
BEGIN
    UPDATE authz.django_binding b
       SET bound_names = ARRAY(SELECT format('%I.%I', n.nspname, c.relname)
                                 FROM unnest(authz.django_bound_tables(b)) x(rel)
                                 JOIN pg_class c ON c.oid = x.rel
                                 JOIN pg_namespace n ON n.oid = c.relnamespace),
           user_attnums = ARRAY(SELECT a.attnum
                                  FROM unnest(ARRAY[b.user_id_column, b.is_active_column, b.is_staff_column,
                                                    b.is_superuser_column]) WITH ORDINALITY k(name, i)
                                  LEFT JOIN pg_attribute a ON a.attrelid = b.user_table AND a.attname = k.name
                                                          AND NOT a.attisdropped
                                 ORDER BY k.i);
    FOR t IN SELECT x.* FROM authz.django_binding b, authz.django_tables(b) x LOOP
        EXECUTE format('CREATE TRIGGER authz_django_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION authz.django_mirror(%L)', t.src, t.kind);
        EXECUTE format('CREATE TRIGGER authz_django_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION authz.django_mirror(%L)', t.src, t.kind);
        EXECUTE format('CREATE TRIGGER authz_django_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION authz.django_mirror(%L)', t.src, t.kind);
        EXECUTE format('CREATE TRIGGER authz_django_truncate AFTER TRUNCATE ON %s
                        FOR EACH STATEMENT EXECUTE FUNCTION authz.django_mirror(%L)', t.src, t.kind);
    END LOOP;
END
$fn$;

-- Drop what django_create_triggers made (tables dropped since are skipped), nothing else.
CREATE FUNCTION authz.django_drop_triggers() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT g.tgname, g.tgrelid::regclass AS rel
               FROM pg_catalog.pg_trigger g
              WHERE g.tgfoid = 'authz.django_mirror()'::regprocedure
                AND g.tgname IN ('authz_django_insert', 'authz_django_update', 'authz_django_delete', 'authz_django_truncate')
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', t.tgname, t.rel);
    END LOOP;
END
$fn$;

-- The bound tables, for the tamper guard (authz.protection_breaches and the sql_drop guard,
-- which run as whoever runs the DDL).
CREATE FUNCTION authz.django_bound_tables(b authz.django_binding) RETURNS regclass[]
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT array_remove(ARRAY[b.content_type_table, b.permission_table, b.group_table, b.group_permissions_table,
                              b.user_table, b.user_groups_table, b.user_permissions_table,
                              b.user_object_permissions_table, b.group_object_permissions_table], NULL)
$fn$;

-- A bound table was dropped (a migration, DROP SCHEMA ... CASCADE): what the catalogs mirrored
-- from it goes too, failing closed, and the binding stops naming it. A link table (user groups,
-- user permissions, django-guardian's): its rows leave the catalogs and the binding forgets it.
-- One of the five tables Django's auth cannot do without: pg_authz is unbound (as by
-- authz.unbind_django) and keeps no user and no group, so nobody keeps a grant or a superuser
-- flag Django no longer has; binding again (Django's post_migrate does) brings them back.
CREATE FUNCTION authz.django_forget_dropped_tables() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    b authz.django_binding;
    dropped oid[];
BEGIN
    SELECT * INTO b FROM authz.django_binding;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT array_agg(d.objid) INTO dropped FROM pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0;
    IF dropped IS NULL THEN
        RETURN;
    END IF;
    IF ARRAY[b.content_type_table, b.permission_table, b.group_table, b.group_permissions_table,
             b.user_table]::oid[] && dropped THEN
        DELETE FROM authz.django_binding;
        DELETE FROM authz.users;
        DELETE FROM authz.groups;
        -- As unbind_django: new rows written directly must not collide with Django's ids.
        PERFORM pg_catalog.setval(pg_catalog.pg_get_serial_sequence('authz.' || t, 'id'), coalesce(m, 1), m IS NOT NULL)
           FROM (VALUES ('content_types', (SELECT max(id) FROM authz.content_types)),
                        ('permissions', (SELECT max(id) FROM authz.permissions)),
                        ('groups', (SELECT max(id) FROM authz.groups))) v(t, m);
        RETURN;
    END IF;
    -- Their names are free again: a table Django re-creates under one is not an impostor.
    UPDATE authz.django_binding
       SET bound_names = ARRAY(SELECT n FROM unnest(bound_names) n
                                WHERE n <> ALL (SELECT d.object_identity FROM pg_event_trigger_dropped_objects() d
                                                 WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0));
    IF b.user_groups_table::oid = ANY (dropped) THEN
        DELETE FROM authz.user_groups;
        UPDATE authz.django_binding SET user_groups_table = NULL;
    END IF;
    IF b.user_permissions_table::oid = ANY (dropped) THEN
        DELETE FROM authz.user_permissions;
        UPDATE authz.django_binding SET user_permissions_table = NULL;
    END IF;
    IF b.user_object_permissions_table::oid = ANY (dropped) THEN
        DELETE FROM authz.object_permissions WHERE user_id IS NOT NULL;
        UPDATE authz.django_binding SET user_object_permissions_table = NULL;
    END IF;
    IF b.group_object_permissions_table::oid = ANY (dropped) THEN
        DELETE FROM authz.object_permissions WHERE group_id IS NOT NULL;
        UPDATE authz.django_binding SET group_object_permissions_table = NULL;
    END IF;
END
$fn$;
CREATE EVENT TRIGGER authz_django_forget_dropped_tables ON sql_drop
    EXECUTE FUNCTION authz.django_forget_dropped_tables();

-- A migration altered the bound user table (RenameField, RemoveField, AlterField on a custom
-- user model; a switch to BigAutoField): the binding follows its columns by attribute number.
-- A renamed column is bound under its new name; a dropped flag is what Django makes of a missing
-- field (is_active true, is_staff and is_superuser false); a retyped id changes user_id_type.
-- Users are then synced again, so the catalogs agree at once, and later writes keep working
-- (they would otherwise fail until post_migrate binds again).
CREATE FUNCTION authz.django_follow_columns() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    b authz.django_binding;
    names text[];
    id_type text;
    a record;
    i integer;
BEGIN
    SELECT * INTO b FROM authz.django_binding;
    IF NOT FOUND OR b.user_attnums IS NULL
       OR NOT EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() c
                       WHERE c.classid = 'pg_class'::regclass AND c.objid = b.user_table) THEN
        RETURN;
    END IF;
    names := ARRAY[b.user_id_column, b.is_active_column, b.is_staff_column, b.is_superuser_column];
    id_type := b.user_id_type;
    FOR i IN 1..4 LOOP
        CONTINUE WHEN b.user_attnums[i] IS NULL;
        SELECT att.attname::text AS name, att.attisdropped AS dropped, att.atttypid::regtype::text AS type_name
          INTO a FROM pg_attribute att
         WHERE att.attrelid = b.user_table AND att.attnum = b.user_attnums[i];
        IF NOT FOUND OR a.dropped THEN
            IF i > 1 THEN
                names[i] := NULL;   -- the id cannot go: Django never drops a primary key alone
            END IF;
        ELSIF i = 1 THEN
            names[1] := a.name;
            IF a.type_name IN ('smallint', 'integer', 'bigint', 'text', 'character varying', 'uuid') THEN
                id_type := a.type_name;
            END IF;
        ELSIF a.type_name = 'boolean' THEN
            names[i] := a.name;
        ELSE
            names[i] := NULL;
        END IF;
    END LOOP;
    IF (names, id_type) IS NOT DISTINCT FROM
       (ARRAY[b.user_id_column, b.is_active_column, b.is_staff_column, b.is_superuser_column], b.user_id_type) THEN
        RETURN;
    END IF;
    UPDATE authz.django_binding
       SET user_id_column = names[1], is_active_column = names[2], is_staff_column = names[3],
           is_superuser_column = names[4], user_id_type = id_type,
           user_attnums = ARRAY[b.user_attnums[1],
                                CASE WHEN names[2] IS NULL THEN NULL ELSE b.user_attnums[2] END,
                                CASE WHEN names[3] IS NULL THEN NULL ELSE b.user_attnums[3] END,
                                CASE WHEN names[4] IS NULL THEN NULL ELSE b.user_attnums[4] END]::smallint[];
    PERFORM authz.django_sync('user');
END
$fn$;
CREATE EVENT TRIGGER authz_django_follow_columns ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION authz.django_follow_columns();

-- Tamper guard (as authz_guard_protected_tables for protect's and enable_audit's triggers): the
-- mirror's triggers go only with their table, or by bind_django / unbind_django. A table owner's
-- DROP TRIGGER would leave the catalogs granting what Django revokes. (ALTER TABLE ... DISABLE
-- TRIGGER and ALTER TRIGGER ... RENAME are refused through authz.protection_breaches.)
CREATE FUNCTION authz.django_guard_dropped_triggers() RETURNS event_trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    lost record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM authz.django_binding) OR authz.generated_ddl_running() THEN
        RETURN;
    END IF;
    FOR lost IN
        SELECT d.address_names[3] AS name, c.oid::regclass AS relation
          FROM pg_event_trigger_dropped_objects() d
          JOIN (pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace)
            ON (n.nspname, c.relname) = (d.address_names[1], d.address_names[2])
         WHERE d.object_type = 'trigger'
           AND d.address_names[3] IN ('authz_django_insert', 'authz_django_update', 'authz_django_delete', 'authz_django_truncate')
           AND c.oid IN (SELECT x FROM authz.django_binding b, unnest(authz.django_bound_tables(b)) x)
    LOOP
        RAISE EXCEPTION 'cannot drop trigger % of bound table %: authz.bind_django generated it', quote_ident(lost.name), lost.relation
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = format('%s would stop mirroring the table''s writes into the authz catalogs, which would keep granting what Django revokes.', tg_tag),
                  HINT = 'Call authz.unbind_django() to stop mirroring Django''s auth tables.';
    END LOOP;
END
$fn$;
CREATE EVENT TRIGGER authz_django_guard_dropped_triggers ON sql_drop
    EXECUTE FUNCTION authz.django_guard_dropped_triggers();

REVOKE EXECUTE ON FUNCTION authz.django_kind(authz.django_binding, text), authz.django_key_filter(text[], text[]),
    authz.django_key_list(text[]),
    authz.django_sync(text, text[], text[], text[]), authz.django_tables(authz.django_binding),
    authz.django_mirror(), authz.django_sync_all(), authz.django_adopt(), authz.django_create_triggers(),
    authz.django_drop_triggers(), authz.django_forget_dropped_tables(), authz.django_guard_dropped_triggers(),
    authz.django_follow_columns() FROM PUBLIC;

COMMENT ON FUNCTION authz.django_kind(authz.django_binding, text) IS
    'Internal to bind_django: how one kind of Django auth row maps onto its catalog.';
COMMENT ON FUNCTION authz.django_key_filter(text[], text[]) IS
    'Internal to bind_django: the SQL condition matching keys passed as text arrays.';
COMMENT ON FUNCTION authz.django_key_list(text[]) IS
    'Internal to bind_django: three text columns from up to three key expressions.';
COMMENT ON FUNCTION authz.django_sync(text, text[], text[], text[]) IS
    'Internal to bind_django: recompute the mirrored rows of one kind for the given keys (NULL: all) from Django''s rows.';
COMMENT ON FUNCTION authz.django_tables(authz.django_binding) IS
    'Internal to bind_django: the bound Django tables in dependency order, with their key columns.';
COMMENT ON FUNCTION authz.django_mirror() IS
    'Statement trigger that bind_django puts on Django''s auth tables: mirrors the rows each statement touched into the authz catalogs.';
COMMENT ON FUNCTION authz.django_sync_all() IS
    'Internal to bind_django: sync every bound kind, parents first.';
COMMENT ON FUNCTION authz.django_adopt() IS
    'Internal to bind_django: the first bind rebuilds the catalogs with Django''s ids, keeping actions and model relations.';
COMMENT ON FUNCTION authz.django_create_triggers() IS
    'Internal to bind_django: the mirror''s statement triggers on every bound table, and what the guards follow: the tables'' names (bound_names) and the user columns'' attribute numbers (user_attnums).';
COMMENT ON FUNCTION authz.django_drop_triggers() IS
    'Internal to unbind_django: drop the mirror''s triggers, and nothing else.';
COMMENT ON FUNCTION authz.django_bound_tables(authz.django_binding) IS
    'The Django tables a binding names (NULL ones left out): what the tamper guard watches for the mirror''s triggers.';
COMMENT ON FUNCTION authz.django_forget_dropped_tables() IS
    'Event trigger: a dropped bound table takes its mirrored rows along (a link table: its grants; a core auth table: every user and group, and the binding), so the catalogs never keep what Django no longer has.';
COMMENT ON FUNCTION authz.django_guard_dropped_triggers() IS
    'Event trigger: refuses (2BP01) a DROP TRIGGER of the Django mirror''s triggers on a table still bound, unless authz.bind_django or authz.unbind_django runs it.';
COMMENT ON FUNCTION authz.django_follow_columns() IS
    'Event trigger: after an ALTER TABLE of the bound user table, the binding follows its id and flag columns by attribute number (renamed: the new name; dropped flag: as Django treats a missing field; retyped id: user_id_type) and syncs the users again.';
