//! Autonomous audit writes: a denial must be recorded although the denied statement rolls back,
//! and so must an action whose effects leave the database, so these entries are written by a
//! background worker in a transaction of its own: the database's queue writer when pg_authz is
//! preloaded (`queue.rs`), else a one-shot worker per entry; should neither store the entry in
//! time, it goes to the server log instead. On a hot standby, where nothing can be written, the
//! entry goes to the standby's server log as one structured line (`STANDBY_PREFIX`).
//!
//! The entry travels as JSON text: serde writes pg_authz's own fields, while params and outcome
//! are the caller's jsonb text, copied unparsed; the worker hands the whole text to PostgreSQL's
//! jsonb parser, which reads any depth and any number the caller's jsonb held. Strings are
//! cleared of NUL first, so the worker never meets input it cannot store.

use std::time::{Duration, Instant};

use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime};
use pgrx::prelude::*;

use super::{queue, Entry};
use crate::jsonb::{scrub_nul, JsonbText};
use crate::privilege::as_extension_owner;

/// Layout of the shared memory handed to the worker: a done flag, the length, the JSON entry.
const HEADER: usize = 16;

/// The server log line of an entry that could not be written (after the writer failed, or did
/// not answer within `WRITER_WAIT`), followed by the entry as JSON.
const FALLBACK_PREFIX: &str = "pg_authz: could not write audit entry to authz.audit_log: ";
/// The server log line of an entry made on a hot standby, followed by the entry as JSON.
pub const STANDBY_PREFIX: &str =
    "pg_authz: audit entry on a hot standby (read-only, not in authz.audit_log): ";

/// Append `entry` in a transaction of its own, so that it stays although the caller's
/// transaction fails or rolls back. Waits until it is committed, with interrupts held (a
/// statement timeout or cancel takes effect once the entry is written), `WRITER_WAIT` at most;
/// falls back to the server log. Returns whether the entry reached `authz.audit_log`.
pub fn append_autonomously(entry: &Entry) -> bool {
    let payload = payload(entry);
    if unsafe { pg_sys::RecoveryInProgress() } {
        // A hot standby writes nothing: its server log is where the entry is.
        ereport!(
            PgLogLevel::WARNING,
            PgSqlErrorCode::ERRCODE_WARNING,
            format!("{STANDBY_PREFIX}{payload}")
        );
        return false;
    }
    let written = unsafe { write(payload.as_bytes()) };
    if !written {
        ereport!(
            PgLogLevel::WARNING,
            PgSqlErrorCode::ERRCODE_WARNING,
            format!("{FALLBACK_PREFIX}{payload}")
        );
    }
    written
}

