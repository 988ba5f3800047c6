//! Hidden columns (seed 001 "Hide Fields Entirely", seed 002 "Hide Fields Based on
//! Permissions"): listed columns read as NULL, or as `mask`, for everyone but `unless` holders
//! and active superusers.
//!
//! PostgreSQL's column privileges are per database role, and every app user shares the app's
//! role, so the hiding is a generated view `<table>_visible` next to the table, which the app
//! reads instead of the table: every column in table order, a hidden one as
//! `CASE WHEN holds.superuser OR holds.check_1 THEN column ELSE mask END`, where `holds` is one
//! row `ROWS FROM (authz.is_superuser(), authz.in_group(...), ...)` joined to the table: each
//! distinct check is planned once and computed once per query (a function scan keeps its row
//! when the join rescans it), however many columns it guards. One sub-select per hidden column
//! costs a sub-plan each to plan, which a client that does not prepare its statements pays on
//! every query (bench/README.md, metric 17). The price of the join: the view is not
//! automatically updatable; writes go to the table, where a hidden column changes only for
//! holders (the readonly trigger, 42501), and the others as before.
//! The view is owned by the table's owner and is not `security_invoker`: it reads the table with
//! its owner's column privileges, so the app role needs none on the hidden columns, while the
//! table's policies still apply (row-level security is forced on the owner, and the policies
//! ask who the app user is, not which database role reads). No barrier is needed: a caller's
//! condition, ordering or function over a hidden column is an expression over the CASE, never
//! over the stored value, and the rows are filtered by the table's policies first, as for the
//! table itself. What the DBA grants: SELECT on the view; on the table SELECT of the columns
//! that are not hidden, and the writes the app makes (README "Hidden columns").

use serde::Deserialize;

use super::predicate::Predicate;
use super::readonly::Readonly;
use pgrx::prelude::*;

use super::sql::{ident, literal, superuser, who, SUPERUSER};
use super::strict::{Needs, StrictTrigger};
use super::table::Table;
use super::{Command, Rule};
use crate::error::{self, AuthzError};

/// What the generated view's name adds to the table's.
pub const VIEW_SUFFIX: &str = "_visible";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hidden {
    columns: Vec<String>,
    /// Permissions or groups that see the values.
    #[serde(default)]
    unless: Vec<String>,
    /// An SQL constant (`'***'`, `0`) shown instead of the value; NULL when absent.
    #[serde(default)]
    mask: Option<serde_json::Value>,
}

/// The spec's `hidden` entries: one view for all of them.
#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
pub struct HiddenColumns(Vec<Hidden>);

impl HiddenColumns {
    /// For each hidden column (by name): its entry's holder condition over the view's `holds`
    /// row, and its mask; with `checks`, the distinct checks that row computes (active
    /// superuser first, then each permission or group in order of first mention).
    fn masks(
        &self,
        table: &Table,
        checks: &mut Vec<String>,
    ) -> error::Result<Vec<(String, String, String)>> {
        checks.push(superuser());
        let mut out: Vec<(String, String, String)> = Vec::new();
        for (i, entry) in self.0.iter().enumerate() {
            let field = format!("hidden[{i}]");
            if entry.columns.is_empty() {
                return Err(AuthzError::InvalidArgument(format!(
                    "{field}.columns must name at least one column"
                )));
            }
            let mut holders = vec![holds_column(0)];
            for check in who(&entry.unless, &format!("{field}.unless"))? {
                let n = match checks.iter().position(|c| *c == check) {
                    Some(n) => n,
                    None => {
                        checks.push(check);
                        checks.len() - 1
                    }
                };
                if !holders.contains(&holds_column(n)) {
                    holders.push(holds_column(n));
                }
            }
            let holders = holders.join(" OR ");
            for column in &entry.columns {
                let (_, column_type) = table.column(column, &format!("{field}.columns"))?;
                if out.iter().any(|(c, _, _)| c == column) {
                    return Err(AuthzError::InvalidArgument(format!(
                        "{field}.columns: column \"{column}\" is hidden twice"
                    )));
                }
                let mask = match &entry.mask {
                    None | Some(serde_json::Value::Null) => format!("NULL::{column_type}"),
                    Some(serde_json::Value::String(text)) => {
                        Predicate::constant(table, text, column_type, &format!("{field}.mask"))?
                    }
                    Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => {
                        Predicate::constant(table, &v.to_string(), column_type, &format!("{field}.mask"))?
                    }
                    Some(_) => {
                        return Err(AuthzError::InvalidArgument(format!(
                            "{field}.mask must be an SQL constant, as a string ('***' written \"'***'\") or a number"
                        )))
                    }
                };
                out.push((column.clone(), holders.clone(), mask));
            }
        }
        let hidden: Vec<&str> = out.iter().map(|(name, _, _)| name.as_str()).collect();
        refuse_generated_from_hidden(table, &hidden)?;
        refuse_constraints_mixing_hidden(table, &hidden)?;
        Ok(out)
    }
}

