//! The audit queue, when pg_authz is in `shared_preload_libraries`: autonomous entries go through
//! a queue in shared memory to one long-lived writer per database, which stores every entry
//! waiting for it in one transaction. The caller waits until the writer has committed its entry
//! (or failed to), so a denial that has been reported to the client is in `authz.audit_log`
//! exactly as durably as any committed row; nothing is acknowledged from shared memory alone.
//!
//! A queued entry is a slot pointing at the caller's DSM segment (the payload, any size); the
//! writer copies the payloads out, writes them, marks each slot stored or failed and sets the
//! caller's latch. A writer starts on its database's first entry and leaves after `IDLE_EXIT`
//! without work, so that an idle database holds no worker and `DROP DATABASE` need not wait.
//! It leaves at once, after its batch, when another database's entry waits for a writer that
//! could not start (every `max_worker_processes` slot taken): a busy database does not keep a
//! slot another needs, and its own waiting entries start it again, so that databases short of
//! slots take turns, a worker start per turn. The turns go by age: while the oldest entry that
//! waits with no writer for it belongs to another database, a database registers no writer (a
//! slot that a busy database's writer gives up would otherwise go to that database's next caller
//! as often as not, and among several waiting databases to the one with the most callers).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pgrx::bgworkers::{BackgroundWorkerBuilder, BgWorkerStartTime};
use pgrx::lwlock::PgLwLock;
use pgrx::prelude::*;
use pgrx::shmem::PGRXSharedMemory;
use pgrx::{pg_shmem_init, PgTryBuilder};

use super::worker::{connect_writer, read_segment, store_batch, Deadline, Segment};

/// Entries waiting or being written, across databases: a burst of this many callers queues at
/// once; more wait for a free slot (within the caller's bound).
const SLOTS: usize = 512;
/// Databases with a writer at the same time; a database beyond that uses the one-shot writers.
const WRITERS: usize = 16;
/// A writer without work for this long leaves.
const IDLE_EXIT: Duration = Duration::from_secs(2);
/// A writer registered but not running after this long is taken to have failed to start.
const START_GRACE_US: i64 = 3_000_000;
/// Should a batch fail, its entries are retried one by one for this long at most (a lock held
/// on the log fails them all alike, and their callers stop waiting after 5 s).
const RETRY_FOR: Duration = Duration::from_secs(3);

const FREE: u32 = 0;
/// Queued, not yet taken by the writer.
const PENDING: u32 = 1;
/// Taken by the writer, being written.
const TAKEN: u32 = 2;
const STORED: u32 = 3;
const FAILED: u32 = 4;
/// Taken by the writer, and its caller has stopped waiting: the writer frees it.
const ABANDONED: u32 = 5;

const NO_WRITER: u32 = 0;
const STARTING: u32 = 1;
const RUNNING: u32 = 2;

#[derive(Clone, Copy)]
#[repr(C)]
struct Slot {
    state: u32,
    database: u32,
    segment: u32,
    /// The pid of the writer that took it.
    taker: i32,
    /// The waiting caller's latch (`&MyProc->procLatch`, in shared memory).
    waiter: usize,
    /// When it was queued (`GetCurrentTimestamp`).
    queued: i64,
}

#[derive(Clone, Copy)]
#[repr(C)]
struct Writer {
    state: u32,
    database: u32,
    pid: i32,
    latch: usize,
    /// When it was registered (`GetCurrentTimestamp`), while `STARTING`.
    since: i64,
}

#[repr(C)]
struct Queue {
    slots: [Slot; SLOTS],
    writers: [Writer; WRITERS],
}

unsafe impl PGRXSharedMemory for Queue {}

impl Queue {
    const EMPTY: Queue = Queue {
        slots: [Slot {
            state: FREE,
            database: 0,
            segment: 0,
            taker: 0,
            waiter: 0,
            queued: 0,
        }; SLOTS],
        writers: [Writer {
            state: NO_WRITER,
            database: 0,
            pid: 0,
            latch: 0,
            since: 0,
        }; WRITERS],
    };

    fn writer_of(&self, database: u32) -> Option<usize> {
        self.writers
            .iter()
            .position(|w| w.state != NO_WRITER && w.database == database)
    }

    /// The database whose turn it is to start a writer: that of the oldest entry waiting with
    /// no writer for it, running or registered.
    fn next_turn(&self) -> Option<u32> {
        self.slots
            .iter()
            .filter(|s| s.state == PENDING && self.writer_of(s.database).is_none())
            .min_by_key(|s| s.queued)
            .map(|s| s.database)
    }
}

