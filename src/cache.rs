//! Per-backend permission cache: user id → flags, groups and permission ids.
//!
//! Three layers, each read on first use by direct scans of our own tables (see `load`): the
//! interned permission strings (`app_label.codename` → ids), groups (name and sorted permission
//! ids, shared by the entries of their members; read whole with the strings when their tables
//! are small), and users (flags, direct permission ids, their groups: one primary-key probe of
//! `users` when every user's memberships and direct grants were read with the groups, three
//! otherwise; a backend that has read many users one by one reads the rest at once, see
//! [`load_everyone_if_due`]). A warm check is two hash lookups (FxHash: the keys are short
//! strings chosen by our own callers, not by an attacker who could aim at collisions in a
//! per-backend table) and a few binary searches; a cold one, a few microseconds; after a change
//! to a user's own row, only its flags are read again.
//!
//! Invalidation comes from triggers on the catalogs, as relcache invalidations that PostgreSQL
//! delivers to this backend at the next command (our own changes), when it reads the
//! invalidation queue (other sessions' commits, including on hot standbys; read by us whenever
//! the snapshot in use moves on), and on abort (rolled-back changes). A change to a user's row,
//! memberships or direct grants names the user, and one to a group or its grants names the
//! group (row triggers `authz.catalog_rows_changed`, see `keys`): only those entries go. Any
//! other change (content types, permissions, actions, bindings, keys, TRUNCATE, a statement
//! touching many users) invalidates everything through the sentinel (statement triggers
//! `authz.catalog_changed`). The callback only counts and queues: looking catalogs up, or even
//! touching the cache, inside an invalidation callback is not allowed (it may run in the middle
//! of a load). The next lookup applies what was queued.
//!
//! Snapshots are told apart by what they can see: their xmax and the number of transactions
//! they see as running (while xmax stays, that set can only shrink, so equal counts mean equal
//! sets), and their command id. An entry read under a snapshot that may miss a change whose
//! invalidation was already processed (a REPEATABLE READ transaction's, an imported one, or a
//! statement's that began just before a commit) is bound to that snapshot's view and reloaded
//! under any other; and such a snapshot is answered only by entries bound to it, not by ones
//! read under newer snapshots, so that a check agrees with the rows its statement sees.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use pgrx::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::Result;

mod keys;
mod load;
mod users;

use keys::Key;
use load::{Catalog, Group, Tables};
use users::Users;

/// What the catalogs say about one app user: its flags, and the ids of the permissions it holds
/// directly and through each group (sorted, so a check is a few binary searches).
#[derive(Debug)]
pub struct UserAuth {
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    /// Permissions granted directly.
    perm_ids: Box<[i64]>,
    /// The user's groups, shared with every other member's entry in this backend.
    groups: Box<[Rc<Group>]>,
    /// The interned permission strings this entry was read with.
    catalog: Rc<Catalog>,
}

impl UserAuth {
    /// Django's `ModelBackend.has_perm` for a well-formed permission string.
    pub fn has_perm(&self, perm: &str) -> bool {
        self.is_active
            && (self.is_superuser
                || self
                    .catalog
                    .ids_by_name
                    .get(perm)
                    .is_some_and(|ids| ids.iter().any(|&id| self.holds(id))))
    }

    /// Whether the user holds permission row `permission_id` (actions check their own row).
    pub fn has_perm_id(&self, permission_id: i64) -> bool {
        self.is_active && (self.is_superuser || self.holds(permission_id))
    }

    /// Whether this user is an active superuser, who holds everything.
    pub fn is_active_superuser(&self) -> bool {
        self.is_active && self.is_superuser
    }

    /// Whether the user belongs to group `name` (whatever its flags).
    pub fn in_group(&self, name: &str) -> bool {
        self.groups.iter().any(|g| &*g.name == name)
    }

    /// Whether the user holds, directly or through a group, a permission of app `app_label`.
    pub fn holds_any_of_app(&self, app_label: &str) -> bool {
        let ids = self
            .perm_ids
            .iter()
            .chain(self.groups.iter().flat_map(|g| g.perm_ids.iter()));
        ids.filter_map(|id| self.catalog.name_by_id.get(id))
            .any(|name| {
                name.split_once('.')
                    .is_some_and(|(app, _)| app == app_label)
            })
    }

