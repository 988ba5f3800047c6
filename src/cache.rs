//! Per-backend permission cache: user id → flags and permission set.
//!
//! Filled on first use of a user, one catalog query per user; dropped whenever any catalog row
//! changes. The catalog tables carry a statement trigger (`authz.catalog_changed`) that sends a
//! relcache invalidation for the table; PostgreSQL delivers it to this backend at the next
//! command (our own changes), when it reads the invalidation queue (other sessions' commits,
//! including on hot standbys; read by us whenever the snapshot in use moves on), and on abort
//! (rolled-back changes). The callback only bumps a counter: looking catalogs up inside an
//! invalidation callback is not allowed. The next check sees the counter moved and starts afresh.
//!
//! Snapshots are told apart by what they can see: their xmax and the number of transactions
//! they see as running (while xmax stays, that set can only shrink, so equal counts mean equal
//! sets), and their command id. An entry read under a snapshot that may miss a change whose
//! invalidation was already processed (a REPEATABLE READ transaction's, an imported one, or a
//! statement's that began just before a commit) is bound to that snapshot's view and reloaded
//! under any other; and such a snapshot is answered only by entries bound to it, not by ones
//! read under newer snapshots, so that a check agrees with the rows its statement sees.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use pgrx::prelude::*;

use crate::error::Result;

/// What the catalogs say about one app user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAuth {
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    /// `app_label.codename` of every permission held directly or through a group.
    pub perms: HashSet<String>,
    /// The ids of those permissions: the same string on two models of one app is two ids.
    pub perm_ids: HashSet<i64>,
    /// Names of the groups the user belongs to.
    pub groups: HashSet<String>,
}

impl UserAuth {
    /// Django's `ModelBackend.has_perm` for a well-formed permission string.
    pub fn has_perm(&self, perm: &str) -> bool {
        self.is_active && (self.is_superuser || self.perms.contains(perm))
    }

    /// Whether the user holds permission row `permission_id` (actions check their own row).
    pub fn has_perm_id(&self, permission_id: i64) -> bool {
        self.is_active && (self.is_superuser || self.perm_ids.contains(&permission_id))
    }

    /// Whether this user is an active superuser, who holds everything.
    pub fn is_active_superuser(&self) -> bool {
        self.is_active && self.is_superuser
    }
}

/// Entries kept before the cache is emptied and refilled on demand.
const MAX_CACHED_USERS: usize = 10_000;

/// What the snapshot in use can see. Equal views see the same catalog rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct View {
    /// This backend's local transaction: the command id counts within it.
    lxid: u32,
    xmax: pg_sys::TransactionId,
    running: u32,
    running_sub: i32,
    command: pg_sys::CommandId,
}

/// PostgreSQL's getters read on every lookup, declared directly: they cannot raise an error,
/// so they need none of the error-boundary set-up pgrx's bindings do on each call (about a
/// third of a warm check's cost).
mod getters {
    use pgrx::pg_sys::{Snapshot, TimestampTz};
    extern "C" {
        pub fn ActiveSnapshotSet() -> bool;
        pub fn GetActiveSnapshot() -> Snapshot;
        pub fn GetCurrentStatementStartTimestamp() -> TimestampTz;
    }
}

impl View {
    /// The active snapshot's view; `None` when no snapshot is active.
    fn current() -> Option<View> {
        unsafe {
            if !getters::ActiveSnapshotSet() {
                return None;
            }
            let snapshot = &*getters::GetActiveSnapshot();
            Some(View {
                lxid: crate::compat::local_transaction_id(),
                xmax: snapshot.xmax,
                running: snapshot.xcnt,
                running_sub: snapshot.subxcnt,
                command: snapshot.curcid,
            })
        }
    }
}

/// Where this backend stood when it last processed an invalidation of the permission caches.
#[derive(Clone, Copy, Debug)]
struct Seen {
    lxid: u32,
    /// The latest completed transaction then: the change's own, or later (a transaction leaves
    /// the proc array before it sends its invalidations).
    latest_completed: pg_sys::TransactionId,
    /// Our own changes are processed once the command counter has moved past them.
    command: pg_sys::CommandId,
}

