//! The catalogs (`sql/bootstrap.sql`), the trigger that keeps caches fresh, and the writers
//! shared by `register_model` and `sync_admin_actions`.

use pgrx::prelude::*;
use pgrx::PgRelation;

use crate::error::{self, required_arg, AuthzError, OrRaise};

/// A model named the Django way, `app_label.ModelName`; `model` is stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelName {
    pub app_label: String,
    pub model: String,
}

impl ModelName {
    /// Parse `app_label.ModelName`; both parts must be identifiers (letters, digits, `_`).
    pub fn parse(text: &str) -> error::Result<ModelName> {
        let invalid = || {
            AuthzError::InvalidArgument(format!(
                "invalid model \"{text}\": expected \"app_label.ModelName\""
            ))
        };
        let (app_label, model) = text.split_once('.').ok_or_else(invalid)?;
        if !is_identifier(app_label) || !is_identifier(model) {
            return Err(invalid());
        }
        Ok(ModelName {
            app_label: app_label.to_owned(),
            model: model.to_ascii_lowercase(),
        })
    }
}

/// Letters, digits and underscores, not starting with a digit.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The first column of the first row of `table`, `None` when there is no row or it is NULL.
pub fn first_value<T: FromDatum + IntoDatum>(
    table: pgrx::spi::SpiTupleTable,
) -> error::Result<Option<T>> {
    if table.is_empty() {
        return Ok(None);
    }
    Ok(table.first().get_one::<T>()?)
}

/// Get or create the content type of `name`; a non-NULL `relation` is recorded on it. When
/// bound to Django, Django's table is written first and the mirror brings the row here.
pub fn ensure_content_type(name: &ModelName, relation: Option<pg_sys::Oid>) -> error::Result<i64> {
    crate::django::write_through_content_type(name)?;
    Spi::connect_mut(|client| {
        client.update(
            "INSERT INTO authz.content_types (app_label, model, relation)
             VALUES ($1, $2, $3::regclass)
             ON CONFLICT (app_label, model) DO NOTHING",
            None,
            &[
                name.app_label.as_str().into(),
                name.model.as_str().into(),
                relation.into(),
            ],
        )?;
        if relation.is_some() {
            // A model is one table: moving it to another live table would silently re-point
            // the object grants and policies that name it.
            let bound_elsewhere = first_value::<String>(client.select(
                "SELECT relation::text FROM authz.content_types
                  WHERE app_label = $1 AND model = $2 AND relation IS DISTINCT FROM $3::regclass
                    AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = relation)",
                Some(1),
                &[
                    name.app_label.as_str().into(),
                    name.model.as_str().into(),
                    relation.into(),
                ],
            )?)?;
            if let Some(other) = bound_elsewhere {
                return Err(AuthzError::InvalidArgument(format!(
                    "model {}.{} is already bound to relation {other}",
                    name.app_label, name.model
                )));
            }
            client.update(
                "UPDATE authz.content_types SET relation = $3::regclass
                  WHERE app_label = $1 AND model = $2 AND relation IS DISTINCT FROM $3::regclass",
                None,
                &[
                    name.app_label.as_str().into(),
                    name.model.as_str().into(),
                    relation.into(),
                ],
            )?;
        }
        let id = first_value::<i64>(client.select(
            "SELECT id FROM authz.content_types WHERE app_label = $1 AND model = $2",
            Some(1),
            &[name.app_label.as_str().into(), name.model.as_str().into()],
        )?)?;
        id.ok_or_else(|| AuthzError::Internal(format!("content type {name:?} vanished")))
    })
}

/// Get or create permission `codename` on content type `content_type_id`, keeping its name.
/// Returns the permission id and whether it was created (in Django's table, when bound).
pub fn ensure_permission(
    content_type_id: i64,
    codename: &str,
    name: &str,
) -> error::Result<(i64, bool)> {
    let created_in_django =
        crate::django::write_through_permission(content_type_id, codename, name)?;
    Spi::connect_mut(|client| {
        let created = first_value::<i64>(client.update(
            "INSERT INTO authz.permissions (content_type_id, codename, name)
             VALUES ($1, $2, $3)
             ON CONFLICT (content_type_id, codename) DO NOTHING
             RETURNING id",
            None,
            &[content_type_id.into(), codename.into(), name.into()],
        )?)?;
        if let Some(id) = created {
            return Ok((id, true));
        }
        let existing = first_value::<i64>(client.select(
            "SELECT id FROM authz.permissions WHERE content_type_id = $1 AND codename = $2",
            Some(1),
            &[content_type_id.into(), codename.into()],
        )?)?;
        existing
            .map(|id| (id, created_in_django))
            .ok_or_else(|| AuthzError::Internal(format!("permission {codename} vanished")))
    })
}

