//! Who is asking: `authz.current_user_id`, `authz.set_user`, `authz.set_user_token`.
//!
//! Identity is given to a session, never claimed by it. What a session may say depends on its
//! *session user* (the role it logged in as; `SET ROLE` and `SECURITY DEFINER` do not change it),
//! decided in [`roles`] and cached per backend:
//! - a role bound with `authz.bind_role` always acts as its app user, whatever it sets;
//! - a member of `authz_authenticator` (superusers are members of every role) chooses: the
//!   `authz.user_id` setting (`authz.set_user`), else the `sub` of `request.jwt.claims`;
//! - anyone else is nobody, unless it presents a signed token ([`jwt`]).
//!
//! The settings are read only for authenticator sessions, so no way of writing them (SET,
//! set_config, ALTER ROLE SET, connection options, RESET ALL, values set before the library
//! loaded) gives anyone else an identity. A verified token's subject lives in
//! `authz.verified_user_id`, which only this module can set (see [`jwt`]).

mod jwt;
mod roles;

use std::cell::RefCell;
use std::ffi::{CStr, CString};

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::prelude::*;

use crate::error::AuthzError;
use roles::SessionKind;

static USER_ID: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

const USER_ID_GUC: &CStr = c"authz.user_id";
const JWT_CLAIMS_GUC: &CStr = c"request.jwt.claims";

/// Register the settings and the role invalidation callbacks; called once from `_PG_init`.
pub fn init() {
    GucRegistry::define_string_guc(
        USER_ID_GUC,
        c"The application user on whose behalf an authenticator session acts.",
        c"Set with authz.set_user(); honoured only when the session user is a member of authz_authenticator. Empty means nobody.",
        &USER_ID,
        GucContext::Userset,
        GucFlags::default(),
    );
    jwt::init();
    roles::init();
}

thread_local! {
    /// The last `request.jwt.claims` text parsed and the `sub` found in it, so that a policy
    /// evaluated per row does not parse the same JSON again and again.
    static CLAIMS_MEMO: RefCell<Option<(Vec<u8>, Option<String>)>> = const { RefCell::new(None) };
}

/// The text of a string setting, `None` when unset or empty.
///
/// # Safety
/// `raw` is the current value of a string GUC, valid until the setting changes, which cannot
/// happen during the synchronous call that uses it.
unsafe fn setting_text<'a>(raw: *const std::ffi::c_char) -> Option<&'a str> {
    if raw.is_null() {
        return None;
    }
    let bytes = unsafe { CStr::from_ptr(raw) }.to_bytes();
    (!bytes.is_empty())
        .then(|| std::str::from_utf8(bytes).ok())
        .flatten()
}

thread_local! {
    /// While `authz.explain_row` evaluates policies for a user: that user (`Some(None)`: nobody).
    static EVALUATING_AS: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Run `f` as if this session acted for `user`: `authz.current_user_id()`, and so every check of
/// the current user, answers for it until `f` returns (or unwinds). Only `authz.explain_row`
/// uses it, to evaluate generated policies for a user without acting as that user.
pub fn evaluating_as<R>(user: Option<&str>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Option<String>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            EVALUATING_AS.with(|cell| *cell.borrow_mut() = self.0.take());
        }
    }
    let previous = EVALUATING_AS.with(|cell| cell.replace(Some(user.map(str::to_owned))));
    let _restore = Restore(previous);
    f()
}

/// Run `f` with the current user id, without copying it.
pub fn with_current_user_id<R>(f: impl FnOnce(Option<&str>) -> R) -> R {
    let evaluated = EVALUATING_AS.with(|cell| cell.borrow().clone());
    if let Some(user) = evaluated {
        return f(user.as_deref());
    }
    let kind = roles::session_kind();
    if let SessionKind::Bound(user) = &*kind {
        return f(Some(user));
    }
    if let Some(user) = jwt::verified_user_id() {
        return f(Some(user));
    }
    if *kind != SessionKind::Authenticator {
        return f(None);
    }
    // SAFETY: see setting_text.
    if let Some(user) = unsafe { setting_text(*USER_ID.as_ptr()) } {
        return f(Some(user));
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

/// A `sub` claim as a user id: a non-empty string or an integer (written without fraction or
/// exponent: 42, never 42.0 or 4.2e1, which name nobody). Strings holding a NUL byte are
/// refused: PostgreSQL text would cut them short ("99\u0000junk" must never mean "99").
pub(crate) fn subject_of(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) if !s.is_empty() && !s.contains('\0') => Some(s.clone()),
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// The `sub` claim of a JWT claims document; `None` when absent, empty, unparsable or holding
/// a NUL byte.
fn subject_of_claims(claims: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(claims).ok()?;
    subject_of(value.get("sub")?)
}

/// `GUC_ACTION_LOCAL` or `GUC_ACTION_SET`.
fn guc_action(is_local: bool) -> pg_sys::GucAction::Type {
    if is_local {
        pg_sys::GucAction::GUC_ACTION_LOCAL
    } else {
        pg_sys::GucAction::GUC_ACTION_SET
    }
}

/// Set a string setting as `SET [LOCAL]` would, without a query.
fn set_setting(name: &CStr, value: &CStr, context: pg_sys::GucContext::Type, is_local: bool) {
    unsafe {
        pg_sys::set_config_option(
            name.as_ptr(),
            value.as_ptr(),
            context,
            pg_sys::GucSource::PGC_S_SESSION,
            guc_action(is_local),
            true,
            0,
            false,
        );
    }
}

/// Act as `user_id` for the rest of the transaction (or the session, when `is_local` is false).
/// NULL acts as nobody. Only sessions whose session user is a member of `authz_authenticator`
/// may choose (42501 otherwise); an empty id is refused with 22023.
#[pg_extern(volatile, parallel_unsafe)]
fn set_user(user_id: Option<&str>, is_local: default!(Option<bool>, true)) {
    let is_local = is_local.unwrap_or(true);
    roles::require_authenticator("authz.set_user");
    if user_id == Some("") {
        AuthzError::InvalidArgument("user id must not be empty; pass NULL to act as nobody".into())
            .raise();
    }
    // text cannot hold a NUL byte; refuse one anyway rather than cut the id short.
    let value = CString::new(user_id.unwrap_or("")).unwrap_or_else(|_| {
        AuthzError::InvalidArgument("user id must not contain a NUL byte".into()).raise()
    });
    set_setting(
        USER_ID_GUC,
        &value,
        pg_sys::GucContext::PGC_USERSET,
        is_local,
    );
    // The latest choice wins: a token verified earlier no longer speaks for this session.
    jwt::clear_verified(is_local);
}

/// The app user this session acts for, NULL for nobody: a bound role's user; else the subject of
/// a token verified by `authz.set_user_token`; else, for authenticator sessions only,
/// `authz.user_id` or the `sub` claim of `request.jwt.claims`.
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
        assert_eq!(subject_of_claims(br#"{"sub":-7}"#).as_deref(), Some("-7"));
        assert_eq!(subject_of_claims(br#"{"sub":42.0}"#), None);
        assert_eq!(subject_of_claims(br#"{"sub":1e2}"#), None);
        assert_eq!(subject_of_claims(br#"{"sub":""}"#), None);
        assert_eq!(subject_of_claims(br#"{"sub":null}"#), None);
        assert_eq!(subject_of_claims(br#"{"sub":"99\u0000junk"}"#), None);
        assert_eq!(subject_of_claims(br#"{"role":"x"}"#), None);
        assert_eq!(subject_of_claims(b"not json"), None);
        assert_eq!(subject_of_claims(b""), None);
    }
}
