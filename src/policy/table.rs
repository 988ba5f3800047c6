//! What the generator needs to know about the protected table.

use std::collections::HashMap;

use pgrx::prelude::*;

use super::sql::ident;
use crate::error::{self, AuthzError};

pub struct Table {
    pub oid: pg_sys::Oid,
    /// Schema-qualified, quoted.
    pub name: String,
    /// Column name → type, as `format_type` writes it.
    columns: HashMap<String, String>,
    /// Primary key columns, in key order.
    pub primary_key: Vec<String>,
}

impl Table {
    pub fn load(oid: pg_sys::Oid) -> error::Result<Table> {
        let (name, is_table) = Spi::get_two_with_args::<String, bool>(
            "SELECT c.oid::regclass::text, c.relkind IN ('r', 'p') FROM pg_class c WHERE c.oid = $1",
            &[oid.into()],
        )?;
        let name = name.unwrap_or_default();
        if is_table != Some(true) {
            return Err(AuthzError::InvalidArgument(format!(
                "relation {name} is not a table: only tables can be protected"
            )));
        }
        Spi::connect(|client| {
            let mut columns = HashMap::new();
            let mut primary_key = Vec::new();
            let rows = client.select(
                "SELECT a.attname::text, format_type(a.atttypid, NULL),
                        coalesce(a.attnum = ANY (i.indkey::int2[]), false)
                   FROM pg_attribute a
                   LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
                  WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
                  ORDER BY array_position(i.indkey::int2[], a.attnum), a.attnum",
                None,
                &[oid.into()],
            )?;
            for row in rows {
                let column: String = row.get(1)?.unwrap_or_default();
                if row.get::<bool>(3)?.unwrap_or(false) {
                    primary_key.push(column.clone());
                }
                columns.insert(column, row.get(2)?.unwrap_or_default());
            }
            Ok(Table {
                oid,
                name,
                columns,
                primary_key,
            })
        })
    }

    /// The quoted column and its type; 42703 naming it when the table has no such column.
    pub fn column(&self, column: &str, field: &str) -> error::Result<(String, &str)> {
        match self.columns.get(column) {
            Some(column_type) => Ok((ident(column), column_type.as_str())),
            None => Err(AuthzError::UndefinedColumn(format!(
                "{field}: column \"{column}\" of relation {} does not exist",
                self.name
            ))),
        }
    }

    /// A row predicate that is true for every row when `condition` holds and false otherwise,
    /// in a form PostgreSQL can combine with indexed predicates (a BitmapOr): a range over the
    /// whole primary key whose bounds are NULL unless `condition`. A plain OR with a run-time
    /// boolean would make the planner scan the table. Falls back to `(condition)` for keys
    /// without a known range (text, composite).
    pub fn all_rows_if(&self, condition: &str) -> String {
        let [key] = self.primary_key.as_slice() else {
            return format!("({condition})");
        };
        let bounds = match self.columns.get(key).map(String::as_str) {
            Some("smallint") => ("-32768", "32767"),
            Some("integer") => ("-2147483648", "2147483647"),
            Some("bigint") => ("-9223372036854775808", "9223372036854775807"),
            Some("uuid") => (
                "'00000000-0000-0000-0000-000000000000'::uuid",
                "'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid",
            ),
            _ => return format!("({condition})"),
        };
        format!(
            "({key} BETWEEN (SELECT CASE WHEN {condition} THEN {} END) AND (SELECT CASE WHEN {condition} THEN {} END))",
            bounds.0,
            bounds.1,
            key = ident(key)
        )
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
            "SELECT array_agg(tgname::text) FROM pg_trigger WHERE tgrelid = $1 AND tgname LIKE 'authz\\_readonly\\_%'",
        )
    }

    fn names(&self, query: &str) -> error::Result<Vec<String>> {
        Ok(Spi::get_one_with_args::<Vec<String>>(query, &[self.oid.into()])?.unwrap_or_default())
    }
}