/// `a` precedes or equals `b` in the circular order of normal transaction ids.
fn xid_precedes_or_equals(a: pg_sys::TransactionId, b: pg_sys::TransactionId) -> bool {
    (u32::from(a).wrapping_sub(u32::from(b)) as i32) <= 0
}

/// Whether the active snapshot may miss a change whose invalidation was processed at `seen`:
/// it is our own transaction's and predates the change's command, or a transaction that had
/// completed by then is past its xmax or among those it sees running. Worked out on loads and
/// when the view moves, never on a hit.
fn active_snapshot_misses(seen: &Seen) -> bool {
    unsafe {
        if !pg_sys::ActiveSnapshotSet() {
            return false;
        }
        let snapshot = &*pg_sys::GetActiveSnapshot();
        if crate::compat::local_transaction_id() == seen.lxid && snapshot.curcid < seen.command {
            return true;
        }
        let latest = seen.latest_completed;
        if u32::from(latest) < pg_sys::FirstNormalTransactionId.into() {
            return false;
        }
        if xid_precedes_or_equals(snapshot.xmax, latest) {
            return true;
        }
        let listed = |ptr: *mut pg_sys::TransactionId, n: usize| {
            if ptr.is_null() || n == 0 {
                &[][..]
            } else {
                std::slice::from_raw_parts(ptr, n)
            }
        };
        let running = listed(snapshot.xip, snapshot.xcnt as usize)
            .iter()
            .chain(listed(snapshot.subxip, snapshot.subxcnt.max(0) as usize));
        running.copied().any(|xid| {
            xid_precedes_or_equals(xid, latest) && !pg_sys::TransactionIdIsInProgress(xid)
        })
    }
}

/// A cached entry and, when it was read under a view older than a processed invalidation, the
/// one view it answers for.
#[derive(Clone)]
struct Cached {
    user: Option<Rc<UserAuth>>,
    bound_to: Option<View>,
}

#[derive(Default)]
struct Cache {
    /// Value of `INVALIDATIONS` the entries were loaded under.
    generation: u64,
    /// `None` records an unknown user id, so unknown ids cost no query either.
    users: HashMap<String, Cached>,
    /// Statement start time and view of the last lookup: the invalidation queue is read again
    /// when either moves on.
    last_statement: pg_sys::TimestampTz,
    last_view: Option<View>,
    /// Whether that view may miss a change already processed (an imported or REPEATABLE READ
    /// snapshot older than it): then entries read under newer views do not answer for it.
    /// `None`: to be worked out again (the view or the generation moved).
    view_is_behind: Option<bool>,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
    /// Bumped by the invalidation callbacks; the cache is valid while it matches `generation`.
    static INVALIDATIONS: Cell<u64> = const { Cell::new(0) };
    /// The oid of `authz.cache_sentinel`, learned at the first load (InvalidOid: not known).
    static SENTINEL: Cell<pg_sys::Oid> = const { Cell::new(pg_sys::InvalidOid) };
    /// When the latest invalidation of the permission caches was processed.
    static SEEN: Cell<Seen> = const {
        Cell::new(Seen { lxid: 0, latest_completed: pg_sys::InvalidTransactionId, command: 0 })
    };
    static HITS: Cell<u64> = const { Cell::new(0) };
    static LOADS: Cell<u64> = const { Cell::new(0) };
    /// The prepared, kept plan of `LOAD_USER_SQL`.
    static LOAD_PLAN: RefCell<Option<pgrx::spi::OwnedPreparedStatement>> = const { RefCell::new(None) };
}

