//! Status rules (approval workflows): rows in a `locked` status change for nobody but
//! superusers; rows in an `editors_only` status change only for `editors`. RESTRICTIVE, on
//! UPDATE and DELETE of the existing row (moving a row into such a status stays allowed).

use serde::Deserialize;

use super::sql::{any, literal, once, who, SUPERUSER};
use super::strict::{Needs, StrictTrigger};
use super::table::Table;
use super::{Command, Restriction, Rule};
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
    /// The spec's `strict`: row triggers that raise instead of policies that skip rows.
    #[serde(skip)]
    pub strict: bool,
}

fn in_list(column: &str, values: &[String]) -> String {
    let values: Vec<String> = values.iter().map(|v| literal(v)).collect();
    format!("{column}::text IN ({})", values.join(", "))
}

impl Status {
    /// The quoted column; 22023 for editors_only statuses without editors.
    fn checked_column(&self, table: &Table) -> error::Result<String> {
        let (column, _) = table.column(&self.column, "status.column")?;
        if !self.editors_only.is_empty() && self.editors.is_empty() {
            return Err(AuthzError::InvalidArgument(
                "status.editors: editors_only statuses need editors (permissions or groups)".into(),
            ));
        }
        Ok(column)
    }
}

impl Rule for Status {
    fn restrictions(&self, table: &Table) -> error::Result<Vec<Restriction>> {
        let column = self.checked_column(table)?;
        if self.strict {
            return Ok(Vec::new());
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

    /// Strict mode: `authz_condition_status_locked` and `authz_condition_status_editors_only`,
    /// row triggers refusing (42501) an UPDATE or DELETE of a row in such a status (before the
    /// change) to all but superusers, or all but one of the editors.
    fn statements(&self, table: &Table) -> error::Result<Vec<String>> {
        self.strict_triggers(table)?
            .iter()
            .map(|t| t.statement(table))
            .collect()
    }
}

impl Status {
    /// The strict triggers of the locked and editors-only statuses (none unless strict).
    pub fn strict_triggers(&self, table: &Table) -> error::Result<Vec<StrictTrigger>> {
        let column = self.checked_column(table)?;
        if !self.strict {
            return Ok(Vec::new());
        }
        who(&self.editors, "status.editors")?;
        let old = format!("old.{column}");
        let mut out = Vec::new();
        for (name, values, requires, needs) in [
            (
                "locked",
                &self.locked,
                vec![SUPERUSER.to_owned()],
                Needs::All,
            ),
            (
                "editors_only",
                &self.editors_only,
                self.editors.clone(),
                Needs::Any,
            ),
        ] {
            if values.is_empty() {
                continue;
            }
            out.push(StrictTrigger {
                name: StrictTrigger::named(&format!("status_{name}")),
                commands: vec![Command::Update, Command::Delete],
                columns: Vec::new(),
                old_row_matches: in_list(&old, values),
                rule: format!("status.{name}"),
                condition: in_list(&column, values),
                requires,
                needs,
                field: "status.editors".into(),
            });
        }
        Ok(out)
    }
}
