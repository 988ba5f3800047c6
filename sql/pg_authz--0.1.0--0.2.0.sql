-- pg_authz 0.1.0 -> 0.2.0
--
-- Every schema change since the 0.1.0 release goes here, and into the fresh-install sources
-- (sql/bootstrap.sql, sql/finalize.sql, the #[pg_extern] functions) in the same commit. The
-- upgrade test compares `ALTER EXTENSION pg_authz UPDATE` from 0.1.0 with a fresh 0.2.0 install.
-- sql/pg_authz--0.1.0.sql is the released install script: it is never edited.

\echo Use "ALTER EXTENSION pg_authz UPDATE TO '0.2.0'" to load this file. \quit

-- review3: the Django mirror under the tamper guard (review-3 findings): its triggers cannot be
-- disabled, renamed or dropped by the table owner, a bound table cannot join an inheritance
-- tree, a dropped bound table takes its mirrored rows along, and the guard's record of the
-- breaches at the start of a statement cannot be taken again later in that statement; a table
-- put in a bound table's place is a breach (bound_names); the binding follows a renamed, dropped
-- or retyped user column (user_attnums).
ALTER TABLE authz.django_binding ADD COLUMN bound_names text[] NOT NULL DEFAULT '{}';
ALTER TABLE authz.django_binding ADD COLUMN user_attnums smallint[];
UPDATE authz.django_binding b
   SET bound_names = ARRAY(SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
                             FROM unnest(ARRAY[b.content_type_table, b.permission_table, b.group_table,
                                               b.group_permissions_table, b.user_table, b.user_groups_table,
                                               b.user_permissions_table, b.user_object_permissions_table,
                                               b.group_object_permissions_table]) WITH ORDINALITY t(rel, i)
                             JOIN pg_catalog.pg_class c ON c.oid = t.rel
                             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                            ORDER BY t.i),
       user_attnums = ARRAY(SELECT a.attnum
                              FROM unnest(ARRAY[b.user_id_column, b.is_active_column, b.is_staff_column,
                                                b.is_superuser_column]) WITH ORDINALITY k(name, i)
                              LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = b.user_table AND a.attname = k.name
                                                              AND NOT a.attisdropped
                             ORDER BY k.i);

CREATE FUNCTION authz.django_bound_tables(b authz.django_binding) RETURNS regclass[]
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT array_remove(ARRAY[b.content_type_table, b.permission_table, b.group_table, b.group_permissions_table,
                              b.user_table, b.user_groups_table, b.user_permissions_table,
                              b.user_object_permissions_table, b.group_object_permissions_table], NULL)
$fn$;

CREATE OR REPLACE FUNCTION authz.django_create_triggers() RETURNS void
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
COMMENT ON FUNCTION authz.django_create_triggers() IS
    'Internal to bind_django: the mirror''s statement triggers on every bound table, and what the guards follow: the tables'' names (bound_names) and the user columns'' attribute numbers (user_attnums).';

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

REVOKE EXECUTE ON FUNCTION authz.django_forget_dropped_tables(), authz.django_guard_dropped_triggers(),
    authz.django_follow_columns() FROM PUBLIC;
COMMENT ON FUNCTION authz.django_bound_tables(authz.django_binding) IS
    'The Django tables a binding names (NULL ones left out): what the tamper guard watches for the mirror''s triggers.';
COMMENT ON FUNCTION authz.django_forget_dropped_tables() IS
    'Event trigger: a dropped bound table takes its mirrored rows along (a link table: its grants; a core auth table: every user and group, and the binding), so the catalogs never keep what Django no longer has.';
COMMENT ON FUNCTION authz.django_guard_dropped_triggers() IS
    'Event trigger: refuses (2BP01) a DROP TRIGGER of the Django mirror''s triggers on a table still bound, unless authz.bind_django or authz.unbind_django runs it.';
COMMENT ON FUNCTION authz.django_follow_columns() IS
    'Event trigger: after an ALTER TABLE of the bound user table, the binding follows its id and flag columns by attribute number (renamed: the new name; dropped flag: as Django treats a missing field; retyped id: user_id_type) and syncs the users again.';

-- authz.protection_breaches with the Django mirror's breaches: in its final form at the end of
-- this script, where it also takes the rules block's hidden-columns view.
COMMENT ON FUNCTION authz.remember_protection_breaches() IS
    'Record authz.protection_breaches at the start of a DDL command (event trigger authz_guard_generated_start), once per client statement: nested commands and later calls keep the first record.';
-- end review3

-- perf: invalidation by key (src/cache/keys.rs). A change to a user's row, memberships or
-- direct grants invalidates that user only; one to a group or its grants, that group and its
-- members. TRUNCATE still invalidates everything.
CREATE FUNCTION authz.catalog_rows_changed() RETURNS trigger LANGUAGE c
    AS 'MODULE_PATHNAME', 'pg_authz_catalog_rows_changed';
COMMENT ON FUNCTION authz.catalog_rows_changed() IS
    'Row trigger on the user and group catalogs (arguments: ''user'', ''user_row'' or ''group'', the key column): invalidates that user''s or group''s entries in every backend''s permission cache (''user_row'': the user''s flags only).';
REVOKE EXECUTE ON FUNCTION authz.catalog_rows_changed() FROM PUBLIC;
DROP TRIGGER catalog_changed ON authz.groups;
CREATE TRIGGER catalog_changed AFTER TRUNCATE ON authz.groups
    FOR EACH STATEMENT EXECUTE FUNCTION authz.catalog_changed();
CREATE TRIGGER catalog_rows_changed AFTER INSERT OR UPDATE OR DELETE ON authz.groups
    FOR EACH ROW EXECUTE FUNCTION authz.catalog_rows_changed('group', 'id');
DROP TRIGGER catalog_changed ON authz.group_permissions;
CREATE TRIGGER catalog_changed AFTER TRUNCATE ON authz.group_permissions
    FOR EACH STATEMENT EXECUTE FUNCTION authz.catalog_changed();
CREATE TRIGGER catalog_rows_changed AFTER INSERT OR UPDATE OR DELETE ON authz.group_permissions
    FOR EACH ROW EXECUTE FUNCTION authz.catalog_rows_changed('group', 'group_id');
DROP TRIGGER catalog_changed ON authz.users;
CREATE TRIGGER catalog_changed AFTER TRUNCATE ON authz.users
    FOR EACH STATEMENT EXECUTE FUNCTION authz.catalog_changed();
CREATE TRIGGER catalog_rows_changed AFTER INSERT OR UPDATE OR DELETE ON authz.users
    FOR EACH ROW EXECUTE FUNCTION authz.catalog_rows_changed('user_row', 'id');
DROP TRIGGER catalog_changed ON authz.user_groups;
CREATE TRIGGER catalog_changed AFTER TRUNCATE ON authz.user_groups
    FOR EACH STATEMENT EXECUTE FUNCTION authz.catalog_changed();
CREATE TRIGGER catalog_rows_changed AFTER INSERT OR UPDATE OR DELETE ON authz.user_groups
    FOR EACH ROW EXECUTE FUNCTION authz.catalog_rows_changed('user', 'user_id');
DROP TRIGGER catalog_changed ON authz.user_permissions;
CREATE TRIGGER catalog_changed AFTER TRUNCATE ON authz.user_permissions
    FOR EACH STATEMENT EXECUTE FUNCTION authz.catalog_changed();
CREATE TRIGGER catalog_rows_changed AFTER INSERT OR UPDATE OR DELETE ON authz.user_permissions
    FOR EACH ROW EXECUTE FUNCTION authz.catalog_rows_changed('user', 'user_id');
COMMENT ON FUNCTION authz.cache_stats() IS
    'This backend''s permission cache counters: hits, loads (users read), row_loads (a user''s flags read again after a change to its row), everyone_loads (every user read at once, by a backend that has read many one by one), group_loads, catalog_loads (permission strings read), invalidations (of everything), key_invalidations (of one user or group), cached_users, hit_rate.';

-- rules: conditions (row predicates) and strict mode's trigger, conditional readonly, explain_row,
-- hidden columns (issue #17).
-- Strict mode (src/policy/conditions.rs, status.rs, age.rs): a row trigger whose WHEN clause is
-- the rule's condition on the row before the change; it refuses the UPDATE or DELETE with 42501
-- naming the rule unless the user holds every entry of the requires list, or one of them when
-- a fourth argument says 'any' (arguments: the rule, its condition as text, the list).
CREATE FUNCTION authz.refuse_conditional_change() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    missing text;
    held boolean;
BEGIN
    IF NOT authz.is_superuser() THEN
        SELECT string_agg(w.entry, ', ' ORDER BY w.i) FILTER (WHERE NOT w.held), coalesce(bool_or(w.held), false)
          INTO missing, held
          FROM (SELECT e.entry, e.i,
                       e.entry <> 'superuser'
                       AND CASE WHEN e.entry LIKE 'group:%' THEN authz.in_group(substr(e.entry, 7))
                                ELSE authz.has_perm(e.entry) END AS held
                  FROM jsonb_array_elements_text(TG_ARGV[2]::jsonb) WITH ORDINALITY AS e(entry, i)) AS w;
        IF missing IS NOT NULL AND NOT (TG_NARGS > 3 AND TG_ARGV[3] = 'any' AND held) THEN
            RAISE EXCEPTION 'permission denied: rule % of %.% keeps % of this row from %',
                TG_ARGV[0], quote_ident(TG_TABLE_SCHEMA), quote_ident(TG_TABLE_NAME), TG_OP,
                coalesce('user "' || authz.current_user_id() || '"', 'nobody')
                USING ERRCODE = '42501',
                      DETAIL = format('The row matches %s; changing it requires %s%s (missing: %s).',
                                      TG_ARGV[1], CASE WHEN TG_NARGS > 3 AND TG_ARGV[3] = 'any' THEN 'one of ' ELSE '' END,
                                      TG_ARGV[2], missing);
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$fn$;
REVOKE EXECUTE ON FUNCTION authz.refuse_conditional_change() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION authz.refuse_conditional_change() TO authz_admin;
COMMENT ON FUNCTION authz.refuse_conditional_change() IS
    'Row trigger installed by authz.protect for a "strict" spec''s conditions, status and max_age rules (arguments: the rule, its condition, the requires list, optionally ''any''): 42501 naming the rule when a user without the requires entries (all, or one for ''any''), or an active superuser, updates or deletes a row matching the condition, instead of the row being skipped.';
CREATE FUNCTION authz.explain_row(
    "relation" regclass, "key" text, "command" text DEFAULT 'SELECT', "user_id" text DEFAULT NULL
) RETURNS jsonb
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'explain_row_wrapper';
COMMENT ON FUNCTION authz.explain_row(regclass, text, text, text) IS
    'Why a row of a protected table (by its primary key as text) is or is not within reach of a command for the current user, or any user (authz_admin only): each applicable generated policy and strict trigger, whether it passes, and for a failing one its spec rule and what is missing. A row the caller cannot see gives only "visible": false, and a caller without SELECT on every column only "visible" and "withheld", except to authz_admin.';
CREATE FUNCTION authz.owner_subject_to_rls("relation" oid) RETURNS bool
STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'owner_subject_to_rls_wrapper';
COMMENT ON FUNCTION authz.owner_subject_to_rls(oid) IS
    'Whether the owner of a relation is subject to row-level security (neither a superuser nor BYPASSRLS): authz.protect requires it of a table with hidden columns, whose generated view <table>_visible reads the table with its owner''s rights; authz.protection_breaches lists such a view when it no longer holds. False for a missing relation.';
COMMENT ON FUNCTION authz.protect(regclass, jsonb, boolean) IS
    'Protect a table with row-level security generated from a spec {model, owner, members, tenant, object_grants, status, max_age, readonly, conditions, strict, hidden}: enables and forces RLS and replaces earlier generated policies in one transaction. Returns the SQL; dry_run only returns it. Idempotent.';
-- The tamper guard and authz.protection_breaches know the strict triggers (authz_condition_*),
-- and the breaches list a view of hidden columns whose owner bypasses RLS.
CREATE OR REPLACE FUNCTION authz.guard_protected_tables() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    lost record;
BEGIN
    IF authz.generated_ddl_running() THEN
        RETURN;
    END IF;
    FOR lost IN
        SELECT d.object_type, d.address_names[3] AS name, t.relation,
               CASE WHEN d.object_type = 'trigger' AND (d.address_names[3] LIKE 'authz\_audit\_%'
                                                        OR d.address_names[3] = 'authz_updated_at')
                    THEN 'authz.enable_audit' ELSE 'authz.protect' END AS generator
          FROM pg_event_trigger_dropped_objects() d
          JOIN (pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace)
            ON (n.nspname, c.relname) = (d.address_names[1], d.address_names[2])
         CROSS JOIN LATERAL (SELECT c.oid::regclass AS relation) t
         WHERE d.object_type IN ('policy', 'trigger')
           AND ((d.object_type = 'trigger' AND d.address_names[3] IN
                    ('authz_audit_insert', 'authz_audit_update', 'authz_audit_delete',
                     'authz_audit_truncate', 'authz_updated_at'))
             OR (c.oid IN (SELECT pr.relation FROM authz.protected_relations pr)
                 AND ((d.object_type = 'policy' AND d.address_names[3] LIKE 'authz\_%')
                   OR (d.object_type = 'trigger' AND (d.address_names[3] LIKE 'authz\_readonly\_%' OR d.address_names[3] LIKE 'authz\_condition\_%'
                                                      OR d.address_names[3] = 'authz_age_lock')))))
    LOOP
        RAISE EXCEPTION 'cannot drop % % of % table %: % generated it', lost.object_type, quote_ident(lost.name),
                        CASE lost.generator WHEN 'authz.enable_audit' THEN 'audited' ELSE 'protected' END, lost.relation, lost.generator
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = format('%s would take away a rule of the table''s %s.', tg_tag,
                                  CASE lost.generator WHEN 'authz.enable_audit' THEN 'audit coverage' ELSE 'row-level security' END),
                  HINT = CASE lost.generator
                         WHEN 'authz.enable_audit' THEN format('Call authz.disable_audit(%L) to stop auditing the table.', lost.relation::text)
                         ELSE format('Call authz.unprotect(%L) first (and authz.protect again afterwards, with a spec that does not need what you drop).', lost.relation::text) END;
    END LOOP;
END
$fn$;
-- protection_breaches as it stands with every block above (the Django mirror's breaches, review3,
-- and the hidden-columns view's).
CREATE OR REPLACE VIEW authz.protection_breaches AS
SELECT pr.relation, b.breach, format('Call authz.unprotect(%L) to remove its protection.', pr.relation::text) AS remedy
  FROM authz.protected_relations pr
  JOIN pg_class c ON c.oid = pr.relation
 CROSS JOIN LATERAL (
        SELECT 'row-level security is disabled' WHERE NOT c.relrowsecurity
        UNION ALL SELECT 'row-level security is not forced' WHERE NOT c.relforcerowsecurity
        UNION ALL SELECT 'it is part of an inheritance or partitioning tree'
                   WHERE EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid OR i.inhparent = c.oid)
        UNION ALL SELECT format('generated policy %I is missing', m.name)
                    FROM (SELECT (regexp_matches(pr.script, 'CREATE POLICY (authz_[a-z0-9_]+) ON', 'g'))[1] AS name) m
                   WHERE NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = m.name)
        UNION ALL SELECT format('policy %I is PERMISSIVE: it would open rows the generated policies keep closed', p.polname)
                    FROM pg_policy p
                   WHERE p.polrelid = c.oid AND p.polpermissive AND p.polname NOT LIKE 'authz\_%'
       ) AS b(breach)
UNION ALL
SELECT t.tgrelid::regclass,
       format('trigger %I is %s', t.tgname,
              CASE WHEN t.tgname NOT IN ('authz_audit_insert', 'authz_audit_update', 'authz_audit_delete',
                                         'authz_audit_truncate', 'authz_updated_at', 'authz_age_lock',
                                         'authz_django_insert', 'authz_django_update', 'authz_django_delete',
                                         'authz_django_truncate')
                        AND t.tgname NOT LIKE 'authz\_readonly\_%' AND t.tgname NOT LIKE 'authz\_condition\_%'
                        THEN 'a generated trigger under another name'
                   WHEN t.tgenabled = 'D' THEN 'disabled'
                   WHEN t.tgenabled = 'R' THEN 'set to fire only on replicas'
                   ELSE 'set to fire always, on replicas too' END),
       CASE WHEN t.tgfoid IN ('authz.guard_readonly_columns()'::regprocedure, 'authz.refuse_conditional_change()'::regprocedure)
            THEN format('Call authz.unprotect(%L) to remove its protection.', t.tgrelid::regclass::text)
            WHEN t.tgfoid = 'authz.django_mirror()'::regprocedure
            THEN 'Call authz.bind_django() again (with the arguments of the binding) to restore the mirror, or authz.unbind_django().'
            ELSE format('Call authz.disable_audit(%L) to stop auditing the table.', t.tgrelid::regclass::text) END
  FROM pg_trigger t
 WHERE t.tgfoid IN ('authz.audit_statement()'::regprocedure, 'authz.touch_updated_at()'::regprocedure,
                    'authz.guard_readonly_columns()'::regprocedure, 'authz.django_mirror()'::regprocedure,
                    'authz.refuse_conditional_change()'::regprocedure)
   AND (t.tgenabled <> 'O'
        OR (t.tgname NOT IN ('authz_audit_insert', 'authz_audit_update', 'authz_audit_delete',
                             'authz_audit_truncate', 'authz_updated_at', 'authz_age_lock',
                             'authz_django_insert', 'authz_django_update', 'authz_django_delete', 'authz_django_truncate')
            AND t.tgname NOT LIKE 'authz\_readonly\_%' AND t.tgname NOT LIKE 'authz\_condition\_%'))
UNION ALL
-- A bound Django table without one of the mirror's four triggers: its writes no longer reach
-- the catalogs, which keep granting what Django revoked.
SELECT x.src, format('trigger %I of the Django mirror (authz.bind_django) is missing', n.name),
       'Call authz.bind_django() again (with the arguments of the binding) to restore the mirror, or authz.unbind_django().'
  FROM authz.django_binding b
 CROSS JOIN LATERAL unnest(authz.django_bound_tables(b)) x(src)
 CROSS JOIN unnest('{authz_django_insert,authz_django_update,authz_django_delete,authz_django_truncate}'::text[]) n(name)
 WHERE NOT EXISTS (SELECT 1 FROM pg_trigger g
                    WHERE g.tgrelid = x.src AND g.tgname = n.name AND g.tgfoid = 'authz.django_mirror()'::regprocedure)
UNION ALL
-- A bound Django table with a child or a parent: rows written through another member of the
-- tree skip the mirror's triggers, though Django reads them.
SELECT x.src, 'it is part of an inheritance or partitioning tree: writes through another member skip the Django mirror',
       'Call authz.unbind_django() first, or detach the table.'
  FROM authz.django_binding b
 CROSS JOIN LATERAL unnest(authz.django_bound_tables(b)) x(src)
 WHERE EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = x.src OR i.inhparent = x.src)
