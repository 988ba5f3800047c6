//! The append-only audit log: one writer, used by `perform_action` (and by the statement
//! triggers of the audit issue). Ordinary roles cannot write the log, so entries are written
//! with the privileges of its owner, switched to for that one statement, the way a SECURITY
//! DEFINER function would, but without lending those privileges to any SQL the caller controls.
//!
//! A denial must be recorded although the denied statement rolls back: it is written by a
//! short-lived background worker in a transaction of its own (an autonomous transaction), and,
//! should no worker be available, to the server log instead.

use pgrx::bgworkers::{
    BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, SignalWakeFlags,
};
use pgrx::prelude::*;
use serde_json::Value;

use crate::cache::with_pinned_search_path;
use crate::error::{AuthzError, Result};

/// Insert one entry given as a JSON object whose keys are `authz.audit_log` columns; a missing
/// `id` or `logged_at` is filled in. Returns the entry id.
const APPEND_SQL: &str = "\
INSERT INTO authz.audit_log
       (id, logged_at, xid, app_user, db_role, operation, relation, model, action, row_count,
        row_ids, changed_columns, params, outcome, old_rows, new_rows, action_id)
SELECT coalesce(r.id, nextval('authz.audit_log_id_seq')), coalesce(r.logged_at, clock_timestamp()),
       r.xid, r.app_user, r.db_role, r.operation, r.relation, r.model, r.action, r.row_count,
       r.row_ids, r.changed_columns, r.params, r.outcome, r.old_rows, r.new_rows, r.action_id
  FROM jsonb_populate_record(NULL::authz.audit_log, $1) r
RETURNING id";

/// Append `entry` to the audit log in the current transaction, as the log's owner.
pub fn append(entry: &Value) -> Result<i64> {
    as_audit_log_owner(|| {
        Spi::get_one_with_args::<i64>(APPEND_SQL, &[pgrx::JsonB(entry.clone()).into()])?
            .ok_or_else(|| AuthzError::Internal("audit entry was not written".into()))
    })
}

/// A fresh audit entry id, so that an entry can be referred to before it is written.
pub fn next_entry_id() -> Result<i64> {
    as_audit_log_owner(|| {
        Spi::get_one::<i64>("SELECT nextval('authz.audit_log_id_seq')")?
            .ok_or_else(|| AuthzError::Internal("audit sequence returned NULL".into()))
    })
}

/// The database role of the caller, as recorded in `db_role`.
pub fn current_role() -> Result<String> {
    Ok(Spi::get_one::<String>("SELECT current_user::text")?.unwrap_or_default())
}

/// Run `f` as the owner of `authz.audit_log`, with a pinned search_path. An error unwinds the
/// user switch with the (sub)transaction, as it does for SECURITY DEFINER functions.
fn as_audit_log_owner<R>(f: impl FnOnce() -> Result<R>) -> Result<R> {
    with_pinned_search_path(|| {
        let owner = Spi::get_one::<pg_sys::Oid>(
            "SELECT relowner FROM pg_class WHERE oid = 'authz.audit_log'::regclass",
        )?
        .ok_or_else(|| AuthzError::Internal("authz.audit_log has no owner".into()))?;
        let (mut saved_user, mut saved_context) = (pg_sys::InvalidOid, 0);
        unsafe {
            pg_sys::GetUserIdAndSecContext(&mut saved_user, &mut saved_context);
            pg_sys::SetUserIdAndSecContext(
                owner,
                saved_context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32,
            );
        }
        let result = f();
        unsafe { pg_sys::SetUserIdAndSecContext(saved_user, saved_context) };
        result
    })
}

/// Layout of the shared memory handed to the worker: a done flag, the length, the JSON.
const HEADER: usize = 16;

/// Append `entry` in a transaction of its own, so that it stays although the caller's
/// transaction is about to fail. Waits for the write; falls back to the server log.
pub fn append_autonomously(entry: &Value) {
    let payload = entry.to_string();
    let written = unsafe { run_writer_worker(payload.as_bytes()) };
    if !written {
        let message =
            format!("pg_authz: could not write audit entry to authz.audit_log: {payload}");
        ereport!(
            PgLogLevel::WARNING,
            PgSqlErrorCode::ERRCODE_WARNING,
            message
        );
    }
}

unsafe fn run_writer_worker(payload: &[u8]) -> bool {
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
        let payload = std::slice::from_raw_parts(base.add(HEADER), len).to_vec();
        let stored = BackgroundWorker::transaction(move || {
            let entry: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
            append(&entry).is_ok()
        });
        if stored {
            std::ptr::write_volatile(base, 1);
        }
        pg_sys::dsm_detach(segment);
    }
}