/// Through the queue if there is one, else (or should the queue have no room) a one-shot writer.
/// How long the caller waited is a DEBUG1 line (`log_min_messages = debug1` shows it).
unsafe fn write(payload: &[u8]) -> bool {
    let _held = InterruptsHeld::hold();
    let start = Instant::now();
    let deadline = start + WRITER_WAIT;
    let segment = Segment::create(payload);
    let (stored, how) = match queue::available().then(|| queue::write(&segment, deadline)) {
        Some(queue::Outcome::Stored) => (true, "queue"),
        Some(queue::Outcome::NotStored) => (false, "queue"),
        _ => (run_writer_worker(&segment, deadline), "one-shot worker"),
    };
    ereport!(
        PgLogLevel::DEBUG1,
        PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION,
        format!(
            "pg_authz: audit entry {} after {} us ({how})",
            if stored { "stored" } else { "not stored" },
            start.elapsed().as_micros()
        )
    );
    stored
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
/// The writer's own settings for its transaction: a lock on the log held by anyone, the caller
/// included, makes it give up rather than wait, well within `WRITER_WAIT`; and its commit is
/// flushed to the WAL before the caller hears of it, whatever the server's
/// `synchronous_commit` (`local`: a synchronous standby that is down cannot hold it up).
const WRITER_LIMITS_SQL: &str = "SELECT pg_catalog.set_config('lock_timeout', '2s', true), \
     pg_catalog.set_config('statement_timeout', '3s', true), \
     pg_catalog.set_config('synchronous_commit', 'local', true)";

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

/// A dynamic shared memory segment holding one payload, for a writer to read; detached (and so
/// destroyed, once no writer has it attached) on drop.
pub struct Segment {
    segment: *mut pg_sys::dsm_segment,
    base: *mut u8,
}

impl Segment {
    unsafe fn create(payload: &[u8]) -> Segment {
        let segment = pg_sys::dsm_create(HEADER + payload.len(), 0);
        let base = pg_sys::dsm_segment_address(segment) as *mut u8;
        std::ptr::write_bytes(base, 0, HEADER);
        std::ptr::write_unaligned(base.add(8) as *mut u64, payload.len() as u64);
        std::ptr::copy_nonoverlapping(payload.as_ptr(), base.add(HEADER), payload.len());
        Segment { segment, base }
    }

    pub fn handle(&self) -> u32 {
        unsafe { pg_sys::dsm_segment_handle(self.segment) }
    }

    /// Whether a one-shot writer set the done flag.
    fn done(&self) -> bool {
        unsafe { std::ptr::read_volatile(self.base) == 1 }
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        unsafe { pg_sys::dsm_detach(self.segment) };
    }
}

/// The payload in segment `handle`, if the segment still exists (a caller that stopped
/// waiting has dropped it).
pub unsafe fn read_segment(handle: u32) -> Option<String> {
    let segment = pg_sys::dsm_attach(handle);
    if segment.is_null() {
        return None;
    }
    let base = pg_sys::dsm_segment_address(segment) as *mut u8;
    let len = std::ptr::read_unaligned(base.add(8) as *const u64) as usize;
    let bytes = std::slice::from_raw_parts(base.add(HEADER), len);
    let payload = String::from_utf8_lossy(bytes).into_owned();
    pg_sys::dsm_detach(segment);
    Some(payload)
}

/// Store `payloads` in one transaction of this background worker, as the log's owner. An
/// error unwinds (the caller catches it, or the worker exits).
pub fn store_batch(payloads: &[&str]) -> bool {
    let array = format!("[{}]", payloads.join(","));
    BackgroundWorker::transaction(move || {
        as_extension_owner(|| {
            Spi::run(WRITER_LIMITS_SQL)?;
            Ok(Spi::run_with_args(
                WORKER_APPEND_SQL,
                &[array.as_str().into()],
            )?)
        })
        .is_ok()
    })
}

/// Without the queue: one background worker for this entry. When every worker slot is taken,
/// try again until `deadline`.
unsafe fn run_writer_worker(segment: &Segment, deadline: Instant) -> bool {
    let builder = BackgroundWorkerBuilder::new("pg_authz audit writer")
        .set_library("pg_authz")
        .set_function("pg_authz_audit_writer_main")
        .set_argument(Some(pg_sys::Datum::from(segment.handle())))
        .set_extra(&u32::from(pg_sys::MyDatabaseId).to_string())
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(None)
        .set_notify_pid(pg_sys::MyProcPid);
    let mut worker: pg_sys::BackgroundWorker = (&builder).into();
    let mut handle: *mut pg_sys::BackgroundWorkerHandle = std::ptr::null_mut();
    while !pg_sys::RegisterDynamicBackgroundWorker(&mut worker, &mut handle) {
        if Instant::now() >= deadline {
            return false;
        }
        sleep_on_latch(Duration::from_millis(5));
    }
    if !wait_until_stopped(handle, deadline) {
        // Stuck (on a lock the caller itself may hold): stop it; its transaction aborts.
        pg_sys::TerminateBackgroundWorker(handle);
        wait_until_stopped(handle, Instant::now() + WRITER_STOP_WAIT);
    }
    segment.done()
}

unsafe fn sleep_on_latch(limit: Duration) {
    pg_sys::WaitLatch(
        pg_sys::MyLatch,
        (pg_sys::WL_LATCH_SET | pg_sys::WL_TIMEOUT | pg_sys::WL_EXIT_ON_PM_DEATH) as i32,
        limit.as_millis().clamp(1, 100) as std::ffi::c_long,
        pg_sys::PG_WAIT_EXTENSION,
    );
    pg_sys::ResetLatch(pg_sys::MyLatch);
}

/// Wait on this backend's latch (set by the postmaster when the worker stops, as we are its
/// notify pid) until the worker has stopped or `deadline` has passed; whether it stopped.
unsafe fn wait_until_stopped(
    handle: *mut pg_sys::BackgroundWorkerHandle,
    deadline: Instant,
) -> bool {
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
        sleep_on_latch(left);
    }
}