UNION ALL
-- A table under the name a bound table had at bind time, while the bound one is elsewhere:
-- Django writes the impostor, the mirror watches the renamed original.
SELECT t.rel, format('it has the name a bound Django table had (%s), which the Django mirror does not watch', t.name),
       'Call authz.bind_django() again to bind the tables Django uses now.'
  FROM authz.django_binding b
 CROSS JOIN LATERAL (SELECT n AS name, pg_catalog.to_regclass(n) AS rel FROM unnest(b.bound_names) n) t
 WHERE t.rel IS NOT NULL AND t.rel <> ALL (authz.django_bound_tables(b))
UNION ALL
-- A view reading a table with hidden columns, owned by a role that bypasses row-level
-- security: it would show every row. Views are found by their dependency on the table, not
-- by name: the generated view under any name (renamed, or cut at 63 bytes), and any other,
-- but for a security_invoker view, which reads with its caller's rights, not its owner's.
SELECT pr.relation,
       format('view %s of its hidden columns is owned by role %I, which bypasses row-level security', v.oid::regclass, r.rolname),
       format('Give the table and view %s to a role subject to row-level security, then call authz.protect(%L, spec) again (or drop a view protect did not make).',
              v.oid::regclass, pr.relation::text)
  FROM authz.protected_relations pr
 CROSS JOIN LATERAL (
        SELECT DISTINCT rw.ev_class AS oid
          FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid
         WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = pr.relation AND d.classid = 'pg_rewrite'::regclass
     ) AS reader
  JOIN pg_class v ON v.oid = reader.oid AND v.relkind = 'v'
  JOIN pg_roles r ON r.oid = v.relowner
 WHERE pr.spec ? 'hidden' AND NOT authz.owner_subject_to_rls(v.oid)
   AND NOT coalesce((SELECT o.option_value::boolean FROM pg_options_to_table(v.reloptions) o
                      WHERE o.option_name = 'security_invoker'), false);
