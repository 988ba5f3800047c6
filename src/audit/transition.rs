//! One pass over a statement's transition tables, read straight from their tuplestores: the row
//! count, the primary keys of the affected rows and, for an UPDATE, the columns whose stored
//! value changed. Per row this costs the key columns' output functions and a byte comparison of
//! the columns not yet known to have changed; no query, no join, no per-row trigger call.
//!
//! An UPDATE's old and new tables are filled pairwise, one old and one new tuple per updated
//! row, in the same order (`AfterTriggerSaveEvent`), so the n-th old row is the n-th new row's
//! previous version, even when the statement moved primary keys. A column has changed when its
//! stored value differs byte for byte, as PostgreSQL's `suppress_redundant_updates_trigger`
//! decides it: `1.0` to `1.00` in a numeric column is a change.

use std::collections::BTreeSet;
use std::ffi::CStr;

use pgrx::pg_sys;
use pgrx::varlena::{varlena_to_byte_slice, varsize_any};

use crate::error::{self, AuthzError};
use crate::relation::Relation;

/// What an audit entry records of a statement's rows.
pub struct Summary {
    pub row_count: i64,
    /// The affected rows' primary keys as text; for an UPDATE that moved keys, the old and the
    /// new keys, sorted.
    pub row_ids: Vec<String>,
    /// UPDATE only: the columns with a changed value, in `Relation::columns` order.
    pub changed_columns: Option<Vec<String>>,
}

/// A column as the stored tuples hold it.
struct Attribute {
    /// 0-based position in the tuple descriptor.
    index: usize,
    name: String,
    primary_key: bool,
    len: i16,
    byval: bool,
}

/// The columns of `table` (primary key first, as `Relation` orders them) located in the
/// relation's tuple descriptor, and the output functions of the key columns.
struct Layout {
    columns: Vec<Attribute>,
    key_outputs: Vec<(usize, pg_sys::FmgrInfo)>,
}

impl Layout {
    /// # Safety
    /// `tupdesc` must be the tuple descriptor of the relation `table` describes.
    unsafe fn new(tupdesc: pg_sys::TupleDesc, table: &Relation) -> error::Result<Layout> {
        // pgrx's PgTupleDesc finds the attributes on every major (PostgreSQL 18 stores them
        // after an array of compact attributes).
        let attributes = pgrx::PgTupleDesc::from_pg_unchecked(tupdesc);
        let mut columns = Vec::with_capacity(table.columns.len());
        let mut key_outputs = Vec::new();
        for column in &table.columns {
            let (index, attribute) = attributes
                .iter()
                .enumerate()
                .find(|(_, a)| {
                    !a.attisdropped
                        && CStr::from_ptr(a.attname.data.as_ptr()).to_bytes()
                            == column.name.as_bytes()
                })
                .ok_or_else(|| {
                    AuthzError::Internal(format!(
                        "column \"{}\" is not in the tuple descriptor",
                        column.name
                    ))
                })?;
            if column.primary_key {
                let (mut function, mut is_varlena) = (pg_sys::InvalidOid, false);
                pg_sys::getTypeOutputInfo(attribute.atttypid, &mut function, &mut is_varlena);
                let mut info = pg_sys::FmgrInfo::default();
                pg_sys::fmgr_info(function, &mut info);
                key_outputs.push((index, info));
            }
            columns.push(Attribute {
                index,
                name: column.name.clone(),
                primary_key: column.primary_key,
                len: attribute.attlen,
                byval: attribute.attbyval,
            });
        }
        Ok(Layout {
            columns,
            key_outputs,
        })
    }

    /// The primary key of the reader's current row as text: the value itself for a one-column
    /// key, `ROW(a, b)::text` for a composite one.
    fn key(&mut self, row: &Reader) -> String {
        let composite = self.key_outputs.len() > 1;
        let mut parts =
            self.key_outputs
                .iter_mut()
                .map(|(index, output)| match row.value(*index) {
                    // SAFETY: the datum is of the column's type, whose output function this is.
                    Some(datum) => unsafe {
                        let text = pg_sys::OutputFunctionCall(output, datum);
                        let owned = CStr::from_ptr(text).to_string_lossy().into_owned();
                        pg_sys::pfree(text.cast());
                        owned
                    },
                    None => String::new(),
                });
        if !composite {
            return parts.next().unwrap_or_default();
        }
        let parts: Vec<String> = parts.map(|p| record_field(&p)).collect();
        format!("({})", parts.join(","))
    }
}

