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
    switched_to(role, pg_sys::SECURITY_LOCAL_USERID_CHANGE, f)
}

/// Run `f` as role `role`, a table's owner, inside a security-restricted operation, as
/// PostgreSQL runs a table owner's code for VACUUM or REFRESH MATERIALIZED VIEW: the owner's
/// triggers and functions it reaches cannot SET ROLE, change session state or create
/// temporary objects that would outlive the switch and act on a (possibly more privileged)
/// caller. The caller pins search_path.
pub fn as_restricted_role<R>(role: pg_sys::Oid, f: impl FnOnce() -> Result<R>) -> Result<R> {
    switched_to(
        role,
        pg_sys::SECURITY_LOCAL_USERID_CHANGE | pg_sys::SECURITY_RESTRICTED_OPERATION,
        f,
    )
}

/// Run `f` as `role` with `flags` added to the security context, restoring both after it.
fn switched_to<R>(role: pg_sys::Oid, flags: u32, f: impl FnOnce() -> Result<R>) -> Result<R> {
    let (mut saved_user, mut saved_context) = (pg_sys::InvalidOid, 0);
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut saved_user, &mut saved_context);
        pg_sys::SetUserIdAndSecContext(role, saved_context | flags as i32);
    }
    let result = f();
    unsafe { pg_sys::SetUserIdAndSecContext(saved_user, saved_context) };
    result
}
