//! Tamper guard: audit coverage and row-level security change only through `enable_audit`,
//! `disable_audit`, `protect` and `unprotect`. Those functions run their DDL inside
//! [`generating`], which sets a flag in backend memory (no SQL can set it, unlike a setting);
//! the event triggers of sql/finalize.sql refuse the same DDL from anywhere else.
//!
//! `ALTER TABLE` cannot be inspected from an event trigger in PL/pgSQL, so the guard compares
//! states: the breaches (`authz.protection_breaches`: RLS off or not forced on a protected
//! table, a generated trigger disabled or set to fire on replicas, ...) that exist at the end of
//! a command and did not at its start are refused. A breach already there (half-way through a
//! restore, say) does not stop unrelated DDL.

use std::cell::{Cell, RefCell};

use pgrx::prelude::*;

use crate::error::{self, OrRaise};

thread_local! {
    /// How many `generating` calls are running in this backend.
    static GENERATING: Cell<u32> = const { Cell::new(0) };
    /// The breaches recorded at the start of the current DDL command.
    static BREACHES_AT_START: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// The top-level statement (local transaction, statement start) they were recorded for.
    static RECORDED_FOR: Cell<Option<(u32, i64)>> = const { Cell::new(None) };
}

/// The client statement running now: nested commands (DDL inside a function, a default or a
/// check evaluated while ALTER TABLE rewrites the table) share it.
fn statement_key() -> (u32, i64) {
    unsafe {
        (
            crate::compat::local_transaction_id(),
            pg_sys::GetCurrentStatementStartTimestamp(),
        )
    }
}

/// Resets the flag when `generating` returns or unwinds (an ERROR unwinds Rust frames).
struct Generating;

impl Drop for Generating {
    fn drop(&mut self) {
        GENERATING.with(|g| g.set(g.get().saturating_sub(1)));
    }
}

/// Run `f` (the DDL of one of the four functions) with the guard letting it through.
pub fn generating<R>(f: impl FnOnce() -> R) -> R {
    GENERATING.with(|g| g.set(g.get() + 1));
    let _reset = Generating;
    f()
}

/// Restores the count that [`suspended`] set aside when it returns or unwinds.
struct Suspended(u32);

impl Drop for Suspended {
    fn drop(&mut self) {
        GENERATING.with(|g| g.set(self.0));
    }
}

/// Run `f` (a write that fires triggers of another role, such as the write-through into Django's
/// tables) with the guard on again, even inside `generating`: the DDL of a trigger that some
/// table owner planted must not pass as generated.
pub fn suspended<R>(f: impl FnOnce() -> R) -> R {
    let _restore = Suspended(GENERATING.with(|g| g.replace(0)));
    f()
}

/// Whether the running DDL comes from `authz.protect`, `unprotect`, `enable_audit` or
/// `disable_audit` (the tamper guard's event triggers let it through).
#[pg_extern(volatile, parallel_unsafe)]
fn generated_ddl_running() -> bool {
    GENERATING.with(Cell::get) > 0
}

/// Record the current breaches (`authz.protection_breaches`), at the start of a DDL command.
/// Called by the event trigger `authz_guard_generated_start`. Once per client statement: a
/// later call in the same statement (by hand, from a nested command, or from a function an
/// ALTER TABLE runs after its own changes are made) keeps the first record, so a breach that
/// statement made cannot pass as one that was already there.
#[pg_extern(volatile, parallel_unsafe)]
fn remember_protection_breaches() {
    let key = statement_key();
    if RECORDED_FOR.with(Cell::get) == Some(key) {
        return;
    }
    let now = current_breaches().or_raise();
    BREACHES_AT_START.with(|b| *b.borrow_mut() = now);
    RECORDED_FOR.with(|r| r.set(Some(key)));
}

/// The breaches recorded at the start of the current DDL command.
#[pg_extern(volatile, parallel_unsafe)]
fn protection_breaches_at_start() -> Vec<String> {
    BREACHES_AT_START.with(|b| b.borrow().clone())
}

fn current_breaches() -> error::Result<Vec<String>> {
    Ok(Spi::get_one::<Vec<String>>(
        "SELECT pg_catalog.array_agg(b.relation::pg_catalog.oid::pg_catalog.text OPERATOR(pg_catalog.||) ' '
                                     OPERATOR(pg_catalog.||) b.breach)
           FROM authz.protection_breaches b",
    )?
    .unwrap_or_default())
}
