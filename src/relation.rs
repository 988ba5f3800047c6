//! What pg_authz reads about a user table: its quoted name, whether it is a table, its columns
//! and primary key. Shared by the audit triggers and the policy generator.

use pgrx::prelude::*;

use crate::error::{self, AuthzError};

/// A column of a user table.
pub struct Column {
    pub name: String,
    /// The name as an SQL identifier, quoted where needed.
    pub quoted: String,
    /// The type, as `format_type` writes it.
    pub type_name: String,
    pub primary_key: bool,
    pub not_null: bool,
    /// The column's number, which a rename keeps.
    pub attnum: i16,
}

pub struct Relation {
    /// Schema-qualified and quoted (callers pin search_path to pg_catalog).
    pub name: String,
    /// An ordinary table outside any inheritance or partitioning tree (policies and statement
    /// triggers on a parent would not cover direct access to its children).
    pub is_table: bool,
    /// Primary key columns first, in key order, then the others in table order.
    pub columns: Vec<Column>,
}

/// The relation's name, schema-qualified and quoted.
pub fn qualified_name(oid: pg_sys::Oid) -> error::Result<String> {
    Spi::get_one_with_args::<String>("SELECT $1::regclass::text", &[oid.into()])?
        .ok_or_else(|| AuthzError::Internal(format!("relation {oid:?} has no name")))
}

impl Relation {
    pub fn load(oid: pg_sys::Oid) -> error::Result<Relation> {
        let (name, is_table) = Spi::get_two_with_args::<String, bool>(
                        "SELECT c.oid::regclass::text,
                    c.relkind = 'r'
                    AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid OR i.inhparent = c.oid)
               FROM pg_class c WHERE c.oid = $1",
            &[oid.into()],
        )?;
        let columns = Spi::connect(|client| {
            let rows = client.select(
                "SELECT a.attname::text, format_type(a.atttypid, NULL),
                        coalesce(a.attnum = ANY (i.indkey::int2[]), false), a.attnotnull, a.attnum
                   FROM pg_attribute a
                   LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
                  WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
                  ORDER BY array_position(i.indkey::int2[], a.attnum), a.attnum",
                None,
                &[oid.into()],
            )?;
            let mut columns = Vec::new();
            for row in rows {
                let name: String = row.get(1)?.unwrap_or_default();
                columns.push(Column {
                    quoted: pgrx::spi::quote_identifier(&name),
                    name,
                    type_name: row.get(2)?.unwrap_or_default(),
                    primary_key: row.get(3)?.unwrap_or(false),
                    not_null: row.get(4)?.unwrap_or(false),
                    attnum: row.get(5)?.unwrap_or_default(),
                });
            }
            Ok::<_, error::AuthzError>(columns)
        })?;
        Ok(Relation {
            name: name.unwrap_or_default(),
            is_table: is_table == Some(true),
            columns,
        })
    }

    /// This relation, or 22023 naming it when it is not a table (a view, say).
    pub fn require_table(self, purpose: &str) -> error::Result<Relation> {
        if self.is_table {
            Ok(self)
        } else {
            Err(AuthzError::InvalidArgument(format!(
                                "relation {} is not a plain table: only tables outside inheritance and partitioning can be {purpose}",
                self.name
            )))
        }
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn primary_key(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.primary_key)
    }
}