/// Register the invalidation and abort callbacks; called once from `_PG_init`.
pub fn init() {
    // Invalidations processed before the library was loaded went unseen.
    note_invalidation_seen();
    unsafe {
        pg_sys::CacheRegisterRelcacheCallback(
            Some(on_relcache_invalidation),
            pg_sys::Datum::from(0),
        );
        pg_sys::RegisterXactCallback(Some(on_xact_event), std::ptr::null_mut());
        pg_sys::RegisterSubXactCallback(Some(on_subxact_event), std::ptr::null_mut());
    }
}

fn invalidate() {
    INVALIDATIONS.with(|n| n.set(n.get().wrapping_add(1)));
}

/// Record where this backend stands now (see [`Seen`]).
fn note_invalidation_seen() {
    // SAFETY: an unlocked read of one shared counter; a slightly old value only makes the
    // check more conservative.
    let latest_completed = match unsafe { crate::compat::latest_completed_xid() } {
        Some(full) => pg_sys::TransactionId::from(full.value as u32),
        None => pg_sys::InvalidTransactionId,
    };
    let (lxid, command) = unsafe {
        if pg_sys::MyProc.is_null() {
            (0, 0)
        } else {
            (crate::compat::local_transaction_id(), pg_sys::GetCurrentCommandId(false))
        }
    };
    SEEN.with(|s| {
        s.set(Seen {
            lxid,
            latest_completed,
            command,
        })
    });
}

#[pg_guard]
unsafe extern "C-unwind" fn on_relcache_invalidation(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    let sentinel = SENTINEL.with(Cell::get);
    if sentinel == pg_sys::InvalidOid {
        // Not learned yet (no load so far, or just reset): this may be ours.
        note_invalidation_seen();
    }
    if relid == pg_sys::InvalidOid || relid == sentinel {
        invalidate();
        note_invalidation_seen();
        // Learn it again at the next load: the extension may have been dropped and recreated.
        SENTINEL.with(|s| s.set(pg_sys::InvalidOid));
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn on_xact_event(
    event: pg_sys::XactEvent::Type,
    _arg: *mut std::ffi::c_void,
) {
    use pg_sys::XactEvent::*;
    // Entries read under a view older than a processed invalidation are bound to that view,
    // which no later transaction has: nothing to do at commit.
    if event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT {
        invalidate();
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn on_subxact_event(
    event: pg_sys::SubXactEvent::Type,
    _my: pg_sys::SubTransactionId,
    _parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    if event == pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB {
        invalidate();
    }
}

/// Look `user_id` up (loading it on a miss) and hand its entry, `None` for an unknown user, to `f`.
pub fn with_user<R>(user_id: &str, f: impl FnOnce(Option<&UserAuth>) -> R) -> Result<R> {
    let view = accept_invalidations_when_the_view_moves();
    let generation = INVALIDATIONS.with(Cell::get);
    let cached = CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.generation != generation {
            c.users.clear();
            c.generation = generation;
            c.view_is_behind = None;
        }
        let behind = *c
            .view_is_behind
            .get_or_insert_with(|| active_snapshot_misses(&SEEN.with(Cell::get)));
        c.users
            .get(user_id)
            .filter(|e| match e.bound_to {
                None => !behind,
                Some(bound) => Some(bound) == view,
            })
            .map(|e| e.user.clone())
    });
    let entry = match cached {
        Some(entry) => {
            HITS.with(|n| n.set(n.get() + 1));
            entry
        }
        None => {
            let loaded = load_user(user_id)?.map(Rc::new);
            remember(user_id, generation, view, loaded.clone());
            loaded
        }
    };
    Ok(f(entry.as_deref()))
}

/// The invalidation generation of the catalogs, after reading pending invalidations once per
/// statement: it moves whenever a catalog row changes. Other per-backend caches (role bindings,
/// signing keys) are valid while it stays put.
pub fn catalog_generation() -> u64 {
    accept_invalidations_when_the_view_moves();
    // A backend that has not loaded a user yet must still recognise the sentinel's
    // invalidations; until it knows it, every invalidation marks the transaction (see above).
    if SENTINEL.with(Cell::get) == pg_sys::InvalidOid {
        SENTINEL.with(|s| s.set(sentinel_oid()));
    }
    INVALIDATIONS.with(Cell::get)
}

/// Keep a freshly loaded entry, unless an invalidation arrived while it was being read; bound
/// to `view` when that view may miss a change already processed.
fn remember(user_id: &str, generation: u64, view: Option<View>, user: Option<Rc<UserAuth>>) {
    if INVALIDATIONS.with(Cell::get) != generation {
        return;
    }
    let bound_to = view.filter(|_| active_snapshot_misses(&SEEN.with(Cell::get)));
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.users.len() >= MAX_CACHED_USERS {
            c.users.clear();
        }
        c.users
            .insert(user_id.to_owned(), Cached { user, bound_to });
    });
}