static QUEUE: PgLwLock<Queue> = unsafe { PgLwLock::new(c"pg_authz_audit_queue") };
/// Whether the queue exists: pg_authz was loaded by `shared_preload_libraries`.
static READY: AtomicBool = AtomicBool::new(false);

/// Ask for the queue's shared memory; only possible while the postmaster loads
/// `shared_preload_libraries`. Called from `_PG_init`.
#[allow(unexpected_cfgs)] // pg_shmem_init! tests the features of every PostgreSQL version
pub fn init() {
    if unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        pg_shmem_init!(QUEUE = Queue::EMPTY);
        READY.store(true, Ordering::Relaxed);
    }
}

/// Whether autonomous entries go through the queue (pg_authz is preloaded).
pub fn available() -> bool {
    READY.load(Ordering::Relaxed)
}

/// What became of a queued entry.
pub enum Outcome {
    Stored,
    /// The writer could not store it, or the caller stopped waiting: it is not in the log.
    NotStored,
    /// No slot or no writer could be had: the caller may try the one-shot writer.
    Unqueued,
}

/// Queue the payload in `segment` for the current database and wait, until `deadline`, for
/// the writer to commit it. The caller holds interrupts.
pub unsafe fn write(segment: &Segment, deadline: &mut Deadline) -> Outcome {
    let database = u32::from(pg_sys::MyDatabaseId);
    let Some(slot) = enqueue(segment, database, deadline) else {
        return Outcome::Unqueued;
    };
    loop {
        let (state, writer) = {
            let q = QUEUE.share();
            (
                q.slots[slot].state,
                q.writer_of(database).map(|i| q.writers[i]),
            )
        };
        if state == STORED || state == FAILED {
            QUEUE.exclusive().slots[slot].state = FREE;
            return if state == STORED {
                Outcome::Stored
            } else {
                Outcome::NotStored
            };
        }
        // The writer left, died, or never started: start another; with every worker slot
        // taken, try again shortly; with the writers table full, use the one-shot writer.
        let mut poll = Duration::from_millis(50);
        if writer.is_none_or(|w| w.state == STARTING) {
            match ensure_writer(database) {
                Start::Present => {}
                Start::Retry => {
                    wake_other_writers(database);
                    poll = Duration::from_millis(5);
                }
                Start::Full => return withdraw(slot),
            }
        }
        let left = deadline.left();
        if left.is_zero() {
            return match withdraw(slot) {
                Outcome::Unqueued => Outcome::NotStored,
                outcome => outcome,
            };
        }
        wait_for_latch(left.min(poll));
    }
}

/// Take a free slot for `segment` (waiting for one until `deadline`) and wake or start the
/// database's writer. `None` when no slot was free in time.
unsafe fn enqueue(segment: &Segment, database: u32, deadline: &mut Deadline) -> Option<usize> {
    loop {
        let taken = {
            let mut q = QUEUE.exclusive();
            let free = q.slots.iter().position(|s| s.state == FREE);
            if let Some(i) = free {
                q.slots[i] = Slot {
                    state: PENDING,
                    database,
                    segment: segment.handle(),
                    taker: 0,
                    waiter: pg_sys::MyLatch as usize,
                    queued: pg_sys::GetCurrentTimestamp(),
                };
            }
            free.map(|i| (i, q.writer_of(database).map(|w| q.writers[w].latch)))
        };
        match taken {
            Some((slot, Some(latch))) => {
                if latch != 0 {
                    pg_sys::SetLatch(latch as *mut pg_sys::Latch);
                }
                return Some(slot);
            }
            Some((slot, None)) => {
                let _ = ensure_writer(database);
                return Some(slot);
            }
            None if deadline.passed() => return None,
            None => wait_for_latch(Duration::from_millis(2)),
        }
    }
}

/// Stop waiting for `slot`: free it, or leave it to the writer to free if it is being written.
/// `Unqueued` when the writer never took it.
unsafe fn withdraw(slot: usize) -> Outcome {
    let mut q = QUEUE.exclusive();
    let s = &mut q.slots[slot];
    let outcome = match s.state {
        PENDING => Outcome::Unqueued,
        STORED => Outcome::Stored,
        FAILED => Outcome::NotStored,
        _ => {
            s.state = ABANDONED;
            return Outcome::NotStored;
        }
    };
    s.state = FREE;
    outcome
}

/// Whether a database's writer is there (running, or registered within `START_GRACE_US`).
enum Start {
    Present,
    /// No background worker slot was free: try again.
    Retry,
    /// Every writer entry is in use by other databases.
    Full,
}

