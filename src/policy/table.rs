//! What the generator needs to know about the protected table.

use pgrx::prelude::*;

use super::sql::{ident, once};
use crate::error::{self, AuthzError};
use crate::relation::{Column, Relation};

pub struct Table {
    pub oid: pg_sys::Oid,
    /// Schema-qualified, quoted.
    pub name: String,
    /// Primary key columns, in key order.
    pub primary_key: Vec<String>,
    relation: Relation,
}

impl Table {
    pub fn load(oid: pg_sys::Oid) -> error::Result<Table> {
        let relation = Relation::load(oid)?.require_table("protected")?;
        Ok(Table {
            oid,
            name: relation.name.clone(),
            primary_key: relation.primary_key().map(|c| c.name.clone()).collect(),
            relation,
        })
    }

    /// The quoted column and its type; 42703 naming it when the table has no such column.
    pub fn column(&self, column: &str, field: &str) -> error::Result<(String, &str)> {
        let c = self.find(column, field)?;
        Ok((c.quoted.clone(), c.type_name.as_str()))
    }

    /// Every column, in table order.
    pub fn columns(&self) -> Vec<&Column> {
        let mut columns: Vec<&Column> = self.relation.columns.iter().collect();
        columns.sort_by_key(|c| c.attnum);
        columns
    }

    /// `<schema>.<table><suffix>`, quoted: the name of a relation generated next to the table.
    /// A long table name is cut to leave the suffix whole, as PostgreSQL names an index (a
    /// table named 55 bytes and the suffix gets its own name: protect refuses it, 22023).
    pub fn sibling(&self, suffix: &str) -> error::Result<(String, String)> {
        let (schema, name) = Spi::get_two_with_args::<String, String>(
            "SELECT n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
            &[self.oid.into()],
        )?;
        let (schema, name) = (schema.unwrap_or_default(), name.unwrap_or_default());
        let sibling = format!("{}{suffix}", truncate_identifier(name, suffix.len()));
        Ok((format!("{}.{}", ident(&schema), ident(&sibling)), sibling))
    }

    /// The generated view reading the table with hidden columns masked, if there is one: a
    /// view `<table>_visible` in the table's schema whose rule depends on the table and on
    /// `authz.owner_subject_to_rls`, which only the generated view calls (a view of the same
    /// name made by hand is neither replaced nor dropped).
    pub fn generated_views(&self) -> error::Result<Vec<String>> {
        let (_, sibling) = self.sibling(super::hidden::VIEW_SUFFIX)?;
        Ok(Spi::get_one_with_args::<Vec<String>>(
            "SELECT array_agg(DISTINCT v.oid::regclass::text) FROM pg_class v
               JOIN pg_class t ON t.oid = $1 AND v.relnamespace = t.relnamespace
               JOIN pg_rewrite r ON r.ev_class = v.oid
               JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                               AND d.refclassid = 'pg_class'::regclass AND d.refobjid = t.oid
               JOIN pg_depend f ON f.classid = 'pg_rewrite'::regclass AND f.objid = r.oid
                               AND f.refclassid = 'pg_proc'::regclass
                               AND f.refobjid = 'authz.owner_subject_to_rls(pg_catalog.oid)'::pg_catalog.regprocedure
              WHERE v.relkind = 'v' AND v.relname = $2",
            &[self.oid.into(), sibling.as_str().into()],
        )?
        .unwrap_or_default())
    }

    /// The column's number (what generated triggers name it by, so that a rename keeps them
    /// working); 42703 like [`Table::column`].
    pub fn attnum(&self, column: &str, field: &str) -> error::Result<i16> {
        Ok(self.find(column, field)?.attnum)
    }

    fn find(&self, column: &str, field: &str) -> error::Result<&Column> {
        self.relation.column(column).ok_or_else(|| {
            AuthzError::UndefinedColumn(format!(
                "{field}: column \"{column}\" of relation {} does not exist",
                self.name
            ))
        })
    }

