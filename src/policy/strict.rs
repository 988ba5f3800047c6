//! Strict mode (`"strict": true` in the spec): the conditions, status and max_age rules that
//! would skip a row on UPDATE or DELETE are row triggers instead, which refuse the statement
//! (42501, naming the rule) when it reaches such a row. One builder for the three rules.
//!
//! The trigger's WHEN clause holds the whole test: the old row matches the rule's condition,
//! and the user is neither an active superuser nor a holder of `requires`. So a holder's bulk
//! UPDATE pays one expression per row, not a PL/pgSQL call, and `authz.refuse_conditional_change`
//! runs only to raise, naming what is missing (it tests the entries again, one by one, for the
//! message). A WHEN clause takes no sub-select, so the checks are bare calls here, evaluated per
//! matching row; the cache answers each in a few hundred nanoseconds.

use super::sql::{literal, superuser, who, SUPERUSER};
use super::table::Table;
use super::Command;
use crate::error;

/// How many of `requires` a user must hold.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Every entry (conditions; `["superuser"]` for superusers only).
    All,
    /// One of them (the editors of a status).
    Any,
}

/// One strict trigger, as a rule of the spec makes it: what `protect` creates, and what
/// `explain_row` evaluates (from the spec, never from a trigger's arguments, which anyone with
/// TRIGGER on the table could have written).
pub struct StrictTrigger {
    /// The trigger's name, `authz_condition_<suffix>`.
    pub name: String,
    /// UPDATE, DELETE or both.
    pub commands: Vec<Command>,
    /// For UPDATE, the (quoted) columns whose naming in the SET list fires it; empty: any
    /// UPDATE.
    pub columns: Vec<String>,
    /// The condition on the row before the change, over `old.<column>`, true when it applies.
    pub old_row_matches: String,
    /// The rule's name in the message and in `explain_row` (`conditions[0]`, `status.locked`).
    pub rule: String,
    /// The condition over the row's own columns, as `explain_row` evaluates it and the message
    /// quotes it.
    pub condition: String,
    pub requires: Vec<String>,
    pub needs: Needs,
    /// The spec field `requires` comes from, for errors.
    pub field: String,
}

impl StrictTrigger {
    pub fn named(suffix: &str) -> String {
        format!("authz_condition_{suffix}")
    }

    /// The CREATE TRIGGER statement.
    pub fn statement(&self, table: &Table) -> error::Result<String> {
        let exempt = match self.holds_requires()? {
            Some(holds) => format!("{} OR {holds}", superuser()),
            None => superuser(),
        };
        let requires = serde_json::to_string(&self.requires).unwrap_or_else(|_| "[]".into());
        let mode = match self.needs {
            Needs::All => "",
            Needs::Any => ", 'any'",
        };
        let events: Vec<String> = self
            .commands
            .iter()
            .map(|c| match c {
                Command::Update if !self.columns.is_empty() => {
                    format!("UPDATE OF {}", self.columns.join(", "))
                }
                _ => c.sql().to_owned(),
            })
            .collect();
        Ok(format!(
            "CREATE TRIGGER {} BEFORE {} ON {} FOR EACH ROW\n  WHEN (({}) IS TRUE AND ({exempt}) IS NOT TRUE)\n  EXECUTE FUNCTION authz.refuse_conditional_change({}, {}, {}{mode})",
            self.name,
            events.join(" OR "),
            table.name,
            self.old_row_matches,
            literal(&self.rule),
            literal(&self.condition),
            literal(&requires),
        ))
    }

    /// The test that the user holds `requires`, as bare calls; `None` for superusers only.
    fn holds_requires(&self) -> error::Result<Option<String>> {
        if self.requires.iter().any(|r| r == SUPERUSER) {
            return Ok(None);
        }
        let joiner = match self.needs {
            Needs::All => " AND ",
            Needs::Any => " OR ",
        };
        let checks = who(&self.requires, &self.field)?;
        Ok((!checks.is_empty()).then(|| format!("({})", checks.join(joiner))))
    }
}
