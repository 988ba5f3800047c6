//! `authz.enable_audit` / `authz.disable_audit` and the triggers they install: one statement
//! trigger per operation reading the transition tables in one pass, so a 100 000-row UPDATE is
//! one audit entry and one notification, and an optional row trigger keeping `updated_at` fresh.

use pgrx::prelude::*;
use pgrx::{PgRelation, PgTrigger, PgTriggerError, PgTriggerOperation};
use serde_json::{json, Value};

use super::{append, caller, transition, Entry};
use crate::cache::with_pinned_search_path;
use crate::error::{self, required_arg, AuthzError, OrRaise};
use crate::identity::with_current_user_id;
use crate::jsonb::JsonbText;
use crate::relation::{qualified_name, Relation};

/// The triggers `enable_audit` creates, by name; `disable_audit` drops exactly these.
const TRIGGER_NAMES: [&str; 5] = [
    "authz_audit_insert",
    "authz_audit_update",
    "authz_audit_delete",
    "authz_audit_truncate",
    "authz_updated_at",
];

/// NOTIFY refuses payloads of 8000 bytes or more.
const MAX_PAYLOAD: usize = 7999;

/// Audit every write to table `relation`: one `authz.audit_log` entry and one NOTIFY on
/// `channel` per statement (INSERT, UPDATE, DELETE, TRUNCATE), bulk included, with the primary
/// keys of the affected rows, the changed columns, and the old and new rows when `row_images`.
/// The notification carries table, operation, count and the entry's id; the keys and the app
/// user only when `notify_ids`, since any role may LISTEN on any channel. When `updated_at`
/// names a timestamptz column, every updated row gets the statement's time.
/// Idempotent: calling it again replaces the previous settings.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn enable_audit(
    relation: Option<PgRelation>,
    channel: default!(Option<&str>, "'authz_audit'"),
    row_images: default!(Option<bool>, false),
    updated_at: default!(Option<&str>, "NULL"),
    notify_ids: default!(Option<bool>, false),
) {
    let relation = required_arg(relation, "relation");
    let settings = Settings {
        channel: channel.unwrap_or("authz_audit").to_owned(),
        row_images: row_images.unwrap_or(false),
        notify_ids: notify_ids.unwrap_or(false),
    };
    let relid = relation.oid();
    super::configure(
        "enable_audit",
        relid,
        || current_settings(relid),
        || install(&relation, &settings, updated_at),
    )
    .or_raise();
}

/// The table's row of `authz.audited_relations`, as JSON; `None` when it is not audited.
fn current_settings(relid: pg_sys::Oid) -> error::Result<Option<Value>> {
    Ok(Spi::get_one_with_args::<pgrx::JsonB>(
        "SELECT (SELECT pg_catalog.to_jsonb(a) OPERATOR(pg_catalog.-) 'relation'
                   FROM authz.audited_relations a
                  WHERE a.relation OPERATOR(pg_catalog.=) $1::oid::regclass)",
        &[relid.into()],
    )?
    .map(|j| j.0))
}

/// What `enable_audit` was asked for, stored as the statement triggers' arguments.
struct Settings {
    channel: String,
    row_images: bool,
    /// Whether notifications name the affected keys and the app user.
    notify_ids: bool,
}

impl Settings {
    fn trigger_args(&self) -> String {
        let flag = |on: bool| if on { "true" } else { "false" };
        [
            self.channel.as_str(),
            flag(self.row_images),
            flag(self.notify_ids),
        ]
        .map(pgrx::spi::quote_literal)
        .join(", ")
    }

    fn of_trigger(args: &[String]) -> Settings {
        Settings {
            channel: args
                .first()
                .cloned()
                .unwrap_or_else(|| "authz_audit".into()),
            row_images: args.get(1).is_some_and(|a| a == "true"),
            notify_ids: args.get(2).is_some_and(|a| a == "true"),
        }
    }
}

/// Stop auditing `relation`: drop the triggers `enable_audit` created (and nothing else).
/// Returns whether there was anything to drop.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn disable_audit(relation: Option<PgRelation>) -> bool {
    let relation = required_arg(relation, "relation");
    let relid = relation.oid();
    super::configure(
        "disable_audit",
        relid,
        || current_settings(relid),
        || drop_triggers(relid),
    )
    .or_raise()
}