/// Make sure `database` has a writer running or starting; registers one if not (or if the
/// registered one never started), unless it is another database's turn ([`Queue::next_turn`]).
unsafe fn ensure_writer(database: u32) -> Start {
    let now = pg_sys::GetCurrentTimestamp();
    let index = {
        let mut q = QUEUE.exclusive();
        let index = match q.writer_of(database) {
            Some(i)
                if q.writers[i].state == RUNNING || now - q.writers[i].since <= START_GRACE_US =>
            {
                return Start::Present;
            }
            Some(i) => i,
            None => match q.writers.iter().position(|w| w.state == NO_WRITER) {
                Some(i) => i,
                None => return Start::Full,
            },
        };
        if q.next_turn().is_some_and(|turn| turn != database) {
            return Start::Retry;
        }
        q.writers[index] = Writer {
            state: STARTING,
            database,
            pid: 0,
            latch: 0,
            since: now,
        };
        index
    };
    let builder = BackgroundWorkerBuilder::new("pg_authz audit queue writer")
        .set_type("pg_authz audit queue writer")
        .set_library("pg_authz")
        .set_function("pg_authz_audit_queue_main")
        .set_argument(Some(pg_sys::Datum::from(index)))
        .set_extra(&database.to_string())
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(None);
    let mut worker: pg_sys::BackgroundWorker = (&builder).into();
    let mut handle: *mut pg_sys::BackgroundWorkerHandle = std::ptr::null_mut();
    if pg_sys::RegisterDynamicBackgroundWorker(&mut worker, &mut handle) {
        return Start::Present;
    }
    let mut q = QUEUE.exclusive();
    let w = &mut q.writers[index];
    if w.state == STARTING && w.database == database && w.since == now {
        w.state = NO_WRITER;
    }
    Start::Retry
}

unsafe fn wait_for_latch(limit: Duration) {
    pg_sys::WaitLatch(
        pg_sys::MyLatch,
        (pg_sys::WL_LATCH_SET | pg_sys::WL_TIMEOUT | pg_sys::WL_EXIT_ON_PM_DEATH) as i32,
        limit.as_millis().max(1) as std::ffi::c_long,
        pg_sys::PG_WAIT_EXTENSION,
    );
    pg_sys::ResetLatch(pg_sys::MyLatch);
}

/// Entry point of a database's queue writer: claim the registration, then store what is queued
/// for the database, batch by batch, until idle for `IDLE_EXIT`.
#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn pg_authz_audit_queue_main(arg: pg_sys::Datum) {
    let database = connect_writer();
    let index = arg.value();
    unsafe {
        {
            let mut q = QUEUE.exclusive();
            let w = &mut q.writers[index];
            if w.state != STARTING || w.database != database {
                return;
            }
            *w = Writer {
                state: RUNNING,
                database,
                pid: pg_sys::MyProcPid,
                latch: pg_sys::MyLatch as usize,
                since: 0,
            };
        }
        pg_sys::before_shmem_exit(Some(on_writer_exit), pg_sys::Datum::from(index));
        let mut idle_since = Instant::now();
        loop {
            pg_sys::ResetLatch(pg_sys::MyLatch);
            pgrx::check_for_interrupts!();
            let batch = take(database);
            if batch.is_empty() {
                let leave = idle_since.elapsed() >= IDLE_EXIT || another_database_waits(database);
                if leave && retire(index, database) {
                    return;
                }
                pg_sys::WaitLatch(
                    pg_sys::MyLatch,
                    (pg_sys::WL_LATCH_SET | pg_sys::WL_TIMEOUT | pg_sys::WL_EXIT_ON_PM_DEATH)
                        as i32,
                    IDLE_EXIT.as_millis() as std::ffi::c_long,
                    pg_sys::PG_WAIT_EXTENSION,
                );
                continue;
            }
            write_batch(&batch);
            if another_database_waits(database) {
                // Its own waiting entries' callers start the next writer.
                give_way(index);
                return;
            }
            idle_since = Instant::now();
        }
    }
}

/// Mark every pending entry of the database taken; their slots and segments.
unsafe fn take(database: u32) -> Vec<(usize, u32)> {
    let mut q = QUEUE.exclusive();
    q.slots
        .iter_mut()
        .enumerate()
        .filter(|(_, s)| s.state == PENDING && s.database == database)
        .map(|(i, s)| {
            s.state = TAKEN;
            s.taker = pg_sys::MyProcPid;
            (i, s.segment)
        })
        .collect()
}

