-- pg_authz 0.1.0 -> 0.2.0
--
-- Every schema change since the 0.1.0 release goes here, and into the fresh-install sources
-- (sql/bootstrap.sql, sql/finalize.sql, the #[pg_extern] functions) in the same commit. The
-- upgrade test compares `ALTER EXTENSION pg_authz UPDATE` from 0.1.0 with a fresh 0.2.0 install.
-- sql/pg_authz--0.1.0.sql is the released install script: it is never edited.

\echo Use "ALTER EXTENSION pg_authz UPDATE TO '0.2.0'" to load this file. \quit

-- rules: conditions (row predicates) and strict mode's trigger, conditional readonly, explain_row,
-- hidden columns (issue #17).
-- Strict conditions (src/policy/conditions.rs): a row trigger whose WHEN clause is the
-- condition on the row before the change; it refuses the UPDATE or DELETE with 42501 naming the
-- rule unless the user holds every entry of `requires` (arguments: the rule, its predicate as
-- text, the requires list).
CREATE FUNCTION authz.refuse_conditional_change() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    missing text;
BEGIN
    IF NOT authz.is_superuser() THEN
        SELECT string_agg(w.entry, ', ' ORDER BY w.i) INTO missing
          FROM jsonb_array_elements_text(TG_ARGV[2]::jsonb) WITH ORDINALITY AS w(entry, i)
         WHERE w.entry = 'superuser'
            OR NOT CASE WHEN w.entry LIKE 'group:%' THEN authz.in_group(substr(w.entry, 7))
                        ELSE authz.has_perm(w.entry) END;
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION 'permission denied: rule % of %.% keeps % of this row from %',
                TG_ARGV[0], quote_ident(TG_TABLE_SCHEMA), quote_ident(TG_TABLE_NAME), TG_OP,
                coalesce('user "' || authz.current_user_id() || '"', 'nobody')
                USING ERRCODE = '42501',
                      DETAIL = format('The row matches %s; changing it requires %s (missing: %s).',
                                      TG_ARGV[1], TG_ARGV[2], missing);
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
    'Row trigger installed by authz.protect for conditions of a "strict" spec (arguments: the rule, its predicate, the requires list): 42501 naming the rule when a user without every requires entry (or an active superuser) updates or deletes a row matching the condition, instead of the row being skipped.';
CREATE FUNCTION authz.explain_row(
    "relation" regclass, "key" text, "command" text DEFAULT 'SELECT', "user_id" text DEFAULT NULL
) RETURNS jsonb
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'explain_row_wrapper';
COMMENT ON FUNCTION authz.explain_row(regclass, text, text, text) IS
    'Why a row of a protected table (by its primary key as text) is or is not within reach of a command for the current user, or any user (authz_admin only): each applicable generated policy and strict trigger, whether it passes, and for a failing one its spec rule and what is missing. A row the caller cannot see gives only "visible": false, except to authz_admin.';
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
                                         'authz_audit_truncate', 'authz_updated_at', 'authz_age_lock')
                        AND t.tgname NOT LIKE 'authz\_readonly\_%' AND t.tgname NOT LIKE 'authz\_condition\_%'
                        THEN 'a generated trigger under another name'
                   WHEN t.tgenabled = 'D' THEN 'disabled'
                   WHEN t.tgenabled = 'R' THEN 'set to fire only on replicas'
                   ELSE 'set to fire always, on replicas too' END),
       CASE WHEN t.tgfoid IN ('authz.guard_readonly_columns()'::regprocedure, 'authz.refuse_conditional_change()'::regprocedure)
            THEN format('Call authz.unprotect(%L) to remove its protection.', t.tgrelid::regclass::text)
            ELSE format('Call authz.disable_audit(%L) to stop auditing the table.', t.tgrelid::regclass::text) END
  FROM pg_trigger t
 WHERE t.tgfoid IN ('authz.audit_statement()'::regprocedure, 'authz.touch_updated_at()'::regprocedure,
                    'authz.guard_readonly_columns()'::regprocedure, 'authz.refuse_conditional_change()'::regprocedure)
   AND (t.tgenabled <> 'O'
        OR (t.tgname NOT IN ('authz_audit_insert', 'authz_audit_update', 'authz_audit_delete',
                             'authz_audit_truncate', 'authz_updated_at', 'authz_age_lock')
            AND t.tgname NOT LIKE 'authz\_readonly\_%' AND t.tgname NOT LIKE 'authz\_condition\_%'))
UNION ALL
SELECT pr.relation,
       format('view %s of its hidden columns is owned by role %I, which bypasses row-level security', v.oid::regclass, r.rolname),
       format('Give the table and the view to a role subject to row-level security, then call authz.protect(%L, spec) again.', pr.relation::text)
  FROM authz.protected_relations pr
  JOIN pg_class t ON t.oid = pr.relation
  JOIN pg_class v ON v.relnamespace = t.relnamespace AND v.relname = t.relname || '_visible' AND v.relkind = 'v'
  JOIN pg_roles r ON r.oid = v.relowner
 WHERE pr.spec ? 'hidden' AND NOT authz.owner_subject_to_rls(v.oid);
COMMENT ON VIEW authz.protection_breaches IS
    'What would let a write skip its audit entry or a row skip its generated policies, now: RLS disabled or not forced on a protected table, a protected table in an inheritance tree, a generated policy missing, a PERMISSIVE policy protect did not make, a generated trigger disabled, renamed or set to fire on replicas, a view of hidden columns owned by a role that bypasses RLS; with the function that changes it. Empty when everything is as pg_authz made it.';
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