fn install(
    relation: &PgRelation,
    settings: &Settings,
    updated_at: Option<&str>,
) -> error::Result<()> {
    let channel = settings.channel.as_str();
    let table = Relation::load(relation.oid())?.require_table("audited")?;
    if table.primary_key().next().is_none() {
        return Err(AuthzError::InvalidArgument(format!(
            "table {} has no primary key: audit entries identify rows by it",
            table.name
        )));
    }
    let name = &table.name;
    if channel.is_empty() || channel.len() >= pg_sys::NAMEDATALEN as usize {
        return Err(AuthzError::InvalidArgument(format!(
            "invalid notify channel \"{channel}\": it must have 1 to {} bytes",
            pg_sys::NAMEDATALEN - 1
        )));
    }
    if let Some(column) = updated_at {
        check_updated_at_column(&table, column)?;
    }
    drop_triggers(relation.oid())?;
    let args = settings.trigger_args();
    let statements = [
        (
            "authz_audit_insert",
            "AFTER INSERT",
            "REFERENCING NEW TABLE AS authz_new",
        ),
        (
            "authz_audit_update",
            "AFTER UPDATE",
            "REFERENCING OLD TABLE AS authz_old NEW TABLE AS authz_new",
        ),
        (
            "authz_audit_delete",
            "AFTER DELETE",
            "REFERENCING OLD TABLE AS authz_old",
        ),
        ("authz_audit_truncate", "AFTER TRUNCATE", ""),
    ];
    for (trigger, event, transition) in statements {
        Spi::run(&format!(
            "CREATE TRIGGER {trigger} {event} ON {name} {transition}
             FOR EACH STATEMENT EXECUTE FUNCTION authz.audit_statement({args})"
        ))?;
    }
    if let Some(column) = updated_at {
        Spi::run(&format!(
            "CREATE TRIGGER authz_updated_at BEFORE UPDATE ON {name}
             FOR EACH ROW EXECUTE FUNCTION authz.touch_updated_at({})",
            pgrx::spi::quote_literal(column)
        ))?;
    }
    Ok(())
}

fn check_updated_at_column(table: &Relation, column: &str) -> error::Result<()> {
    match table.column(column).map(|c| c.type_name.as_str()) {
        None => Err(AuthzError::UndefinedColumn(format!(
            "column \"{column}\" of relation {} does not exist",
            table.name
        ))),
        Some("timestamp with time zone") => Ok(()),
        Some(other) => Err(AuthzError::InvalidArgument(format!(
            "column \"{column}\" of relation {} is {other}, not timestamp with time zone",
            table.name
        ))),
    }
}

fn drop_triggers(relid: pg_sys::Oid) -> error::Result<bool> {
    let name = qualified_name(relid)?;
    let existing = Spi::get_one_with_args::<Vec<String>>(
        "SELECT array_agg(tgname::text) FROM pg_trigger WHERE tgrelid = $1 AND tgname = ANY ($2)",
        &[
            relid.into(),
            TRIGGER_NAMES.map(String::from).to_vec().into(),
        ],
    )?
    .unwrap_or_default();
    for trigger in &existing {
        Spi::run(&format!(
            "DROP TRIGGER {} ON {name}",
            pgrx::spi::quote_identifier(trigger)
        ))?;
    }
    Ok(!existing.is_empty())
}

/// Statement trigger installed by `enable_audit`: one audit entry and one notification for the
/// whole statement, read from its transition tables.
#[pg_trigger]
fn audit_statement<'a>(
    trigger: &'a PgTrigger<'a>,
) -> std::result::Result<Option<PgHeapTuple<'a, pgrx::AllocatedByRust>>, PgTriggerError> {
    let settings = Settings::of_trigger(&trigger.extra_args()?);
    let op = trigger.op()?;
    require_installed_shape(trigger, &op).or_raise();
    record_statement(trigger, op, &settings).or_raise();
    Ok(None)
}

/// The statement trigger must have the shape `enable_audit` gives it (an AFTER statement trigger
/// with the transition tables of its operation); anything else attaching the function is refused
/// rather than read through a missing table.
fn require_installed_shape(trigger: &PgTrigger, op: &PgTriggerOperation) -> error::Result<()> {
    let data = trigger.trigger_data();
    let tables_present = match op {
        PgTriggerOperation::Insert => !data.tg_newtable.is_null(),
        PgTriggerOperation::Update => !data.tg_oldtable.is_null() && !data.tg_newtable.is_null(),
        PgTriggerOperation::Delete => !data.tg_oldtable.is_null(),
        PgTriggerOperation::Truncate => true,
    };
    let after_statement = matches!(trigger.when(), Ok(pgrx::PgTriggerWhen::After))
        && matches!(trigger.level(), pgrx::PgTriggerLevel::Statement);
    if after_statement && tables_present {
        return Ok(());
    }
    Err(AuthzError::InvalidArgument(
        "authz.audit_statement() runs only as the trigger authz.enable_audit creates: \
         AFTER ... FOR EACH STATEMENT, with the transition tables of its operation"
            .into(),
    ))
}

