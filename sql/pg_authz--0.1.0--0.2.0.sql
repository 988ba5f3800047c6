-- pg_authz 0.1.0 -> 0.2.0
--
-- Every schema change since the 0.1.0 release goes here, and into the fresh-install sources
-- (sql/bootstrap.sql, sql/finalize.sql, the #[pg_extern] functions) in the same commit. The
-- upgrade test compares `ALTER EXTENSION pg_authz UPDATE` from 0.1.0 with a fresh 0.2.0 install.
-- sql/pg_authz--0.1.0.sql is the released install script: it is never edited.

\echo Use "ALTER EXTENSION pg_authz UPDATE TO '0.2.0'" to load this file. \quit

-- perf: invalidation by key (src/cache/keys.rs). A change to a user's row, memberships or
-- direct grants invalidates that user only; one to a group or its grants, that group and its
-- members. TRUNCATE still invalidates everything.
CREATE FUNCTION authz.catalog_rows_changed() RETURNS trigger LANGUAGE c
    AS 'MODULE_PATHNAME', 'pg_authz_catalog_rows_changed';
COMMENT ON FUNCTION authz.catalog_rows_changed() IS
    'Row trigger on the user and group catalogs (arguments: ''user'' or ''group'', the key column): invalidates that user''s or group''s entries in every backend''s permission cache.';
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
    FOR EACH ROW EXECUTE FUNCTION authz.catalog_rows_changed('user', 'id');
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
    'This backend''s permission cache counters: hits, loads (users read), group_loads, catalog_loads (permission strings read), invalidations (of everything), key_invalidations (of one user or group), cached_users, hit_rate.';