/// Store the batch's payloads in one transaction; should that fail, each in its own (for
/// `RETRY_FOR` at most), so that one entry the log refuses does not fail the others. Each
/// entry's result is recorded as soon as its transaction ends, so that a writer exiting during
/// the retries (a terminate, a shutdown) hands back only the entries not yet stored, which the
/// next writer then stores once. A payload whose segment is gone (its caller stopped waiting)
/// is not stored.
unsafe fn write_batch(batch: &[(usize, u32)]) {
    let started = Instant::now();
    let payloads: Vec<Option<String>> = batch.iter().map(|&(_, h)| read_segment(h)).collect();
    let present: Vec<&str> = payloads.iter().flatten().map(String::as_str).collect();
    let slots = batch.iter().map(|&(slot, _)| slot);
    if !present.is_empty() && stored(&present) {
        return finish(slots.zip(payloads.iter().map(Option::is_some)));
    }
    let retry = present.len() > 1;
    for (slot, payload) in slots.zip(&payloads) {
        // An entry whose caller stopped waiting is in the server log already: not retried.
        let ok = retry
            && payload
                .as_deref()
                .is_some_and(|p| started.elapsed() < RETRY_FOR && awaited(slot) && stored(&[p]));
        finish([(slot, ok)]);
    }
}

/// Whether the caller of a taken slot still waits for it.
unsafe fn awaited(slot: usize) -> bool {
    QUEUE.share().slots[slot].state == TAKEN
}

/// One transaction storing `payloads`; an error (a lock timeout, say) is logged and rolled back.
unsafe fn stored(payloads: &[&str]) -> bool {
    PgTryBuilder::new(std::panic::AssertUnwindSafe(|| store_batch(payloads)))
        .catch_others(|e| {
            let message = match &e {
                pg_sys::panic::CaughtError::PostgresError(r)
                | pg_sys::panic::CaughtError::ErrorReport(r)
                | pg_sys::panic::CaughtError::RustPanic { ereport: r, .. } => {
                    r.message().to_owned()
                }
            };
            unsafe { pg_sys::AbortCurrentTransaction() };
            ereport!(
                PgLogLevel::LOG,
                PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION,
                format!(
                    "pg_authz audit queue writer: {} entries not stored: {message}",
                    payloads.len()
                )
            );
            false
        })
        .execute()
}

/// Record each entry's result and wake its caller; free the slots of callers that left.
unsafe fn finish(results: impl IntoIterator<Item = (usize, bool)>) {
    let mut q = QUEUE.exclusive();
    for (slot, ok) in results {
        let s = &mut q.slots[slot];
        if s.state == ABANDONED {
            s.state = FREE;
        } else {
            s.state = if ok { STORED } else { FAILED };
            pg_sys::SetLatch(s.waiter as *mut pg_sys::Latch);
        }
    }
}

/// Whether an entry of a database other than `database` waits with no writer for it, running
/// or registered (its caller found no worker slot to register one).
unsafe fn another_database_waits(database: u32) -> bool {
    let q = QUEUE.share();
    q.slots
        .iter()
        .any(|s| s.state == PENDING && s.database != database && q.writer_of(s.database).is_none())
}

/// Wake the running writers of other databases, so that an idle one sees that `database` waits
/// for a worker slot and leaves instead of sleeping out `IDLE_EXIT`.
unsafe fn wake_other_writers(database: u32) {
    let q = QUEUE.share();
    for w in q
        .writers
        .iter()
        .filter(|w| w.state == RUNNING && w.database != database)
    {
        if w.latch != 0 {
            pg_sys::SetLatch(w.latch as *mut pg_sys::Latch);
        }
    }
}

/// Leave at once, the database's waiting entries notwithstanding: their callers see no writer
/// and start another in their turn.
unsafe fn give_way(index: usize) {
    QUEUE.exclusive().writers[index].state = NO_WRITER;
}

/// Leave, unless an entry for the database arrived meanwhile: whether the writer may exit.
unsafe fn retire(index: usize, database: u32) -> bool {
    let mut q = QUEUE.exclusive();
    if q.slots
        .iter()
        .any(|s| s.state == PENDING && s.database == database)
    {
        return false;
    }
    q.writers[index].state = NO_WRITER;
    true
}

/// On any exit (a FATAL, a terminate): give back the entries being written, so that the
/// callers' next writer stores them, and the registration.
#[pg_guard]
unsafe extern "C-unwind" fn on_writer_exit(_code: std::ffi::c_int, arg: pg_sys::Datum) {
    pg_sys::LWLockReleaseAll();
    let index = arg.value();
    let mut q = QUEUE.exclusive();
    if q.writers[index].pid == pg_sys::MyProcPid {
        q.writers[index].state = NO_WRITER;
    }
    for s in q.slots.iter_mut().filter(|s| s.taker == pg_sys::MyProcPid) {
        match s.state {
            TAKEN => {
                s.state = PENDING;
                pg_sys::SetLatch(s.waiter as *mut pg_sys::Latch);
            }
            ABANDONED => s.state = FREE,
            _ => {}
        }
    }
}