fn record_statement(
    trigger: &PgTrigger,
    op: PgTriggerOperation,
    settings: &Settings,
) -> error::Result<()> {
    let relid = trigger
        .relid()
        .map_err(|e| AuthzError::Internal(e.to_string()))?;
    let operation = match op {
        PgTriggerOperation::Insert => "INSERT",
        PgTriggerOperation::Update => "UPDATE",
        PgTriggerOperation::Delete => "DELETE",
        PgTriggerOperation::Truncate => "TRUNCATE",
    };
    if superuser_copy() {
        return Ok(());
    }
    let (db_role, _) = caller()?;
    let table = with_pinned_search_path(|| Relation::load(relid))?;
    let mut entry = Entry {
        operation: operation.into(),
        relation: Some(table.name.clone()),
        app_user: with_current_user_id(|u| u.map(str::to_owned)),
        db_role,
        action_id: super::running_action(),
        ..Entry::default()
    };
    if !matches!(op, PgTriggerOperation::Truncate) {
        summarize(trigger, &table, op, settings.row_images, &mut entry)?;
        if entry.row_count == Some(0) {
            // A statement that changed no row (a no-op ON CONFLICT, an empty WHERE) is no news.
            return Ok(());
        }
    }
    let id = append(&entry)?;
    Spi::run_with_args(
        "SELECT pg_catalog.pg_notify($1, $2)",
        &[
            settings.channel.as_str().into(),
            notification(&entry, id, settings.notify_ids).into(),
        ],
    )?;
    Ok(())
}

/// Whether the running statement is a superuser's COPY FROM, the way pg_restore and plain-format
/// dumps load tables: it writes no audit entry and skips the readonly-column checks (the rows come
/// from a dump of a database where they were checked and audited).
#[pg_extern(volatile, parallel_safe)]
fn restoring() -> bool {
    superuser_copy()
}

/// Whether the statement is a superuser's COPY FROM: what pg_restore and a plain-format dump run
/// to load tables (pg_authz's catalogs and audited tables alike). It writes no audit entry: the
/// dump brings the original entries back, with their ids, and a restore's own entries would take
/// those ids first. A superuser can skip auditing anyway (session_replication_role = replica).
fn superuser_copy() -> bool {
    // SAFETY: ActivePortal is the portal running the top-level statement, or null.
    unsafe {
        let portal = pg_sys::ActivePortal;
        pg_sys::superuser()
            && !portal.is_null()
            && (*portal).commandTag == pg_sys::CommandTag::CMDTAG_COPY
    }
}

/// Fill in the entry's rows: count, keys and changed columns from one pass over the transition
/// tables, and the row images, when asked, with a query run as the writing role.
fn summarize(
    trigger: &PgTrigger,
    table: &Relation,
    op: PgTriggerOperation,
    row_images: bool,
    entry: &mut Entry,
) -> error::Result<()> {
    if table.primary_key().next().is_none() {
        return Err(AuthzError::SchemaChanged(format!(
            "audited table {name} has no primary key any more: audit entries identify rows by it; \
             add one back, or stop auditing it with authz.disable_audit('{name}')",
            name = table.name
        )));
    }
    let data = trigger.trigger_data();
    // SAFETY: the trigger manager passes a valid relation for the duration of the call.
    let relation = unsafe { &*data.tg_relation };
    let summary = match op {
        PgTriggerOperation::Update => {
            transition::summarize_update(data.tg_oldtable, data.tg_newtable, relation, table)?
        }
        PgTriggerOperation::Insert => {
            transition::summarize_rows(data.tg_newtable, relation, table)?
        }
        _ => transition::summarize_rows(data.tg_oldtable, relation, table)?,
    };
    entry.row_count = Some(summary.row_count);
    entry.row_ids = Some(summary.row_ids);
    entry.changed_columns = summary.changed_columns;
    if row_images && summary.row_count > 0 {
        let (old, new) = row_images_of(trigger, op)?;
        entry.old_rows = old;
        entry.new_rows = new;
    }
    Ok(())
}

