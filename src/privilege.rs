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
        let (mut saved_user, mut saved_context) = (pg_sys::InvalidOid, 0);
        unsafe {
            pg_sys::GetUserIdAndSecContext(&mut saved_user, &mut saved_context);
            pg_sys::SetUserIdAndSecContext(
                owner,
                saved_context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32,
            );
        }
        let result = f();
        unsafe { pg_sys::SetUserIdAndSecContext(saved_user, saved_context) };
        result
    })
}
