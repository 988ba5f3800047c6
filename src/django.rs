//! Django's own tables as the source of truth: `authz.bind_django`, `authz.unbind_django`,
//! `authz.users_with_perm` (Django's `UserManager.with_perm`), and the write-through that makes
//! pg_authz's own writers (register_model, sync_admin_actions, protect) write Django's tables
//! when bound.
//!
//! The catalogs mirror Django's rows in the same transaction (`sql/django.sql`): statement
//! triggers on Django's tables recompute the mirrored rows of the keys each statement touched,
//! keeping Django's ids. Every check, action and policy keeps reading the catalogs, so the cache
//! and its invalidation work unchanged, and nothing references Django's tables.

use pgrx::iter::SetOfIterator;
use pgrx::prelude::*;

use crate::catalog::ModelName;
use crate::error::{AuthzError, OrRaise, Result};
use crate::privilege::as_extension_owner;

extension_sql_file!(
    "../sql/django.sql",
    name = "django",
    requires = ["bootstrap"]
);

/// A table argument of bind_django, resolved through the caller's search_path.
struct BoundTable {
    oid: pg_sys::Oid,
    name: String,
}

/// What a column must be.
#[derive(Clone, Copy)]
enum ColumnKind {
    /// smallint, integer, bigint (Django's AutoField family).
    Integer,
    /// An integer, uuid or text primary key of the user model.
    UserId,
    Boolean,
    Text,
}

impl ColumnKind {
    fn accepts(self, type_name: &str) -> bool {
        let integer = matches!(type_name, "smallint" | "integer" | "bigint");
        let text = matches!(type_name, "text" | "character varying");
        match self {
            ColumnKind::Integer => integer,
            ColumnKind::UserId => integer || text || type_name == "uuid",
            ColumnKind::Boolean => type_name == "boolean",
            ColumnKind::Text => text,
        }
    }

    fn expected(self) -> &'static str {
        match self {
            ColumnKind::Integer => "smallint, integer or bigint",
            ColumnKind::UserId => "an integer, uuid or text type",
            ColumnKind::Boolean => "boolean",
            ColumnKind::Text => "text or character varying",
        }
    }
}

/// Resolve `name` (argument `arg` of bind_django): 42P01 naming it when there is no such table;
/// the caller must be able to read it and put triggers on it.
fn resolve_table(name: &str, arg: &str) -> Result<BoundTable> {
    let found = Spi::get_two_with_args::<pg_sys::Oid, String>(
        "SELECT c.oid, pg_catalog.format('%I.%I', n.nspname, c.relname)
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
          WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)
            AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}')",
        &[name.into()],
    );
    let (oid, qualified) = match found {
        Ok((Some(oid), Some(qualified))) => (oid, qualified),
        Ok(_) | Err(pgrx::spi::SpiError::InvalidPosition) => {
            return Err(AuthzError::UndefinedTable(format!(
                "relation \"{name}\" does not exist (bind_django argument {arg})"
            )))
        }
        // to_regclass raises on a malformed name ("a.b.c.d"): the same answer, 22023.
        Err(e) => {
            return Err(AuthzError::InvalidArgument(format!(
                "{arg} \"{name}\": {e}"
            )))
        }
    };
    for privilege in ["SELECT", "TRIGGER"] {
        let granted = Spi::get_one_with_args::<bool>(
            "SELECT pg_catalog.has_table_privilege($1::pg_catalog.oid, $2)",
            &[oid.into(), privilege.into()],
        )?;
        if granted != Some(true) {
            return Err(AuthzError::Denied(format!(
                "permission denied to bind {qualified}: bind_django needs {privilege} on it"
            )));
        }
    }
    Ok(BoundTable {
        oid,
        name: qualified,
    })
}

/// The type of `table.column`, checked against `kind`: 22023 naming both when it is missing or
/// of another type. Returns the type's name.
fn check_column(table: &BoundTable, column: &str, kind: ColumnKind, arg: &str) -> Result<String> {
    let type_name = Spi::get_one_with_args::<String>(
        "SELECT a.atttypid::pg_catalog.regtype::pg_catalog.text FROM pg_catalog.pg_attribute a
          WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attname OPERATOR(pg_catalog.=) $2::pg_catalog.name
            AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped",
        &[table.oid.into(), column.into()],
    );
    let type_name = match type_name {
        Ok(Some(t)) => t,
        Ok(None) | Err(pgrx::spi::SpiError::InvalidPosition) => {
            return Err(AuthzError::InvalidArgument(format!(
                "column \"{column}\" of relation {} does not exist (bind_django argument {arg})",
                table.name
            )))
        }
        Err(e) => return Err(e.into()),
    };
    if !kind.accepts(&type_name) {
        return Err(AuthzError::InvalidArgument(format!(
            "column \"{column}\" of relation {} is {type_name}, expected {} (bind_django argument {arg})",
            table.name,
            kind.expected()
        )));
    }
    Ok(type_name)
}

