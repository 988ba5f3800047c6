//! Autonomous audit writes: a denial must be recorded although the denied statement rolls back,
//! and so must an action whose effects leave the database, so these entries are written by a
//! short-lived background worker in a transaction of its own, and, should no worker be
//! available, to the server log instead.
//!
//! The entry travels as JSON text: serde writes pg_authz's own fields, while params and outcome
//! are the caller's jsonb text, copied unparsed; the worker hands the whole text to PostgreSQL's
//! jsonb parser, which reads any depth and any number the caller's jsonb held. Strings are
//! cleared of NUL first, so the worker never meets input it cannot store.

use pgrx::bgworkers::{
    BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, SignalWakeFlags,
};
use pgrx::prelude::*;

use super::Entry;
use crate::jsonb::{scrub_nul, JsonbText};
use crate::privilege::as_extension_owner;

/// Layout of the shared memory handed to the worker: a done flag, the length, the JSON entry.
const HEADER: usize = 16;

/// Append `entry` in a transaction of its own, so that it stays although the caller's
/// transaction fails or rolls back. Waits for the write, with interrupts held (a statement
/// timeout or cancel takes effect once the entry is written); falls back to the server log.
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

/// `{"entry": <pg_authz's fields>, "params": <jsonb text>, "outcome": <jsonb text>}`, the
/// last two present only when set.
fn payload(entry: &Entry) -> String {
    let mut head = serde_json::to_value(entry).unwrap_or_default();
    scrub_nul(&mut head);
    let mut text = format!("{{\"entry\":{head}");
    for (name, value) in [("params", &entry.params), ("outcome", &entry.outcome)] {
        if let Some(JsonbText(raw)) = value {
            text.push_str(&format!(",\"{name}\":{raw}"));
        }
    }
    text.push('}');
    text
}

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
    let launched = BackgroundWorkerBuilder::new("pg_authz audit writer")
        .set_library("pg_authz")
        .set_function("pg_authz_audit_writer_main")
        .set_argument(Some(pg_sys::Datum::from(handle)))
        .set_extra(&u32::from(pg_sys::MyDatabaseId).to_string())
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(None)
        .set_notify_pid(pg_sys::MyProcPid)
        .load_dynamic();
    let written = match launched {
        Ok(worker) => worker.wait_for_shutdown().is_ok() && std::ptr::read_volatile(base) == 1,
        Err(_) => false,
    };
    pg_sys::dsm_detach(segment);
    written
}

/// The worker's one statement: the entry's fields from the JSON text, params and outcome as
/// the jsonb they were.
const WORKER_APPEND_SQL: &str = "\
INSERT INTO authz.audit_log
       (id, xid, app_user, db_role, operation, relation, model, action, row_count, row_ids,
        changed_columns, params, outcome, old_rows, new_rows, action_id)
SELECT coalesce(e.id, nextval('authz.audit_log_id_seq')), coalesce(e.xid::xid8, pg_current_xact_id()),
       e.app_user, e.db_role, e.operation, e.relation, e.model, e.action, e.row_count, e.row_ids,
       e.changed_columns, d.doc -> 'params', d.doc -> 'outcome', e.old_rows, e.new_rows, e.action_id
  FROM (SELECT $1::jsonb AS doc) d,
       jsonb_to_record(d.doc -> 'entry') AS e(id bigint, xid text, app_user text, db_role text,
           operation text, relation text, model text, action text, row_count bigint,
           row_ids text[], changed_columns text[], old_rows jsonb, new_rows jsonb, action_id bigint)";

/// Entry point of the audit writer worker: attach the segment, insert the entry, set the flag.
#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn pg_authz_audit_writer_main(arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGTERM);
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