    fn holds(&self, id: i64) -> bool {
        self.perm_ids.binary_search(&id).is_ok()
            || self
                .groups
                .iter()
                .any(|g| g.perm_ids.binary_search(&id).is_ok())
    }
}

/// Entries kept before the cache is emptied and refilled on demand: an entry is about a hundred
/// bytes (its permissions live in its groups), so this bounds a backend's cache near 10 MB.
const MAX_CACHED_USERS: usize = 100_000;

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

/// `a` strictly precedes `b` in the circular order of normal transaction ids.
fn xid_precedes(a: pg_sys::TransactionId, b: pg_sys::TransactionId) -> bool {
    (u32::from(a).wrapping_sub(u32::from(b)) as i32) < 0
}

/// The transaction ids listed in `n` entries at `ptr` (a snapshot's xip or subxip).
///
/// # Safety
/// `ptr` holds at least `n` ids, or is null.
unsafe fn listed<'a>(ptr: *const pg_sys::TransactionId, n: i64) -> &'a [pg_sys::TransactionId] {
    if ptr.is_null() || n <= 0 {
        &[]
    } else {
        std::slice::from_raw_parts(ptr, n as usize)
    }
}

thread_local! {
    /// The snapshot [`any_completed`] fills (its arrays are allocated by PostgreSQL once).
    static NOW: RefCell<pg_sys::SnapshotData> = RefCell::new(unsafe { std::mem::zeroed() });
}

/// Whether any of `xids` is no longer running, from one snapshot of the transactions running now:
/// `ProcArrayLock` taken once, or not at all when no transaction completed since the last one
/// (PostgreSQL reuses the snapshot). An id the snapshot cannot place (its subtransaction list
/// overflowed) counts as completed, which only makes the caller more careful.
fn any_completed(xids: impl Iterator<Item = pg_sys::TransactionId>) -> bool {
    NOW.with(|now| {
        let mut now = now.borrow_mut();
        // SAFETY: GetSnapshotData fills a snapshot of our own, allocating its arrays once.
        unsafe { pg_sys::GetSnapshotData(&mut *now) };
        let running = |xid: pg_sys::TransactionId| unsafe {
            !xid_precedes(xid, now.xmin)
                && (listed(now.xip, now.xcnt.into()).contains(&xid)
                    || listed(now.subxip, now.subxcnt.into()).contains(&xid))
        };
        let mut xids = xids;
        xids.any(|xid| !running(xid))
    })
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
        // Those it sees running that may have completed by then: any of them that has completed
        // by now makes it miss (perhaps) what that transaction wrote.
        let mut candidates = listed(snapshot.xip, snapshot.xcnt.into())
            .iter()
            .chain(listed(snapshot.subxip, snapshot.subxcnt.into()))
            .copied()
            .filter(|&xid| xid_precedes_or_equals(xid, latest))
            .peekable();
        candidates.peek().is_some() && any_completed(candidates)
    }
}

/// A cached entry and, when it was read under a view older than a processed invalidation, the
/// one view it answers for.
#[derive(Clone)]
struct Cached {
    user: Option<Rc<UserAuth>>,
    bound_to: Option<View>,
    /// The key its invalidations name (see `keys`).
    bucket: u32,
    /// The user's own row changed: its flags are read again at the next lookup.
    row_stale: bool,
    /// One of its groups changed: the groups are taken again from the group layer (the changed
    /// ones read again) at the next lookup, the memberships kept.
    groups_stale: bool,
}

/// What a lookup found.
enum Found {
    Hit(Option<Rc<UserAuth>>),
    /// An entry to refresh: its flags (`row`) or its groups (`groups`) changed, nothing else.
    Stale {
        old: Rc<UserAuth>,
        row: bool,
        groups: bool,
    },
    Miss,
}