/// The writers' one statement: each entry of a JSON array, its fields from the JSON, params and
/// outcome as the jsonb they were.
const WORKER_APPEND_SQL: &str = "\
INSERT INTO authz.audit_log
       (id, xid, app_user, db_role, operation, relation, model, action, row_count, row_ids,
        changed_columns, params, outcome, old_rows, new_rows, action_id)
SELECT coalesce(e.id, nextval('authz.audit_log_id_seq')), coalesce(e.xid::xid8, pg_current_xact_id()),
       e.app_user, e.db_role, e.operation, e.relation, e.model, e.action, e.row_count, e.row_ids,
       e.changed_columns, d.doc -> 'params', d.doc -> 'outcome', d.doc -> 'old_rows', d.doc -> 'new_rows',
       e.action_id
  FROM jsonb_array_elements($1::jsonb) AS d(doc),
       jsonb_to_record(d.doc -> 'entry') AS e(id bigint, xid text, app_user text, db_role text,
           operation text, relation text, model text, action text, row_count bigint,
           row_ids text[], changed_columns text[], action_id bigint)";

extern "C-unwind" {
    /// PostgreSQL's backend SIGTERM handler (postgres.c), as a signal handler pointer: pgrx's
    /// `pg_sys::die` is a Rust wrapper, not the C function.
    fn die(signal: std::ffi::c_int);
}

/// The start of either writer: SIGTERM (a fast shutdown, a terminate, a caller that stopped
/// waiting) ends it at its next interrupt check, a lock wait included, as it does a backend, so
/// nothing is half-written; then it connects to the database its extra names, which it returns.
pub fn connect_writer() -> u32 {
    unsafe {
        pg_sys::pqsignal(pg_sys::SIGTERM as i32, Some(die));
        pg_sys::BackgroundWorkerUnblockSignals();
    }
    let database = BackgroundWorker::get_extra().parse::<u32>().unwrap_or(0);
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(pg_sys::Oid::from(database)), None);
    database
}

/// Entry point of the one-shot audit writer: attach the segment, insert the entry, set the flag.
#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn pg_authz_audit_writer_main(arg: pg_sys::Datum) {
    connect_writer();
    unsafe {
        let segment = pg_sys::dsm_attach(arg.value() as pg_sys::dsm_handle);
        if segment.is_null() {
            return;
        }
        let base = pg_sys::dsm_segment_address(segment) as *mut u8;
        let len = std::ptr::read_unaligned(base.add(8) as *const u64) as usize;
        let bytes = std::slice::from_raw_parts(base.add(HEADER), len);
        let payload = String::from_utf8_lossy(bytes).into_owned();
        if store_batch(&[payload.as_str()]) {
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
        let batch = format!("[{}]", payload(&entry));
        Spi::run_with_args(WORKER_APPEND_SQL, &[batch.as_str().into()]).unwrap();
        let (user, intact) = Spi::get_two_with_args::<String, bool>(
            "SELECT app_user, params = $1::jsonb FROM authz.audit_log ORDER BY id DESC LIMIT 1",
            &[entry.params.clone().unwrap().0.as_str().into()],
        )
        .unwrap();
        assert_eq!(user.as_deref(), Some("99\u{FFFD}-x"));
        assert_eq!(intact, Some(true), "params are stored as sent");
    }
}