    /// A row predicate that is true for every row when `condition` holds and not true
    /// otherwise, in a form PostgreSQL can combine with indexed predicates (a BitmapOr): a range
    /// over the whole primary key whose lower bound is NULL unless `condition`. A plain OR with
    /// a run-time boolean would make the planner scan the table. The upper bound is the type's
    /// largest value, not a second NULL-unless-`condition`: `key <= max` holds for every key,
    /// and the planner still estimates the range as narrow (one bound unknown is enough), so
    /// the query pays one InitPlan for it instead of two (each costs an executor set-up per
    /// query: about 3 % of the TPS of a 20-row pgbench read). The planner reads the key's
    /// largest value from the index to estimate `key <= max` (the constant lies past the
    /// histogram): one B-tree descent per plan, paid once by a prepared statement. Falls back to
    /// `(condition)` for keys without a known range (text, composite).
    pub fn all_rows_if(&self, condition: &str) -> String {
        let [key] = self.primary_key.as_slice() else {
            return once(condition);
        };
        let Some(bounds) = self
            .relation
            .column(key)
            .and_then(|c| type_bounds(&c.type_name))
        else {
            return once(condition);
        };
        format!(
            "({key} BETWEEN (SELECT CASE WHEN {condition} THEN {} END) AND {})",
            bounds.0,
            bounds.1,
            key = ident(key)
        )
    }

    /// The smallest and largest value of a NOT NULL column with a bounded type, if it is one.
    pub fn bounded_not_null(&self, column: &str) -> Option<(&'static str, &'static str)> {
        // Integers only: the range's bounds are min() and max() of the user's keys, which
        // PostgreSQL does not define for uuid.
        self.relation
            .column(column)
            .filter(|c| c.not_null && c.type_name != "uuid")
            .and_then(|c| type_bounds(&c.type_name))
    }

    /// Whether row-level security is enabled and forced now.
    pub fn rls_flags(&self) -> error::Result<(bool, bool)> {
        let (enabled, forced) = Spi::get_two_with_args::<bool, bool>(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = $1",
            &[self.oid.into()],
        )?;
        Ok((enabled.unwrap_or(false), forced.unwrap_or(false)))
    }

    pub fn generated_policies(&self) -> error::Result<Vec<String>> {
        self.names("SELECT array_agg(polname::text) FROM pg_policy WHERE polrelid = $1 AND polname LIKE 'authz\\_%'")
    }

    pub fn generated_triggers(&self) -> error::Result<Vec<String>> {
        self.names(
            "SELECT array_agg(tgname::text) FROM pg_trigger
              WHERE tgrelid = $1 AND (tgname LIKE 'authz\\_readonly\\_%' OR tgname = 'authz_age_lock'
                     OR tgname LIKE 'authz\\_condition\\_%')",
        )
    }

    fn names(&self, query: &str) -> error::Result<Vec<String>> {
        Ok(Spi::get_one_with_args::<Vec<String>>(query, &[self.oid.into()])?.unwrap_or_default())
    }
}

/// `name` cut as PostgreSQL cuts an identifier, leaving room for `room` more bytes: to at most
/// NAMEDATALEN - 1 - `room` bytes, never inside a character (a table name of multibyte
/// characters keeps fewer of them).
fn truncate_identifier(mut name: String, room: usize) -> String {
    let max = pg_sys::NAMEDATALEN as usize - 1 - room;
    if name.len() > max {
        let mut end = max;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    name
}

/// The smallest and largest value of a type, for the types whose range is known.
fn type_bounds(column_type: &str) -> Option<(&'static str, &'static str)> {
    match column_type {
        "smallint" => Some(("-32768", "32767")),
        "integer" => Some(("-2147483648", "2147483647")),
        "bigint" => Some(("-9223372036854775808", "9223372036854775807")),
        "uuid" => Some((
            "'00000000-0000-0000-0000-000000000000'::uuid",
            "'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid",
        )),
        _ => None,
    }
}
