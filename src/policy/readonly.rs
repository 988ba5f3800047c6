//! Column rules (Django's readonly fields): listed columns change only for `unless` holders
//! (permissions or groups) and superusers. A row trigger (`authz.guard_readonly_columns` in
//! sql/finalize.sql) refuses anyone else with 42501 naming the column: on UPDATE when the value
//! changes (compared by binary image, never through text), on INSERT when it is not the column
//! default: for identity and serial columns, not the value the sequence just gave this session.
//! A volatile default cannot be evaluated again to compare, so such a column is not checked on
//! INSERT.

use pgrx::prelude::*;
use pgrx::PgRelation;
use serde::Deserialize;

use super::sql::{literal, who};
use super::table::Table;
use super::Rule;
use crate::error::{self, AuthzError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Readonly {
    columns: Vec<String>,
    /// Permissions or groups that may change these columns.
    #[serde(default)]
    unless: Vec<String>,
}

impl Rule for Readonly {
    fn statements(&self, table: &Table) -> error::Result<Vec<String>> {
        if self.columns.is_empty() {
            return Err(AuthzError::InvalidArgument(
                "readonly.columns must name at least one column".into(),
            ));
        }
        for column in &self.columns {
            table.column(column, "readonly.columns")?;
        }
        who(&self.unless, "readonly.unless")?;
        let unless = serde_json::to_string(&self.unless).unwrap_or_else(|_| "[]".into());
        let args: Vec<String> = std::iter::once(literal(&unless))
            .chain(self.columns.iter().map(|c| literal(c)))
            .collect();
        let name = format!("authz_readonly_{}", self.columns.join("_"));
        Ok(vec![format!(
            "CREATE TRIGGER {} BEFORE INSERT OR UPDATE ON {} FOR EACH ROW EXECUTE FUNCTION authz.guard_readonly_columns({})",
            super::sql::ident(&name.chars().take(63).collect::<String>()),
            table.name,
            args.join(", ")
        )])
    }
}

/// Whether column `column_name` of `relation` has a volatile default (`gen_random_uuid()`,
/// `clock_timestamp()`, `nextval(...)`): one that gives another value each time, so that the
/// readonly trigger cannot tell, on INSERT, a defaulted value from one the caller chose.
#[pg_extern(stable, parallel_safe)]
fn column_default_is_volatile(
    relation: Option<PgRelation>,
    column_name: Option<&str>,
) -> Option<bool> {
    let (relation, column_name) = (relation?, column_name?);
    let attnum = relation
        .tuple_desc()
        .iter()
        .position(|a| !a.is_dropped() && a.name() == column_name)?
        + 1;
    // SAFETY: an open relation's tuple descriptor and its defaults live as long as `relation`;
    // `adbin` is the node tree PostgreSQL stored for the default.
    unsafe {
        let constr = (*relation.rd_att).constr;
        if constr.is_null() || (*constr).num_defval == 0 {
            return Some(false);
        }
        let defaults = std::slice::from_raw_parts((*constr).defval, (*constr).num_defval.into());
        let default = defaults
            .iter()
            .find(|d| usize::try_from(d.adnum) == Ok(attnum));
        Some(default.is_some_and(|d| {
            pg_sys::contain_volatile_functions(pg_sys::stringToNode(d.adbin).cast())
        }))
    }
}