/// The old and new rows of the statement as JSON arrays (NULL where the operation has none),
/// as jsonb's own text: any depth and any number a column holds is kept exactly.
fn row_images_of(
    trigger: &PgTrigger,
    op: PgTriggerOperation,
) -> error::Result<(Option<JsonbText>, Option<JsonbText>)> {
    let image = |table: &str| format!("(SELECT jsonb_agg(to_jsonb(x)) FROM {table} x)");
    let (old, new) = match op {
        PgTriggerOperation::Update => (image("authz_old"), image("authz_new")),
        PgTriggerOperation::Insert => ("NULL::jsonb".into(), image("authz_new")),
        _ => (image("authz_old"), "NULL::jsonb".into()),
    };
    with_pinned_search_path(|| {
        Spi::connect(|client| {
            let data =
                trigger.trigger_data() as *const pg_sys::TriggerData as *mut pg_sys::TriggerData;
            unsafe { pg_sys::SPI_register_trigger_data(data) };
            let row = client
                .select(&format!("SELECT {old}, {new}"), Some(1), &[])?
                .first();
            Ok((row.get::<JsonbText>(1)?, row.get::<JsonbText>(2)?))
        })
    })
}

/// The NOTIFY payload: table, operation, count and the audit and action entry ids; with
/// `with_ids`, also the actor and the affected ids when they fit under PostgreSQL's 8000-byte
/// limit (else `ids_omitted`; the entry holds them all). Never column values: any role may
/// LISTEN on any channel, and keys are column values too. Any role may also NOTIFY on any
/// channel: a listener trusts the entry `audit_id` names in `authz.audit_log`, which only
/// pg_authz writes, not the payload.
fn notification(entry: &Entry, audit_id: i64, with_ids: bool) -> String {
    let mut payload = json!({
        "table": entry.relation, "operation": entry.operation, "count": entry.row_count,
        "audit_id": audit_id, "action_id": entry.action_id,
    });
    if !with_ids {
        return payload.to_string();
    }
    payload["actor"] = json!(entry.app_user);
    let base = payload.to_string();
    if let Some(ids) = &entry.row_ids {
        let estimate: usize =
            base.len() + 10 + ids.iter().map(|id| id.len() * 2 + 3).sum::<usize>();
        let with_ids = (estimate <= MAX_PAYLOAD)
            .then(|| {
                payload["ids"] = json!(ids);
                payload.to_string()
            })
            .filter(|text| text.len() <= MAX_PAYLOAD);
        if let Some(text) = with_ids {
            return text;
        }
        if let Value::Object(map) = &mut payload {
            map.remove("ids");
            map.insert("ids_omitted".into(), json!(true));
        }
    }
    payload.to_string()
}

/// Row trigger installed by `enable_audit(..., updated_at => column)`: every updated row gets
/// the statement's start time, so dashboards ordered by it see bulk changes.
#[pg_trigger]
fn touch_updated_at<'a>(
    trigger: &'a PgTrigger<'a>,
) -> std::result::Result<
    Option<PgHeapTuple<'a, pgrx::AllocatedByRust>>,
    pgrx::heap_tuple::PgHeapTupleError,
> {
    let column = trigger
        .extra_args()
        .unwrap_or_default()
        .into_iter()
        .next()
        .unwrap_or_default();
    let Some(new) = trigger.new() else {
        return Ok(None);
    };
    let mut new = new.into_owned();
    let now = unsafe { pg_sys::GetCurrentStatementStartTimestamp() };
    let now = pgrx::datum::TimestampWithTimeZone::try_from(now).unwrap_or_else(|_| {
        AuthzError::Internal("statement timestamp out of range".into()).raise()
    });
    new.set_by_name(&column, now).unwrap_or_else(|_| {
        let table = trigger
            .relid()
            .ok()
            .and_then(|oid| qualified_name(oid).ok())
            .unwrap_or_default();
        AuthzError::SchemaChanged(format!(
            "audited table {table} has no timestamptz column \"{column}\" any more to keep updated: \
             call authz.enable_audit again with its new updated_at column, or without one"
        ))
        .raise()
    });
    Ok(Some(new))
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    #[pg_test]
    fn payloads_stay_under_the_notify_limit() {
        let few = Entry {
            operation: "UPDATE".into(),
            row_count: Some(2),
            row_ids: Some(vec!["1".into(), "2".into()]),
            ..Entry::default()
        };
        let text = notification(&few, 7, true);
        assert!(text.contains(r#""ids":["1","2"]"#), "{text}");
        let text = notification(&few, 7, false);
        assert!(!text.contains("ids") && !text.contains("actor"), "{text}");
        let ids: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
        let many = Entry {
            operation: "UPDATE".into(),
            row_count: Some(100_000),
            row_ids: Some(ids),
            ..Entry::default()
        };
        let text = notification(&many, 8, true);
        assert!(
            text.len() <= MAX_PAYLOAD && text.contains(r#""ids_omitted":true"#),
            "{text}"
        );
    }
}