/// Check every fixed column of a Django table.
fn check_columns(table: &BoundTable, arg: &str, columns: &[(&str, ColumnKind)]) -> Result<()> {
    for (column, kind) in columns {
        check_column(table, column, *kind, arg)?;
    }
    Ok(())
}

/// Everything bind_django was told, resolved and checked.
struct Binding {
    content_types: BoundTable,
    permissions: BoundTable,
    groups: BoundTable,
    group_permissions: BoundTable,
    users: BoundTable,
    user_id_column: String,
    user_id_type: String,
    is_active_column: Option<String>,
    is_staff_column: Option<String>,
    is_superuser_column: Option<String>,
    user_groups: Option<BoundTable>,
    user_permissions: Option<BoundTable>,
    user_column: String,
    guardian: Option<(BoundTable, BoundTable)>,
}

/// The arguments of bind_django, as given.
struct BindArgs<'a> {
    user_table: &'a str,
    user_id_column: &'a str,
    user_groups_table: Option<&'a str>,
    user_permissions_table: Option<&'a str>,
    user_column: &'a str,
    is_active_column: Option<&'a str>,
    is_staff_column: Option<&'a str>,
    is_superuser_column: Option<&'a str>,
    guardian: Option<bool>,
    content_type_table: &'a str,
    permission_table: &'a str,
    group_table: &'a str,
    group_permissions_table: &'a str,
}

fn resolve(args: &BindArgs) -> Result<Binding> {
    use ColumnKind::*;
    let content_types = resolve_table(args.content_type_table, "content_type_table")?;
    check_columns(
        &content_types,
        "content_type_table",
        &[("id", Integer), ("app_label", Text), ("model", Text)],
    )?;
    let permissions = resolve_table(args.permission_table, "permission_table")?;
    check_columns(
        &permissions,
        "permission_table",
        &[
            ("id", Integer),
            ("content_type_id", Integer),
            ("codename", Text),
            ("name", Text),
        ],
    )?;
    let groups = resolve_table(args.group_table, "group_table")?;
    check_columns(&groups, "group_table", &[("id", Integer), ("name", Text)])?;
    let group_permissions = resolve_table(args.group_permissions_table, "group_permissions_table")?;
    check_columns(
        &group_permissions,
        "group_permissions_table",
        &[("group_id", Integer), ("permission_id", Integer)],
    )?;
    let users = resolve_table(args.user_table, "user_table")?;
    let user_id_type = check_column(&users, args.user_id_column, UserId, "user_id_column")?;
    let flag = |column: Option<&str>, arg: &str| -> Result<Option<String>> {
        column
            .map(|c| check_column(&users, c, Boolean, arg).map(|_| c.to_owned()))
            .transpose()
    };
    let is_active_column = flag(args.is_active_column, "is_active_column")?;
    let is_staff_column = flag(args.is_staff_column, "is_staff_column")?;
    let is_superuser_column = flag(args.is_superuser_column, "is_superuser_column")?;
    // A link table's user column has the user id's type (it is a foreign key to it).
    let user_link = |name: Option<&str>, arg: &str, other: &str| -> Result<Option<BoundTable>> {
        let Some(name) = name else { return Ok(None) };
        let table = resolve_table(name, arg)?;
        let link_type = check_column(&table, args.user_column, UserId, "user_column")?;
        if link_type != user_id_type {
            return Err(AuthzError::InvalidArgument(format!(
                "column \"{}\" of relation {} is {link_type}, but the user id {}.{} is {user_id_type} (bind_django argument user_column)",
                args.user_column, table.name, users.name, args.user_id_column
            )));
        }
        check_column(&table, other, Integer, arg)?;
        Ok(Some(table))
    };
    let user_groups = user_link(args.user_groups_table, "user_groups_table", "group_id")?;
    let user_permissions = user_link(
        args.user_permissions_table,
        "user_permissions_table",
        "permission_id",
    )?;
    let guardian = resolve_guardian(args.guardian, &user_id_type)?;
    Ok(Binding {
        content_types,
        permissions,
        groups,
        group_permissions,
        users,
        user_id_column: args.user_id_column.to_owned(),
        user_id_type,
        is_active_column,
        is_staff_column,
        is_superuser_column,
        user_groups,
        user_permissions,
        user_column: args.user_column.to_owned(),
        guardian,
    })
}

