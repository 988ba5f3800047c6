//! `has_perm` and friends, with the semantics of Django's `ModelBackend` and `User.has_perm`:
//! an active superuser holds every permission; an inactive or unknown user holds none;
//! otherwise permissions are direct grants ∪ grants through groups, matched as
//! `app_label.codename`. NULL or malformed input is never granted and never an error.

use pgrx::iter::SetOfIterator;
use pgrx::prelude::*;
use serde_json::json;

use crate::cache;
use crate::error::{OrRaise, Result};
use crate::identity::with_current_user_id;

/// A permission string has the form `app_label.codename`, both parts non-empty.
/// (Bytes rather than `split_once`: the generic pattern search cost a warm check a tenth of its
/// time.)
pub fn is_well_formed_perm(perm: &str) -> bool {
    let bytes = perm.as_bytes();
    matches!(bytes.iter().position(|&b| b == b'.'), Some(dot) if dot > 0 && dot + 1 < bytes.len())
}

/// The check behind every `has_perm`: fails closed on anything odd.
pub fn user_has_perm(user_id: &str, perm: &str) -> Result<bool> {
    if !is_well_formed_perm(perm) {
        return Ok(false);
    }
    cache::with_user(user_id, |user| user.is_some_and(|u| u.has_perm(perm)))
}

/// Whether the current user (`authz.current_user_id()`) holds `perm`.
pub fn current_user_has_perm(perm: &str) -> Result<bool> {
    for_current_user(|user| user_has_perm(user, perm))
}

/// `check` for the current user; false when nobody is set.
fn for_current_user(check: impl FnOnce(&str) -> Result<bool>) -> Result<bool> {
    with_current_user_id(|user| user.map_or(Ok(false), check))
}

/// Whether `user_id` holds permission `perm` ('app_label.codename'), as Django's
/// `user.has_perm(perm)`. NULL, unknown or malformed input gives false.
///
/// Written by hand rather than with `#[pg_extern]`, as PostgreSQL's own C functions are: a warm
/// check is a few tens of nanoseconds, and pgrx's wrapper (its error boundary, a `sigsetjmp`
/// per call, and the argument conversions) cost about as much again. A call whose arguments
/// are plain in-line text in a UTF-8 database and whose user the cache answers without reading
/// anything ([`cache::with_cached_user`]: nothing there can raise an error) is answered here,
/// reading the arguments in place; any other call goes through [`has_perm_guarded`], inside
/// pgrx's error boundary. The C symbol is the one `#[pg_extern]` gave it (0.1.0's install
/// script names it); `extension_sql!` below creates the function as `#[pg_extern]` did.
///
/// # Safety
/// Called by PostgreSQL with a version-1 call of `authz.has_perm(text, text)`.
#[no_mangle]
pub unsafe extern "C-unwind" fn has_perm_wrapper(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    let [user, perm] = (*fcinfo).args.as_slice(2) else {
        return has_perm_guarded(fcinfo);
    };
    (*fcinfo).isnull = false;
    if user.isnull || perm.isnull {
        return pg_sys::Datum::from(false);
    }
    let (Some(user), Some(perm)) = (inline_text(user.value), inline_text(perm.value)) else {
        return has_perm_guarded(fcinfo);
    };
    // Nothing in the warm path panics; were it to, the guarded path answers (or raises) instead
    // of a panic unwinding into PostgreSQL.
    // Flattened to plain data first: the guarded path may leave this frame by longjmp (an error
    // raised), which Rust allows only over frames with nothing left to drop.
    let warm = std::panic::catch_unwind(|| {
        if !is_well_formed_perm(perm) {
            return Some(false);
        }
        cache::with_cached_user(user, |u| u.is_some_and(|u| u.has_perm(perm)))
    })
    .ok()
    .flatten();
    if let Some(answer) = warm {
        return pg_sys::Datum::from(answer);
    }
    has_perm_guarded(fcinfo)
}
crate::catalog::v1_function_info!(pg_finfo_has_perm_wrapper);

extension_sql!(
    "CREATE FUNCTION has_perm(\"user_id\" TEXT, \"perm\" TEXT) RETURNS bool
         STABLE PARALLEL SAFE LANGUAGE c
         AS 'MODULE_PATHNAME', 'has_perm_wrapper';",
    name = "has_perm_user_perm",
);

