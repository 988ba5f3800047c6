//! Per-backend permission cache: user id → flags and permission set.
//!
//! Filled on first use of a user, one catalog query per user; dropped whenever any catalog row
//! changes. The catalog tables carry a statement trigger (`authz.catalog_changed`) that sends a
//! relcache invalidation for the table; PostgreSQL delivers it to this backend at the next
//! command (our own changes) or the next statement (other sessions' commits, including on hot
//! standbys), and on abort (rolled-back changes). The callback only bumps a counter: looking
//! catalogs up inside an invalidation callback is not allowed. The next check sees the counter
//! moved and starts afresh.

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

#[derive(Default)]
struct Cache {
    /// Value of `INVALIDATIONS` the entries were loaded under.
    generation: u64,
    /// `None` records an unknown user id, so unknown ids cost no query either.
    users: HashMap<String, Option<Rc<UserAuth>>>,
    /// Statement start time of the last lookup, to accept invalidations once per statement.
    last_statement: pg_sys::TimestampTz,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
    /// Bumped by the invalidation callbacks; the cache is valid while it matches `generation`.
    static INVALIDATIONS: Cell<u64> = const { Cell::new(0) };
    /// The oid of `authz.cache_sentinel`, learned at the first load (InvalidOid: not known).
    static SENTINEL: Cell<pg_sys::Oid> = const { Cell::new(pg_sys::InvalidOid) };
    /// Whether this transaction processed an invalidation of the permission caches.
    static CHANGED_IN_XACT: Cell<bool> = const { Cell::new(false) };
    static HITS: Cell<u64> = const { Cell::new(0) };
    static LOADS: Cell<u64> = const { Cell::new(0) };
    /// The prepared, kept plan of `LOAD_USER_SQL`.
    static LOAD_PLAN: RefCell<Option<pgrx::spi::OwnedPreparedStatement>> = const { RefCell::new(None) };
}

/// Register the invalidation and abort callbacks; called once from `_PG_init`.
pub fn init() {
    // Invalidations processed in this transaction before the library was loaded went unseen.
    CHANGED_IN_XACT.with(|c| c.set(true));
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

#[pg_guard]
unsafe extern "C-unwind" fn on_relcache_invalidation(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    let sentinel = SENTINEL.with(Cell::get);
    if sentinel == pg_sys::InvalidOid {
        // Not learned yet (no load so far, or just reset): this may be ours; a load in this
        // transaction must not outlive it.
        CHANGED_IN_XACT.with(|c| c.set(true));
    }
    if relid == pg_sys::InvalidOid || relid == sentinel {
        invalidate();
        CHANGED_IN_XACT.with(|c| c.set(true));
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
    let aborted = event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT;
    let ended = aborted
        || event == XACT_EVENT_COMMIT
        || event == XACT_EVENT_PARALLEL_COMMIT
        || event == XACT_EVENT_PREPARE;
    if !ended {
        return;
    }
    // An entry loaded after an invalidation may have been read with a snapshot older than the
    // change (REPEATABLE READ, or a statement snapshot taken just before a commit): good for
    // this transaction, stale after it. Drop such entries when it ends.
    if aborted || CHANGED_IN_XACT.with(Cell::get) {
        invalidate();
    }
    CHANGED_IN_XACT.with(|c| c.set(false));
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
    accept_invalidations_once_per_statement();
    let generation = INVALIDATIONS.with(Cell::get);
    let cached = CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.generation != generation {
            c.users.clear();
            c.generation = generation;
        }
        c.users.get(user_id).cloned()
    });
    let entry = match cached {
        Some(entry) => {
            HITS.with(|n| n.set(n.get() + 1));
            entry
        }
        None => {
            let loaded = load_user(user_id)?.map(Rc::new);
            remember(user_id, generation, loaded.clone());
            loaded
        }
    };
    Ok(f(entry.as_deref()))
}

/// The invalidation generation of the catalogs, after reading pending invalidations once per
/// statement: it moves whenever a catalog row changes. Other per-backend caches (role bindings,
/// signing keys) are valid while it stays put.
pub fn catalog_generation() -> u64 {
    accept_invalidations_once_per_statement();
    // A backend that has not loaded a user yet must still recognise the sentinel's
    // invalidations; until it knows it, every invalidation marks the transaction (see above).
    if SENTINEL.with(Cell::get) == pg_sys::InvalidOid {
        SENTINEL.with(|s| s.set(sentinel_oid()));
    }
    INVALIDATIONS.with(Cell::get)
}

/// Keep a freshly loaded entry, unless an invalidation arrived while it was being read.
fn remember(user_id: &str, generation: u64, entry: Option<Rc<UserAuth>>) {
    if INVALIDATIONS.with(Cell::get) != generation {
        return;
    }
    // Under REPEATABLE READ or SERIALIZABLE the entry was read on the transaction's snapshot,
    // which may be older than changes already processed (SET TRANSACTION SNAPSHOT): keep it
    // for this transaction only.
    if uses_transaction_snapshot() {
        CHANGED_IN_XACT.with(|c| c.set(true));
    }
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.users.len() >= MAX_CACHED_USERS {
            c.users.clear();
        }
        c.users.insert(user_id.to_owned(), entry);
    });
}

/// `IsolationUsesXactSnapshot()`: REPEATABLE READ or SERIALIZABLE.
fn uses_transaction_snapshot() -> bool {
    unsafe { pg_sys::XactIsoLevel >= pg_sys::XACT_REPEATABLE_READ as i32 }
}

/// Other sessions' commits reach this backend when it reads the invalidation queue; PostgreSQL
/// does so at transaction start and when taking a lock. A statement inside an open transaction
/// may take no lock before calling us, so read it ourselves once per statement.
///
/// Once this transaction has processed an invalidation, an entry may have been loaded under a
/// snapshot older than the change (a cursor's, or a statement's that started before the
/// commit): it answers for the statement that loaded it and no longer, so each later statement
/// starts afresh. A transaction that never saw an invalidation keeps its entries: they were
/// read after every change the queue had announced.
fn accept_invalidations_once_per_statement() {
    let now = unsafe { pg_sys::GetCurrentStatementStartTimestamp() };
    let new_statement = CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let new = c.last_statement != now;
        c.last_statement = now;
        new
    });
    if new_statement {
        // Under REPEATABLE READ every statement reads the one transaction snapshot.
        if CHANGED_IN_XACT.with(Cell::get) && !uses_transaction_snapshot() {
            invalidate();
        }
        unsafe { pg_sys::AcceptInvalidationMessages() };
    }
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