const GUARDIAN_USER_TABLE: &str = "guardian_userobjectpermission";
const GUARDIAN_GROUP_TABLE: &str = "guardian_groupobjectpermission";

/// django-guardian's two tables: bound when present (`guardian` NULL), required (true) or not
/// bound (false).
fn resolve_guardian(
    guardian: Option<bool>,
    user_id_type: &str,
) -> Result<Option<(BoundTable, BoundTable)>> {
    use ColumnKind::*;
    if guardian == Some(false) {
        return Ok(None);
    }
    if guardian.is_none() {
        let present = Spi::get_one_with_args::<bool>(
            "SELECT pg_catalog.to_regclass($1) IS NOT NULL AND pg_catalog.to_regclass($2) IS NOT NULL",
            &[GUARDIAN_USER_TABLE.into(), GUARDIAN_GROUP_TABLE.into()],
        )?;
        if present != Some(true) {
            return Ok(None);
        }
    }
    let user_table = resolve_table(GUARDIAN_USER_TABLE, "guardian")?;
    let user_type = check_column(&user_table, "user_id", UserId, "guardian")?;
    if user_type != user_id_type {
        return Err(AuthzError::InvalidArgument(format!(
            "column \"user_id\" of relation {} is {user_type}, but the user id is {user_id_type} (bind_django argument guardian)",
            user_table.name
        )));
    }
    check_columns(
        &user_table,
        "guardian",
        &[("permission_id", Integer), ("object_pk", Text)],
    )?;
    let group_table = resolve_table(GUARDIAN_GROUP_TABLE, "guardian")?;
    check_columns(
        &group_table,
        "guardian",
        &[
            ("group_id", Integer),
            ("permission_id", Integer),
            ("object_pk", Text),
        ],
    )?;
    Ok(Some((user_table, group_table)))
}

/// On the first bind, the content types and permissions pg_authz created so far go into Django's
/// tables, so that they survive (with Django's ids) and show in the Group editor. Written as each
/// table's owner, as the write-through does: bind_django takes SELECT and TRIGGER only.
fn copy_catalog_into_django(b: &Binding) -> Result<()> {
    let bound = Spi::get_one::<bool>("SELECT EXISTS (SELECT 1 FROM authz.django_binding)")?;
    if bound == Some(true) {
        return Ok(());
    }
    let (ct, perm) = (&b.content_types.name, &b.permissions.name);
    as_table_owner(table_owner(&b.content_types)?, || {
        Ok(Spi::run(&format!(
            "INSERT INTO {ct} (app_label, model)
             SELECT c.app_label, c.model FROM authz.content_types c
              WHERE NOT EXISTS (SELECT 1 FROM {ct} d WHERE d.app_label = c.app_label AND d.model = c.model)
              ORDER BY c.id"
        ))?)
    })?;
    as_table_owner(table_owner(&b.permissions)?, || {
        Ok(Spi::run(&format!(
            "INSERT INTO {perm} (content_type_id, codename, name)
             SELECT d.id, p.codename, pg_catalog.left(p.name, 255)
               FROM authz.permissions p
               JOIN authz.content_types c ON c.id = p.content_type_id
               JOIN {ct} d ON d.app_label = c.app_label AND d.model = c.model
              WHERE NOT EXISTS (SELECT 1 FROM {perm} e WHERE e.content_type_id = d.id AND e.codename = p.codename)
              ORDER BY p.id"
        ))?)
    })
}

fn table_owner(table: &BoundTable) -> Result<pg_sys::Oid> {
    Spi::get_one_with_args::<pg_sys::Oid>(
        "SELECT relowner FROM pg_catalog.pg_class WHERE oid OPERATOR(pg_catalog.=) $1",
        &[table.oid.into()],
    )?
    .ok_or_else(|| AuthzError::Internal(format!("relation {} has no owner", table.name)))
}