/// The interned permission strings, and the view they were read under when that view may miss
/// a change already processed.
struct CatalogEntry {
    catalog: Rc<Catalog>,
    tables: Tables,
    bound_to: Option<View>,
}

#[derive(Default)]
struct Cache {
    /// Value of `INVALIDATIONS` the entries were loaded under.
    generation: u64,
    catalog: Option<CatalogEntry>,
    /// Groups read under views that miss nothing, by id (`None`: no such group).
    groups: FxHashMap<i64, Option<Rc<Group>>>,
    /// Every user's memberships and direct grants, read with the groups when their tables
    /// are small.
    links: Option<load::Links>,
    /// `None` records an unknown user id, so unknown ids cost no query either.
    users: Users,
    /// Statement start time and view of the last lookup: the invalidation queue is read again
    /// when either moves on.
    last_statement: pg_sys::TimestampTz,
    last_view: Option<View>,
    /// Whether that view may miss a change already processed (an imported or REPEATABLE READ
    /// snapshot older than it): then entries read under newer views do not answer for it.
    /// `None`: to be worked out again (the view or the generation moved).
    view_is_behind: Option<bool>,
    /// Users read one by one since the last invalidation of everything, and whether every user
    /// was read at once since (see [`load_everyone_if_due`]).
    loads_since_full: u32,
    everyone_tried: bool,
}

/// Keys queued before the queue gives up and everything is invalidated.
const MAX_PENDING_KEYS: usize = 4096;

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
    /// Bumped when everything is stale; the cache is valid while it matches `generation`.
    static INVALIDATIONS: Cell<u64> = const { Cell::new(0) };
    /// Bumped by every invalidation of ours, whole or by key: an entry read while it moved is
    /// not kept.
    static MESSAGES: Cell<u64> = const { Cell::new(0) };
    /// Keys invalidated since the last lookup, applied by the next one (an invalidation
    /// callback may run in the middle of a load, while the cache is borrowed).
    static PENDING: RefCell<Vec<Key>> = const { RefCell::new(Vec::new()) };
    /// The oid of `authz.cache_sentinel`, learned at the first load (InvalidOid: not known).
    static SENTINEL: Cell<pg_sys::Oid> = const { Cell::new(pg_sys::InvalidOid) };
    /// When the latest invalidation of the permission caches was processed.
    static SEEN: Cell<Seen> = const {
        Cell::new(Seen { lxid: 0, latest_completed: pg_sys::InvalidTransactionId, command: 0 })
    };
    /// When the latest invalidation of everything was processed: a view that misses only changes
    /// by key still agrees with the interned permission strings.
    static SEEN_EVERYTHING: Cell<Seen> = const {
        Cell::new(Seen { lxid: 0, latest_completed: pg_sys::InvalidTransactionId, command: 0 })
    };
    static HITS: Cell<u64> = const { Cell::new(0) };
    static LOADS: Cell<u64> = const { Cell::new(0) };
    static ROW_LOADS: Cell<u64> = const { Cell::new(0) };
    static EVERYONE_LOADS: Cell<u64> = const { Cell::new(0) };
    static GROUP_LOADS: Cell<u64> = const { Cell::new(0) };
    static CATALOG_LOADS: Cell<u64> = const { Cell::new(0) };
    static KEY_INVALIDATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Register the invalidation and abort callbacks; called once from `_PG_init`.
pub fn init() {
    // Invalidations processed before the library was loaded went unseen.
    note_invalidation_seen(true);
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
    MESSAGES.with(|n| n.set(n.get().wrapping_add(1)));
    PENDING.with(|p| p.borrow_mut().clear());
}

fn invalidate_key(key: Key) {
    MESSAGES.with(|n| n.set(n.get().wrapping_add(1)));
    KEY_INVALIDATIONS.with(|n| n.set(n.get() + 1));
    let overflow = PENDING.with(|p| {
        let mut p = p.borrow_mut();
        p.push(key);
        p.len() > MAX_PENDING_KEYS
    });
    if overflow {
        invalidate();
    }
}

