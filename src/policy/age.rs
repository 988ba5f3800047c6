//! Age rule (time-based edit lock): rows older than `days` by their timestamp column change and
//! delete for nobody but superusers. RESTRICTIVE, on UPDATE and DELETE. The timestamp itself is
//! fixed once written (only superusers change it), or moving it forward would reopen the row.

use serde::Deserialize;

use super::sql::literal;
use super::table::Table;
use super::{Restriction, Rule};
use crate::error::{self, AuthzError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxAge {
    /// A timestamptz, timestamp or date column (e.g. created_at).
    column: String,
    /// Rows older than this many days are locked.
    days: u32,
    /// Whether the column is fixed once written (default true), so that moving a date forward
    /// cannot reopen a row. False for a column the application moves itself (Django's
    /// `auto_now`), which makes the rule "no edits after `days` without one".
    #[serde(default = "yes")]
    lock_column: bool,
}

fn yes() -> bool {
    true
}

impl Rule for MaxAge {
    fn restrictions(&self, table: &Table) -> error::Result<Vec<Restriction>> {
        let (column, column_type) = table.column(&self.column, "max_age.column")?;
        if !matches!(
            column_type,
            "timestamp with time zone" | "timestamp without time zone" | "date"
        ) {
            return Err(AuthzError::InvalidArgument(format!(
                "max_age.column: column \"{}\" is {column_type}, not a timestamp or date",
                self.column
            )));
        }
        let fresh = format!("{column} > now() - make_interval(days => {})", self.days);
        Ok(Restriction::on_existing_rows("age", fresh))
    }

    /// The trigger keeping the column fixed (`Table::generated_triggers` knows its name).
    fn statements(&self, table: &Table) -> error::Result<Vec<String>> {
        if !self.lock_column {
            return Ok(Vec::new());
        }
        let (column, _) = table.column(&self.column, "max_age.column")?;
        Ok(vec![format!(
            "CREATE TRIGGER authz_age_lock BEFORE UPDATE OF {column} ON {} FOR EACH ROW EXECUTE FUNCTION authz.guard_readonly_columns('[]', {})",
            table.name,
            literal(&self.column)
        )])
    }
}