/// Write the binding, sync the catalogs from Django's rows and put the triggers in place, as the
/// extension's owner (every value was resolved and checked as the caller).
fn apply(b: &Binding) -> Result<serde_json::Value> {
    as_extension_owner(|| {
        let was_bound = Spi::get_one::<bool>("SELECT EXISTS (SELECT 1 FROM authz.django_binding)")?
            .unwrap_or(false);
        // Another user model: its ids are not comparable with the mirrored ones.
        let same_users = Spi::get_one_with_args::<bool>(
            "SELECT EXISTS (SELECT 1 FROM authz.django_binding
                             WHERE user_table = $1::oid::regclass AND user_id_type = $2)",
            &[b.users.oid.into(), b.user_id_type.as_str().into()],
        )?
        .unwrap_or(false);
        // The tamper guard refuses to drop the mirror's triggers from anywhere else.
        crate::guard::generating(|| {
            Spi::run("SELECT authz.django_drop_triggers(); DELETE FROM authz.django_binding")
        })?;
        if was_bound && !same_users {
            Spi::run("DELETE FROM authz.users")?;
        }
        let oid = |t: &BoundTable| t.oid;
        let opt = |t: &Option<BoundTable>| t.as_ref().map(oid);
        Spi::run_with_args(
            "INSERT INTO authz.django_binding
               (content_type_table, permission_table, group_table, group_permissions_table, user_table,
                user_id_column, user_id_type, is_active_column, is_staff_column, is_superuser_column,
                user_groups_table, user_permissions_table, user_column,
                user_object_permissions_table, group_object_permissions_table)
             VALUES ($1::oid::regclass, $2::oid::regclass, $3::oid::regclass, $4::oid::regclass, $5::oid::regclass,
                     $6, $7, $8, $9, $10, $11::oid::regclass, $12::oid::regclass, $13,
                     $14::oid::regclass, $15::oid::regclass)",
            &[
                oid(&b.content_types).into(),
                oid(&b.permissions).into(),
                oid(&b.groups).into(),
                oid(&b.group_permissions).into(),
                oid(&b.users).into(),
                b.user_id_column.as_str().into(),
                b.user_id_type.as_str().into(),
                b.is_active_column.as_deref().into(),
                b.is_staff_column.as_deref().into(),
                b.is_superuser_column.as_deref().into(),
                opt(&b.user_groups).into(),
                opt(&b.user_permissions).into(),
                b.user_column.as_str().into(),
                b.guardian.as_ref().map(|(u, _)| u.oid).into(),
                b.guardian.as_ref().map(|(_, g)| g.oid).into(),
            ],
        )?;
        if was_bound {
            Spi::run("SELECT authz.django_sync_all()")?;
        } else {
            Spi::run("SELECT authz.django_adopt()")?;
        }
        Spi::run("SELECT authz.django_create_triggers()")?;
        let summary = Spi::get_one::<pgrx::JsonB>(
            "SELECT jsonb_build_object(
                 'user_table', (SELECT user_table::text FROM authz.django_binding),
                 'guardian', (SELECT user_object_permissions_table IS NOT NULL FROM authz.django_binding),
                 'content_types', (SELECT count(*) FROM authz.content_types),
                 'permissions', (SELECT count(*) FROM authz.permissions),
                 'groups', (SELECT count(*) FROM authz.groups),
                 'users', (SELECT count(*) FROM authz.users),
                 'object_permissions', (SELECT count(*) FROM authz.object_permissions),
                 'actions', (SELECT count(*) FROM authz.actions))",
        )?;
        Ok(summary.map(|j| j.0).unwrap_or_default())
    })
}

