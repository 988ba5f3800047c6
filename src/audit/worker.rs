//! Autonomous audit writes: a denial must be recorded although the denied statement rolls back,
//! so it is written by a short-lived background worker in a transaction of its own, and, should
//! no worker be available, to the server log instead.

use pgrx::bgworkers::{
    BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, SignalWakeFlags,
};
use pgrx::prelude::*;

use super::{append, Entry};

/// Layout of the shared memory handed to the worker: a done flag, the length, the JSON entry.
const HEADER: usize = 16;

/// Append `entry` in a transaction of its own, so that it stays although the caller's
/// transaction is about to fail. Waits for the write; falls back to the server log.
pub fn append_autonomously(entry: &Entry) {
    let payload = serde_json::to_string(entry).unwrap_or_default();
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
            serde_json::from_slice::<Entry>(&payload).is_ok_and(|entry| append(&entry).is_ok())
        });
        if stored {
            std::ptr::write_volatile(base, 1);
        }
        pg_sys::dsm_detach(segment);
    }
}
