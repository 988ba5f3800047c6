//! Status rules (approval workflows): rows in a `locked` status change for nobody but
//! superusers; rows in an `editors_only` status change only for `editors`. RESTRICTIVE, on
//! UPDATE and DELETE of the existing row (moving a row into such a status stays allowed).

use serde::Deserialize;

use super::sql::{any, literal, once, who};
use super::table::Table;
use super::{Restriction, Rule};
use crate::error::{self, AuthzError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    column: String,
    /// Statuses nobody but superusers may change or delete (e.g. "approved").
    #[serde(default)]
    locked: Vec<String>,
    /// Statuses only `editors` may change or delete (e.g. "published").
    #[serde(default)]
    editors_only: Vec<String>,
    /// Permissions or groups of the editors.
    #[serde(default)]
    editors: Vec<String>,
}

fn in_list(column: &str, values: &[String]) -> String {
    let values: Vec<String> = values.iter().map(|v| literal(v)).collect();
    format!("{column}::text IN ({})", values.join(", "))
}

impl Rule for Status {
    fn restrictions(&self, table: &Table) -> error::Result<Vec<Restriction>> {
        let (column, _) = table.column(&self.column, "status.column")?;
        if !self.editors_only.is_empty() && self.editors.is_empty() {
            return Err(AuthzError::InvalidArgument(
                "status.editors: editors_only statuses need editors (permissions or groups)".into(),
            ));
        }
        let mut allowed = Vec::new();
        if !self.locked.is_empty() {
            allowed.push(format!(
                "({column} IS NULL OR NOT {})",
                in_list(&column, &self.locked)
            ));
        }
        if !self.editors_only.is_empty() {
            let editors =
                once(&any(who(&self.editors, "status.editors")?).unwrap_or_else(|| "false".into()));
            allowed.push(format!(
                "({column} IS NULL OR NOT {} OR {editors})",
                in_list(&column, &self.editors_only)
            ));
        }
        let Some(using) = (!allowed.is_empty()).then(|| format!("({})", allowed.join(" AND ")))
        else {
            return Ok(Vec::new());
        };
        Ok(Restriction::on_existing_rows("status", using))
    }
}
