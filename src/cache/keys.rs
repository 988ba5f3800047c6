//! Invalidation by key: which cached users and groups a catalog row change touches.
//!
//! A signup, a membership change or a grant change must not cost every backend a reload of
//! everything. The row triggers `authz.catalog_rows_changed` on `users` (keyed by user id, kind
//! 'user_row': the user's own row, i.e. its flags), `user_groups`, `user_permissions` (keyed by
//! user id, kind 'user': what the user holds) and `groups`, `group_permissions` (keyed by group
//! id) name the key they touched, and every backend drops only the entries under that key; for
//! a change to a user's row only, it reads that row again and keeps the user's groups and grants.
//!
//! The key travels the way the statement trigger's "everything is stale" does: as a relcache
//! invalidation, so it is transactional (sent at commit, never for a rolled-back change, replayed
//! locally at the next command and on abort), reaches every backend of the database, and is
//! WAL-logged with the commit for hot standbys. PostgreSQL's relcache invalidation carries one
//! relation id and nothing else, so the key is folded into a relation id of a reserved range,
//! `0xFF000000..=0xFFFFFFFF`: bits 22–23 tell what it names (0: what a user holds, 1: a user's
//! row, 2: a group), the low 22 bits are the key's hash (a user id's) or its low bits (a group
//! id's). No relation of ours has such an id; should the OID counter ever hand one to some
//! relation (after four billion OIDs), its relcache entry is rebuilt now and then for nothing,
//! and its own invalidations drop a few of our entries for nothing: both cost time, neither
//! changes an answer. (0.1.0 sends no keys, so no backend of an older build misreads them.)

use std::cell::Cell;
use std::hash::Hasher;

use pgrx::pg_sys;
use pgrx::prelude::*;

/// What one reserved relation id names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// What every user whose id hashes to this bucket holds: its memberships, direct grants (and
    /// row).
    User(u32),
    /// The own row (flags) of every user whose id hashes to this bucket.
    UserRow(u32),
    /// The group whose id has these low bits.
    Group(u32),
}

const RESERVED: u32 = 0xFF00_0000;
const KIND_SHIFT: u32 = 22;
const LOW_BITS: u32 = 0x003F_FFFF;

/// The bucket of user id `id`: the same in every backend and on standbys (FxHash has no seed).
pub fn user_bucket(id: &str) -> u32 {
    let mut hasher = rustc_hash::FxHasher::default();
    hasher.write(id.as_bytes());
    let hash = hasher.finish();
    ((hash >> 32) as u32 ^ hash as u32) & LOW_BITS
}

/// The bucket of group id `id`.
pub fn group_bucket(id: i64) -> u32 {
    (id as u64 as u32) & LOW_BITS
}

impl Key {
    fn relid(self) -> pg_sys::Oid {
        let (kind, bucket) = match self {
            Key::User(bucket) => (0, bucket),
            Key::UserRow(bucket) => (1, bucket),
            Key::Group(bucket) => (2, bucket),
        };
        pg_sys::Oid::from(RESERVED | kind << KIND_SHIFT | bucket)
    }

    /// The key a relcache invalidation of `relid` names, if it is one of ours.
    pub fn of_relid(relid: pg_sys::Oid) -> Option<Key> {
        let bits = u32::from(relid);
        if bits & RESERVED != RESERVED {
            return None;
        }
        let bucket = bits & LOW_BITS;
        match (bits & !RESERVED) >> KIND_SHIFT {
            0 => Some(Key::User(bucket)),
            1 => Some(Key::UserRow(bucket)),
            2 => Some(Key::Group(bucket)),
            _ => None,
        }
    }

    /// Queue the invalidation of this key, sent with the (sub)transaction like any relcache
    /// invalidation. `CacheInvalidateRelcache` reads only the relation's id and whether it is
    /// shared (PostgreSQL 15's inval.c), so a zeroed relation carrying the reserved id stands in.
    fn send(self) {
        unsafe {
            let mut class: pg_sys::FormData_pg_class = std::mem::zeroed();
            class.relisshared = false;
            let mut relation: pg_sys::RelationData = std::mem::zeroed();
            relation.rd_id = self.relid();
            relation.rd_rel = &mut class;
            pg_sys::CacheInvalidateRelcache(&mut relation);
        }
    }
}

/// Keys sent by one transaction before it falls back to invalidating everything: past this, one
/// message is cheaper than many (PostgreSQL deduplicates a transaction's messages by a linear
/// scan, and a backend that falls behind the shared queue resets all its caches anyway).
const MAX_KEYS_PER_TRANSACTION: u32 = 256;

thread_local! {
    /// The local transaction the count below belongs to.
    static TRANSACTION: Cell<u32> = const { Cell::new(0) };
    /// Keys sent by that transaction; past the limit, everything is invalidated instead.
    static SENT: Cell<u32> = const { Cell::new(0) };
    /// The command of that transaction that last invalidated everything in place of keys.
    static EVERYTHING_IN: Cell<Option<pg_sys::CommandId>> = const { Cell::new(None) };
}

/// A subtransaction aborted: the messages it queued are gone with it, the invalidation of
/// everything among them perhaps, so the count starts again (the parent's keys stay sent).
pub fn on_subtransaction_abort() {
    SENT.with(|n| n.set(0));
    EVERYTHING_IN.with(|c| c.set(None));
}