GRANT SELECT ON authz.protection_breaches TO PUBLIC;
COMMENT ON VIEW authz.protection_breaches IS
    'What would let a write skip its audit entry or a row skip its generated policies, now: RLS disabled or not forced on a protected table, a protected table in an inheritance tree, a generated policy missing, a PERMISSIVE policy protect did not make, a generated trigger (audit, readonly, age lock, condition, Django mirror) disabled, renamed, missing or set to fire on replicas, a bound Django table in an inheritance tree, a table under a bound table''s bind-time name, a view of hidden columns owned by a role that bypasses RLS; with the function that changes it. Empty when everything is as pg_authz made it.';
-- The first new breach is reported in a stable order (not the catalogs' physical order).
CREATE OR REPLACE FUNCTION authz.guard_generated_end() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    found record;
BEGIN
    IF authz.generated_ddl_running() THEN
        RETURN;
    END IF;
    FOR found IN
        SELECT p.polname, p.polrelid::regclass AS relation
          FROM pg_event_trigger_ddl_commands() c
          JOIN pg_policy p ON p.oid = c.objid
         WHERE tg_tag = 'ALTER POLICY' AND c.classid = 'pg_policy'::regclass AND p.polname LIKE 'authz\_%'
           AND p.polrelid IN (SELECT pr.relation FROM authz.protected_relations pr)
    LOOP
        RAISE EXCEPTION 'cannot alter policy % of protected table %: authz.protect generated it', quote_ident(found.polname), found.relation
            USING ERRCODE = 'dependent_objects_still_exist',
                  HINT = format('Call authz.protect(%L, spec) again with the spec you want.', found.relation::text);
    END LOOP;
    FOR found IN
        SELECT b.relation, b.breach, b.remedy
          FROM authz.protection_breaches b
         WHERE b.relation::oid::text || ' ' || b.breach <> ALL (authz.protection_breaches_at_start()) ORDER BY b.relation, b.breach
    LOOP
        RAISE EXCEPTION '% refused on table %: %', tg_tag, found.relation, found.breach
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = 'Audit coverage and row-level security change only through authz.enable_audit, authz.disable_audit, authz.protect and authz.unprotect.',
                  HINT = found.remedy;
    END LOOP;
END
$fn$;

-- docs, review 3, hide: authz.lint(), what a DBA should act on, one row per finding, each with
-- the SQL that fixes it (defined here, after the objects it reads). SECURITY INVOKER and open to
-- everyone: it reads only catalogs every role can read, so it shows nobody more than they could
-- query themselves.
CREATE FUNCTION authz.lint(OUT kind text, OUT object text, OUT detail text, OUT fix text) RETURNS SETOF record
    -- No JIT: the catalogs are small, but the planner's row estimates for the ACL and spec
    -- functions put the query above jit_above_cost, and compiling it takes seconds.
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $fn$
WITH RECURSIVE
protected AS (
    SELECT pr.relation::oid AS relid, pr.spec, c.relnamespace
      FROM authz.protected_relations pr
      JOIN pg_class c ON c.oid = pr.relation
),
-- The hidden columns of each table that has some.
hidden AS (
    SELECT p.relid, array_agg(DISTINCT col.name) AS hidden
      FROM protected p
     CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(p.spec->'hidden') = 'array'
                                                  THEN p.spec->'hidden' ELSE '[]' END) AS e(entry)
     CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(e.entry->'columns') = 'array'
                                                       THEN e.entry->'columns' ELSE '[]' END) AS col(name)
     GROUP BY p.relid
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
                                      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                                     WHERE k.i <= i.indnkeyatts))
                       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                      WHERE i.indrelid = au.relation AND i.indisunique AND i.indisvalid
                        AND i.indpred IS NULL AND i.indexprs IS NULL
                      ORDER BY i.indnkeyatts, ic.relname LIMIT 1),
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
       AND n.nspname NOT LIKE 'pg\_temp\_%'
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
    UNION ALL
    -- 7. TRUNCATE on a protected table: TRUNCATE is not subject to row-level security.
    SELECT 'truncate_on_protected', p.relid::regclass::text,
           format('%s may TRUNCATE protected table %s: TRUNCATE is not subject to row-level security, so it removes every row whatever the policies allow (and fires no row trigger)',
                  string_agg(g.name, ', ' ORDER BY g.name), p.relid::regclass),
           format('REVOKE TRUNCATE ON %s FROM %s;', p.relid::regclass, string_agg(g.name, ', ' ORDER BY g.name))
      FROM protected p
      JOIN pg_class c ON c.oid = p.relid
     CROSS JOIN LATERAL aclexplode(c.relacl) AS a
     CROSS JOIN LATERAL (SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC'
                                ELSE quote_ident(pg_get_userbyid(a.grantee)) END) AS g(name)
     WHERE a.privilege_type = 'TRUNCATE' AND a.grantee <> c.relowner
     GROUP BY p.relid
    UNION ALL
    -- 8. Hidden columns a role reads on the table itself, past the view that masks them: SELECT
    -- on the whole table, or on a hidden column, granted to a role (or PUBLIC) other than the
    -- owner and superusers. Every app user acting through that role then reads the values.
    SELECT 'hidden_columns_readable', format('%s to %s', r.relid::regclass, r.grantee_name),
           format('%s may SELECT %s %s, whose hidden column(s) %s the generated view masks: every app user acting through %s reads their values on the table',
                  r.grantee_name, CASE WHEN r.whole THEN 'the whole table' ELSE 'column(s) ' || array_to_string(r.readable, ', ') || ' of' END,
                  r.relid::regclass, array_to_string(r.readable, ', '), r.grantee_name),
           CASE WHEN r.whole
                THEN format('REVOKE SELECT ON %s FROM %s; GRANT SELECT (%s) ON %s TO %s;', r.relid::regclass, r.grantee_name,
                            (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
                              WHERE a.attrelid = r.relid AND a.attnum > 0 AND NOT a.attisdropped
                                AND a.attname <> ALL (r.hidden)),
                            r.relid::regclass, r.grantee_name)
                ELSE format('REVOKE SELECT (%s) ON %s FROM %s;', array_to_string(r.readable, ', '), r.relid::regclass, r.grantee_name)
           END
      FROM (
            SELECT h.relid, h.hidden, g.grantee_name, bool_or(g.whole) AS whole,
                   CASE WHEN bool_or(g.whole) THEN (SELECT array_agg(quote_ident(x) ORDER BY x) FROM unnest(h.hidden) x)
                        ELSE array_agg(DISTINCT quote_ident(g.attname) ORDER BY quote_ident(g.attname)) END AS readable
              FROM hidden h
              JOIN pg_class c ON c.oid = h.relid
             CROSS JOIN LATERAL (
                    SELECT x.grantee, true AS whole, NULL::name AS attname
                      FROM aclexplode(c.relacl) x WHERE x.privilege_type = 'SELECT'
                    UNION ALL
                    SELECT x.grantee, false, a.attname
                      FROM pg_attribute a CROSS JOIN LATERAL aclexplode(a.attacl) x
                     WHERE a.attrelid = c.oid AND a.attname = ANY (h.hidden) AND NOT a.attisdropped
                       AND x.privilege_type = 'SELECT'
                 ) AS acl
             CROSS JOIN LATERAL (
                    SELECT acl.whole, acl.attname,
                           CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(acl.grantee)) END AS grantee_name
                 ) AS g
             WHERE acl.grantee <> c.relowner
               AND NOT EXISTS (SELECT FROM pg_roles s WHERE s.oid = acl.grantee AND s.rolsuper)
             GROUP BY h.relid, h.hidden, g.grantee_name
         ) AS r
    UNION ALL
    -- 9. The same through a membership: a member of the table's owner has its privileges (every
    -- column; row-level security still applies to it, the member not being the owner), and a
    -- member of pg_read_all_data may SELECT every table. Direct members, whom the fix names;
    -- superusers are not findings, nor (PostgreSQL 16 and later, read through to_jsonb so that
    -- the query runs on 15) a membership granted WITH INHERIT FALSE, SET FALSE and no ADMIN.
    SELECT 'hidden_columns_readable', format('%s to %s', h.relid::regclass, quote_ident(m.rolname)),
           format('%s is a member of %s, so may SELECT every column of %s, whose hidden column(s) %s the generated view masks: every app user acting through %s reads their values on the table',
                  quote_ident(m.rolname), quote_ident(g.rolname), h.relid::regclass,
                  (SELECT string_agg(quote_ident(x), ', ' ORDER BY x) FROM unnest(h.hidden) x), quote_ident(m.rolname)),
           format('REVOKE %s FROM %s;', quote_ident(g.rolname), quote_ident(m.rolname))
      FROM hidden h
      JOIN pg_class c ON c.oid = h.relid
      JOIN pg_roles g ON g.oid = c.relowner OR g.rolname = 'pg_read_all_data'
      JOIN pg_auth_members am ON am.roleid = g.oid
      JOIN pg_roles m ON m.oid = am.member
     WHERE NOT m.rolsuper
       AND (coalesce((to_jsonb(am) ->> 'inherit_option')::boolean, true)
            OR coalesce((to_jsonb(am) ->> 'set_option')::boolean, true) OR am.admin_option)
)
SELECT f.kind, f.object, f.detail, f.fix FROM findings f ORDER BY f.kind, f.object
$fn$;
COMMENT ON FUNCTION authz.lint() IS
    'Findings a DBA should act on, each with the SQL that fixes it (kind, object, detail, fix): unprotected_table (an owner or tenant column beside protected tables), unindexed_policy_column, definer_without_search_path, audited_without_primary_key, rls_not_forced, authenticator_superuser, authenticator_bypassrls, truncate_on_protected, hidden_columns_readable (a role other than the owner may SELECT a hidden column on the table itself, past its view, by a grant or as a member of the owner or of pg_read_all_data). Anyone may run it: it reads only catalogs every role can read.';

