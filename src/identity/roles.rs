//! What the session user may say about identity: bound to one app user (`authz.bind_role`), an
//! authenticator (member of `authz_authenticator`), or nobody.
//!
//! Decided once per backend and kept until something that could change the answer happens: a
//! change to roles or memberships (syscache callbacks on `pg_authid` and `pg_auth_members`), a
//! change to `authz.bound_roles` (its `catalog_changed` trigger moves the catalog generation), or
//! a different session user (`SET SESSION AUTHORIZATION`). The hot path is two counter
//! comparisons.

use std::cell::{Cell, RefCell};
use std::ffi::CStr;
use std::rc::Rc;

use pgrx::prelude::*;

use crate::cache::{catalog_generation, with_pinned_search_path};
use crate::catalog::first_value;
use crate::error::{AuthzError, OrRaise, Result};

/// The role whose members may act for any app user.
pub const AUTHENTICATOR: &CStr = c"authz_authenticator";

/// What the session user may say about who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionKind {
    /// Neither bound nor an authenticator: nobody, unless it presents a signed token.
    Nobody,
    /// A member of `authz_authenticator` (superusers included): chooses the app user.
    Authenticator,
    /// Bound with `authz.bind_role`: always this app user.
    Bound(String),
}

struct Decided {
    session_user: pg_sys::Oid,
    catalogs: u64,
    roles: u64,
    kind: Rc<SessionKind>,
}

thread_local! {
    static DECIDED: RefCell<Option<Decided>> = const { RefCell::new(None) };
    /// Bumped by the syscache callbacks on roles and memberships.
    static ROLE_CHANGES: Cell<u64> = const { Cell::new(0) };
}

/// Register the role and membership invalidation callbacks; called once from `_PG_init`.
pub fn init() {
    unsafe {
        for cache in [
            pg_sys::SysCacheIdentifier::AUTHOID,
            pg_sys::SysCacheIdentifier::AUTHMEMMEMROLE,
        ] {
            pg_sys::CacheRegisterSyscacheCallback(
                cache as i32,
                Some(on_role_change),
                pg_sys::Datum::from(0),
            );
        }
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn on_role_change(_arg: pg_sys::Datum, _cache: i32, _hash: u32) {
    ROLE_CHANGES.with(|n| n.set(n.get().wrapping_add(1)));
}

/// What this session's session user may say about identity.
pub fn session_kind() -> Rc<SessionKind> {
    let catalogs = catalog_generation();
    let roles = ROLE_CHANGES.with(Cell::get);
    let session_user = unsafe { pg_sys::GetSessionUserId() };
    let cached = DECIDED.with(|d| match &*d.borrow() {
        Some(d) if d.session_user == session_user && d.catalogs == catalogs && d.roles == roles => {
            Some(d.kind.clone())
        }
        _ => None,
    });
    if let Some(kind) = cached {
        return kind;
    }
    let kind = Rc::new(decide(session_user).or_raise());
    // Keep it unless an invalidation arrived while deciding.
    if catalog_generation() == catalogs && ROLE_CHANGES.with(Cell::get) == roles {
        DECIDED.with(|d| {
            *d.borrow_mut() = Some(Decided {
                session_user,
                catalogs,
                roles,
                kind: kind.clone(),
            })
        });
    }
    kind
}

fn decide(session_user: pg_sys::Oid) -> Result<SessionKind> {
    if session_user == pg_sys::InvalidOid {
        return Ok(SessionKind::Nobody);
    }
    if let Some(user) = binding_of(session_user)? {
        return Ok(SessionKind::Bound(user));
    }
    let authenticator = unsafe { pg_sys::get_role_oid(AUTHENTICATOR.as_ptr(), true) };
    // Membership, not inherited privileges: an authenticator is usually NOINHERIT (PostgREST's
    // is). PostgreSQL makes superusers members of every role, so they are authenticators.
    let member = authenticator != pg_sys::InvalidOid
        && unsafe { pg_sys::is_member_of_role(session_user, authenticator) };
    Ok(if member {
        SessionKind::Authenticator
    } else {
        SessionKind::Nobody
    })
}

/// The app user `role` is bound to, if any. Rows of dropped roles count for nothing, as in the
/// `authz.role_bindings` view.
fn binding_of(role: pg_sys::Oid) -> Result<Option<String>> {
    // Outside a database with pg_authz (or while it is being created), nothing is bound.
    let table = unsafe {
        let schema = pg_sys::get_namespace_oid(c"authz".as_ptr(), true);
        if schema == pg_sys::InvalidOid {
            return Ok(None);
        }
        pg_sys::get_relname_relid(c"bound_roles".as_ptr(), schema)
    };
    if table == pg_sys::InvalidOid {
        return Ok(None);
    }
    with_pinned_search_path(|| {
        Spi::connect(|client| {
            first_value::<String>(client.select(
                "SELECT user_id FROM authz.bound_roles
                  WHERE role OPERATOR(pg_catalog.=) $1::pg_catalog.oid::pg_catalog.regrole
                    AND EXISTS (SELECT FROM pg_catalog.pg_roles r
                                 WHERE r.oid OPERATOR(pg_catalog.=) $1::pg_catalog.oid)",
                Some(1),
                &[role.into()],
            )?)
        })
    })
}

/// The session user's name, for messages.
pub fn session_role_name() -> String {
    unsafe {
        let name = pg_sys::GetUserNameFromId(pg_sys::GetSessionUserId(), true);
        if name.is_null() {
            return "(unknown)".into();
        }
        CStr::from_ptr(name).to_string_lossy().into_owned()
    }
}

fn bound_refusal(what: &str, user: &str) -> AuthzError {
    AuthzError::Denied(format!(
        "{what}: role \"{}\" is bound to app user \"{user}\" (authz.bind_role) and always acts as it",
        session_role_name()
    ))
}

/// Raise 42501 unless the session user may choose the app user.
pub fn require_authenticator(what: &str) {
    match &*session_kind() {
        SessionKind::Authenticator => {}
        SessionKind::Bound(user) => bound_refusal(what, user).raise(),
        SessionKind::Nobody => {
            let role = session_role_name();
            AuthzError::Denied(format!(
                "{what}: role \"{role}\" may not choose the app user; only members of authz_authenticator may \
                 (GRANT authz_authenticator TO \"{role}\"), or bind the role with authz.bind_role, or present a \
                 signed token with authz.set_user_token"
            ))
            .raise()
        }
    }
}

/// Raise 42501 when the session user is bound: a bound role never acts as anyone else.
pub fn refuse_bound(what: &str) {
    if let SessionKind::Bound(user) = &*session_kind() {
        bound_refusal(what, user).raise()
    }
}