/// Record where this backend stands now (see [`Seen`]); `everything`: for an invalidation of
/// everything, which the interned permission strings also answer to.
fn note_invalidation_seen(everything: bool) {
    // SAFETY: an unlocked read of one shared counter. It is at least the invalidating
    // transaction's id: that transaction left the proc array (advancing the counter) before it
    // queued its messages, which we read under the queue's lock.
    let latest_completed = match unsafe { crate::compat::latest_completed_xid() } {
        Some(full) => pg_sys::TransactionId::from(full.value as u32),
        None => pg_sys::InvalidTransactionId,
    };
    let (lxid, command) = unsafe {
        if pg_sys::MyProc.is_null() {
            (0, 0)
        } else {
            (
                crate::compat::local_transaction_id(),
                pg_sys::GetCurrentCommandId(false),
            )
        }
    };
    let seen = Seen {
        lxid,
        latest_completed,
        command,
    };
    SEEN.with(|s| s.set(seen));
    if everything {
        SEEN_EVERYTHING.with(|s| s.set(seen));
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn on_relcache_invalidation(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    let sentinel = SENTINEL.with(Cell::get);
    if sentinel == pg_sys::InvalidOid {
        // Not learned yet (no load so far, or just reset): this may be ours.
        note_invalidation_seen(true);
    }
    if relid == pg_sys::InvalidOid || relid == sentinel {
        invalidate();
        note_invalidation_seen(true);
        // Learn it again at the next load: the extension may have been dropped and recreated.
        SENTINEL.with(|s| s.set(pg_sys::InvalidOid));
    } else if let Some(key) = Key::of_relid(relid) {
        invalidate_key(key);
        note_invalidation_seen(false);
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
        keys::on_subtransaction_abort();
    }
}

/// Look `user_id` up (loading it on a miss) and hand its entry, `None` for an unknown user, to `f`.
pub fn with_user<R>(user_id: &str, f: impl FnOnce(Option<&UserAuth>) -> R) -> Result<R> {
    let view = accept_invalidations_when_the_view_moves();
    let generation = INVALIDATIONS.with(Cell::get);
    let found = CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.generation != generation {
            c.users.clear();
            c.groups.clear();
            c.links = None;
            c.catalog = None;
            c.generation = generation;
            c.view_is_behind = None;
            c.loads_since_full = 0;
            c.everyone_tried = false;
        }
        apply_pending_keys(&mut c);
        let behind = *c
            .view_is_behind
            .get_or_insert_with(|| active_snapshot_misses(&SEEN.with(Cell::get)));
        match c.users.get(user_id) {
            Some(e) if !e.row_stale && !e.groups_stale => {
                let valid = match e.bound_to {
                    None => !behind,
                    Some(bound) => Some(bound) == view,
                };
                if valid {
                    Found::Hit(e.user.clone())
                } else {
                    Found::Miss
                }
            }
            Some(Cached {
                user: Some(user),
                bound_to: None,
                row_stale,
                groups_stale,
                ..
            }) if !behind => Found::Stale {
                old: user.clone(),
                row: *row_stale,
                groups: *groups_stale,
            },
            _ => Found::Miss,
        }
    });
    let entry = match found {
        Found::Hit(entry) => {
            HITS.with(|n| n.set(n.get() + 1));
            entry
        }
        Found::Stale { old, row, groups } => refresh(user_id, &old, row, groups, generation, view)?,
        Found::Miss => load_user(user_id, generation, view)?,
    };
    Ok(f(entry.as_deref()))
}

