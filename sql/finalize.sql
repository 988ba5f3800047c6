-- Privileges, cache invalidation triggers, pg_dump registration and function comments.
-- Runs after pgrx has created every function.

-- Catalogs: everyone may read (has_perm runs as the caller); only the owner and authz_admin write.
REVOKE ALL ON ALL TABLES IN SCHEMA authz FROM PUBLIC;
REVOKE CREATE ON SCHEMA authz FROM PUBLIC;
GRANT USAGE ON SCHEMA authz TO PUBLIC;
GRANT SELECT ON authz.content_types, authz.permissions, authz.groups, authz.group_permissions,
                authz.users, authz.user_groups, authz.user_permissions, authz.object_permissions
    TO PUBLIC;
GRANT INSERT, UPDATE, DELETE
    ON authz.content_types, authz.permissions, authz.groups, authz.group_permissions,
       authz.users, authz.user_groups, authz.user_permissions, authz.object_permissions
    TO authz_admin;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA authz TO authz_admin;
GRANT SELECT ON authz.actions TO PUBLIC;
-- Actions are written by sync_admin_actions, which authz_admin runs.
GRANT INSERT, UPDATE, DELETE ON authz.actions TO authz_admin;
-- The audit log is written by pg_authz itself (as the log's owner); auditors read it.
REVOKE ALL ON authz.audit_log FROM PUBLIC;
REVOKE ALL ON SEQUENCE authz.audit_log_id_seq FROM authz_admin;
GRANT SELECT ON authz.audit_log TO authz_auditor;

-- Append-only, for every role, the owner included.
CREATE FUNCTION authz.audit_log_is_append_only() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RAISE EXCEPTION 'authz.audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = '42501';
END
$fn$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON authz.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION authz.audit_log_is_append_only();

-- The procedure form of the actions sync, as DESIGN.md names it.
CREATE PROCEDURE authz.sync_admin_actions(declarations jsonb, prune boolean DEFAULT false,
                                          INOUT report jsonb DEFAULT NULL)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $proc$
BEGIN
    report := authz.sync_admin_actions_report(declarations, prune);
END
$proc$;

-- Any committed change to a catalog reaches every backend's permission cache. A change to a
-- user's row, memberships or direct grants invalidates that user only, one to a group or its
-- grants that group and its members (row triggers catalog_rows_changed, src/cache/keys.rs); any
-- other change, and TRUNCATE, invalidates everything (statement triggers catalog_changed).
CREATE TRIGGER catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON authz.content_types
    FOR EACH STATEMENT EXECUTE FUNCTION authz.catalog_changed();
CREATE TRIGGER catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON authz.permissions
    FOR EACH STATEMENT EXECUTE FUNCTION authz.catalog_changed();
CREATE TRIGGER catalog_changed AFTER TRUNCATE ON authz.groups
    FOR EACH STATEMENT EXECUTE FUNCTION authz.catalog_changed();
CREATE TRIGGER catalog_rows_changed AFTER INSERT OR UPDATE OR DELETE ON authz.groups
    FOR EACH ROW EXECUTE FUNCTION authz.catalog_rows_changed('group', 'id');
CREATE TRIGGER catalog_changed AFTER TRUNCATE ON authz.group_permissions
    FOR EACH STATEMENT EXECUTE FUNCTION authz.catalog_changed();
CREATE TRIGGER catalog_rows_changed AFTER INSERT OR UPDATE OR DELETE ON authz.group_permissions
    FOR EACH ROW EXECUTE FUNCTION authz.catalog_rows_changed('group', 'group_id');
CREATE TRIGGER catalog_changed AFTER TRUNCATE ON authz.users
    FOR EACH STATEMENT EXECUTE FUNCTION authz.catalog_changed();
CREATE TRIGGER catalog_rows_changed AFTER INSERT OR UPDATE OR DELETE ON authz.users
    FOR EACH ROW EXECUTE FUNCTION authz.catalog_rows_changed('user_row', 'id');
CREATE TRIGGER catalog_changed AFTER TRUNCATE ON authz.user_groups
    FOR EACH STATEMENT EXECUTE FUNCTION authz.catalog_changed();
CREATE TRIGGER catalog_rows_changed AFTER INSERT OR UPDATE OR DELETE ON authz.user_groups
    FOR EACH ROW EXECUTE FUNCTION authz.catalog_rows_changed('user', 'user_id');
CREATE TRIGGER catalog_changed AFTER TRUNCATE ON authz.user_permissions
    FOR EACH STATEMENT EXECUTE FUNCTION authz.catalog_changed();
CREATE TRIGGER catalog_rows_changed AFTER INSERT OR UPDATE OR DELETE ON authz.user_permissions
    FOR EACH ROW EXECUTE FUNCTION authz.catalog_rows_changed('user', 'user_id');
CREATE TRIGGER catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON authz.object_permissions
    FOR EACH STATEMENT EXECUTE FUNCTION authz.catalog_changed();
CREATE TRIGGER catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON authz.actions
    FOR EACH STATEMENT EXECUTE FUNCTION authz.catalog_changed();

-- pg_dump keeps the catalog rows (they are data, not part of the extension script).
SELECT pg_catalog.pg_extension_config_dump('authz.content_types', '');
SELECT pg_catalog.pg_extension_config_dump('authz.permissions', '');
SELECT pg_catalog.pg_extension_config_dump('authz.groups', '');
SELECT pg_catalog.pg_extension_config_dump('authz.group_permissions', '');
SELECT pg_catalog.pg_extension_config_dump('authz.users', '');
SELECT pg_catalog.pg_extension_config_dump('authz.user_groups', '');
SELECT pg_catalog.pg_extension_config_dump('authz.user_permissions', '');
SELECT pg_catalog.pg_extension_config_dump('authz.object_permissions', '');
SELECT pg_catalog.pg_extension_config_dump('authz.content_types_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('authz.permissions_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('authz.groups_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('authz.object_permissions_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('authz.actions', '');
SELECT pg_catalog.pg_extension_config_dump('authz.actions_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('authz.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('authz.audit_log_id_seq', '');

-- The SQL reference: one comment per public function (listed by tests/pg_regress/sql/01_api.sql).
COMMENT ON FUNCTION authz.set_user(text, boolean) IS
    'Act as app user user_id for the rest of the transaction (or the session when is_local is false); NULL acts as nobody. Only for sessions whose session user is a member of authz_authenticator (42501 otherwise).';
COMMENT ON FUNCTION authz.current_user_id() IS
    'The app user this session acts for, NULL for nobody: a bound role''s user; else a verified token''s sub; else, for authenticator sessions only, authz.user_id or the sub claim of request.jwt.claims.';
COMMENT ON FUNCTION authz.register_model(text, regclass) IS
    'Register model ''app_label.ModelName'' (optionally backed by a relation): its content type and the add_/change_/delete_/view_ permissions. Idempotent; returns the content type id.';
COMMENT ON FUNCTION authz.has_perm(text, text) IS
    'Whether user_id holds permission ''app_label.codename'' (Django''s user.has_perm). NULL, unknown or malformed input gives false.';
COMMENT ON FUNCTION authz.has_perm(text) IS
    'Whether the current user holds permission ''app_label.codename''; false when nobody is set.';
COMMENT ON FUNCTION authz.has_perm(text, text, text) IS
    'Whether user_id holds the permission on the object with primary key object_pk (django-guardian semantics: active superusers, or a grant in authz.object_permissions to the user or a group).';
COMMENT ON FUNCTION authz.has_perms(text, text[]) IS
    'Whether user_id holds every listed permission; an empty list holds, as in Django.';
COMMENT ON FUNCTION authz.has_module_perms(text, text) IS
    'Whether user_id holds any permission of the app label (always, for an active superuser).';
COMMENT ON FUNCTION authz.get_all_permissions(text) IS
    'Every permission user_id holds, directly or through groups, sorted; all catalog permissions for an active superuser.';
COMMENT ON FUNCTION authz.get_user_permissions(text) IS
    'The permissions granted to user_id directly (all of them for an active superuser, as in Django).';
COMMENT ON FUNCTION authz.get_group_permissions(text) IS
    'The permissions user_id holds through its groups (all of them for an active superuser, as in Django).';
COMMENT ON FUNCTION authz.explain(text, text) IS
    'Why user_id is allowed or denied the permission: JSON with allowed and decided_by (no_user, malformed_permission, unknown_user, inactive, superuser, direct, group, no_grant).';
COMMENT ON FUNCTION authz.cache_stats() IS
    'This backend''s permission cache counters: hits, loads (users read), row_loads (a user''s flags read again after a change to its row), everyone_loads (every user read at once, by a backend that has read many one by one), group_loads, catalog_loads (permission strings read), invalidations (of everything), key_invalidations (of one user or group), cached_users, hit_rate.';
COMMENT ON FUNCTION authz.catalog_changed() IS
    'Statement trigger on the catalogs: invalidates every backend''s permission cache.';
-- Only the catalogs' own triggers run it: anyone else could flush every backend's cache.
REVOKE EXECUTE ON FUNCTION authz.catalog_changed() FROM PUBLIC;
COMMENT ON FUNCTION authz.catalog_rows_changed() IS
    'Row trigger on the user and group catalogs (arguments: ''user'', ''user_row'' or ''group'', the key column): invalidates that user''s or group''s entries in every backend''s permission cache (''user_row'': the user''s flags only).';
REVOKE EXECUTE ON FUNCTION authz.catalog_rows_changed() FROM PUBLIC;
COMMENT ON FUNCTION authz.audit_log_is_append_only() IS
    'Trigger on authz.audit_log: refuses UPDATE, DELETE and TRUNCATE with SQLSTATE 42501.';
COMMENT ON FUNCTION authz.sync_admin_actions_report(jsonb, boolean) IS
    'Function form of CALL authz.sync_admin_actions: sync the declared admin actions (a JSON array of {model, codename, name, kind, scope, handler?, key?}); idempotent and all-or-nothing; returns {created, updated, unchanged, pruned, permissions_created, permissions_kept}.';
COMMENT ON PROCEDURE authz.sync_admin_actions(jsonb, boolean, jsonb) IS
    'Sync the declared admin actions: get or create content types and permissions (no migration), create or update actions, prune undeclared ones when asked. Idempotent, all-or-nothing; reports what it did.';
COMMENT ON FUNCTION authz.allowed_actions(text, text) IS
    'The actions of model ''app_label.ModelName'' for user_id in declaration order: [{key, label, scope, kind, allowed}]. Requires an active staff user and the action''s permission (none for codename NULL).';
COMMENT ON FUNCTION authz.perform_action(text, text, text[], jsonb) IS
    'Run admin action key of model on ids with params as the current user: 42501 (audited) unless an active staff user holding the action''s permission; runs the handler; returns {action, model, ok, failed, result, audit_id} and writes one audit entry.';
COMMENT ON FUNCTION authz.enable_audit(regclass, text, boolean, text, boolean) IS
    'Audit every write to a table: one authz.audit_log entry (primary keys, changed columns, row images when row_images) and one NOTIFY on channel per statement (bulk included) with table, operation, count and audit_id, plus the keys and the actor only when notify_ids; updated_at kept at the statement time when named. Idempotent.';
COMMENT ON FUNCTION authz.disable_audit(regclass) IS
    'Stop auditing a table: drop the triggers enable_audit created, and nothing else. Returns whether there were any.';
COMMENT ON FUNCTION authz.audit_statement() IS
    'Statement trigger installed by authz.enable_audit: one audit entry and one notification per statement, from the transition tables.';
COMMENT ON FUNCTION authz.touch_updated_at() IS
    'Row trigger installed by authz.enable_audit(..., updated_at => column): sets the column to the statement start time.';

-- The tables enable_audit watches, read from the triggers themselves.
CREATE VIEW authz.audited_relations AS
SELECT t.tgrelid::regclass AS relation,
       args[1] AS channel,
       args[2]::boolean AS row_images,
       coalesce(args[3]::boolean, false) AS notify_ids,
       (SELECT split_part(encode(u.tgargs, 'escape'), '\000', 1)
          FROM pg_catalog.pg_trigger u
         WHERE u.tgrelid = t.tgrelid AND u.tgname = 'authz_updated_at') AS updated_at
  FROM pg_catalog.pg_trigger t
 CROSS JOIN LATERAL pg_catalog.string_to_array(pg_catalog.encode(t.tgargs, 'escape'), '\000') AS args
 WHERE t.tgname = 'authz_audit_insert' AND t.tgfoid = 'authz.audit_statement()'::regprocedure;
COMMENT ON VIEW authz.audited_relations IS 'Tables audited by authz.enable_audit, with their settings.';
GRANT SELECT ON authz.audited_relations TO PUBLIC;

-- Only authz_admin may attach the audit and readonly triggers (PostgreSQL checks EXECUTE on a
-- trigger function when the trigger is created): nobody else writes audit entries at will.
REVOKE EXECUTE ON FUNCTION authz.audit_statement(), authz.touch_updated_at() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION authz.audit_statement(), authz.touch_updated_at() TO authz_admin;

-- Changes to the permission catalogs (grants, group moves, flag changes) are audited too.
SELECT authz.enable_audit('authz.content_types');
SELECT authz.enable_audit('authz.permissions');
SELECT authz.enable_audit('authz.groups');
SELECT authz.enable_audit('authz.group_permissions');
SELECT authz.enable_audit('authz.users');
SELECT authz.enable_audit('authz.user_groups');
SELECT authz.enable_audit('authz.user_permissions');
SELECT authz.enable_audit('authz.object_permissions');
SELECT authz.enable_audit('authz.actions');

-- Generated row-level security (authz.protect).
GRANT SELECT ON authz.protected_relations TO PUBLIC;
-- protect and unprotect write it as their caller (an authz_admin member), audited as such; the
-- ALTER TABLE they run lets only the table's owner through, and hand-written changes are refused
-- (the written_by_protect trigger below), so nobody rewrites what unprotect will restore.
GRANT INSERT, UPDATE, DELETE ON authz.protected_relations TO authz_admin;
SELECT authz.enable_audit('authz.protected_relations');
SELECT pg_catalog.pg_extension_config_dump('authz.protected_relations', '');

CREATE VIEW authz.policies AS
SELECT pr.relation,
       p.polname::text AS policy,
       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                     WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command,
       CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END AS kind,
       pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS using_expression,
       pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS check_expression,
       pr.spec
  FROM authz.protected_relations pr
  JOIN pg_catalog.pg_policy p ON p.polrelid = pr.relation AND p.polname LIKE 'authz\_%';
COMMENT ON VIEW authz.policies IS 'The policies authz.protect generated, with the spec they came from.';
GRANT SELECT ON authz.policies TO PUBLIC;

-- Readonly columns (Django's readonly fields): installed by authz.protect, one per rule, with
-- the columns' numbers as arguments (a rename keeps them). On UPDATE a value must not change:
-- compared as a value (IS DISTINCT FROM) for the types authz.compares_by_value names, by binary
-- image (*<>) for the rest, never through its text, which settings such as extra_float_digits
-- change. On INSERT a column must hold its default; a column whose default gives another value
-- each time (identity, serial, gen_random_uuid()) cannot be compared, so it takes a freshly
-- drawn value instead of the one the INSERT supplied.
CREATE FUNCTION authz.guard_readonly_columns() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    col record;
    refused boolean;
    fresh text;
    drawn record;
BEGIN
    IF authz.is_superuser() OR authz.restoring() OR EXISTS (
        SELECT 1 FROM jsonb_array_elements_text(TG_ARGV[0]::jsonb) AS w(entry)
         WHERE CASE WHEN w.entry LIKE 'group:%' THEN authz.in_group(substr(w.entry, 7))
                    ELSE authz.has_perm(w.entry) END)
    THEN
        RETURN NEW;
    END IF;
    FOR col IN
        SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
               a.attgenerated <> '' AS generated, a.attidentity <> '' AS identity,
               pg_get_expr(d.adbin, d.adrelid) AS default_expr,
               authz.compares_by_value(a.atttypid, a.attcollation) AS by_value
          FROM unnest(TG_ARGV[1:]::int2[]) WITH ORDINALITY AS n(attnum, i)
          JOIN pg_attribute a ON a.attrelid = TG_RELID AND a.attnum = n.attnum AND NOT a.attisdropped
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         ORDER BY n.i
    LOOP
        refused := false;
        IF TG_OP = 'UPDATE' THEN
            EXECUTE format(CASE WHEN col.by_value THEN 'SELECT $1.%1$I IS DISTINCT FROM $2.%1$I'
                                ELSE 'SELECT ROW($1.%1$I)::record OPERATOR(pg_catalog.*<>) ROW($2.%1$I)::record' END,
                           col.attname)
               INTO refused USING NEW, OLD;
        ELSIF col.generated THEN
            NULL;    -- nobody can write a generated column
        ELSIF col.identity OR authz.column_default_is_volatile(TG_RELID, col.attnum) THEN
            -- The row with this column drawn afresh, every other column as it is.
            SELECT string_agg(CASE WHEN a.attnum = col.attnum
                                   THEN format('(%s)::%s', CASE WHEN col.identity THEN 'authz.next_identity_value($2, $3)'
                                                                ELSE col.default_expr END, col.type)
                                   ELSE format('t.%I', a.attname) END, ', ' ORDER BY a.attnum)
              INTO fresh
              FROM pg_attribute a
             WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped;
            -- Assigned as a value of the table's row type, so that NEW keeps that type.
            EXECUTE format('SELECT ROW(%s)::%s AS r FROM (SELECT ($1).*) AS t', fresh, TG_RELID::regclass)
               INTO drawn USING NEW, TG_RELID, col.attnum;
            NEW := drawn.r;
        ELSIF col.default_expr IS NULL THEN
            EXECUTE format('SELECT $1.%I IS NOT NULL', col.attname) INTO refused USING NEW;
        ELSE
            EXECUTE format(CASE WHEN col.by_value THEN 'SELECT $1.%1$I IS DISTINCT FROM (%2$s)::%3$s'
                                ELSE 'SELECT ROW($1.%1$I)::record OPERATOR(pg_catalog.*<>) ROW((%2$s)::%3$s)::record' END,
                           col.attname, col.default_expr, col.type)
               INTO refused USING NEW;
        END IF;
        IF refused THEN
            RAISE EXCEPTION 'permission denied: column "%" of %.% is read-only for %',
                col.attname, quote_ident(TG_TABLE_SCHEMA), quote_ident(TG_TABLE_NAME),
                coalesce('user "' || authz.current_user_id() || '"', 'nobody')
                USING ERRCODE = '42501';
        END IF;
    END LOOP;
    RETURN NEW;
END
$fn$;

REVOKE EXECUTE ON FUNCTION authz.guard_readonly_columns() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION authz.guard_readonly_columns() TO authz_admin;
COMMENT ON FUNCTION authz.guard_readonly_columns() IS
    'Row trigger installed by authz.protect for readonly columns (arguments: the unless list, then column numbers): 42501 naming the column when someone without the unless permissions or groups changes it (UPDATE) or sets it away from its default (INSERT); identity, serial and other volatile-default columns take a freshly drawn value on INSERT.';
COMMENT ON FUNCTION authz.column_default_is_volatile(oid, smallint) IS
    'Whether column number attnum of the relation has a volatile default (gen_random_uuid(), clock_timestamp(), nextval): evaluating it again gives another value. NULL for a missing relation. Used by authz.guard_readonly_columns.';
COMMENT ON FUNCTION authz.compares_by_value(oid, oid) IS
    'Whether authz.guard_readonly_columns compares values of this type and collation with IS DISTINCT FROM (built-in types with a default btree operator class, except interval, under a deterministic collation) rather than by binary image.';
COMMENT ON FUNCTION authz.next_identity_value(oid, smallint) IS
    'A fresh value of identity column number attnum, drawn as an INSERT draws it: takes the INSERT privilege on the table. Used by authz.guard_readonly_columns.';
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
COMMENT ON FUNCTION authz.restoring() IS
    'Whether the running statement is a superuser''s COPY FROM, as pg_restore and plain-format dumps load tables: it writes no audit entry and skips readonly-column checks.';
COMMENT ON FUNCTION authz.protect(regclass, jsonb, boolean) IS
    'Protect a table with row-level security generated from a spec {model, owner, members, tenant, object_grants, status, max_age, readonly, conditions, strict, hidden}: enables and forces RLS and replaces earlier generated policies in one transaction. Returns the SQL; dry_run only returns it. Idempotent.';
COMMENT ON FUNCTION authz.explain_row(regclass, text, text, text) IS
    'Why a row of a protected table (by its primary key as text) is or is not within reach of a command for the current user, or any user (authz_admin only): each applicable generated policy and strict trigger, whether it passes, and for a failing one its spec rule and what is missing. A row the caller cannot see gives only "visible": false, and a caller without SELECT on every column only "visible" and "withheld", except to authz_admin.';
COMMENT ON FUNCTION authz.owner_subject_to_rls(oid) IS
    'Whether the owner of a relation is subject to row-level security (neither a superuser nor BYPASSRLS): authz.protect requires it of a table with hidden columns, whose generated view <table>_visible reads the table with its owner''s rights; authz.protection_breaches lists such a view when it no longer holds. False for a missing relation.';
COMMENT ON FUNCTION authz.protection_intact(oid, integer) IS
    'Whether the table still has this many RESTRICTIVE authz_* policies: the check of the authz_intact policy authz.protect adds, which denies every row once a restriction is gone (false for a missing table).';
COMMENT ON FUNCTION authz.unprotect(regclass) IS
    'Remove what authz.protect made on a table (its policies and triggers, and RLS if the table did not have it before) and nothing else. Returns whether the table was protected.';
COMMENT ON FUNCTION authz.in_group(text, text) IS
    'Whether active user user_id belongs to the named group.';
COMMENT ON FUNCTION authz.in_group(text) IS
    'Whether the current user is active and belongs to the named group.';
COMMENT ON FUNCTION authz.is_superuser() IS
    'Whether the current user is an active superuser (who passes every check and generated policy).';

-- Schema changes that would break auditing are refused when they are made, rather than failing
-- every later write: an audited table losing its primary key, or the column enable_audit keeps
-- updated being renamed, dropped or retyped. (The triggers check again at run time, for
-- sessions that skip event triggers.)
CREATE FUNCTION authz.guard_audited_tables() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    audited regclass;
    stamped text;
BEGIN
    FOR audited IN
        SELECT DISTINCT c.objid::regclass
          FROM pg_event_trigger_ddl_commands() c
          JOIN pg_trigger t ON t.tgrelid = c.objid AND t.tgname = 'authz_audit_update'
                           AND t.tgfoid = 'authz.audit_statement()'::regprocedure
         WHERE c.classid = 'pg_class'::regclass
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = audited AND i.indisprimary) THEN
            RAISE EXCEPTION 'audited table % must keep a primary key: audit entries identify rows by it', audited
                USING ERRCODE = 'dependent_objects_still_exist',
                      HINT = format('Replace it within the same ALTER TABLE statement, or stop auditing first with authz.disable_audit(%L).', audited::text);
        END IF;
        SELECT convert_from(substring(t.tgargs FROM 1 FOR position(decode('00', 'hex') IN t.tgargs) - 1),
                            getdatabaseencoding())
          INTO stamped
          FROM pg_trigger t
         WHERE t.tgrelid = audited AND t.tgname = 'authz_updated_at'
           AND t.tgfoid = 'authz.touch_updated_at()'::regprocedure;
        IF stamped IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM pg_attribute a
                WHERE a.attrelid = audited AND a.attname = stamped AND NOT a.attisdropped
                  AND a.atttypid = 'timestamptz'::regtype) THEN
            RAISE EXCEPTION 'cannot rename, drop or retype column "%" of audited table %: authz.enable_audit keeps it updated', stamped, audited
                USING ERRCODE = 'dependent_objects_still_exist',
                      HINT = format('Call authz.enable_audit(%L) without updated_at first, then again with the new column.', audited::text);
        END IF;
    END LOOP;
END
$fn$;
REVOKE EXECUTE ON FUNCTION authz.guard_audited_tables() FROM PUBLIC;
COMMENT ON FUNCTION authz.guard_audited_tables() IS
    'Event trigger: refuses (2BP01) an ALTER TABLE that removes the primary key of an audited table or renames, drops or retypes the column authz.enable_audit keeps updated.';
CREATE EVENT TRIGGER authz_guard_audited_tables ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION authz.guard_audited_tables();

-- Tamper guard (src/guard.rs). A generated policy or trigger goes only with its table, or by
-- authz.protect, unprotect, enable_audit or disable_audit, which run their DDL with a flag set in
-- backend memory (authz.generated_ddl_running()). Anything else is refused: the owner's DROP
-- POLICY / DROP TRIGGER, a DROP ... CASCADE of a membership table or a column, DROP SCHEMA,
-- DROP OWNED. Sessions that skip event triggers (superusers with session_replication_role =
-- replica, single-user mode) are not stopped: see README "Tamper paths".
CREATE FUNCTION authz.guard_protected_tables() RETURNS event_trigger
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
REVOKE EXECUTE ON FUNCTION authz.guard_protected_tables() FROM PUBLIC;
COMMENT ON FUNCTION authz.guard_protected_tables() IS
    'Event trigger: refuses (2BP01) a DROP that would take a policy or trigger authz.protect or authz.enable_audit generated while its table stays (DROP POLICY, DROP TRIGGER, a CASCADE from a membership table, a column, a schema), unless authz.unprotect or authz.disable_audit runs it.';
CREATE EVENT TRIGGER authz_guard_protected_tables ON sql_drop
    EXECUTE FUNCTION authz.guard_protected_tables();

-- A dropped table is no longer protected: its row goes with it (as the extension's owner, for
-- the table's owner need not be an authz_admin member).
CREATE FUNCTION authz.forget_dropped_tables() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    DELETE FROM authz.protected_relations pr
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND pr.relation = d.objid;
END
$fn$;
REVOKE EXECUTE ON FUNCTION authz.forget_dropped_tables() FROM PUBLIC;
COMMENT ON FUNCTION authz.forget_dropped_tables() IS
    'Event trigger: deletes the authz.protected_relations row of a dropped table.';
CREATE EVENT TRIGGER authz_forget_dropped_tables ON sql_drop
    EXECUTE FUNCTION authz.forget_dropped_tables();

-- What would let a write skip its audit entry or a row skip its policies, now. An ALTER that
-- adds one of these is refused (authz_guard_generated_end).
CREATE VIEW authz.protection_breaches AS
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
COMMENT ON FUNCTION authz.generated_ddl_running() IS
    'Whether authz.protect, unprotect, enable_audit or disable_audit is running DDL in this backend (set in backend memory, not by any setting): the tamper guard lets that DDL through.';
COMMENT ON FUNCTION authz.remember_protection_breaches() IS
    'Record authz.protection_breaches at the start of a DDL command (event trigger authz_guard_generated_start), once per client statement: nested commands and later calls keep the first record.';
COMMENT ON FUNCTION authz.protection_breaches_at_start() IS
    'The breaches recorded at the start of the current DDL command, as ''relation-oid breach''.';

CREATE FUNCTION authz.guard_generated_start() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    PERFORM authz.remember_protection_breaches();
END
$fn$;
REVOKE EXECUTE ON FUNCTION authz.guard_generated_start() FROM PUBLIC;
COMMENT ON FUNCTION authz.guard_generated_start() IS
    'Event trigger: records authz.protection_breaches before an ALTER TABLE, ALTER TRIGGER, ALTER POLICY, CREATE POLICY, CREATE TABLE, ALTER VIEW or CREATE VIEW.';

CREATE FUNCTION authz.guard_generated_end() RETURNS event_trigger
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
REVOKE EXECUTE ON FUNCTION authz.guard_generated_end() FROM PUBLIC;
COMMENT ON FUNCTION authz.guard_generated_end() IS
    'Event trigger: refuses (2BP01) an ALTER TABLE, ALTER TRIGGER, ALTER POLICY, CREATE POLICY, CREATE TABLE, ALTER VIEW or CREATE VIEW that alters a generated policy or adds a breach (authz.protection_breaches; a view of hidden columns given to a role that bypasses RLS, say), unless authz.protect, unprotect, enable_audit or disable_audit runs it.';
CREATE EVENT TRIGGER authz_guard_generated_start ON ddl_command_start
    WHEN TAG IN ('ALTER TABLE', 'ALTER TRIGGER', 'ALTER POLICY', 'CREATE POLICY', 'CREATE TABLE', 'ALTER VIEW', 'CREATE VIEW')
    EXECUTE FUNCTION authz.guard_generated_start();
CREATE EVENT TRIGGER authz_guard_generated_end ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'ALTER TRIGGER', 'ALTER POLICY', 'CREATE POLICY', 'CREATE TABLE', 'ALTER VIEW', 'CREATE VIEW')
    EXECUTE FUNCTION authz.guard_generated_end();

-- Only protect and unprotect write authz.protected_relations (the guard trusts it): not even
-- authz_admin may edit it by hand. A superuser's writes (a restore's COPY) pass.
CREATE FUNCTION authz.protected_relations_written_by_protect() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF authz.generated_ddl_running()
       OR (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) current_user) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'permission denied: authz.protected_relations is written by authz.protect and authz.unprotect only'
        USING ERRCODE = '42501', HINT = 'Call authz.protect or authz.unprotect.';
END
$fn$;
COMMENT ON FUNCTION authz.protected_relations_written_by_protect() IS
    'Trigger on authz.protected_relations: refuses (42501) writes that do not come from authz.protect or authz.unprotect (or a superuser, such as a restore).';
CREATE TRIGGER written_by_protect BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON authz.protected_relations
    FOR EACH STATEMENT EXECUTE FUNCTION authz.protected_relations_written_by_protect();

-- Identity (src/identity/): role bindings and signing keys.
GRANT SELECT ON authz.bound_roles TO PUBLIC;
GRANT INSERT, UPDATE, DELETE ON authz.bound_roles TO authz_admin;
-- authz_admin manages keys without reading secrets back; only the extension owner reads key.
GRANT INSERT, UPDATE, DELETE ON authz.jwt_keys TO authz_admin;
GRANT SELECT (kid, alg, issuer, audience, created_at) ON authz.jwt_keys TO authz_admin;
ALTER TABLE authz.jwt_keys ADD CONSTRAINT jwt_keys_key_is_usable CHECK (authz.jwt_key_is_usable(alg, key));
CREATE TRIGGER catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON authz.bound_roles
    FOR EACH STATEMENT EXECUTE FUNCTION authz.catalog_changed();
CREATE TRIGGER catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON authz.jwt_keys
    FOR EACH STATEMENT EXECUTE FUNCTION authz.catalog_changed();
-- A dropped role's row is not dumped: restored elsewhere, its bare OID could name another role.
SELECT pg_catalog.pg_extension_config_dump('authz.bound_roles',
    'WHERE EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) role::pg_catalog.oid)');
SELECT pg_catalog.pg_extension_config_dump('authz.jwt_keys', '');
SELECT authz.enable_audit('authz.bound_roles');

-- Roles are cluster-wide and PostgreSQL runs no event trigger for DROP ROLE: a dropped role's
-- row is left behind, hidden by the view, ignored by the identity lookup, left out of dumps, and
-- deleted by the next bind_role or unbind_role.
CREATE VIEW authz.role_bindings AS
SELECT b.role, b.user_id, b.bound_at, b.bound_by
  FROM authz.bound_roles b
 WHERE EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) b.role::pg_catalog.oid);
