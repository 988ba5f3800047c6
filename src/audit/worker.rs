//! Autonomous audit writes: a denial must be recorded although the denied statement rolls back,
//! and so must an action whose effects leave the database, so these entries are written by a
//! short-lived background worker in a transaction of its own, and, should no worker be
//! available, to the server log instead.
//!
//! The entry travels as JSON text: serde writes pg_authz's own fields, while params and outcome
//! are the caller's jsonb text, copied unparsed; the worker hands the whole text to PostgreSQL's
//! jsonb parser, which reads any depth and any number the caller's jsonb held. Strings are
//! cleared of NUL first, so the worker never meets input it cannot store.

use std::time::{Duration, Instant};

use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime};
use pgrx::prelude::*;

use super::Entry;
use crate::jsonb::{scrub_nul, JsonbText};
use crate::privilege::as_extension_owner;

/// Layout of the shared memory handed to the worker: a done flag, the length, the JSON entry.
const HEADER: usize = 16;

/// Append `entry` in a transaction of its own, so that it stays although the caller's
/// transaction fails or rolls back. Waits for the write, with interrupts held (a statement
/// timeout or cancel takes effect once the entry is written), `WRITER_WAIT` at most; falls
/// back to the server log.
/// Returns whether the entry reached `authz.audit_log`.
pub fn append_autonomously(entry: &Entry) -> bool {
    let payload = payload(entry);
    // A hot standby starts no worker that writes: go straight to the server log.
    let written = !unsafe { pg_sys::RecoveryInProgress() }
        && unsafe { run_writer_worker(payload.as_bytes()) };
    if !written {
        let message =
            format!("pg_authz: could not write audit entry to authz.audit_log: {payload}");
        ereport!(
            PgLogLevel::WARNING,
            PgSqlErrorCode::ERRCODE_WARNING,
            message
        );
    }
    written
}

/// `{"entry": <pg_authz's fields>, "params": .., "outcome": .., "old_rows": .., "new_rows": ..}`,
/// the last four as jsonb text, present only when set.
fn payload(entry: &Entry) -> String {
    let mut head = serde_json::to_value(entry).unwrap_or_default();
    scrub_nul(&mut head);
    let mut text = format!("{{\"entry\":{head}");
    let raw = [
        ("params", &entry.params),
        ("outcome", &entry.outcome),
        ("old_rows", &entry.old_rows),
        ("new_rows", &entry.new_rows),
    ];
    for (name, value) in raw {
        if let Some(JsonbText(raw)) = value {
            text.push_str(&format!(",\"{name}\":{raw}"));
        }
    }
    text.push('}');
    text
}

/// How long a caller waits for the writer, at most. Interrupts are held meanwhile, so this
/// bounds how late a statement timeout, cancel or shutdown takes effect.
const WRITER_WAIT: Duration = Duration::from_secs(5);
/// After asking a writer that overran its time to stop, how long to wait for it to go.
const WRITER_STOP_WAIT: Duration = Duration::from_secs(2);
/// The writer's own limits on its INSERT: a lock on the log held by anyone, the caller
/// included, makes it give up rather than wait, well within `WRITER_WAIT`.
const WRITER_LIMITS_SQL: &str =
    "SELECT pg_catalog.set_config('lock_timeout', '2s', true), pg_catalog.set_config('statement_timeout', '3s', true)";

/// Keeps query cancel and die requests pending while it lives (`HOLD_INTERRUPTS`), so that the
/// wait for the worker cannot be cut short and the segment it reads cannot vanish under it.
struct InterruptsHeld;

impl InterruptsHeld {
    fn hold() -> InterruptsHeld {
        unsafe { pg_sys::InterruptHoldoffCount += 1 };
        InterruptsHeld
    }
}

impl Drop for InterruptsHeld {
    fn drop(&mut self) {
        unsafe { pg_sys::InterruptHoldoffCount -= 1 };
    }
}

unsafe fn run_writer_worker(payload: &[u8]) -> bool {
    let _held = InterruptsHeld::hold();
    let segment = pg_sys::dsm_create(HEADER + payload.len(), 0);
    let base = pg_sys::dsm_segment_address(segment) as *mut u8;
    std::ptr::write_bytes(base, 0, HEADER);
    std::ptr::write_unaligned(base.add(8) as *mut u64, payload.len() as u64);
    std::ptr::copy_nonoverlapping(payload.as_ptr(), base.add(HEADER), payload.len());
    let handle = pg_sys::dsm_segment_handle(segment);
    let builder = BackgroundWorkerBuilder::new("pg_authz audit writer")
        .set_library("pg_authz")
        .set_function("pg_authz_audit_writer_main")
        .set_argument(Some(pg_sys::Datum::from(handle)))
        .set_extra(&u32::from(pg_sys::MyDatabaseId).to_string())
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(None)
        .set_notify_pid(pg_sys::MyProcPid);
    let mut worker: pg_sys::BackgroundWorker = (&builder).into();
    let mut handle: *mut pg_sys::BackgroundWorkerHandle = std::ptr::null_mut();
    let written = pg_sys::RegisterDynamicBackgroundWorker(&mut worker, &mut handle) && {
        if !wait_until_stopped(handle, WRITER_WAIT) {
            // Stuck (on a lock the caller itself may hold): stop it; its transaction aborts.
            pg_sys::TerminateBackgroundWorker(handle);
            wait_until_stopped(handle, WRITER_STOP_WAIT);
        }
        std::ptr::read_volatile(base) == 1
    };
    pg_sys::dsm_detach(segment);
    written
}

