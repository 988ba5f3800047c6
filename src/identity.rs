//! Who is asking: `authz.set_user`, `authz.current_user_id`.
//!
//! The app user id lives in the GUC `authz.user_id` (transaction-local by default, so it is
//! safe behind a transaction-mode pooler). When it is unset or empty, the `sub` claim of
//! `request.jwt.claims` (the PostgREST / Supabase convention) is used. Anything else, including
//! claims that do not parse, means nobody: identity fails closed.

use std::cell::RefCell;
use std::ffi::CStr;

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::prelude::*;

use crate::error::AuthzError;

static USER_ID: GucSetting<Option<std::ffi::CString>> =
    GucSetting::<Option<std::ffi::CString>>::new(None);

const JWT_CLAIMS_GUC: &CStr = c"request.jwt.claims";

/// Register `authz.user_id`; called once from `_PG_init`.
pub fn init() {
    GucRegistry::define_string_guc(
        c"authz.user_id",
        c"The application user on whose behalf this session acts.",
        c"Set with authz.set_user(); read by authz.current_user_id(). Empty means nobody.",
        &USER_ID,
        GucContext::Userset,
        GucFlags::default(),
    );
}

thread_local! {
    /// The last `request.jwt.claims` text parsed and the `sub` found in it, so that a policy
    /// evaluated per row does not parse the same JSON again and again.
    static CLAIMS_MEMO: RefCell<Option<(Vec<u8>, Option<String>)>> = const { RefCell::new(None) };
}

/// Run `f` with the current user id, without copying it when it comes from `authz.user_id`.
pub fn with_current_user_id<R>(f: impl FnOnce(Option<&str>) -> R) -> R {
    // SAFETY: the GUC machinery keeps this pointer valid until the setting changes, which
    // cannot happen while we hold it in this synchronous call.
    let raw = unsafe { *USER_ID.as_ptr() };
    if !raw.is_null() {
        let set = unsafe { CStr::from_ptr(raw) }.to_bytes();
        if !set.is_empty() {
            return f(std::str::from_utf8(set).ok());
        }
    }
    let claims = unsafe { pg_sys::GetConfigOption(JWT_CLAIMS_GUC.as_ptr(), true, false) };
    if claims.is_null() {
        return f(None);
    }
    let claims = unsafe { CStr::from_ptr(claims) }.to_bytes();
    CLAIMS_MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        let fresh = !matches!(&*memo, Some((text, _)) if text.as_slice() == claims);
        if fresh {
            *memo = Some((claims.to_vec(), subject_of_claims(claims)));
        }
        f(memo.as_ref().and_then(|(_, sub)| sub.as_deref()))
    })
}

/// The `sub` claim of a JWT claims document; `None` when absent, empty or unparsable.
fn subject_of_claims(claims: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(claims).ok()?;
    match value.get("sub")? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Act as `user_id` for the rest of the transaction (or the session, when `is_local` is false).
/// NULL acts as nobody. An empty id is refused with 22023.
#[pg_extern(volatile, parallel_unsafe)]
fn set_user(user_id: Option<&str>, is_local: default!(Option<bool>, true)) {
    let is_local = is_local.unwrap_or(true);
    if user_id == Some("") {
        AuthzError::InvalidArgument("user id must not be empty; pass NULL to act as nobody".into())
            .raise();
    }
    // What set_config('authz.user_id', value, is_local) does, without a query.
    let value = std::ffi::CString::new(user_id.unwrap_or("")).unwrap_or_else(|_| {
        AuthzError::InvalidArgument("user id must not contain a NUL byte".into()).raise()
    });
    let action = if is_local {
        pg_sys::GucAction::GUC_ACTION_LOCAL
    } else {
        pg_sys::GucAction::GUC_ACTION_SET
    };
    unsafe {
        pg_sys::set_config_option(
            c"authz.user_id".as_ptr(),
            value.as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            action,
            true,
            0,
            false,
        );
    }
}

/// The app user this session acts for: `authz.user_id` if set, else the `sub` claim of
/// `request.jwt.claims`; NULL when neither names anyone.
#[pg_extern(stable, parallel_safe)]
fn current_user_id() -> Option<String> {
    with_current_user_id(|id| id.map(str::to_owned))
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::subject_of_claims;
    use pgrx::prelude::*;

    #[pg_test]
    fn claims_subject_fails_closed() {
        assert_eq!(subject_of_claims(br#"{"sub":"42"}"#).as_deref(), Some("42"));
        assert_eq!(subject_of_claims(br#"{"sub":42}"#).as_deref(), Some("42"));
        assert_eq!(subject_of_claims(br#"{"sub":""}"#), None);
        assert_eq!(subject_of_claims(br#"{"sub":null}"#), None);
        assert_eq!(subject_of_claims(br#"{"role":"x"}"#), None);
        assert_eq!(subject_of_claims(b"not json"), None);
        assert_eq!(subject_of_claims(b""), None);
    }
}