COMMENT ON VIEW authz.role_bindings IS 'Database roles bound to an app user: their sessions always act as it (authz.bind_role).';
GRANT SELECT ON authz.role_bindings TO PUBLIC;

CREATE FUNCTION authz.bind_role(role regrole, user_id text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF NOT pg_has_role(current_user, 'authz_admin', 'USAGE') THEN
        RAISE EXCEPTION 'permission denied to bind role %: authz.bind_role requires authz_admin', role
            USING ERRCODE = '42501';
    END IF;
    IF role IS NULL OR user_id IS NULL THEN
        RAISE EXCEPTION 'authz.bind_role: role and user_id must not be NULL' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles r WHERE r.oid = bind_role.role::oid) THEN
        RAISE EXCEPTION 'authz.bind_role: role with OID % does not exist', bind_role.role::oid USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT FROM authz.users u WHERE u.id = user_id) THEN
        RAISE EXCEPTION 'app user "%" does not exist', user_id USING ERRCODE = 'P0002';
    END IF;
    DELETE FROM authz.bound_roles b
     WHERE NOT EXISTS (SELECT FROM pg_roles r WHERE r.oid = b.role::oid);
    INSERT INTO authz.bound_roles AS b (role, user_id) VALUES (bind_role.role, bind_role.user_id)
    ON CONFLICT ON CONSTRAINT bound_roles_pkey DO UPDATE
       SET user_id = excluded.user_id, bound_at = excluded.bound_at, bound_by = excluded.bound_by
     WHERE b.user_id IS DISTINCT FROM excluded.user_id;