/// Wait on this backend's latch (set by the postmaster when the worker stops, as we are its
/// notify pid) until the worker has stopped or `limit` has passed; whether it stopped.
unsafe fn wait_until_stopped(handle: *mut pg_sys::BackgroundWorkerHandle, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        let mut pid: pg_sys::pid_t = 0;
        let status = pg_sys::GetBackgroundWorkerPid(handle, &mut pid);
        if status == pg_sys::BgwHandleStatus::BGWH_STOPPED
            || status == pg_sys::BgwHandleStatus::BGWH_POSTMASTER_DIED
        {
            return status == pg_sys::BgwHandleStatus::BGWH_STOPPED;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        pg_sys::WaitLatch(
            pg_sys::MyLatch,
            (pg_sys::WL_LATCH_SET | pg_sys::WL_TIMEOUT | pg_sys::WL_EXIT_ON_PM_DEATH) as i32,
            left.as_millis().clamp(1, 100) as std::ffi::c_long,
            pg_sys::PG_WAIT_EXTENSION,
        );
        pg_sys::ResetLatch(pg_sys::MyLatch);
    }
}

/// The worker's one statement: the entry's fields from the JSON text, params and outcome as
/// the jsonb they were.
const WORKER_APPEND_SQL: &str = "\
INSERT INTO authz.audit_log
       (id, xid, app_user, db_role, operation, relation, model, action, row_count, row_ids,
        changed_columns, params, outcome, old_rows, new_rows, action_id)
SELECT coalesce(e.id, nextval('authz.audit_log_id_seq')), coalesce(e.xid::xid8, pg_current_xact_id()),
       e.app_user, e.db_role, e.operation, e.relation, e.model, e.action, e.row_count, e.row_ids,
       e.changed_columns, d.doc -> 'params', d.doc -> 'outcome', d.doc -> 'old_rows', d.doc -> 'new_rows',
       e.action_id
  FROM (SELECT $1::jsonb AS doc) d,
       jsonb_to_record(d.doc -> 'entry') AS e(id bigint, xid text, app_user text, db_role text,
           operation text, relation text, model text, action text, row_count bigint,
           row_ids text[], changed_columns text[], action_id bigint)";

extern "C-unwind" {
    /// PostgreSQL's backend SIGTERM handler (postgres.c), as a signal handler pointer: pgrx's
    /// `pg_sys::die` is a Rust wrapper, not the C function.
    fn die(signal: std::ffi::c_int);
}

/// Entry point of the audit writer worker: attach the segment, insert the entry, set the flag.
#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn pg_authz_audit_writer_main(arg: pg_sys::Datum) {
    // SIGTERM (a fast shutdown, or a caller that stopped waiting) ends the worker at its next
    // interrupt check, a lock wait included, as it does a backend; nothing is half-written.
    unsafe {
        crate::compat::set_signal_handler(pg_sys::SIGTERM as i32, die);
        pg_sys::BackgroundWorkerUnblockSignals();
    }
    let database = BackgroundWorker::get_extra().parse::<u32>().unwrap_or(0);
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(pg_sys::Oid::from(database)), None);
    unsafe {
        let segment = pg_sys::dsm_attach(arg.value() as pg_sys::dsm_handle);
        if segment.is_null() {
            return;
        }
        let base = pg_sys::dsm_segment_address(segment) as *mut u8;
        let len = std::ptr::read_unaligned(base.add(8) as *const u64) as usize;
        let bytes = std::slice::from_raw_parts(base.add(HEADER), len);
        let payload = String::from_utf8_lossy(bytes).into_owned();
        let stored = BackgroundWorker::transaction(move || {
            as_extension_owner(|| {
                Spi::run(WRITER_LIMITS_SQL)?;
                Ok(Spi::run_with_args(
                    WORKER_APPEND_SQL,
                    &[payload.as_str().into()],
                )?)
            })
            .is_ok()
        });
        if stored {
            std::ptr::write_volatile(base, 1);
        }
        pg_sys::dsm_detach(segment);
    }
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use super::*;

    #[pg_test]
    fn the_worker_stores_any_entry_a_caller_can_build() {
        let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
        let entry = Entry {
            app_user: Some("99\0-x".into()),
            operation: "DENIED".into(),
            row_ids: Some(vec!["a\0b".into()]),
            params: Some(JsonbText(format!("{{\"deep\": {deep}, \"n\": 1e400}}"))),
            outcome: Some(JsonbText::from_value(
                &serde_json::json!({"reason": "user \"99\0-x\" is unknown"}),
            )),
            ..Entry::default()
        };
        Spi::run_with_args(WORKER_APPEND_SQL, &[payload(&entry).as_str().into()]).unwrap();
        let (user, intact) = Spi::get_two_with_args::<String, bool>(
            "SELECT app_user, params = $1::jsonb FROM authz.audit_log ORDER BY id DESC LIMIT 1",
            &[entry.params.clone().unwrap().0.as_str().into()],
        )
        .unwrap();
        assert_eq!(user.as_deref(), Some("99\u{FFFD}-x"));
        assert_eq!(intact, Some(true), "params are stored as sent");
    }
}
