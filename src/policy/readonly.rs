//! Column rules (Django's readonly fields): listed columns change only for `unless` holders
//! (permissions or groups) and superusers. A row trigger (`authz.guard_readonly_columns` in
//! sql/finalize.sql) refuses anyone else with 42501 naming the column: on UPDATE when the value
//! changes (as a value for the types [`compares_by_value`] names, by binary image for the rest,
//! never through text), on INSERT when it is not the column default. A default that gives
//! another value each time (identity, serial, `gen_random_uuid()`) cannot be compared: such a
//! column takes a freshly drawn value on INSERT instead of the one given. The trigger names the
//! columns by number and fires on UPDATE OF them, so it survives a rename and depends on them.

use pgrx::prelude::*;
use serde::Deserialize;

use super::predicate::Predicate;
use super::sql::{literal, who};
use super::table::Table;
use super::Rule;
use crate::error::{self, required_arg, AuthzError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Readonly {
    columns: Vec<String>,
    /// Permissions or groups that may change these columns.
    #[serde(default)]
    unless: Vec<String>,
    /// Read-only only in rows matching this predicate, before the change (e.g. `status =
    /// 'published'`); not on INSERT.
    #[serde(default)]
    when: Option<String>,
    /// Read-only only in rows older than `days` by `column` (in UTC, from
    /// `statement_timestamp()`); not on INSERT. With `when`, both must hold.
    #[serde(default)]
    after: Option<After>,
    /// What the trigger's name says after `authz_readonly_`: empty, or `hidden_` for the
    /// columns of a `hidden` entry (so that they never clash with a readonly entry's).
    #[serde(skip)]
    kind: &'static str,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct After {
    column: String,
    days: u32,
}

impl Readonly {
    /// The unconditional entry of hidden `columns`: they change only for `unless` holders.
    pub fn hidden(columns: Vec<String>, unless: Vec<String>) -> Readonly {
        Readonly {
            columns,
            unless,
            when: None,
            after: None,
            kind: "hidden_",
        }
    }

    /// The trigger's WHEN clause on the existing row, for a conditional entry (`when`,
    /// `after`): the columns are read-only where it holds. A NULL date counts as old.
    fn row_condition(&self, table: &Table) -> error::Result<Option<String>> {
        let mut parts = Vec::new();
        if let Some(when) = &self.when {
            let predicate = Predicate::parse(table, when, "readonly.when")?;
            parts.push(format!("({}) IS TRUE", predicate.old_row));
        }
        if let Some(after) = &self.after {
            super::age::check_days(after.days, "readonly.after.days")?;
            let (column, column_type) =
                super::age::dated_column(table, &after.column, "readonly.after.column")?;
            let (fresh, _) = super::age::bounds(&format!("old.{column}"), column_type, after.days);
            parts.push(format!("({fresh}) IS NOT TRUE"));
        }
        Ok((!parts.is_empty()).then(|| parts.join(" AND ")))
    }
}

/// A short, stable digest of a conditional entry, so that two entries on the same columns get
/// two triggers (FNV-1a, 32 bits).
fn digest(text: &str) -> String {
    let hash = text.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("{hash:08x}")
}

impl Rule for Readonly {
    fn statements(&self, table: &Table) -> error::Result<Vec<String>> {
        if self.columns.is_empty() {
            return Err(AuthzError::InvalidArgument(
                "readonly.columns must name at least one column".into(),
            ));
        }
        let mut quoted = Vec::new();
        let mut attnums = Vec::new();
        for column in &self.columns {
            quoted.push(table.column(column, "readonly.columns")?.0);
            attnums.push(format!("'{}'", table.attnum(column, "readonly.columns")?));
        }
        who(&self.unless, "readonly.unless")?;
        let unless = serde_json::to_string(&self.unless).unwrap_or_else(|_| "[]".into());
        let condition = self.row_condition(table)?;
        let (name, events, when) = match &condition {
            None => (
                format!("authz_readonly_{}{}", self.kind, self.columns.join("_")),
                "INSERT OR UPDATE",
                String::new(),
            ),
            Some(condition) => (
                format!(
                    "authz_readonly_{}_{}",
                    digest(condition),
                    self.columns.join("_")
                ),
                "UPDATE",
                format!(" WHEN ({condition})"),
            ),
        };
        // UPDATE OF the columns: the trigger depends on them, so that dropping one is refused
        // (or its CASCADE is, by authz.guard_protected_tables); numbers survive a rename.
        Ok(vec![format!(
            "CREATE TRIGGER {} BEFORE {events} OF {} ON {} FOR EACH ROW{when} EXECUTE FUNCTION authz.guard_readonly_columns({}, {})",
            super::sql::ident(&name.chars().take(63).collect::<String>()),
            quoted.join(", "),
            table.name,
            literal(&unless),
            attnums.join(", ")
        )])
    }
}

/// Whether column number `attnum` of `relation` has a volatile default (`gen_random_uuid()`,
/// `clock_timestamp()`, `nextval(...)`): one that gives another value each time, which the
/// readonly trigger draws again on INSERT instead of comparing. NULL for a missing relation.
#[pg_extern(stable, parallel_safe)]
fn column_default_is_volatile(relation: Option<pg_sys::Oid>, attnum: Option<i16>) -> Option<bool> {
    let (relation, attnum) = (relation?, attnum?);
    super::with_relation(relation, |relation| {
        // SAFETY: an open relation's tuple descriptor and its defaults live as long as it is
        // open; `adbin` is the node tree PostgreSQL stored for the default.
        unsafe {
            let constr = (*(*relation).rd_att).constr;
            if constr.is_null() || (*constr).num_defval == 0 {
                return false;
            }
            let defaults =
                std::slice::from_raw_parts((*constr).defval, (*constr).num_defval.into());
            defaults.iter().any(|d| {
                d.adnum == attnum
                    && pg_sys::contain_volatile_functions(pg_sys::stringToNode(d.adbin).cast())
            })
        }
    })
}

/// Whether values of type `type_oid` under collation `collation` are compared by value (`IS
/// DISTINCT FROM`: numeric 0.00 and 0, jsonb {"a": 1.10} and {"a": 1.1} are the same value)
/// rather than by binary image: a built-in type (or a domain over one, or an array of one) with
/// a default btree operator class whose equality means "the same value", under a deterministic
/// collation. Not interval ('1 mon' = '30 days'), nor an extension's type (citext's equality
/// ignores case), nor composite types.
#[pg_extern(stable, parallel_safe)]
fn compares_by_value(type_oid: Option<pg_sys::Oid>, collation: Option<pg_sys::Oid>) -> bool {
    let Some(type_oid) = type_oid else {
        return false;
    };
    // SAFETY: catalog lookups by oid; the type and the collation are checked to exist first
    // (get_typtype and get_collation_name answer for unknown ones, the others would not).
    unsafe {
        if pg_sys::get_typtype(type_oid) == 0 {
            return false;
        }
        if let Some(collation) = collation.filter(|c| *c != pg_sys::InvalidOid) {
            if pg_sys::get_collation_name(collation).is_null()
                || !pg_sys::get_collation_isdeterministic(collation)
            {
                return false;
            }
        }
        let mut base = pg_sys::getBaseType(type_oid);
        let element = pg_sys::get_element_type(base);
        if element != pg_sys::InvalidOid {
            base = pg_sys::getBaseType(element);
        }
        u32::from(base) < pg_sys::FirstNormalObjectId
            && base != pg_sys::INTERVALOID
            && pg_sys::get_typtype(base) == pg_sys::TYPTYPE_BASE as std::ffi::c_char
            && pg_sys::GetDefaultOpClass(base, pg_sys::BTREE_AM_OID) != pg_sys::InvalidOid
    }
}

unsafe extern "C-unwind" {
    /// commands/sequence.h (not in pgrx's bindings): the next value of a sequence, as an
    /// identity column takes it (no privilege on the sequence when `check_permissions` is false).
    fn nextval_internal(relid: pg_sys::Oid, check_permissions: bool) -> i64;
}

/// A fresh value of identity column number `attnum` of `relation`, drawn as an INSERT would
/// draw it: it takes the INSERT privilege on the table (not one on the sequence). The readonly
/// trigger gives it to a row in place of the value the INSERT supplied.
#[pg_extern(volatile, parallel_unsafe)]
fn next_identity_value(relation: Option<pg_sys::Oid>, attnum: Option<i16>) -> i64 {
    let relation = required_arg(relation, "relation");
    let attnum = required_arg(attnum, "attnum");
    // SAFETY: catalog lookups by oid; missing_ok gives InvalidOid for a missing relation or a
    // column that is not an identity column.
    let sequence = unsafe { crate::compat::identity_sequence(relation, attnum) };
    if sequence == pg_sys::InvalidOid {
        AuthzError::InvalidArgument(format!(
            "column {attnum} of relation {} is not an identity column",
            relation_name(relation)
        ))
        .raise();
    }
    // SAFETY: the relation exists (it owns the sequence); ACL checks as the current user, on
    // the table or any of its columns (as has_any_column_privilege).
    let allowed = unsafe {
        let (user, insert) = (pg_sys::GetUserId(), pg_sys::ACL_INSERT as pg_sys::AclMode);
        pg_sys::pg_class_aclcheck(relation, user, insert) == pg_sys::AclResult::ACLCHECK_OK
            || pg_sys::pg_attribute_aclcheck_all(
                relation,
                user,
                insert,
                pg_sys::AclMaskHow::ACLMASK_ANY,
            ) == pg_sys::AclResult::ACLCHECK_OK
    };
    if !allowed {
        AuthzError::Denied(format!(
            "permission denied to draw identity values of relation {}: it takes the INSERT privilege",
            relation_name(relation)
        ))
        .raise();
    }
    // SAFETY: `sequence` is the identity sequence of a relation the caller may insert into.
    unsafe { pg_sys::ffi::pg_guard_ffi_boundary(|| nextval_internal(sequence, false)) }
}

/// `relation` as regclass prints it (its oid when it does not exist), for error messages.
fn relation_name(relation: pg_sys::Oid) -> String {
    Spi::get_one_with_args::<String>(
        "SELECT $1::pg_catalog.regclass::pg_catalog.text",
        &[relation.into()],
    )
    .ok()
    .flatten()
    .unwrap_or_else(|| u32::from(relation).to_string())
}