-- fix6: the tamper guard also fires on ALTER VIEW and CREATE VIEW, so that a view of hidden
-- columns cannot be given to a role that bypasses row-level security (ALTER VIEW ... OWNER TO).
DROP EVENT TRIGGER authz_guard_generated_start;
DROP EVENT TRIGGER authz_guard_generated_end;
CREATE EVENT TRIGGER authz_guard_generated_start ON ddl_command_start
    WHEN TAG IN ('ALTER TABLE', 'ALTER TRIGGER', 'ALTER POLICY', 'CREATE POLICY', 'CREATE TABLE', 'ALTER VIEW', 'CREATE VIEW')
    EXECUTE FUNCTION authz.guard_generated_start();
CREATE EVENT TRIGGER authz_guard_generated_end ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'ALTER TRIGGER', 'ALTER POLICY', 'CREATE POLICY', 'CREATE TABLE', 'ALTER VIEW', 'CREATE VIEW')
    EXECUTE FUNCTION authz.guard_generated_end();
COMMENT ON FUNCTION authz.guard_generated_start() IS
    'Event trigger: records authz.protection_breaches before an ALTER TABLE, ALTER TRIGGER, ALTER POLICY, CREATE POLICY, CREATE TABLE, ALTER VIEW or CREATE VIEW.';
COMMENT ON FUNCTION authz.guard_generated_end() IS
    'Event trigger: refuses (2BP01) an ALTER TABLE, ALTER TRIGGER, ALTER POLICY, CREATE POLICY, CREATE TABLE, ALTER VIEW or CREATE VIEW that alters a generated policy or adds a breach (authz.protection_breaches; a view of hidden columns given to a role that bypasses RLS, say), unless authz.protect, unprotect, enable_audit or disable_audit runs it.';
