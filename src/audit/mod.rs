//! The append-only audit log and its one writer, used by `perform_action` and by the statement
//! triggers of `enable_audit`. Ordinary roles cannot write the log, so entries are written with
//! the privileges of its owner, switched to for that one INSERT, the way a SECURITY DEFINER
//! function would, but without lending those privileges to any SQL the caller controls: every
//! value is computed as the caller first and passed as a parameter.

mod queue;
mod transition;
mod triggers;
mod worker;

use std::cell::Cell;

use pgrx::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::cache::with_pinned_search_path;
use crate::error::{AuthzError, Result};
use crate::jsonb::JsonbText;
use crate::privilege::as_extension_owner;

pub use worker::append_autonomously;

/// One audit entry; `None` fields are stored as NULL.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Entry {
    /// Set when the id was taken in advance (`next_entry_id`), so rows can point at it.
    pub id: Option<i64>,
    /// The transaction the entry belongs to; the writing transaction's when `None`.
    pub xid: Option<String>,
    pub app_user: Option<String>,
    pub db_role: Option<String>,
    pub operation: String,
    pub relation: Option<String>,
    pub model: Option<String>,
    pub action: Option<String>,
    pub row_count: Option<i64>,
    pub row_ids: Option<Vec<String>>,
    pub changed_columns: Option<Vec<String>>,
    /// Caller-supplied jsonb, kept exactly as given (never parsed by serde); so are the row
    /// images, which hold any jsonb or numeric an audited table does.
    #[serde(skip)]
    pub params: Option<JsonbText>,
    #[serde(skip)]
    pub outcome: Option<JsonbText>,
    #[serde(skip)]
    pub old_rows: Option<JsonbText>,
    #[serde(skip)]
    pub new_rows: Option<JsonbText>,
    /// The `ACTION` entry of the `perform_action` call that caused this write.
    pub action_id: Option<i64>,
}