/// Other sessions' commits reach this backend when it reads the invalidation queue; PostgreSQL
/// does so at transaction start and when taking a lock. A statement, or a statement inside a
/// function or DO block, may take no lock before calling us, so read it ourselves whenever the
/// active snapshot can see more than at the last lookup (a transaction completed, or our own
/// command counter moved), and once per top-level statement. A single statement calling us
/// many times pays one comparison per call. Returns the active snapshot's view.
fn accept_invalidations_when_the_view_moves() -> Option<View> {
    let now = unsafe { getters::GetCurrentStatementStartTimestamp() };
    let view = View::current();
    let moved = CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let moved = c.last_statement != now || c.last_view != view || view.is_none();
        c.last_statement = now;
        c.last_view = view;
        if moved {
            c.view_is_behind = None;
        }
        moved
    });
    if moved {
        unsafe { pg_sys::AcceptInvalidationMessages() };
    }
    view
}

const LOAD_USER_SQL: &str = "\
SELECT u.is_active, u.is_staff, u.is_superuser,
       ARRAY(SELECT ct.app_label || '.' || p.codename
               FROM authz.permissions p
               JOIN authz.content_types ct ON ct.id = p.content_type_id
              WHERE p.id IN (SELECT up.permission_id
                               FROM authz.user_permissions up
                              WHERE up.user_id = u.id
                             UNION ALL
                             SELECT gp.permission_id
                               FROM authz.user_groups ug
                               JOIN authz.group_permissions gp ON gp.group_id = ug.group_id
                              WHERE ug.user_id = u.id)) AS perms,
       ARRAY(SELECT g.name FROM authz.user_groups ug JOIN authz.groups g ON g.id = ug.group_id
              WHERE ug.user_id = u.id) AS groups,
       ARRAY(SELECT up.permission_id
               FROM authz.user_permissions up
              WHERE up.user_id = u.id
             UNION
             SELECT gp.permission_id
               FROM authz.user_groups ug
               JOIN authz.group_permissions gp ON gp.group_id = ug.group_id
              WHERE ug.user_id = u.id) AS perm_ids
  FROM authz.users u
 WHERE u.id = $1";

/// `authz.cache_sentinel`: the relation whose relcache invalidation means "permission caches are
/// stale". Invalidating it rather than the catalog tables themselves leaves their relcache
/// entries and every plan that reads them (the loader's included) intact.
pub fn sentinel_oid() -> pg_sys::Oid {
    unsafe {
        let schema = pg_sys::get_namespace_oid(c"authz".as_ptr(), true);
        if schema == pg_sys::InvalidOid {
            return pg_sys::InvalidOid;
        }
        pg_sys::get_relname_relid(c"cache_sentinel".as_ptr(), schema)
    }
}