/// 22023 when a column the view shows is a generated column computed from a hidden one (its
/// stored value would give the hidden value away, `upper(api_key)` in full): it must be hidden
/// too, in any entry.
fn refuse_generated_from_hidden(table: &Table, hidden: &[&str]) -> error::Result<()> {
    let found = Spi::get_two_with_args::<String, String>(
        "SELECT g.attname::text, h.attname::text
           FROM pg_catalog.pg_attribute g
           JOIN pg_catalog.pg_attrdef d ON d.adrelid = g.attrelid AND d.adnum = g.attnum
           JOIN pg_catalog.pg_depend dep
             ON dep.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND dep.objid = d.oid
            AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
            AND dep.refobjid = g.attrelid
           JOIN pg_catalog.pg_attribute h
             ON h.attrelid = g.attrelid AND h.attnum = dep.refobjsubid
          WHERE g.attrelid = $1 AND g.attgenerated <> '' AND NOT g.attisdropped
            AND h.attname::text = ANY($2) AND NOT g.attname::text = ANY($2)
          ORDER BY g.attnum, h.attnum
          LIMIT 1",
        &[table.oid.into(), hidden.into()],
    );
    match found {
        Ok((Some(generated), Some(source))) => Err(AuthzError::InvalidArgument(format!(
            "hidden: column \"{generated}\" of relation {} is generated from hidden column \"{source}\"; hide it too",
            table.name
        ))),
        Ok(_) | Err(pgrx::spi::SpiError::InvalidPosition) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// 22023 when a CHECK constraint, or a unique or exclusion index (its columns, expressions or
/// predicate), names a hidden column and a column the view shows: a non-holder writing the shown
/// one learns from the error (23514, 23505, 23P01) how it compares with the hidden value
/// (`CHECK (discount <= price)` answers guesses of `price`). Hiding the other column too makes
/// it unwritable to them.
fn refuse_constraints_mixing_hidden(table: &Table, hidden: &[&str]) -> error::Result<()> {
    let found = Spi::get_two_with_args::<String, String>(
        "SELECT kind, format('%s \"%s\" names hidden column \"%s\" and column \"%s\"', kind, name,
                      (array_agg(attname ORDER BY attnum) FILTER (WHERE hidden))[1],
                      (array_agg(attname ORDER BY attnum) FILTER (WHERE NOT hidden))[1])
           FROM (SELECT CASE WHEN dep.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass
                             THEN 'constraint' ELSE 'index' END AS kind,
                        coalesce(con.conname, ix.relname)::text AS name, a.attname::text AS attname,
                        a.attnum, a.attname::text = ANY($2) AS hidden
                   FROM pg_catalog.pg_depend dep
                   JOIN pg_catalog.pg_attribute a
                     ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
                   LEFT JOIN pg_catalog.pg_constraint con
                     ON dep.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass
                    AND con.oid = dep.objid AND con.contype = 'c'
                   LEFT JOIN pg_catalog.pg_index i
                     ON dep.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                    AND i.indexrelid = dep.objid AND (i.indisunique OR i.indisexclusion)
                   LEFT JOIN pg_catalog.pg_class ix ON ix.oid = i.indexrelid
                  WHERE dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                    AND dep.refobjid = $1 AND dep.refobjsubid > 0
                    AND (con.oid IS NOT NULL OR i.indexrelid IS NOT NULL)) AS refs
          GROUP BY kind, name
         HAVING bool_or(hidden) AND bool_or(NOT hidden)
          ORDER BY kind, name
          LIMIT 1",
        &[table.oid.into(), hidden.into()],
    );
    match found {
        Ok((Some(kind), Some(what))) => Err(AuthzError::InvalidArgument(format!(
            "hidden: {what} of relation {}: its error would answer guesses of the hidden value; hide the other column too, or drop the {kind}",
            table.name
        ))),
        Ok(_) | Err(pgrx::spi::SpiError::InvalidPosition) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The view's one row of checks, `holds`: column `n` is the answer of the `n`th check.
fn holds_column(n: usize) -> String {
    if n == 0 {
        "holds.superuser".into()
    } else {
        format!("holds.check_{n}")
    }
}

impl Rule for HiddenColumns {
    /// The view, then the readonly triggers of the hidden columns.
    fn statements(&self, table: &Table) -> error::Result<Vec<String>> {
        if self.0.is_empty() {
            return Ok(Vec::new());
        }
        let mut checks = Vec::new();
        let masks = self.masks(table, &mut checks)?;
        let (view, _) = table.sibling(VIEW_SUFFIX)?;
        let taken = Spi::get_one_with_args::<bool>(
            "SELECT to_regclass($1) IS NOT NULL",
            &[view.as_str().into()],
        )? == Some(true);
        if taken && table.generated_views()?.is_empty() {
            return Err(AuthzError::InvalidArgument(format!(
                "hidden: relation {view} exists and is not the view protect generates for {}; rename or drop it",
                table.name
            )));
        }
        let select: Vec<String> = table
            .columns()
            .into_iter()
            .map(
                |c| match masks.iter().find(|(name, _, _)| *name == c.name) {
                    Some((_, holders, mask)) => format!(
                        "CASE WHEN {holders} THEN t.{q} ELSE {mask} END AS {q}",
                        q = c.quoted
                    ),
                    None => format!("t.{}", c.quoted),
                },
            )
            .collect();
        let owner = owner_under_rls(table)?;
        let names: Vec<String> = (0..checks.len())
            .map(|n| holds_column(n).trim_start_matches("holds.").to_owned())
            .collect();
        let mut out = vec![
            format!(
                "CREATE OR REPLACE VIEW {view} AS\n  SELECT {}\n    FROM {} t\n   CROSS JOIN ROWS FROM ({}) AS holds({})\n   WHERE authz.owner_subject_to_rls({}::pg_catalog.regclass)",
                select.join(",\n         "),
                table.name,
                checks.join(", "),
                names.join(", "),
                literal(&table.name),
            ),
            format!("ALTER VIEW {view} OWNER TO {}", ident(&owner)),
        ];
        for (i, entry) in self.0.iter().enumerate() {
            out.extend(
                Readonly::hidden(entry.columns.clone(), entry.unless.clone()).statements(table)?,
            );
            out.push(update_refused(table, i, entry)?);
        }
        Ok(out)
    }
}

/// `authz_condition_hidden_<i>`: an UPDATE that names a hidden column in its SET list (or an
/// INSERT's ON CONFLICT DO UPDATE, a MERGE) is refused (42501) to all but holders and active
/// superusers, whatever the value. The readonly trigger alone lets a write of the value a column
/// already holds pass, and so would answer whether a guess is right.
fn update_refused(table: &Table, i: usize, entry: &Hidden) -> error::Result<String> {
    let mut columns = Vec::new();
    for column in &entry.columns {
        columns.push(table.column(column, &format!("hidden[{i}].columns"))?.0);
    }
    let requires = if entry.unless.is_empty() {
        vec![SUPERUSER.to_owned()]
    } else {
        entry.unless.clone()
    };
    StrictTrigger {
        name: StrictTrigger::named(&format!("hidden_{i}")),
        commands: vec![Command::Update],
        condition: format!("an UPDATE of its hidden columns {}", columns.join(", ")),
        columns,
        old_row_matches: "true".into(),
        rule: format!("hidden[{i}]"),
        requires,
        needs: Needs::Any,
        field: format!("hidden[{i}].unless"),
    }
    .statement(table)
}

/// The table's owner, who will own the view: 22023 when it bypasses row-level security
/// (a superuser, or BYPASSRLS), since the view reads the table with its owner's rights and
/// would then show every row.
fn owner_under_rls(table: &Table) -> error::Result<String> {
    let (owner, subject) = Spi::get_two_with_args::<String, bool>(
        "SELECT r.rolname::text, authz.owner_subject_to_rls(c.oid)
           FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE c.oid = $1",
        &[table.oid.into()],
    )?;
    let owner = owner.unwrap_or_default();
    if subject != Some(true) {
        return Err(AuthzError::InvalidArgument(format!(
            "hidden: the owner of {}, role {owner}, bypasses row-level security (superuser or BYPASSRLS): the view of hidden columns reads the table with its owner's rights and would show every row; give the table to a role that does not",
            table.name
        )));
    }
    Ok(owner)
}

/// Whether the owner of `relation` is subject to row-level security: neither a superuser nor
/// BYPASSRLS. The generated view of hidden columns reads its table with its owner's rights:
/// `protect` refuses hidden columns unless this holds for the table, and
/// `authz.protection_breaches` lists a view whose owner it no longer holds for. False for a
/// missing relation.
#[pg_extern(stable, parallel_safe)]
fn owner_subject_to_rls(relation: Option<pg_sys::Oid>) -> bool {
    let Some(relation) = relation else {
        return false;
    };
    // SAFETY: the relation is open; its pg_class row lives in its relcache entry. The role
    // lookups read the syscache by oid.
    super::with_relation(relation, |relation| unsafe {
        let owner = (*(*relation).rd_rel).relowner;
        !pg_sys::superuser_arg(owner) && !pg_sys::has_bypassrls_privilege(owner)
    })
    .unwrap_or(false)
}