END
$fn$;
COMMENT ON FUNCTION authz.bind_role(regrole, text) IS
    'Bind a database role to app user user_id (authz_admin only): sessions whose session user is that role always act as it, whatever they set. Rebinding moves it; the binding follows renames.';

CREATE FUNCTION authz.unbind_role(role regrole) RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    removed integer;
BEGIN
    IF NOT pg_has_role(current_user, 'authz_admin', 'USAGE') THEN
        RAISE EXCEPTION 'permission denied to unbind role %: authz.unbind_role requires authz_admin', role
            USING ERRCODE = '42501';
    END IF;
    DELETE FROM authz.bound_roles b
     WHERE b.role <> unbind_role.role AND NOT EXISTS (SELECT FROM pg_roles r WHERE r.oid = b.role::oid);
    DELETE FROM authz.bound_roles b WHERE b.role = unbind_role.role;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed > 0;
END
$fn$;
COMMENT ON FUNCTION authz.unbind_role(regrole) IS
    'Remove the binding of a database role (authz_admin only); its sessions are nobody again unless it is an authenticator. Returns whether it was bound.';
COMMENT ON FUNCTION authz.set_user_token(text, boolean) IS
    'Verify a signed token (compact JWT, HS256, EdDSA or RS256, key chosen by kid from authz.jwt_keys; exp required, nbf/iat/iss/aud checked) and act as its sub for the transaction (or the session when is_local is false); returns the user id. 28000 for a bad token, 42501 for a bound role.';
