//! Row predicates written by authz_admin (`conditions[].when`, `readonly[].when`): one boolean
//! expression over the protected table's own columns. It is checked by PostgreSQL itself, not by
//! pattern matching: `SELECT (<when>) FROM <table>` is parsed (one statement, nothing but that
//! target and that table) and analysed, in a subtransaction, with the search_path protect runs
//! under; then the analysed tree must hold no subquery, aggregate, window or set-returning
//! function, nor any volatile function, and be of type boolean. What the generated SQL carries is
//! PostgreSQL's own deparsed form of that tree, never the text as given, so a comment or an
//! unbalanced parenthesis in the input cannot reach the policy.

use std::ffi::{CStr, CString};

use pgrx::pg_sys;

use super::table::Table;
use crate::error::{self, in_subtransaction, AuthzError};

/// A checked predicate, deparsed twice: with bare column names (for policies) and with every
/// column prefixed `old.` (for a trigger's WHEN clause, on the row before the change).
#[derive(Debug, Clone)]
pub struct Predicate {
    pub bare: String,
    pub old_row: String,
}

impl Predicate {
    /// Check `text` as a predicate over `table`; 22023 naming `field` when it is not one.
    pub fn parse(table: &Table, text: &str, field: &str) -> error::Result<Predicate> {
        checked(table, text, None, field)
    }

    /// Check `text` as a constant of type `column_type` (a hidden column's mask): an expression
    /// reading no column, calling no volatile function; returns it deparsed, cast to the type.
    pub fn constant(
        table: &Table,
        text: &str,
        column_type: &str,
        field: &str,
    ) -> error::Result<String> {
        Ok(checked(table, text, Some(column_type), field)?.bare)
    }
}

/// `text` checked as a predicate (`cast` None) or as a constant cast to `cast`.
fn checked(table: &Table, text: &str, cast: Option<&str>, field: &str) -> error::Result<Predicate> {
    let invalid = |why: String| AuthzError::InvalidArgument(format!("{field}: {why}"));
    if text.trim().is_empty() {
        let what = if cast.is_some() {
            "an expression"
        } else {
            "a boolean expression"
        };
        return Err(invalid(format!("must be {what}, not empty")));
    }
    if text.contains('\0') {
        return Err(invalid("must not contain a NUL byte".into()));
    }
    // The newlines end a trailing `--` comment before the closing parenthesis.
    let sql = match cast {
        None => format!("SELECT (\n{text}\n) FROM {}", table.name),
        Some(t) => format!("SELECT (\n{text}\n)::{t} FROM {}", table.name),
    };
    let sql = CString::new(sql).map_err(|_| invalid("must not contain a NUL byte".into()))?;
    match in_subtransaction(|| unsafe { analyse(&sql, table.oid, cast.is_some()) }) {
        Ok(Ok(predicate)) => Ok(predicate),
        Ok(Err(why)) => Err(invalid(why)),
        Err(caught) => Err(invalid(caught.message)),
    }
}

/// Parse and analyse `sql` (`SELECT (<when>) FROM <table>`, or `SELECT (<mask>)::type FROM
/// <table>` for a `constant`); why it is not a row predicate (or a constant).
///
/// # Safety
/// Runs the parser and analyser; errors they raise unwind to the caller's subtransaction.
unsafe fn analyse(sql: &CStr, relid: pg_sys::Oid, constant: bool) -> Result<Predicate, String> {
    let statements = pg_sys::raw_parser(sql.as_ptr(), pg_sys::RawParseMode::RAW_PARSE_DEFAULT);
    if list_len(statements) != 1 {
        return Err("must be one expression, not several statements (no ';')".into());
    }
    let raw = nth(statements, 0) as *mut pg_sys::RawStmt;
    let select = (*raw).stmt as *mut pg_sys::SelectStmt;
    if !pgrx::is_a((*raw).stmt, pg_sys::NodeTag::T_SelectStmt) || !only_target_and_table(select) {
        return Err("must be one expression over the table's columns, nothing around it".into());
    }
    let query = pg_sys::parse_analyze_fixedparams(
        raw,
        sql.as_ptr(),
        std::ptr::null(),
        0,
        std::ptr::null_mut(),
    );
    let q = &*query;
    if q.hasSubLinks {
        return Err("must not contain a subquery (it may read only the row's own columns)".into());
    }
    if q.hasAggs || q.hasWindowFuncs || q.hasTargetSRFs {
        return Err("must not contain aggregate, window or set-returning functions".into());
    }
    if list_len(q.rtable) != 1 || list_len(q.targetList) != 1 || !q.cteList.is_null() {
        return Err("must be one expression over the table's columns".into());
    }
    let entry = nth(q.targetList, 0) as *mut pg_sys::TargetEntry;
    let expr = (*entry).expr as *mut pg_sys::Node;
    let type_oid = pg_sys::exprType(expr);
    if constant && pg_sys::contain_var_clause(expr) {
        return Err("must be a constant: it must not read the row's columns".into());
    }
    if !constant && type_oid != pg_sys::BOOLOID {
        let name = CStr::from_ptr(pg_sys::format_type_be(type_oid)).to_string_lossy();
        return Err(format!("must be a boolean expression, not {name}"));
    }
    if pg_sys::contain_volatile_functions(expr) {
        return Err("must not call volatile functions (random(), clock_timestamp(), nextval(), ...): a policy must give the same answer for the same row within a statement".into());
    }
    let deparse = |alias: &CStr, prefix: bool| {
        let context = pg_sys::deparse_context_for(alias.as_ptr(), relid);
        CStr::from_ptr(pg_sys::deparse_expression(expr, context, prefix, false))
            .to_string_lossy()
            .into_owned()
    };
    Ok(Predicate {
        bare: deparse(c"t", false),
        old_row: deparse(c"old", true),
    })
}

/// Whether a raw SELECT is exactly `SELECT <one target> FROM <one table>`.
unsafe fn only_target_and_table(s: *mut pg_sys::SelectStmt) -> bool {
    let s = &*s;
    list_len(s.targetList) == 1
        && list_len(s.fromClause) == 1
        && pgrx::is_a(
            nth(s.fromClause, 0) as *mut pg_sys::Node,
            pg_sys::NodeTag::T_RangeVar,
        )
        && s.distinctClause.is_null()
        && s.intoClause.is_null()
        && s.whereClause.is_null()
        && s.groupClause.is_null()
        && s.havingClause.is_null()
        && s.windowClause.is_null()
        && s.valuesLists.is_null()
        && s.sortClause.is_null()
        && s.limitOffset.is_null()
        && s.limitCount.is_null()
        && s.lockingClause.is_null()
        && s.withClause.is_null()
        && s.op == pg_sys::SetOperation::SETOP_NONE
}

unsafe fn list_len(list: *mut pg_sys::List) -> i32 {
    if list.is_null() {
        0
    } else {
        (*list).length
    }
}

unsafe fn nth(list: *mut pg_sys::List, i: usize) -> *mut std::ffi::c_void {
    (*(*list).elements.add(i)).ptr_value
}