/// A field of a record's text form, quoted as `record_out` quotes it.
fn record_field(value: &str) -> String {
    let special = |c: char| {
        matches!(
            c,
            '"' | '\\' | '(' | ')' | ',' | ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c'
        )
    };
    if !value.is_empty() && !value.contains(special) {
        return value.to_owned();
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            quoted.push(c);
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// A scan of one transition table, with a read pointer of its own so that it disturbs no other
/// reader of the tuplestore (the way a query's NamedTuplestoreScan reads it).
struct Reader {
    store: *mut pg_sys::Tuplestorestate,
    pointer: i32,
    slot: *mut pg_sys::TupleTableSlot,
}

impl Reader {
    /// # Safety
    /// `store` must be a transition table of the relation whose descriptor `tupdesc` is, valid
    /// for the lifetime of the reader (the duration of the trigger call).
    unsafe fn open(store: *mut pg_sys::Tuplestorestate, tupdesc: pg_sys::TupleDesc) -> Reader {
        let pointer = pg_sys::tuplestore_alloc_read_pointer(store, pg_sys::EXEC_FLAG_REWIND as i32);
        pg_sys::tuplestore_select_read_pointer(store, pointer);
        pg_sys::tuplestore_rescan(store);
        let slot = pg_sys::MakeSingleTupleTableSlot(tupdesc, &pg_sys::TTSOpsMinimalTuple);
        Reader {
            store,
            pointer,
            slot,
        }
    }

    /// Move to the next row; false at the end.
    fn next(&mut self) -> bool {
        // SAFETY: see `open`; the slot keeps the fetched tuple until the next fetch.
        unsafe {
            pg_sys::tuplestore_select_read_pointer(self.store, self.pointer);
            if !pg_sys::tuplestore_gettupleslot(self.store, true, false, self.slot) {
                return false;
            }
            pg_sys::slot_getallattrs(self.slot);
        }
        true
    }

    /// The current row's value at tuple descriptor position `index`; `None` for NULL.
    fn value(&self, index: usize) -> Option<pg_sys::Datum> {
        // SAFETY: `next` deformed every attribute of the current tuple.
        unsafe {
            let slot = &*self.slot;
            (!*slot.tts_isnull.add(index)).then(|| *slot.tts_values.add(index))
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        unsafe { pg_sys::ExecDropSingleTupleTableSlot(self.slot) };
    }
}

/// Whether two non-NULL values of a column are stored as the same bytes (after detoasting, so a
/// compressed and a plain copy of one value are the same).
///
/// # Safety
/// Both datums must be values of `attribute`'s type.
unsafe fn same_value(a: pg_sys::Datum, b: pg_sys::Datum, attribute: &Attribute) -> bool {
    if attribute.byval {
        return a.value() == b.value();
    }
    match attribute.len {
        -1 => {
            let (a, b) = (
                a.cast_mut_ptr::<pg_sys::varlena>(),
                b.cast_mut_ptr::<pg_sys::varlena>(),
            );
            let raw = |p: *mut pg_sys::varlena| {
                std::slice::from_raw_parts(p as *const u8, varsize_any(p))
            };
            if raw(a) == raw(b) {
                return true;
            }
            let (plain_a, plain_b) = (
                pg_sys::pg_detoast_datum_packed(a),
                pg_sys::pg_detoast_datum_packed(b),
            );
            let same = varlena_to_byte_slice(plain_a) == varlena_to_byte_slice(plain_b);
            // Free the copies now: equal values stored differently could repeat on every row.
            for (copy, original) in [(plain_a, a), (plain_b, b)] {
                if copy != original {
                    pg_sys::pfree(copy.cast());
                }
            }
            same
        }
        -2 => CStr::from_ptr(a.cast_mut_ptr()) == CStr::from_ptr(b.cast_mut_ptr()),
        len => {
            let bytes = |d: pg_sys::Datum| {
                std::slice::from_raw_parts(d.cast_mut_ptr::<u8>() as *const u8, len as usize)
            };
            bytes(a) == bytes(b)
        }
    }
}

/// Whether a column holds the same value in the current rows of two readers.
fn same_column_value(a: &Reader, b: &Reader, column: &Attribute) -> bool {
    match (a.value(column.index), b.value(column.index)) {
        (None, None) => true,
        // SAFETY: both values come from this column.
        (Some(a), Some(b)) => unsafe { same_value(a, b, column) },
        _ => false,
    }
}

/// The rows of an INSERT (its new table) or a DELETE (its old table).
pub fn summarize_rows(
    store: *mut pg_sys::Tuplestorestate,
    relation: &pg_sys::RelationData,
    table: &Relation,
) -> error::Result<Summary> {
    // SAFETY: `store` is a transition table of `relation`, alive during the trigger call.
    let (mut layout, mut rows) = unsafe {
        (
            Layout::new(relation.rd_att, table)?,
            Reader::open(store, relation.rd_att),
        )
    };
    let mut ids = Vec::new();
    while rows.next() {
        ids.push(layout.key(&rows));
    }
    Ok(Summary {
        row_count: ids.len() as i64,
        row_ids: ids,
        changed_columns: None,
    })
}

/// The rows of an UPDATE, from its old and new tables read side by side.
pub fn summarize_update(
    old: *mut pg_sys::Tuplestorestate,
    new: *mut pg_sys::Tuplestorestate,
    relation: &pg_sys::RelationData,
    table: &Relation,
) -> error::Result<Summary> {
    // SAFETY: both are transition tables of `relation`, alive during the trigger call.
    let (mut layout, mut old_rows, mut new_rows) = unsafe {
        (
            Layout::new(relation.rd_att, table)?,
            Reader::open(old, relation.rd_att),
            Reader::open(new, relation.rd_att),
        )
    };
    let mut changed = vec![false; layout.columns.len()];
    let mut ids = Vec::new();
    loop {
        match (old_rows.next(), new_rows.next()) {
            (true, true) => {}
            (false, false) => break,
            _ => {
                return Err(AuthzError::Internal(
                    "the old and new transition tables of an UPDATE differ in length".into(),
                ))
            }
        }
        for (column, changed) in layout.columns.iter().zip(changed.iter_mut()) {
            if !*changed {
                *changed = !same_column_value(&old_rows, &new_rows, column);
            }
        }
        ids.push(layout.key(&new_rows));
    }
    let row_count = ids.len() as i64;
    let key_moved = layout
        .columns
        .iter()
        .zip(&changed)
        .any(|(c, changed)| *changed && c.primary_key);
    let row_ids = if key_moved {
        // Keys moved: list where the rows were and where they are.
        let mut old_rows = unsafe { Reader::open(old, relation.rd_att) };
        let mut all: BTreeSet<String> = ids.into_iter().collect();
        while old_rows.next() {
            all.insert(layout.key(&old_rows));
        }
        all.into_iter().collect()
    } else {
        ids
    };
    let changed_columns = layout
        .columns
        .iter()
        .zip(&changed)
        .filter(|(_, changed)| **changed)
        .map(|(column, _)| column.name.clone())
        .collect();
    Ok(Summary {
        row_count,
        row_ids,
        changed_columns: Some(changed_columns),
    })
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use super::record_field;
    use pgrx::prelude::*;

    #[pg_test]
    fn composite_keys_read_as_record_out_writes_them() {
        let quoted = |v: &str| {
            Spi::get_one_with_args::<String>("SELECT ROW(1, $1)::text", &[v.into()])
                .unwrap()
                .unwrap()
        };
        for value in [
            "plain",
            "",
            "a b",
            "x,y",
            "(p)",
            "say \"hi\"",
            "back\\slash",
            "tab\there",
        ] {
            assert_eq!(
                format!("(1,{})", record_field(value)),
                quoted(value),
                "{value:?}"
            );
        }
    }
}