/// [`with_user`]'s answer when it would be a plain hit: the statement and the view are those of
/// the last lookup, no invalidation arrived since and the entry is fresh. `None` otherwise,
/// and the caller asks [`with_user`]. Calls nothing that can raise an error or allocate, so that
/// an entry point may try it before it sets up pgrx's error boundary (see `checks`).
pub fn with_cached_user<R>(user_id: &str, f: impl FnOnce(Option<&UserAuth>) -> R) -> Option<R> {
    let now = unsafe { getters::GetCurrentStatementStartTimestamp() };
    let view = View::current()?;
    let generation = INVALIDATIONS.with(Cell::get);
    if !PENDING.with(|p| p.try_borrow().is_ok_and(|p| p.is_empty())) {
        return None;
    }
    let answer = CACHE.with(|c| {
        let c = c.try_borrow().ok()?;
        if c.last_statement != now || c.last_view != Some(view) || c.generation != generation {
            return None;
        }
        let behind = c.view_is_behind?;
        let e = c.users.get(user_id)?;
        let valid = match e.bound_to {
            None => !behind,
            Some(bound) => bound == view,
        };
        (valid && !e.row_stale && !e.groups_stale).then(|| f(e.user.as_deref()))
    })?;
    HITS.with(|n| n.set(n.get() + 1));
    Some(answer)
}

/// Apply the keys invalidated since the last lookup: drop the users of a bucket and a group;
/// mark the members of that group, and the users whose own row changed, to be refreshed; drop
/// the unknown ids among the latter (a signup).
fn apply_pending_keys(c: &mut Cache) {
    if PENDING.with(|p| p.borrow().is_empty()) {
        return;
    }
    let keys = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    let mut users = FxHashSet::default();
    let mut rows = FxHashSet::default();
    let mut groups = FxHashSet::default();
    for key in keys {
        match key {
            Key::User(bucket) => users.insert(bucket),
            Key::UserRow(bucket) => rows.insert(bucket),
            Key::Group(bucket) => groups.insert(bucket),
        };
    }
    if let Some(links) = &mut c.links {
        users.iter().for_each(|&bucket| links.forget(bucket));
    }
    let touched = |id: i64| groups.contains(&keys::group_bucket(id));
    if !groups.is_empty() {
        c.groups.retain(|&id, _| !touched(id));
    }
    c.users.apply(&users, &rows, &groups);
    c.view_is_behind = None;
}

/// The invalidation generation of the catalogs, after reading pending invalidations once per
/// statement: it moves whenever a catalog change invalidates everything (not for changes by
/// key: a user's row, memberships or grants). Other per-backend caches (role bindings, signing
/// keys) are valid while it stays put.
pub fn catalog_generation() -> u64 {
    accept_invalidations_when_the_view_moves();
    // A backend that has not loaded a user yet must still recognise the sentinel's
    // invalidations; until it knows it, every invalidation counts as one of everything's for
    // the snapshot checks (see `on_relcache_invalidation`).
    if SENTINEL.with(Cell::get) == pg_sys::InvalidOid {
        SENTINEL.with(|s| s.set(sentinel_oid()));
    }
    INVALIDATIONS.with(Cell::get)
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

/// `authz.cache_sentinel`: the relation whose relcache invalidation means "permission caches are
/// stale". Invalidating it rather than the catalog tables themselves leaves their relcache
/// entries and every plan that reads them intact.
pub fn sentinel_oid() -> pg_sys::Oid {
    unsafe {
        let schema = pg_sys::get_namespace_oid(c"authz".as_ptr(), true);
        if schema == pg_sys::InvalidOid {
            return pg_sys::InvalidOid;
        }
        pg_sys::get_relname_relid(c"cache_sentinel".as_ptr(), schema)
    }
}

/// Read `user_id` (and what it needs: the interned permission strings, its groups) and keep
/// it, unless an invalidation arrived meanwhile; bound to `view` when that view may miss a
/// change already processed. Learns the sentinel first, so that an invalidation arriving during
/// the load is recognised.
fn load_user(user_id: &str, generation: u64, view: Option<View>) -> Result<Option<Rc<UserAuth>>> {
    LOADS.with(|n| n.set(n.get() + 1));
    if SENTINEL.with(Cell::get) == pg_sys::InvalidOid {
        SENTINEL.with(|s| s.set(sentinel_oid()));
    }
    let messages = MESSAGES.with(Cell::get);
    let behind = active_snapshot_misses(&SEEN.with(Cell::get));
    if !behind {
        if let Some(user) = load_everyone_if_due(user_id, generation, view)? {
            return Ok(user);
        }
    }
    let bound_to = view.filter(|_| behind);
    let (catalog, tables) = catalog_for(view, behind)?;
    // Its memberships and direct grants as read with the groups, unless the view may miss a
    // change already processed, or an invalidation arrived since this load began (our own
    // change, processed at the command boundary the snapshot takes, or another session's, at a
    // lock): the tables may then say more than the kept links. Nor once this transaction has
    // changed the link tables: a statement's own change to a user's links is named by its row
    // trigger only at the statement's end, while the snapshot sees it at once.
    let known = if behind || load::links_changed_in_transaction(&tables) {
        load::Known::default()
    } else {
        CACHE.with(|c| {
            c.borrow()
                .links
                .as_ref()
                .map(|l| l.of(user_id))
                .unwrap_or_default()
        })
    };
    let row = load::with_snapshot(|snapshot| {
        let known = if MESSAGES.with(Cell::get) == messages {
            known
        } else {
            load::Known::default()
        };
        load::user(&tables, snapshot, user_id, known)
    })?;
    let user = match row {
        None => None,
        Some(row) => {
            let mut groups = Vec::with_capacity(row.group_ids.len());
            for id in row.group_ids {
                groups.extend(group(&tables, id, behind)?);
            }
            Some(Rc::new(UserAuth {
                is_active: row.is_active,
                is_staff: row.is_staff,
                is_superuser: row.is_superuser,
                perm_ids: row.perm_ids,
                groups: groups.into_boxed_slice(),
                catalog,
            }))
        }
    };
    if MESSAGES.with(Cell::get) == messages && INVALIDATIONS.with(Cell::get) == generation {
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.users.len() >= MAX_CACHED_USERS {
                c.users.clear();
            }
            c.users.insert(user_id, user.clone(), bound_to);
        });
    }
    Ok(user)
}