COMMENT ON FUNCTION authz.jwt_key_is_usable(text, text) IS
    'CHECK constraint of authz.jwt_keys: whether key is usable for alg (an HS256 secret of at least 32 bytes, an Ed25519 or 2048-bit-plus RSA public key in PEM); 22023 saying why not.';

-- Django's tables as the source of truth (src/django.rs, sql/django.sql).
GRANT SELECT ON authz.django_binding TO PUBLIC;
COMMENT ON FUNCTION authz.bind_django(text, text, text, text, text, text, text, text, boolean, text, text, text, text) IS
    'Make Django''s auth tables (content types, permissions, groups, the user table and its link tables, django-guardian''s when present) the source of truth: the catalogs mirror them in the same transaction. Defaults fit auth.User; NULL for a field or link table a custom user model lacks. Idempotent; 42P01/22023 naming a missing table or column, nothing written. Returns a summary.';
COMMENT ON FUNCTION authz.unbind_django() IS
    'Undo bind_django: drop the mirror''s triggers and the binding; the catalogs keep the rows they mirrored. Returns whether it was bound.';
COMMENT ON FUNCTION authz.users_with_perm(text, boolean, boolean) IS
    'The users holding permission ''app_label.codename'' directly, through a group or (include_superusers) as superusers, whose is_active equals the argument (NULL: any): Django''s UserManager.with_perm.';

-- authz.lint(): what a DBA should act on, one row per finding, each with the SQL that fixes it.
-- SECURITY INVOKER and open to everyone: it reads only catalogs every role can read
-- (pg_catalog, authz.protected_relations, authz.audited_relations), so it shows nobody more
-- than they could query themselves.
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