thread_local! {
    /// The `perform_action` entry whose handler is running: its id, and the local transaction
    /// and subtransaction it was started in.
    static RUNNING_ACTION: Cell<Option<RunningLink>> = const { Cell::new(None) };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RunningLink {
    id: i64,
    lxid: u32,
    subxact: pg_sys::SubTransactionId,
}

fn local_transaction() -> u32 {
    unsafe { (*pg_sys::MyProc).lxid }
}

/// Register the subtransaction callback that unlinks an action whose subtransaction aborted,
/// and, when pg_authz is preloaded, ask for the audit queue's shared memory; called once from
/// `_PG_init`.
pub fn init() {
    unsafe { pg_sys::RegisterSubXactCallback(Some(on_subxact_event), std::ptr::null_mut()) };
    queue::init();
}

#[pg_guard]
unsafe extern "C-unwind" fn on_subxact_event(
    event: pg_sys::SubXactEvent::Type,
    aborted: pg_sys::SubTransactionId,
    _parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    if event != pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB {
        return;
    }
    // Subtransaction ids grow within a transaction: one started in the aborted subtransaction
    // or below it has an id at least as large.
    RUNNING_ACTION.with(|a| {
        if a.get().is_some_and(|link| link.subxact >= aborted) {
            a.set(None);
        }
    });
}

/// Links the writes made while it lives to action entry `id`, then gives the link back to the
/// action that was running before (an outer `perform_action` whose handler called this one),
/// also when the handler fails. Kept in backend memory, so no SQL can forge the link; tied to
/// the (sub)transaction, so an aborted one cannot leave it set for later writes.
pub struct RunningAction {
    previous: Option<RunningLink>,
}

impl RunningAction {
    pub fn start(id: i64) -> RunningAction {
        let link = RunningLink {
            id,
            lxid: local_transaction(),
            subxact: unsafe { pg_sys::GetCurrentSubTransactionId() },
        };
        RunningAction {
            previous: RUNNING_ACTION.with(|a| a.replace(Some(link))),
        }
    }
}

impl Drop for RunningAction {
    fn drop(&mut self) {
        RUNNING_ACTION.with(|a| a.set(self.previous));
    }
}

/// The action entry the current write belongs to, if any.
pub fn running_action() -> Option<i64> {
    RUNNING_ACTION
        .with(Cell::get)
        .filter(|link| link.lxid == local_transaction())
        .map(|link| link.id)
}

const APPEND_SQL: &str = "\
INSERT INTO authz.audit_log
       (id, xid, app_user, db_role, operation, relation, model, action, row_count, row_ids,
        changed_columns, params, outcome, old_rows, new_rows, action_id)
VALUES (coalesce($1, nextval('authz.audit_log_id_seq')),
        coalesce($2::xid8, pg_current_xact_id()),
        $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
RETURNING id";

/// Append `entry` to the audit log in the current transaction, as the log's owner.
pub fn append(entry: &Entry) -> Result<i64> {
    let raw = |v: &Option<JsonbText>| v.clone();
    let args = [
        entry.id.into(),
        entry.xid.as_deref().into(),
        entry.app_user.as_deref().into(),
        entry.db_role.as_deref().into(),
        entry.operation.as_str().into(),
        entry.relation.as_deref().into(),
        entry.model.as_deref().into(),
        entry.action.as_deref().into(),
        entry.row_count.into(),
        strs(&entry.row_ids).into(),
        strs(&entry.changed_columns).into(),
        raw(&entry.params).into(),
        raw(&entry.outcome).into(),
        raw(&entry.old_rows).into(),
        raw(&entry.new_rows).into(),
        entry.action_id.into(),
    ];
    as_extension_owner(|| {
        Spi::get_one_with_args::<i64>(APPEND_SQL, &args)?
            .ok_or_else(|| AuthzError::Internal("audit entry was not written".into()))
    })
}

/// A text array argument without copying its strings.
fn strs(values: &Option<Vec<String>>) -> Option<Vec<&str>> {
    values
        .as_ref()
        .map(|v| v.iter().map(String::as_str).collect())
}

/// Run `change` (the DDL of `enable_audit`, `disable_audit`, `protect` or `unprotect`) past the
/// tamper guard, and record what it changed as a `CONFIGURE` entry naming the function, the table,
/// the caller and `state` (the settings or spec) before and after. Nothing is recorded when
/// nothing changed, nor while `CREATE EXTENSION` sets up the catalogs' own auditing (a restore's
/// audit ids start there).
pub fn configure<R>(
    function: &str,
    relid: pg_sys::Oid,
    state: impl Fn() -> Result<Option<Value>>,
    change: impl FnOnce() -> Result<R>,
) -> Result<R> {
    let before = state()?;
    let result = crate::guard::generating(change)?;
    let after = state()?;
    if before == after || unsafe { pg_sys::creating_extension } {
        return Ok(result);
    }
    let (db_role, _) = caller()?;
    append(&Entry {
        operation: "CONFIGURE".into(),
        relation: Some(crate::relation::qualified_name(relid)?),
        action: Some(function.to_owned()),
        app_user: crate::identity::with_current_user_id(|u| u.map(str::to_owned)),
        db_role,
        params: Some(crate::jsonb::JsonbText::from_value(
            &serde_json::json!({ "before": before, "after": after }),
        )),
        ..Entry::default()
    })?;
    Ok(result)
}

/// A fresh audit entry id, so that an entry can be referred to before it is written.
pub fn next_entry_id() -> Result<i64> {
    as_extension_owner(|| {
        Spi::get_one::<i64>("SELECT nextval('authz.audit_log_id_seq')")?
            .ok_or_else(|| AuthzError::Internal("audit sequence returned NULL".into()))
    })
}

/// The database role of the caller and its transaction id, as recorded: assigned if need be, so
/// that an entry another transaction writes names it; none on a hot standby, which assigns none.
/// (A read-only query: pgrx's `Spi::get_*` would assign one, which a standby refuses.)
pub fn caller() -> Result<(Option<String>, Option<String>)> {
    let sql = if unsafe { pg_sys::RecoveryInProgress() } {
        "SELECT current_user::text, NULL::text"
    } else {
        "SELECT current_user::text, pg_catalog.pg_current_xact_id()::text"
    };
    with_pinned_search_path(|| {
        Spi::connect(|client| {
            Ok(client
                .select(sql, Some(1), &[])?
                .first()
                .get_two::<String, String>()?)
        })
    })
}