/// Users read one by one, since the last invalidation of everything, before a backend reads
/// every user at once.
const EVERYONE_AFTER_LOADS: u32 = 256;

/// The user tables are read whole only when each is at most this many pages (8 kB each): 512
/// pages of `users` hold about 50 000 users, read in a few tens of milliseconds.
const MAX_EVERYONE_PAGES: u32 = 512;

/// After [`EVERYONE_AFTER_LOADS`] users read one by one since the last invalidation of
/// everything, read every user at once (once per such invalidation), when the user tables are
/// small: a backend that serves many users (a pool's) pays three heap scans instead of thousands
/// of probes (a tenth of a probe's cost per user), one that serves a few users never pays them.
/// Only under a view that misses nothing. Returns `user_id`'s entry when it read everyone.
fn load_everyone_if_due(
    user_id: &str,
    generation: u64,
    view: Option<View>,
) -> Result<Option<Option<Rc<UserAuth>>>> {
    let due = CACHE.with(|c| {
        let mut c = c.borrow_mut();
        c.loads_since_full = c.loads_since_full.saturating_add(1);
        let due = !c.everyone_tried && c.loads_since_full > EVERYONE_AFTER_LOADS;
        c.everyone_tried |= due;
        due
    });
    if !due {
        return Ok(None);
    }
    EVERYONE_LOADS.with(|n| n.set(n.get() + 1));
    let messages = MESSAGES.with(Cell::get);
    let (catalog, tables) = catalog_for(view, false)?;
    let rows =
        load::with_snapshot(|snapshot| load::all_users(&tables, snapshot, MAX_EVERYONE_PAGES))?;
    let Some(rows) = rows.filter(|rows| rows.len() < MAX_CACHED_USERS) else {
        return Ok(None);
    };
    let mut users = Vec::with_capacity(rows.len());
    for (id, row) in rows {
        let mut groups = Vec::with_capacity(row.group_ids.len());
        for group_id in row.group_ids {
            groups.extend(group(&tables, group_id, false)?);
        }
        let user = UserAuth {
            is_active: row.is_active,
            is_staff: row.is_staff,
            is_superuser: row.is_superuser,
            perm_ids: row.perm_ids,
            groups: groups.into_boxed_slice(),
            catalog: catalog.clone(),
        };
        users.push((id, Rc::new(user)));
    }
    if MESSAGES.with(Cell::get) != messages || INVALIDATIONS.with(Cell::get) != generation {
        return Ok(None);
    }
    Ok(Some(CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let mut found = None;
        for (id, user) in users {
            if id == user_id {
                found = Some(user.clone());
            }
            c.users.insert(&id, Some(user), None);
        }
        if found.is_none() {
            c.users.insert(user_id, None, None);
        }
        found
    })))
}