/// Bind pg_authz to the Django auth schema of this database: from now on every check, action
/// and policy answers from Django's rows (`django_content_type`, `auth_permission`, `auth_group`,
/// the user table and its link tables, and django-guardian's tables when present), fresh on the
/// next statement after any change. The defaults fit the stock `auth.User`; the arguments
/// describe a custom `AUTH_USER_MODEL` (NULL for a field or link table it lacks). Idempotent; a
/// missing table is 42P01 and a missing or mistyped column 22023, naming it, and nothing is
/// written. Takes authz_admin, and SELECT and TRIGGER on Django's tables. Returns a summary.
#[allow(clippy::too_many_arguments)]
#[pg_extern(volatile, parallel_unsafe)]
fn bind_django(
    user_table: default!(Option<&str>, "'auth_user'"),
    user_id_column: default!(Option<&str>, "'id'"),
    user_groups_table: default!(Option<&str>, "'auth_user_groups'"),
    user_permissions_table: default!(Option<&str>, "'auth_user_user_permissions'"),
    user_column: default!(Option<&str>, "'user_id'"),
    is_active_column: default!(Option<&str>, "'is_active'"),
    is_staff_column: default!(Option<&str>, "'is_staff'"),
    is_superuser_column: default!(Option<&str>, "'is_superuser'"),
    guardian: default!(Option<bool>, "NULL"),
    content_type_table: default!(Option<&str>, "'django_content_type'"),
    permission_table: default!(Option<&str>, "'auth_permission'"),
    group_table: default!(Option<&str>, "'auth_group'"),
    group_permissions_table: default!(Option<&str>, "'auth_group_permissions'"),
) -> pgrx::JsonB {
    use crate::error::required_arg;
    let args = BindArgs {
        user_table: required_arg(user_table, "user_table"),
        user_id_column: required_arg(user_id_column, "user_id_column"),
        user_groups_table,
        user_permissions_table,
        user_column: required_arg(user_column, "user_column"),
        is_active_column,
        is_staff_column,
        is_superuser_column,
        guardian,
        content_type_table: required_arg(content_type_table, "content_type_table"),
        permission_table: required_arg(permission_table, "permission_table"),
        group_table: required_arg(group_table, "group_table"),
        group_permissions_table: required_arg(group_permissions_table, "group_permissions_table"),
    };
    require_authz_admin("bind_django").or_raise();
    let binding = resolve(&args).or_raise();
    copy_catalog_into_django(&binding).or_raise();
    pgrx::JsonB(apply(&binding).or_raise())
}

/// Undo bind_django: drop the mirror's triggers and the binding. The catalogs keep the rows they
/// mirrored (with Django's ids) and are pg_authz's own again. Returns whether it was bound.
#[pg_extern(volatile, parallel_unsafe)]
fn unbind_django() -> bool {
    require_authz_admin("unbind_django").or_raise();
    as_extension_owner(|| {
        let was_bound = Spi::get_one::<bool>("SELECT EXISTS (SELECT 1 FROM authz.django_binding)")?
            .unwrap_or(false);
        // New rows written directly must not collide with the ids taken from Django.
        crate::guard::generating(|| Spi::run("SELECT authz.django_drop_triggers()"))?;
        Spi::run(
            "DELETE FROM authz.django_binding;
             SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('authz.' || t, 'id'), coalesce(m, 1), m IS NOT NULL)
               FROM (VALUES ('content_types', (SELECT max(id) FROM authz.content_types)),
                            ('permissions', (SELECT max(id) FROM authz.permissions)),
                            ('groups', (SELECT max(id) FROM authz.groups))) v(t, m)",
        )?;
        Ok(was_bound)
    })
    .or_raise()
}

fn require_authz_admin(what: &str) -> Result<()> {
    let admin = Spi::get_one::<bool>("SELECT pg_catalog.pg_has_role('authz_admin', 'USAGE')")?;
    if admin != Some(true) {
        return Err(AuthzError::Denied(format!(
            "permission denied for {what}: it takes the authz_admin role"
        )));
    }
    Ok(())
}

/// The bound Django table of `column` in authz.django_binding (schema-qualified) and its owner.
fn bound_table(column: &str) -> Result<Option<(String, pg_sys::Oid)>> {
    let query = format!(
        "SELECT b.{column}::text, c.relowner FROM authz.django_binding b
           JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) b.{column}"
    );
    Spi::connect(|client| {
        let rows = client.select(&query, Some(1), &[])?;
        if rows.is_empty() {
            return Ok(None);
        }
        let row = rows.first();
        Ok(row.get::<String>(1)?.zip(row.get::<pg_sys::Oid>(2)?))
    })
}

/// Write one of Django's tables as its owner (as PostgreSQL's maintenance commands do): the
/// caller needs no privilege on it, and the owner's own triggers never run with the extension
/// owner's rights (protect writes through from inside as_extension_owner), nor with the tamper
/// guard off (protect writes through from inside its generated DDL). Not a security-restricted
/// operation, unlike `explain_row`'s evaluation as a table's owner: Django's foreign keys are
/// deferred constraint triggers, which PostgreSQL refuses to queue inside one.
fn as_table_owner<R>(owner: pg_sys::Oid, f: impl FnOnce() -> Result<R>) -> Result<R> {
    crate::guard::suspended(|| {
        crate::cache::with_pinned_search_path(|| crate::privilege::as_role(owner, f))
    })
}

