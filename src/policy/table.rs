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

    /// A row predicate that is true for every row when `condition` holds and false otherwise,
    /// in a form PostgreSQL can combine with indexed predicates (a BitmapOr): a range over the
    /// whole primary key whose bounds are NULL unless `condition`. A plain OR with a run-time
    /// boolean would make the planner scan the table. Falls back to `(condition)` for keys
    /// without a known range (text, composite).
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
            "({key} BETWEEN (SELECT CASE WHEN {condition} THEN {} END) AND (SELECT CASE WHEN {condition} THEN {} END))",
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