/// Refresh `old`, the entry of `user_id`: read its own row again when `row` (it changed), take
/// its groups again from the group layer when `groups` (one changed: that one is read again,
/// once for all its members); its memberships and direct grants did not change. Kept unless an
/// invalidation arrived meanwhile. A view that may miss a change already processed reads the
/// whole user instead (see `load_user`).
fn refresh(
    user_id: &str,
    old: &UserAuth,
    row: bool,
    groups: bool,
    generation: u64,
    view: Option<View>,
) -> Result<Option<Rc<UserAuth>>> {
    if active_snapshot_misses(&SEEN.with(Cell::get)) {
        return load_user(user_id, generation, view);
    }
    let messages = MESSAGES.with(Cell::get);
    let (catalog, tables) = catalog_for(view, false)?;
    let flags = if row {
        ROW_LOADS.with(|n| n.set(n.get() + 1));
        load::with_snapshot(|snapshot| load::user_flags(&tables, snapshot, user_id))?
    } else {
        Some((old.is_active, old.is_staff, old.is_superuser))
    };
    let groups = if groups {
        let mut fresh = Vec::with_capacity(old.groups.len());
        for kept in old.groups.iter() {
            fresh.extend(group(&tables, kept.id, false)?);
        }
        fresh.into_boxed_slice()
    } else {
        old.groups.clone()
    };
    let user = flags.map(|(is_active, is_staff, is_superuser)| {
        Rc::new(UserAuth {
            is_active,
            is_staff,
            is_superuser,
            perm_ids: old.perm_ids.clone(),
            groups,
            catalog,
        })
    });
    if MESSAGES.with(Cell::get) == messages && INVALIDATIONS.with(Cell::get) == generation {
        CACHE.with(|c| c.borrow_mut().users.insert(user_id, user.clone(), None));
    }
    Ok(user)
}

/// The interned permission strings valid for `view`: the kept ones, or read now (and kept,
/// bound to `view` when it is behind).
fn catalog_for(view: Option<View>, behind: bool) -> Result<(Rc<Catalog>, Tables)> {
    // The groups are kept only from a view that misses no change at all (a group's key
    // included); the permission strings from one that misses no change to everything.
    let groups_too = !behind;
    let behind = behind && active_snapshot_misses(&SEEN_EVERYTHING.with(Cell::get));
    let kept = CACHE.with(|c| {
        c.borrow().catalog.as_ref().and_then(|e| {
            let valid = match e.bound_to {
                None => !behind,
                Some(bound) => Some(bound) == view,
            };
            valid.then(|| (e.catalog.clone(), e.tables))
        })
    });
    if let Some(kept) = kept {
        return Ok(kept);
    }
    CATALOG_LOADS.with(|n| n.set(n.get() + 1));
    let messages = MESSAGES.with(Cell::get);
    let tables = Tables::look_up()?;
    let (catalog, groups, links) = load::with_snapshot(|snapshot| {
        let catalog = load::catalog(&tables, snapshot)?;
        let (groups, links) = if groups_too {
            (
                load::all_groups(&tables, snapshot)?,
                Some(load::all_links(&tables, snapshot)?),
            )
        } else {
            (None, None)
        };
        Ok((Rc::new(catalog), groups, links))
    })?;
    if MESSAGES.with(Cell::get) == messages {
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            c.catalog = Some(CatalogEntry {
                catalog: catalog.clone(),
                tables,
                bound_to: view.filter(|_| behind),
            });
            for group in groups.into_iter().flatten() {
                c.groups.insert(group.id, Some(Rc::new(group)));
            }
            if links.is_some() {
                c.links = links;
            }
        });
    }
    Ok((catalog, tables))
}

