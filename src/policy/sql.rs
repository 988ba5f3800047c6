//! SQL fragments shared by the rules: quoting, the once-per-query checks, "who" lists.
//!
//! Checks (`is_superuser()`, `has_perm(...)`, `in_group(...)`) are written as bare calls and
//! combined with AND/OR first; `once` then wraps the whole condition in one `(SELECT ...)`, which
//! PostgreSQL runs once per query (an InitPlan). PostgreSQL never hoists a row-level-security
//! qualifier out of the per-row filter, even when it references no column, so one parameter per
//! condition instead of one per check is what a scanned row pays.

use pgrx::prelude::*;

use super::Command;
use crate::catalog::ModelName;
use crate::checks::is_well_formed_perm;
use crate::error::{self, AuthzError};

pub fn ident(name: &str) -> String {
    pgrx::spi::quote_identifier(name)
}

pub fn literal(value: &str) -> String {
    pgrx::spi::quote_literal(value)
}

/// `condition` (row-independent) evaluated once per query.
pub fn once(condition: &str) -> String {
    format!("(SELECT {condition})")
}

/// The "who" entry naming active superusers only (`requires` of conditions, strict triggers).
pub const SUPERUSER: &str = "superuser";

/// Active superusers pass every policy.
pub fn superuser() -> String {
    "authz.is_superuser()".into()
}

pub fn has_perm(perm: &str) -> String {
    format!("authz.has_perm({})", literal(perm))
}

/// The model permission a command needs, as Django's admin asks: view (or change) to see,
/// add to insert, change to update, delete to delete.
pub fn model_permission(model: &ModelName, command: Command) -> String {
    let perm = |action: &str| has_perm(&format!("{}.{action}_{}", model.app_label, model.model));
    match command {
        Command::Select => format!("({} OR {})", perm("view"), perm("change")),
        Command::Insert => perm("add"),
        Command::Update => perm("change"),
        Command::Delete => perm("delete"),
    }
}

/// `expr` (text) converted to `column_type`, NULL (never an error) when it cannot be of that
/// type; `None` for types without such a conversion. Only the canonical text of a value (what
/// `value::text` prints: no leading zeros or '+', lower-case hyphenated uuids) converts, so one
/// app user id matches one value and one value one id. The nested CASE keeps the order of
/// evaluation: PostgreSQL may reorder the operands of AND.
pub fn guarded_cast(expr: &str, column_type: &str) -> Option<String> {
    match column_type {
        "text" | "character varying" | "character" | "name" => Some(expr.to_owned()),
        "smallint" | "integer" | "bigint" => Some(format!(
            "CASE WHEN {expr} ~ '^(0|-?[1-9][0-9]{{0,18}})$' THEN \
             CASE WHEN ({expr})::numeric BETWEEN -9223372036854775808 AND 9223372036854775807 \
             THEN ({expr})::bigint END END"
        )),
        "uuid" => Some(format!(
            "CASE WHEN {expr} ~ '^[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}$' THEN ({expr})::uuid END"
        )),
        _ => None,
    }
}

/// The current app user id converted to a column's type, evaluated once per query; NULL when
/// the id cannot be of that type, so such a user matches no row.
pub fn current_user_as(column_type: &str, what: &str) -> error::Result<String> {
    current_user_value(column_type, what).map(|value| once(&value))
}

/// The current app user id converted to a column's type, as an expression to evaluate once per
/// query (see [`current_user_as`]).
pub fn current_user_value(column_type: &str, what: &str) -> error::Result<String> {
    guarded_cast("authz.current_user_id()", column_type).ok_or_else(|| {
        AuthzError::InvalidArgument(format!(
            "{what} is {column_type}: user columns must be text, integer or uuid"
        ))
    })
}

/// "Who" lists (`see_all`, `edit_all`, `editors`, `unless`): each entry is a permission
/// 'app_label.codename' or a group 'group:Name'; both must exist.
pub fn who(entries: &[String], field: &str) -> error::Result<Vec<String>> {
    entries.iter().map(|entry| who_one(entry, field)).collect()
}

fn who_one(entry: &str, field: &str) -> error::Result<String> {
    if let Some(group) = entry.strip_prefix("group:") {
        let exists = Spi::get_one_with_args::<bool>(
            "SELECT EXISTS (SELECT 1 FROM authz.groups WHERE name = $1)",
            &[group.into()],
        )?;
        if exists != Some(true) {
            return Err(AuthzError::InvalidArgument(format!(
                "{field}: unknown group \"{group}\""
            )));
        }
        return Ok(format!("authz.in_group({})", literal(group)));
    }
    let known = is_well_formed_perm(entry)
        && Spi::get_one_with_args::<bool>(
            "SELECT EXISTS (SELECT 1 FROM authz.permissions p
                              JOIN authz.content_types ct ON ct.id = p.content_type_id
                             WHERE ct.app_label || '.' || p.codename = $1)",
            &[entry.into()],
        )? == Some(true);
    if !known {
        return Err(AuthzError::InvalidArgument(format!(
            "{field}: unknown permission \"{entry}\" (expected 'app_label.codename' of an existing permission, or 'group:Name')"
        )));
    }
    Ok(has_perm(entry))
}

/// `a OR b OR ...` in parentheses, or `None` for an empty list.
pub fn any(parts: Vec<String>) -> Option<String> {
    (!parts.is_empty()).then(|| format!("({})", parts.join(" OR ")))
}