/// When bound, create the content type in Django's table (the mirror brings it back into
/// authz.content_types with Django's id).
pub fn write_through_content_type(name: &ModelName) -> Result<()> {
    let Some((table, owner)) = bound_table("content_type_table")? else {
        return Ok(());
    };
    as_table_owner(owner, || {
        Ok(Spi::run_with_args(
            &format!(
                "INSERT INTO {table} (app_label, model) VALUES ($1, $2) ON CONFLICT DO NOTHING"
            ),
            &[name.app_label.as_str().into(), name.model.as_str().into()],
        )?)
    })
}

/// When bound, create the permission in Django's table, so that it shows in the Group editor;
/// returns whether it was created there (false when not bound).
pub fn write_through_permission(content_type_id: i64, codename: &str, name: &str) -> Result<bool> {
    let Some((table, owner)) = bound_table("permission_table")? else {
        return Ok(false);
    };
    as_table_owner(owner, || {
        Spi::connect_mut(|client| {
            let rows = client.update(
                &format!(
                    "INSERT INTO {table} (content_type_id, codename, name) VALUES ($1, $2, pg_catalog.left($3, 255))
                     ON CONFLICT DO NOTHING RETURNING 1"
                ),
                None,
                &[content_type_id.into(), codename.into(), name.into()],
            )?;
            Ok(!rows.is_empty())
        })
    })
}

/// Delete a permission: from Django's table when bound (the mirror follows), else from the catalog.
pub fn delete_permission(permission_id: i64) -> Result<()> {
    match bound_table("permission_table")? {
        Some((table, owner)) => as_table_owner(owner, || {
            Ok(Spi::run_with_args(
                &format!("DELETE FROM {table} WHERE id OPERATOR(pg_catalog.=) $1"),
                &[permission_id.into()],
            )?)
        }),
        None => Ok(Spi::run_with_args(
            "DELETE FROM authz.permissions WHERE id = $1",
            &[permission_id.into()],
        )?),
    }
}

/// The users holding `perm` ('app_label.codename'), as Django's `UserManager.with_perm`: a direct
/// grant or one through a group, or (when `include_superusers`) the superuser flag; only users
/// whose `is_active` equals the argument (NULL: any). Agrees with has_perm for active users;
/// a permission string without exactly one dot is 22023, as Django's ValueError.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn users_with_perm(
    perm: Option<&str>,
    include_superusers: default!(Option<bool>, true),
    is_active: default!(Option<bool>, true),
) -> SetOfIterator<'static, String> {
    let perm = crate::error::required_arg(perm, "perm");
    let Some((app_label, codename)) = perm.split_once('.').filter(|(_, c)| !c.contains('.')) else {
        AuthzError::InvalidArgument(format!(
            "invalid permission \"{perm}\": expected \"app_label.codename\""
        ))
        .raise()
    };
    SetOfIterator::new(
        holders(
            app_label,
            codename,
            include_superusers.unwrap_or(false),
            is_active,
        )
        .or_raise(),
    )
}

fn holders(
    app_label: &str,
    codename: &str,
    include_superusers: bool,
    is_active: Option<bool>,
) -> Result<Vec<String>> {
    Spi::connect(|client| {
        let rows = client.select(
            "WITH p AS (SELECT p.id FROM authz.permissions p
                          JOIN authz.content_types ct ON ct.id = p.content_type_id
                         WHERE ct.app_label = $1 AND p.codename = $2)
             SELECT u.id FROM authz.users u
              WHERE ($4::boolean IS NULL OR u.is_active = $4)
                AND (($3 AND u.is_superuser)
                     OR u.id IN (SELECT up.user_id FROM authz.user_permissions up
                                  WHERE up.permission_id IN (SELECT id FROM p))
                     OR u.id IN (SELECT ug.user_id FROM authz.user_groups ug
                                   JOIN authz.group_permissions gp ON gp.group_id = ug.group_id
                                  WHERE gp.permission_id IN (SELECT id FROM p)))
              ORDER BY u.id",
            None,
            &[
                app_label.into(),
                codename.into(),
                include_superusers.into(),
                is_active.into(),
            ],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(id) = row.get::<String>(1)? {
                out.push(id);
            }
        }
        Ok(out)
    })
}