/// Group `id`: the kept one, or read now (kept only when the view misses nothing).
fn group(tables: &Tables, id: i64, behind: bool) -> Result<Option<Rc<Group>>> {
    if !behind {
        if let Some(kept) = CACHE.with(|c| c.borrow().groups.get(&id).cloned()) {
            return Ok(kept);
        }
    }
    GROUP_LOADS.with(|n| n.set(n.get() + 1));
    let messages = MESSAGES.with(Cell::get);
    let group = load::with_snapshot(|snapshot| load::group(tables, snapshot, id))?.map(Rc::new);
    if !behind && MESSAGES.with(Cell::get) == messages {
        CACHE.with(|c| c.borrow_mut().groups.insert(id, group.clone()));
    }
    Ok(group)
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

/// Counters of this backend's cache: hits, loads (users read), row loads (a user's flags read
/// again after a change to its row), everyone loads (every user read at once), group and
/// catalog loads, invalidations of everything and
/// by key, users currently cached and the hit rate.
#[pg_extern(volatile, parallel_safe)]
fn cache_stats() -> pgrx::JsonB {
    let cached = CACHE.with(|c| c.borrow().users.len());
    let (hits, loads) = (HITS.with(Cell::get), LOADS.with(Cell::get));
    let row_loads = ROW_LOADS.with(Cell::get);
    let everyone_loads = EVERYONE_LOADS.with(Cell::get);
    let misses = loads + row_loads;
    pgrx::JsonB(serde_json::json!({
        "hits": hits,
        "loads": loads,
        "row_loads": row_loads,
        "everyone_loads": everyone_loads,
        "group_loads": GROUP_LOADS.with(Cell::get),
        "catalog_loads": CATALOG_LOADS.with(Cell::get),
        "invalidations": INVALIDATIONS.with(Cell::get),
        "key_invalidations": KEY_INVALIDATIONS.with(Cell::get),
        "cached_users": cached,
        "hit_rate": if hits + misses == 0 { 0.0 } else { hits as f64 / (hits + misses) as f64 },
    }))
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    fn user_holding(perm_ids: &[i64], group_perm_ids: &[i64]) -> UserAuth {
        let mut catalog = Catalog::default();
        for (id, name) in [
            (1, "shop.view_order"),
            (2, "shop.change_order"),
            (3, "shop.export"),
            (4, "shop.export"),
        ] {
            catalog.name_by_id.insert(id, Rc::from(name));
        }
        catalog
            .ids_by_name
            .insert("shop.view_order".into(), Box::new([1]));
        catalog
            .ids_by_name
            .insert("shop.change_order".into(), Box::new([2]));
        catalog
            .ids_by_name
            .insert("shop.export".into(), Box::new([3, 4]));
        let group = Group {
            id: 9,
            name: "staff".into(),
            perm_ids: group_perm_ids.into(),
        };
        UserAuth {
            is_active: true,
            is_staff: false,
            is_superuser: false,
            perm_ids: perm_ids.into(),
            groups: Box::new([Rc::new(group)]),
            catalog: Rc::new(catalog),
        }
    }

    #[pg_test]
    fn superuser_and_inactive_rules() {
        let mut u = user_holding(&[1], &[]);
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
    fn grants_through_groups_and_strings_of_two_rows() {
        let u = user_holding(&[], &[2, 4]);
        assert!(u.has_perm("shop.change_order"), "through the group");
        assert!(u.has_perm("shop.export"), "either row of the string");
        assert!(!u.has_perm("shop.view_order"));
        assert!(u.has_perm_id(4) && !u.has_perm_id(3));
        assert!(u.in_group("staff") && !u.in_group("other"));
        assert!(u.holds_any_of_app("shop") && !u.holds_any_of_app("blog"));
    }

    #[pg_test]
    fn invalidation_drops_cached_users() {
        Spi::run("INSERT INTO authz.users (id) VALUES ('cache_u1')").unwrap();
        unsafe { pg_sys::CommandCounterIncrement() };
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
