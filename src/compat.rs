//! What differs between the PostgreSQL majors pg_authz builds for: one function per
//! difference, chosen by the Cargo feature of the major (`pg15`, `pg18`, as pgrx names them),
//! so that no other module has a `cfg`.

use pgrx::pg_sys;

/// This backend's local transaction id: `PGPROC.lxid`, which PostgreSQL 17 moved to
/// `PGPROC.vxid.lxid`.
///
/// # Safety
/// `MyProc` must be set (it is in every backend past start-up).
pub unsafe fn local_transaction_id() -> pg_sys::LocalTransactionId {
    #[cfg(feature = "pg15")]
    let lxid = (*pg_sys::MyProc).lxid;
    #[cfg(feature = "pg18")]
    let lxid = (*pg_sys::MyProc).vxid.lxid;
    lxid
}

/// The latest completed transaction id (`latestCompletedXid` of the shared transaction state,
/// `ShmemVariableCache`, which PostgreSQL 17 renamed `TransamVariables`); `None` before shared
/// memory is set up.
///
/// # Safety
/// Reads shared memory without its lock: the caller must accept a slightly old value.
pub unsafe fn latest_completed_xid() -> Option<pg_sys::FullTransactionId> {
    #[cfg(feature = "pg15")]
    let shared = pg_sys::ShmemVariableCache;
    #[cfg(feature = "pg18")]
    let shared = pg_sys::TransamVariables;
    (!shared.is_null()).then(|| std::ptr::read_volatile(&(*shared).latestCompletedXid))
}

/// The identity sequence of column `attnum` of `relation`, `InvalidOid` when the relation does
/// not exist or the column is not an identity column. PostgreSQL 17's `getIdentitySequence`
/// takes the open relation instead of its oid.
///
/// # Safety
/// Catalog lookups: call inside a transaction.
pub unsafe fn identity_sequence(relation: pg_sys::Oid, attnum: i16) -> pg_sys::Oid {
    #[cfg(feature = "pg15")]
    let sequence = pg_sys::getIdentitySequence(relation, attnum, true);
    #[cfg(feature = "pg18")]
    let sequence = {
        let lock = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
        let rel = pg_sys::try_relation_open(relation, lock);
        if rel.is_null() {
            return pg_sys::InvalidOid;
        }
        let sequence = pg_sys::getIdentitySequence(rel, attnum, true);
        pg_sys::relation_close(rel, lock);
        sequence
    };
    sequence
}

/// Install `handler` for signal `signal` (`pqsignal`, a macro for `pqsignal_be` in the backend
/// from PostgreSQL 17 on).
///
/// # Safety
/// `handler` must be safe to run as a signal handler.
pub unsafe fn set_signal_handler(
    signal: i32,
    handler: unsafe extern "C-unwind" fn(std::ffi::c_int),
) {
    #[cfg(feature = "pg15")]
    pg_sys::pqsignal(signal, Some(handler));
    #[cfg(feature = "pg18")]
    pg_sys::pqsignal_be(signal, Some(handler));
}

/// The primary key index of an open relation (`InvalidOid` for none). PostgreSQL 18's
/// `RelationGetPrimaryKeyIndex` asks whether a deferrable one will do (ours never is).
///
/// # Safety
/// `relation` must be open.
pub unsafe fn primary_key_index(relation: pg_sys::Relation) -> pg_sys::Oid {
    #[cfg(feature = "pg15")]
    let index = pg_sys::RelationGetPrimaryKeyIndex(relation);
    #[cfg(feature = "pg18")]
    let index = pg_sys::RelationGetPrimaryKeyIndex(relation, false);
    index
}

/// The collation of column `attnum` (1-based) of tuple descriptor `desc`. PostgreSQL 18 keeps
/// the attributes behind `TupleDescAttr` instead of the `attrs` array.
///
/// # Safety
/// `desc` must be valid and have at least `attnum` columns.
pub unsafe fn column_collation(desc: pg_sys::TupleDesc, attnum: i32) -> pg_sys::Oid {
    #[cfg(feature = "pg15")]
    let attribute = (*desc).attrs.as_ptr().add(attnum as usize - 1);
    #[cfg(feature = "pg18")]
    let attribute = pg_sys::TupleDescAttr(desc, attnum - 1);
    (*attribute).attcollation
}