/// `has_perm_wrapper`'s general path: arguments read (detoasted, checked) by pgrx, a miss loads
/// the user, an error is raised with its SQLSTATE.
#[pg_guard]
unsafe extern "C-unwind" fn has_perm_guarded(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let user = pgrx::fcinfo::pg_getarg::<&str>(fcinfo, 0);
    let perm = pgrx::fcinfo::pg_getarg::<&str>(fcinfo, 1);
    let held = match (user, perm) {
        (Some(user), Some(perm)) => user_has_perm(user, perm).or_raise(),
        _ => false,
    };
    pg_sys::Datum::from(held)
}

mod getters {
    extern "C" {
        /// Declared directly, as `cache`'s getters are: it cannot raise an error.
        pub fn GetDatabaseEncoding() -> std::ffi::c_int;
    }
}

/// A text argument as a `&str` in place, when it is in line (not compressed, not out of line)
/// and valid UTF-8 without a check (a UTF-8 database's text always is); `None`: let pgrx read it.
///
/// # Safety
/// `datum` is a non-null text datum.
unsafe fn inline_text<'a>(datum: pg_sys::Datum) -> Option<&'a str> {
    let varlena = datum.cast_mut_ptr::<pg_sys::varlena>();
    if pgrx::varlena::varatt_is_1b_e(varlena) || pgrx::varlena::varatt_is_4b_c(varlena) {
        return None;
    }
    let bytes = pgrx::varlena::varlena_to_byte_slice(varlena);
    let utf8 = getters::GetDatabaseEncoding() == pg_sys::pg_enc::PG_UTF8 as std::ffi::c_int;
    (utf8 || bytes.is_ascii()).then(|| std::str::from_utf8_unchecked(bytes))
}

/// Whether the current user holds permission `perm`; false when nobody is set.
#[pg_extern(stable, parallel_safe, name = "has_perm")]
fn has_perm_current(perm: Option<&str>) -> bool {
    perm.is_some_and(|perm| current_user_has_perm(perm).or_raise())
}

/// Whether active user `user_id` belongs to group `group_name` (false for inactive and unknown users).
#[pg_extern(stable, parallel_safe)]
fn in_group(user_id: Option<&str>, group_name: Option<&str>) -> bool {
    let (Some(user), Some(group_name)) = (user_id, group_name) else {
        return false;
    };
    user_in_group(user, group_name).or_raise()
}

/// Whether the current user is active and belongs to group `group_name`.
#[pg_extern(stable, parallel_safe, name = "in_group")]
fn in_group_current(group_name: Option<&str>) -> bool {
    let Some(group_name) = group_name else {
        return false;
    };
    for_current_user(|user| user_in_group(user, group_name)).or_raise()
}

fn user_in_group(user_id: &str, group_name: &str) -> Result<bool> {
    cache::with_user(user_id, |u| {
        u.is_some_and(|u| u.is_active && u.in_group(group_name))
    })
}

/// Whether the current user is an active superuser, who passes every check and policy.
#[pg_extern(stable, parallel_safe)]
fn is_superuser() -> bool {
    for_current_user(|user| cache::with_user(user, |u| u.is_some_and(|u| u.is_active_superuser())))
        .or_raise()
}

/// Whether `user_id` holds every permission in `perms` (an empty list holds, as in Django).
#[pg_extern(stable, parallel_safe)]
fn has_perms(user_id: Option<&str>, perms: Option<Vec<Option<String>>>) -> bool {
    let (Some(user), Some(perms)) = (user_id, perms) else {
        return false;
    };
    perms.iter().all(|perm| match perm {
        Some(perm) => user_has_perm(user, perm).or_raise(),
        None => false,
    })
}

/// Whether `user_id` holds any permission of app `app_label` (always, for an active superuser).
#[pg_extern(stable, parallel_safe)]
fn has_module_perms(user_id: Option<&str>, app_label: Option<&str>) -> bool {
    let (Some(user), Some(app_label)) = (user_id, app_label) else {
        return false;
    };
    cache::with_user(user, |user| {
        user.is_some_and(|u| {
            u.is_active_superuser() || (u.is_active && u.holds_any_of_app(app_label))
        })
    })
    .or_raise()
}

/// Where a user's permissions come from, as Django's `get_*_permissions` distinguish them.
#[derive(Clone, Copy)]
enum Source {
    Direct,
    Groups,
    Both,
}

const ALL_PERMS_SQL: &str = "\
SELECT ct.app_label || '.' || p.codename AS perm
  FROM authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id";

const DIRECT_PERMS_SQL: &str = "\
SELECT ct.app_label || '.' || p.codename AS perm
  FROM authz.user_permissions up
  JOIN authz.permissions p ON p.id = up.permission_id
  JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE up.user_id = $1";