/// One catalog query for one user; learns the sentinel first, so that an invalidation arriving
/// during the load is recognised and the loaded entry is not kept.
fn load_user(user_id: &str) -> Result<Option<UserAuth>> {
    LOADS.with(|n| n.set(n.get() + 1));
    with_pinned_search_path(|| {
        if SENTINEL.with(Cell::get) == pg_sys::InvalidOid {
            SENTINEL.with(|s| s.set(sentinel_oid()));
        }
        Spi::connect(|client| {
            // Planned once per backend: planning this query costs more than running it. The
            // plan cache re-plans it by itself after any DDL on the catalogs.
            let rows = LOAD_PLAN.with(|plan| -> Result<_> {
                let mut plan = plan.borrow_mut();
                if plan.is_none() {
                    let text = pgrx::PgOid::BuiltIn(pgrx::PgBuiltInOids::TEXTOID);
                    *plan = Some(client.prepare(LOAD_USER_SQL, &[text])?.keep());
                }
                let plan = plan.as_ref().expect("prepared just above");
                Ok(client.select(plan, Some(1), &[user_id.into()])?)
            })?;
            let Some(row) = rows.into_iter().next() else {
                return Ok(None);
            };
            Ok(Some(UserAuth {
                is_active: row.get::<bool>(1)?.unwrap_or(false),
                is_staff: row.get::<bool>(2)?.unwrap_or(false),
                is_superuser: row.get::<bool>(3)?.unwrap_or(false),
                perms: row
                    .get::<Vec<String>>(4)?
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
                groups: row
                    .get::<Vec<String>>(5)?
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
                perm_ids: row
                    .get::<Vec<i64>>(6)?
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
            }))
        })
    })
}

/// Run `f` with `search_path` set to `pg_catalog, pg_temp`, as a SECURITY DEFINER function's
/// `SET` clause would, so that a caller's own operators or functions cannot change what the
/// catalog queries mean. Used on cold paths only; an error unwinds the setting with the
/// (sub)transaction.
pub fn with_pinned_search_path<R>(f: impl FnOnce() -> Result<R>) -> Result<R> {
    unsafe {
        let level = pg_sys::NewGUCNestLevel();
        pg_sys::set_config_option(
            c"search_path".as_ptr(),
            c"pg_catalog, pg_temp".as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
        let result = f();
        pg_sys::AtEOXact_GUC(true, level);
        result
    }
}

/// Counters of this backend's cache: hits, loads (catalog queries), invalidations seen and
/// users currently cached.
#[pg_extern(volatile, parallel_safe)]
fn cache_stats() -> pgrx::JsonB {
    let cached = CACHE.with(|c| c.borrow().users.len());
    pgrx::JsonB(serde_json::json!({
        "hits": HITS.with(Cell::get),
        "loads": LOADS.with(Cell::get),
        "invalidations": INVALIDATIONS.with(Cell::get),
        "cached_users": cached,
    }))
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    #[pg_test]
    fn superuser_and_inactive_rules() {
        let mut u = UserAuth {
            is_active: true,
            ..Default::default()
        };
        u.perms.insert("shop.view_order".into());
        assert!(u.has_perm("shop.view_order"));
        assert!(!u.has_perm("shop.change_order"));
        u.is_active = false;
        assert!(!u.has_perm("shop.view_order"));
        u.is_superuser = true;
        assert!(
            !u.has_perm("shop.view_order"),
            "inactive superuser holds nothing"
        );
        u.is_active = true;
        assert!(
            u.has_perm("anything.at_all"),
            "active superuser holds everything"
        );
    }

    #[pg_test]
    fn invalidation_drops_cached_users() {
        Spi::run("INSERT INTO authz.users (id) VALUES ('cache_u1')").unwrap();
        with_user("cache_u1", |u| assert!(u.is_some())).unwrap();
        let loads = LOADS.with(Cell::get);
        with_user("cache_u1", |_| ()).unwrap();
        assert_eq!(LOADS.with(Cell::get), loads, "second lookup is a hit");
        Spi::run("UPDATE authz.users SET is_staff = true WHERE id = 'cache_u1'").unwrap();
        // The trigger's invalidation is processed locally at the next command boundary.
        unsafe { pg_sys::CommandCounterIncrement() };
        with_user("cache_u1", |u| assert!(u.unwrap().is_staff)).unwrap();
        assert_eq!(
            LOADS.with(Cell::get),
            loads + 1,
            "the change forced one reload"
        );
    }
}