/// Invalidate `key`, or everything once a transaction has touched too many keys. Past the
/// limit, everything is invalidated once per command that changes a key: this backend applies
/// its own messages at the end of each command, so the entries it reads after one such command
/// must be dropped again by the next change (other backends apply them all at commit).
fn invalidate_key(key: Key) {
    let transaction = unsafe { crate::compat::local_transaction_id() };
    if TRANSACTION.with(Cell::get) != transaction {
        TRANSACTION.with(|t| t.set(transaction));
        SENT.with(|n| n.set(0));
        EVERYTHING_IN.with(|c| c.set(None));
    }
    let sent = SENT.with(|n| {
        let sent = n.get().saturating_add(1);
        n.set(sent);
        sent
    });
    if sent <= MAX_KEYS_PER_TRANSACTION {
        return key.send();
    }
    let command = unsafe { pg_sys::GetCurrentCommandId(false) };
    if EVERYTHING_IN.with(Cell::get) != Some(command) {
        EVERYTHING_IN.with(|c| c.set(Some(command)));
        crate::catalog::invalidate_everything();
    }
}

/// The key of one row: `kind` ('user', 'user_row' or 'group') and the value of its key column.
unsafe fn row_key(
    tuple: *mut pg_sys::HeapTupleData,
    desc: pg_sys::TupleDesc,
    attnum: i32,
    kind: &str,
) -> Option<Key> {
    let mut isnull = false;
    let datum = pg_sys::heap_getattr(tuple, attnum, desc, &mut isnull);
    if isnull {
        return None;
    }
    let user = || <&str as FromDatum>::from_datum(datum, false).map(user_bucket);
    match kind {
        "user" => user().map(Key::User),
        "user_row" => user().map(Key::UserRow),
        _ => Some(Key::Group(group_bucket(datum.value() as i64))),
    }
}

/// Row trigger on the user and group catalogs (`AFTER INSERT OR UPDATE OR DELETE ... FOR EACH
/// ROW EXECUTE FUNCTION authz.catalog_rows_changed(kind, key_column)`, kind 'user', 'user_row'
/// or 'group'):
/// invalidates the key of the old and the new row in every backend. Only the catalogs' triggers
/// may run it; called any other way it refuses with SQLSTATE 39P01.
#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn pg_authz_catalog_rows_changed(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    let data = crate::catalog::trigger_data(
        fcinfo,
        "authz.catalog_rows_changed() runs only as the row trigger pg_authz installs on its catalogs",
    );
    let trigger = &*data.tg_trigger;
    let args = if trigger.tgnargs == 2 && !trigger.tgargs.is_null() {
        let arg = |i: usize| {
            std::ffi::CStr::from_ptr(*trigger.tgargs.add(i))
                .to_str()
                .ok()
        };
        arg(0).zip(arg(1))
    } else {
        None
    };
    let row_level = data.tg_event & pg_sys::TRIGGER_EVENT_ROW != 0;
    let Some((kind, column)) =
        args.filter(|(kind, _)| row_level && matches!(*kind, "user" | "user_row" | "group"))
    else {
        ereport!(
            PgLogLevel::ERROR,
            PgSqlErrorCode::ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
            "authz.catalog_rows_changed() needs FOR EACH ROW and two arguments: 'user', 'user_row' or 'group', and the key column"
        );
        unreachable!("ereport of ERROR does not return");
    };
    let desc = (*data.tg_relation).rd_att;
    let name = std::ffi::CString::new(column).unwrap_or_default();
    let attnum = pg_sys::SPI_fnumber(desc, name.as_ptr());
    if attnum <= 0 {
        ereport!(
            PgLogLevel::ERROR,
            PgSqlErrorCode::ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
            format!("authz.catalog_rows_changed(): no column \"{column}\"")
        );
    }
    let old = row_key(data.tg_trigtuple, desc, attnum, kind);
    let is_update = data.tg_event & pg_sys::TRIGGER_EVENT_OPMASK == pg_sys::TRIGGER_EVENT_UPDATE;
    let new = if is_update && !data.tg_newtuple.is_null() {
        row_key(data.tg_newtuple, desc, attnum, kind)
    } else {
        None
    };
    for key in [old, new.filter(|n| Some(*n) != old)].into_iter().flatten() {
        invalidate_key(key);
    }
    pg_sys::Datum::from(0)
}

crate::catalog::v1_function_info!(pg_finfo_pg_authz_catalog_rows_changed);

extension_sql!(
    "CREATE FUNCTION catalog_rows_changed() RETURNS trigger LANGUAGE c
         AS 'MODULE_PATHNAME', 'pg_authz_catalog_rows_changed';",
    name = "catalog_rows_changed",
);

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    #[pg_test]
    fn keys_round_trip_through_relation_ids() {
        for key in [
            Key::User(0),
            Key::User(LOW_BITS),
            Key::UserRow(0),
            Key::UserRow(LOW_BITS),
            Key::Group(7),
            Key::Group(LOW_BITS),
        ] {
            assert_eq!(Key::of_relid(key.relid()), Some(key));
        }
        assert_eq!(Key::of_relid(pg_sys::Oid::from(16384)), None);
        assert_eq!(Key::of_relid(pg_sys::Oid::from(0xFFFF_FFFF)), None);
        assert_eq!(user_bucket("42"), user_bucket(&String::from("42")));
        assert_ne!(user_bucket("42"), user_bucket("43"));
    }
}