const GROUP_PERMS_SQL: &str = "\
SELECT ct.app_label || '.' || p.codename AS perm
  FROM authz.user_groups ug
  JOIN authz.group_permissions gp ON gp.group_id = ug.group_id
  JOIN authz.permissions p ON p.id = gp.permission_id
  JOIN authz.content_types ct ON ct.id = p.content_type_id
 WHERE ug.user_id = $1";

/// The sorted permission strings of `user_id` from `source`; every catalog permission for an
/// active superuser, none for an inactive or unknown user (Django's `_get_permissions`).
fn permissions_of(user_id: &str, source: Source) -> Result<Vec<String>> {
    let (active, superuser) = cache::with_user(user_id, |u| {
        u.map_or((false, false), |u| (u.is_active, u.is_superuser))
    })?;
    if !active {
        return Ok(Vec::new());
    }
    let query = if superuser {
        format!("SELECT perm FROM ({ALL_PERMS_SQL}) q ORDER BY 1")
    } else {
        match source {
            Source::Direct => format!("SELECT perm FROM ({DIRECT_PERMS_SQL}) q ORDER BY 1"),
            Source::Groups => format!("SELECT DISTINCT perm FROM ({GROUP_PERMS_SQL}) q ORDER BY 1"),
            Source::Both => format!(
                "SELECT perm FROM ({DIRECT_PERMS_SQL}) d UNION SELECT perm FROM ({GROUP_PERMS_SQL}) g ORDER BY 1"
            ),
        }
    };
    Spi::connect(|client| {
        let rows = client.select(&query, None, &[user_id.into()])?;
        let mut perms = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(perm) = row.get::<String>(1)? {
                perms.push(perm);
            }
        }
        Ok(perms)
    })
}

fn permission_set(user_id: Option<&str>, source: Source) -> SetOfIterator<'static, String> {
    let perms = match user_id {
        Some(user) => permissions_of(user, source).or_raise(),
        None => Vec::new(),
    };
    SetOfIterator::new(perms)
}

/// Every permission `user_id` holds, directly or through groups, sorted (Django's
/// `get_all_permissions`); every catalog permission for an active superuser.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn get_all_permissions(user_id: Option<&str>) -> SetOfIterator<'static, String> {
    permission_set(user_id, Source::Both)
}

/// The permissions granted to `user_id` directly (Django's `get_user_permissions`).
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn get_user_permissions(user_id: Option<&str>) -> SetOfIterator<'static, String> {
    permission_set(user_id, Source::Direct)
}

/// The permissions `user_id` holds through its groups (Django's `get_group_permissions`).
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn get_group_permissions(user_id: Option<&str>) -> SetOfIterator<'static, String> {
    permission_set(user_id, Source::Groups)
}

const EXPLAIN_SQL: &str = "\
SELECT EXISTS (SELECT 1 FROM authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
                WHERE ct.app_label || '.' || p.codename = $2) AS perm_exists,
       EXISTS (SELECT 1 FROM ({DIRECT_PERMS_SQL}) d WHERE d.perm = $2) AS direct,
       ARRAY(SELECT g.name
               FROM authz.user_groups ug
               JOIN authz.groups g ON g.id = ug.group_id
               JOIN authz.group_permissions gp ON gp.group_id = g.id
               JOIN authz.permissions p ON p.id = gp.permission_id
               JOIN authz.content_types ct ON ct.id = p.content_type_id
              WHERE ug.user_id = $1 AND ct.app_label || '.' || p.codename = $2
              ORDER BY g.name) AS groups";

/// Why `user_id` is allowed or denied `perm`: a JSON object whose `decided_by` names the rule
/// that decided (`no_user`, `malformed_permission`, `unknown_user`, `inactive`, `superuser`,
/// `direct`, `group`, `no_grant`) and, for grants, which groups and whether a direct grant exists.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn explain(user_id: Option<&str>, perm: Option<&str>) -> pgrx::JsonB {
    pgrx::JsonB(explain_json(user_id, perm).or_raise())
}

