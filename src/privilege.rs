//! Acting as the extension's owner for one internal write (audit entries, policy records), the
//! way a SECURITY DEFINER function would, without lending that privilege to caller-controlled SQL:
//! callers compute every value first and pass it as a parameter.

use pgrx::prelude::*;

use crate::cache::with_pinned_search_path;
use crate::error::{AuthzError, Result};

/// Run `f` as the owner of the pg_authz extension, with a pinned search_path. An error unwinds
/// the user switch with the (sub)transaction, as it does for SECURITY DEFINER functions.
pub fn as_extension_owner<R>(f: impl FnOnce() -> Result<R>) -> Result<R> {
    with_pinned_search_path(|| {
        let owner = Spi::get_one::<pg_sys::Oid>(
            "SELECT extowner FROM pg_extension WHERE extname = 'pg_authz'",
        )?
        .ok_or_else(|| AuthzError::Internal("pg_authz is not installed".into()))?;
        as_role(owner, f)
    })
}

/// Run `f` as role `role` (the current user only: the session user, and so who is asking,
/// stay), the way a SECURITY DEFINER function owned by it would. The caller pins search_path.
pub fn as_role<R>(role: pg_sys::Oid, f: impl FnOnce() -> Result<R>) -> Result<R> {
    let _switched = Switched::to(role, pg_sys::SECURITY_LOCAL_USERID_CHANGE);
    f()
}

/// Which rows a table's owner reads inside [`as_table_owner_restricted`].
#[derive(Clone, Copy)]
pub enum OwnerReads {
    /// As any query of the owner's: forced row-level security applies.
    UnderItsPolicies,
    /// Every row, forced row-level security notwithstanding, as PostgreSQL's foreign-key checks
    /// read a referenced table (`SECURITY_NOFORCE_RLS`).
    EveryRow,
}

/// Run `f` as `owner`, a table's owner, inside a security-restricted operation, as PostgreSQL
/// runs a table owner's code for VACUUM or REFRESH MATERIALIZED VIEW: what the owner's code
/// (its casts, functions, types' conversions) runs there acts as the owner, never as the
/// (possibly more privileged) caller; it cannot SET ROLE, create temporary objects or leave a
/// cursor open, and any setting it changes is rolled back when `f` returns. The caller pins
/// search_path.
pub fn as_table_owner_restricted<R>(
    owner: pg_sys::Oid,
    reads: OwnerReads,
    f: impl FnOnce() -> Result<R>,
) -> Result<R> {
    let rls = match reads {
        OwnerReads::UnderItsPolicies => 0,
        OwnerReads::EveryRow => pg_sys::SECURITY_NOFORCE_RLS,
    };
    let _switched = Switched::to(
        owner,
        pg_sys::SECURITY_LOCAL_USERID_CHANGE | pg_sys::SECURITY_RESTRICTED_OPERATION | rls,
    );
    // SAFETY: a nesting level opened and closed around `f`; an error raised in `f` aborts the
    // (sub)transaction, which closes it.
    let level = unsafe { pg_sys::NewGUCNestLevel() };
    let result = f();
    unsafe { pg_sys::AtEOXact_GUC(false, level) };
    result
}

/// The user and security context before a switch, put back when dropped: on return, and on a
/// Rust unwind. (An error raised by PostgreSQL aborts the (sub)transaction, which restores
/// them too.)
struct Switched {
    user: pg_sys::Oid,
    context: i32,
}

impl Switched {
    fn to(role: pg_sys::Oid, flags: u32) -> Switched {
        let (mut user, mut context) = (pg_sys::InvalidOid, 0);
        // SAFETY: plain reads and writes of the backend's current user and security context.
        unsafe {
            pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
            pg_sys::SetUserIdAndSecContext(role, context | flags as i32);
        }
        Switched { user, context }
    }
}

impl Drop for Switched {
    fn drop(&mut self) {
        // SAFETY: see `to`.
        unsafe { pg_sys::SetUserIdAndSecContext(self.user, self.context) };
    }
}
