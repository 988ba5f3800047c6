//! Conditional rules (seed 002 "Dynamic Permission Checks"): rows matching a predicate `when`
//! are reached only by holders of every `requires` entry (permissions or groups; `"superuser"`
//! for nobody but active superusers) and by active superusers. RESTRICTIVE, like `status`: on
//! UPDATE and DELETE the condition is tested on the existing row, so moving a row into it stays
//! allowed; on SELECT it hides the rows; on INSERT it is tested on the new row.
//!
//! With `"strict": true` in the spec, UPDATE and DELETE conditions are enforced by a row trigger
//! instead of a policy: a statement that reaches such a row (one the user sees, and would change
//! but for the condition) fails with 42501 naming the rule, instead of skipping the row.

use serde::Deserialize;

use super::predicate::Predicate;
use super::sql::{once, who, SUPERUSER};
use super::strict::{Needs, StrictTrigger};
use super::table::Table;
use super::{Bypass, Command, Restriction, Rule};
use crate::error::{self, AuthzError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// A boolean expression over the row's columns, e.g. `amount > 10000`.
    when: String,
    /// Permissions ('app.codename') or groups ('group:Name'), all of them needed; or
    /// `["superuser"]`.
    requires: Vec<String>,
    /// The commands the condition restricts (default UPDATE and DELETE).
    #[serde(default = "update_delete")]
    commands: Vec<String>,
}

fn update_delete() -> Vec<String> {
    vec!["UPDATE".into(), "DELETE".into()]
}

/// The spec's `conditions` list and its `strict` flag.
#[derive(Debug, Default)]
pub struct Conditions {
    pub list: Vec<Condition>,
    pub strict: bool,
}

/// A checked condition, for `explain_row`.
pub struct Explained {
    /// `conditions[i]`.
    pub label: String,
    /// The predicate, deparsed.
    pub when: String,
    pub requires: Vec<String>,
}

impl Condition {
    /// The rule's name in messages and in `explain_row`: `conditions[i]`.
    fn label(i: usize) -> String {
        format!("conditions[{i}]")
    }

    fn commands(&self, i: usize) -> error::Result<Vec<Command>> {
        let field = format!("{}.commands", Condition::label(i));
        if self.commands.is_empty() {
            return Err(AuthzError::InvalidArgument(format!(
                "{field} must name at least one of SELECT, INSERT, UPDATE, DELETE"
            )));
        }
        let mut out = Vec::new();
        for name in &self.commands {
            let command = Command::parse(name).ok_or_else(|| {
                    AuthzError::InvalidArgument(format!(
                        "{field}: unknown command \"{name}\" (expected SELECT, INSERT, UPDATE or DELETE)"
                    ))
                })?;
            if !out.contains(&command) {
                out.push(command);
            }
        }
        Ok(out)
    }

    /// The row-independent check of `requires`: every entry held (`false` for superusers only,
    /// whom the bypass lets through).
    fn holders(&self, i: usize) -> error::Result<String> {
        let field = format!("{}.requires", Condition::label(i));
        if self.requires.is_empty() {
            return Err(AuthzError::InvalidArgument(format!(
                "{field} must name at least one permission or 'group:Name' (or \"{SUPERUSER}\" for superusers only)"
            )));
        }
        if self.requires.iter().any(|r| r == SUPERUSER) {
            if self.requires.len() > 1 {
                return Err(AuthzError::InvalidArgument(format!(
                    "{field}: \"{SUPERUSER}\" stands alone (superusers pass every rule anyway)"
                )));
            }
            return Ok("false".into());
        }
        Ok(once(&format!(
            "({})",
            who(&self.requires, &field)?.join(" AND ")
        )))
    }
}

/// A condition with its index, predicate, commands and holder check, all checked.
type Checked<'a> = (usize, &'a Condition, Predicate, Vec<Command>, String);

impl Conditions {
    fn checked(&self, table: &Table) -> error::Result<Vec<Checked<'_>>> {
        self.list
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let predicate =
                    Predicate::parse(table, &c.when, &format!("{}.when", Condition::label(i)))?;
                Ok((i, c, predicate, c.commands(i)?, c.holders(i)?))
            })
            .collect()
    }

    /// Each condition as `explain_row` reports it.
    pub fn explained(&self, table: &Table) -> error::Result<Vec<Explained>> {
        Ok(self
            .checked(table)?
            .into_iter()
            .map(|(i, condition, predicate, _, _)| Explained {
                label: Condition::label(i),
                when: predicate.bare,
                requires: condition.requires.clone(),
            })
            .collect())
    }

    /// Whether a command of a condition is enforced by the strict trigger.
    fn by_trigger(&self, command: Command) -> bool {
        self.strict && matches!(command, Command::Update | Command::Delete)
    }
}

impl Rule for Conditions {
    fn restrictions(&self, table: &Table) -> error::Result<Vec<Restriction>> {
        let mut out = Vec::new();
        for (i, _, predicate, commands, holders) in self.checked(table)? {
            let allowed = format!("(({}) IS NOT TRUE OR {holders})", predicate.bare);
            for command in commands.into_iter().filter(|c| !self.by_trigger(*c)) {
                let (using, check) = match command {
                    Command::Insert => (None, Some(allowed.clone())),
                    Command::Update => (Some(allowed.clone()), Some("true".to_owned())),
                    _ => (Some(allowed.clone()), None),
                };
                out.push(Restriction {
                    name: format!("condition_{i}_{}", command.sql().to_lowercase()),
                    command: Some(command),
                    using,
                    check,
                    bypass: Bypass::Plain,
                });
            }
        }
        Ok(out)
    }

    /// Strict mode: `authz_condition_<i>`, a row trigger refusing (42501) an UPDATE or DELETE
    /// of a row matching `when` (tested on the row before the change) unless the user holds
    /// `requires` (superusers pass).
    fn statements(&self, table: &Table) -> error::Result<Vec<String>> {
        self.strict_triggers(table)?
            .iter()
            .map(|t| t.statement(table))
            .collect()
    }
}

impl Conditions {
    /// The strict triggers of the UPDATE and DELETE conditions (none unless strict).
    pub fn strict_triggers(&self, table: &Table) -> error::Result<Vec<StrictTrigger>> {
        let mut out = Vec::new();
        for (i, condition, predicate, commands, _) in self.checked(table)? {
            let commands: Vec<Command> = commands
                .into_iter()
                .filter(|c| self.by_trigger(*c))
                .collect();
            if commands.is_empty() {
                continue;
            }
            let rule = Condition::label(i);
            out.push(StrictTrigger {
                name: StrictTrigger::named(&i.to_string()),
                commands,
                columns: Vec::new(),
                old_row_matches: predicate.old_row,
                field: format!("{rule}.requires"),
                rule,
                condition: predicate.bare,
                requires: condition.requires.clone(),
                needs: Needs::All,
            });
        }
        Ok(out)
    }
}