fn explain_json(user_id: Option<&str>, perm: Option<&str>) -> Result<serde_json::Value> {
    let verdict = |allowed: bool, decided_by: &str| json!({"user": user_id, "permission": perm, "allowed": allowed, "decided_by": decided_by});
    let Some(user) = user_id else {
        return Ok(verdict(false, "no_user"));
    };
    let Some(perm) = perm.filter(|p| is_well_formed_perm(p)) else {
        return Ok(verdict(false, "malformed_permission"));
    };
    let flags = cache::with_user(user, |u| u.map(|u| (u.is_active, u.is_superuser)))?;
    let (active, superuser) = match flags {
        None => return Ok(verdict(false, "unknown_user")),
        Some(flags) => flags,
    };
    if !active {
        return Ok(verdict(false, "inactive"));
    }
    if superuser {
        return Ok(verdict(true, "superuser"));
    }
    let query = EXPLAIN_SQL.replace("{DIRECT_PERMS_SQL}", DIRECT_PERMS_SQL);
    let (exists, direct, groups) = Spi::connect(|client| -> Result<_> {
        let row = client
            .select(&query, Some(1), &[user.into(), perm.into()])?
            .first();
        Ok((
            row.get::<bool>(1)?.unwrap_or(false),
            row.get::<bool>(2)?.unwrap_or(false),
            row.get::<Vec<String>>(3)?.unwrap_or_default(),
        ))
    })?;
    let decided_by = if direct {
        "direct"
    } else if !groups.is_empty() {
        "group"
    } else {
        "no_grant"
    };
    let mut out = verdict(decided_by != "no_grant", decided_by);
    out["permission_exists"] = json!(exists);
    out["direct"] = json!(direct);
    out["groups"] = json!(groups);
    Ok(out)
}

/// Whether `user_id` holds `perm` on the object whose primary key is `object_pk`, with
/// django-guardian's semantics: an active superuser always; otherwise a grant in
/// `authz.object_permissions` to the user or one of its groups. Model-level grants do not count.
#[pg_extern(stable, parallel_safe, name = "has_perm")]
#[search_path(pg_catalog, pg_temp)]
fn has_object_perm(user_id: Option<&str>, perm: Option<&str>, object_pk: Option<&str>) -> bool {
    let (Some(user), Some(perm), Some(object_pk)) = (user_id, perm, object_pk) else {
        return false;
    };
    if !is_well_formed_perm(perm) {
        return false;
    }
    let Some((active, superuser)) =
        cache::with_user(user, |u| u.map(|u| (u.is_active, u.is_superuser))).or_raise()
    else {
        return false;
    };
    if !active {
        return false;
    }
    if superuser {
        return true;
    }
    Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (
           SELECT 1 FROM authz.object_permissions op
             JOIN authz.permissions p ON p.id = op.permission_id
             JOIN authz.content_types ct ON ct.id = p.content_type_id
            WHERE ct.app_label || '.' || p.codename = $2
              AND op.object_pk = $3
              AND (op.user_id = $1
                   OR op.group_id IN (SELECT ug.group_id FROM authz.user_groups ug WHERE ug.user_id = $1)))",
        &[user.into(), perm.into(), object_pk.into()],
    )
    .map_err(crate::error::AuthzError::from)
    .or_raise()
    .unwrap_or(false)
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    #[pg_test]
    fn permission_strings_need_a_dot_and_two_parts() {
        assert!(is_well_formed_perm("shop.view_order"));
        assert!(is_well_formed_perm("shop.a.b"));
        for bad in ["", "nodot", ".view", "shop.", "."] {
            assert!(!is_well_formed_perm(bad), "{bad}");
        }
    }

    #[pg_test]
    fn explain_agrees_with_has_perm() {
        Spi::run(
            "SELECT authz.register_model('shop.Order');
             INSERT INTO authz.users (id, is_active, is_superuser) VALUES
               ('x1', true, false), ('x2', false, true), ('x3', true, true);
             INSERT INTO authz.groups (name) VALUES ('g');
             INSERT INTO authz.user_groups (user_id, group_id) SELECT 'x1', id FROM authz.groups;
             INSERT INTO authz.group_permissions (group_id, permission_id)
               SELECT g.id, p.id FROM authz.groups g, authz.permissions p WHERE p.codename = 'view_order';",
        )
        .unwrap();
        unsafe { pg_sys::CommandCounterIncrement() };
        for user in ["x1", "x2", "x3", "nobody"] {
            for perm in ["shop.view_order", "shop.add_order", "bad", "other.thing"] {
                let explained = explain_json(Some(user), Some(perm)).unwrap();
                assert_eq!(
                    explained["allowed"].as_bool().unwrap(),
                    user_has_perm(user, perm).unwrap(),
                    "{user} {perm}: {explained}"
                );
            }
        }
    }
}