/// Register model `model` ('app_label.ModelName') backed by `relation`: its content type and
/// the four default permissions add_/change_/delete_/view_<model>, as Django's post_migrate
/// does. Idempotent; returns the content type id.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn register_model(model: Option<&str>, relation: default!(Option<PgRelation>, "NULL")) -> i64 {
    let name = ModelName::parse(required_arg(model, "model")).or_raise();
    let content_type_id = ensure_content_type(&name, relation.map(|r| r.oid())).or_raise();
    for action in ["add", "change", "delete", "view"] {
        let codename = format!("{action}_{}", name.model);
        let label = format!("Can {action} {}", name.model);
        ensure_permission(content_type_id, &codename, &label).or_raise();
    }
    content_type_id
}

/// `pg_finfo_<symbol>`, which tells PostgreSQL that hand-written C function `<symbol>` uses the
/// version-1 calling convention (pgrx's `#[pg_extern]` writes its own).
macro_rules! v1_function_info {
    ($finfo:ident) => {
        #[no_mangle]
        #[doc(hidden)]
        pub extern "C" fn $finfo() -> &'static pgrx::pg_sys::Pg_finfo_record {
            const V1: pgrx::pg_sys::Pg_finfo_record =
                pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
            &V1
        }
    };
}
pub(crate) use v1_function_info;

/// Statement trigger on every catalog table: tell every backend (this one at its next command,
/// others after commit, standbys on replay) that permission caches are stale, through a
/// relcache invalidation of `authz.cache_sentinel`. Only the catalogs' triggers may run it
/// (EXECUTE is revoked from PUBLIC); called any other way it refuses with SQLSTATE 39P01.
/// Written by hand rather than with `#[pg_trigger]`, whose wrapper fails a direct call with
/// XX000 before any code of ours runs.
#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn pg_authz_catalog_changed(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    trigger_data(
        fcinfo,
        "authz.catalog_changed() runs only as the statement trigger pg_authz installs on its catalogs",
    );
    invalidate_everything();
    pg_sys::Datum::from(0)
}
v1_function_info!(pg_finfo_pg_authz_catalog_changed);

/// The trigger data of a call of a hand-written C trigger function; any other call (a direct
/// one: no trigger context) is refused with SQLSTATE 39P01 and `refusal`.
///
/// # Safety
/// `fcinfo` is the call's, as PostgreSQL passes it to a version-1 C function.
pub unsafe fn trigger_data<'a>(
    fcinfo: pg_sys::FunctionCallInfo,
    refusal: &'static str,
) -> &'a pg_sys::TriggerData {
    let context = (*fcinfo).context;
    if context.is_null() || (*context).type_ != pg_sys::NodeTag::T_TriggerData {
        ereport!(
            PgLogLevel::ERROR,
            PgSqlErrorCode::ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
            refusal
        );
    }
    &*(context as *const pg_sys::TriggerData)
}

/// Tell every backend that all permission caches are stale (with this transaction's commit).
pub fn invalidate_everything() {
    let sentinel = crate::cache::sentinel_oid();
    unsafe {
        if sentinel == pg_sys::InvalidOid {
            // Cannot happen while the extension is installed; if it does, reset everything.
            pg_sys::CacheInvalidateRelcacheAll();
        } else {
            pg_sys::CacheInvalidateRelcacheByRelid(sentinel);
        }
    }
}

extension_sql!(
    "CREATE FUNCTION catalog_changed() RETURNS trigger LANGUAGE c
         AS 'MODULE_PATHNAME', 'pg_authz_catalog_changed';",
    name = "catalog_changed",
);

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    #[pg_test]
    fn model_names_parse_the_django_way() {
        let m = ModelName::parse("shop.OrderLine").unwrap();
        assert_eq!(
            (m.app_label.as_str(), m.model.as_str()),
            ("shop", "orderline")
        );
        for bad in [
            "nodot",
            ".Model",
            "app.",
            "a.b.c",
            "app.Mo del",
            "1app.Model",
            "",
        ] {
            assert!(ModelName::parse(bad).is_err(), "{bad} must be refused");
        }
    }
}
