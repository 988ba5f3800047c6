//! Column rules (Django's readonly fields): listed columns change only for `unless` holders
//! (permissions or groups) and superusers. A row trigger refuses anyone else with 42501 naming
//! the column: on UPDATE when the value changes, on INSERT when it is not the column default.

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
