//! Owner rule ("edit your own"): rows whose owner column is the current user; holders of a
//! `see_all` / `edit_all` permission or group (editors, HR) reach every row.

use serde::Deserialize;

use super::sql::{current_user_value, who};
use super::table::Table;
use super::{Access, Command, Rule};
use crate::error;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Owner {
    /// The column holding the owner's app user id (text, integer or uuid).
    column: String,
    /// Permissions ('app.codename') or groups ('group:Name') that see every row.
    #[serde(default)]
    see_all: Vec<String>,
    /// Permissions or groups that change and delete every row (and see them).
    #[serde(default)]
    edit_all: Vec<String>,
    /// Whether owners may change and delete their own rows (default true); false: they only see them.
    #[serde(default = "yes")]
    edit: bool,
}

fn yes() -> bool {
    true
}

impl Rule for Owner {
    fn scopes_rows(&self) -> bool {
        true
    }

    fn row_access(&self, command: Command, table: &Table) -> error::Result<Vec<Access>> {
        let (column, column_type) = table.column(&self.column, "owner.column")?;
        let mut access = Vec::new();
        if command == Command::Select || self.edit {
            let user = current_user_value(column_type, "owner.column")?;
            access.push(Access::ColumnIs {
                column,
                value: user,
            });
        }
        if command == Command::Select {
            access.extend(
                who(&self.see_all, "owner.see_all")?
                    .into_iter()
                    .map(Access::AllRows),
            );
        }
        access.extend(
            who(&self.edit_all, "owner.edit_all")?
                .into_iter()
                .map(Access::AllRows),
        );
        Ok(access)
    }
}
