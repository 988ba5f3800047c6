//! Admin actions: declared once (`sync_admin_actions`), listed per user (`allowed_actions`),
//! enforced and audited by the database (`perform_action`). See seeds 003 and 004.

use std::collections::{HashMap, HashSet};

use pgrx::prelude::*;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::audit;
use crate::cache::{self, with_pinned_search_path, UserAuth};
use crate::catalog::{
    ensure_content_type, ensure_permission, first_value, is_identifier, ModelName,
};
use crate::error::{required_arg, AuthzError, OrRaise, Result};
use crate::identity::with_current_user_id;

const FIELDS: [&str; 7] = [
    "model", "codename", "name", "kind", "scope", "handler", "key",
];

/// One entry of the `ADMIN_ACTIONS` list, validated.
#[derive(Debug, Clone, PartialEq)]
struct Declaration {
    model: ModelName,
    key: String,
    codename: Option<String>,
    name: String,
    kind: String,
    scope: String,
    /// The handler as `regprocedure` text, resolved to a function `(text[], jsonb) → jsonb`.
    handler: Option<String>,
}

fn bad(index: usize, field: &str, problem: impl std::fmt::Display) -> AuthzError {
    AuthzError::InvalidArgument(format!(
        "declaration [{index}], field \"{field}\": {problem}"
    ))
}

/// Deserialize one field with serde; `None` when absent.
fn field<T: for<'de> Deserialize<'de>>(
    obj: &Map<String, Value>,
    index: usize,
    name: &str,
) -> Result<Option<T>> {
    obj.get(name)
        .map(|v| serde_json::from_value::<T>(v.clone()).map_err(|e| bad(index, name, e)))
        .transpose()
}

fn required<T: for<'de> Deserialize<'de>>(
    obj: &Map<String, Value>,
    index: usize,
    name: &str,
) -> Result<T> {
    field(obj, index, name)?.ok_or_else(|| bad(index, name, "is missing"))
}

/// `Send notification` → `send_notification`: the key of an action without a codename.
fn key_from_name(name: &str) -> String {
    let mut key = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.ends_with('_') {
            key.push('_');
        }
    }
    key.trim_matches('_').to_owned()
}

fn one_of(index: usize, field: &str, value: String, allowed: &[&str]) -> Result<String> {
    if allowed.contains(&value.as_str()) {
        Ok(value)
    } else {
        Err(bad(
            index,
            field,
            format!("\"{value}\" is not one of {}", allowed.join(", ")),
        ))
    }
}

/// Parse and validate one declaration; resolving the handler is done separately (it reads catalogs).
fn parse_declaration(index: usize, value: &Value) -> Result<Declaration> {
    let obj = value.as_object().ok_or_else(|| {
        AuthzError::InvalidArgument(format!(
            "declaration [{index}] must be a JSON object, got {value}"
        ))
    })?;
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(bad(
            index,
            unknown,
            "is not a known field (expected model, codename, name, kind, scope, handler, key)",
        ));
    }
    let model_text: String = required(obj, index, "model")?;
    let model = ModelName::parse(&model_text).map_err(|e| bad(index, "model", e.message()))?;
    if !obj.contains_key("codename") {
        return Err(bad(
            index,
            "codename",
            "is missing (use null for an action open to all staff)",
        ));
    }
    let codename: Option<String> = field(obj, index, "codename")?.flatten();
    if let Some(code) = &codename {
        if !is_identifier(code) {
            return Err(bad(
                index,
                "codename",
                format!("\"{code}\" is not an identifier"),
            ));
        }
    }
    let name: String = required(obj, index, "name")?;
    if name.trim().is_empty() {
        return Err(bad(index, "name", "must not be empty"));
    }
    let kind = one_of(
        index,
        "kind",
        required(obj, index, "kind")?,
        &["server", "client"],
    )?;
    let scope = one_of(
        index,
        "scope",
        required(obj, index, "scope")?,
        &["bulk", "toolbar"],
    )?;
    let key = match field::<Option<String>>(obj, index, "key")?.flatten() {
        Some(key) => key,
        None => codename.clone().unwrap_or_else(|| key_from_name(&name)),
    };
    if !is_identifier(&key) {
        return Err(bad(index, "key", format!("\"{key}\" is not an identifier")));
    }
    let handler: Option<String> = field::<Option<String>>(obj, index, "handler")?.flatten();
    Ok(Declaration {
        model,
        key,
        codename,
        name,
        kind,
        scope,
        handler,
    })
}

/// Resolve a handler name to `regprocedure` text of a function `(text[], jsonb) returns jsonb`.
fn resolve_handler(index: usize, handler: &str) -> Result<String> {
    let signature = if handler.contains('(') {
        handler.to_owned()
    } else {
        format!("{handler}(text[], jsonb)")
    };
    let found = Spi::get_two_with_args::<String, bool>(
        "SELECT p.oid::regprocedure::text, p.prorettype = 'jsonb'::regtype
           FROM pg_proc p WHERE p.oid = to_regprocedure($1)
            AND p.proargtypes = '1009 3802'::oidvector",
        &[signature.as_str().into()],
    );
    match found {
        Ok((Some(proc), Some(true))) => Ok(proc),
        Ok((Some(proc), _)) => Err(bad(index, "handler", format!("{proc} must return jsonb"))),
        _ => Err(bad(
            index,
            "handler",
            format!("no function {signature}: a handler takes (ids text[], params jsonb) and returns jsonb"),
        )),
    }
}

/// Parse the whole list; nothing is written unless every declaration is valid.
fn parse_declarations(declarations: &Value) -> Result<Vec<Declaration>> {
    let list = declarations.as_array().ok_or_else(|| {
        AuthzError::InvalidArgument(format!(
            "declarations must be a JSON array of objects, got {declarations}"
        ))
    })?;
    let mut parsed: Vec<Declaration> = Vec::with_capacity(list.len());
    let mut seen: HashMap<(String, String, String), usize> = HashMap::new();
    for (index, value) in list.iter().enumerate() {
        let mut decl = parse_declaration(index, value)?;
        if let Some(handler) = &decl.handler {
            decl.handler = Some(resolve_handler(index, handler)?);
        }
        let id = (
            decl.model.app_label.clone(),
            decl.model.model.clone(),
            decl.key.clone(),
        );
        if let Some(first) = seen.insert(id, index) {
            return Err(bad(
                index,
                "key",
                format!(
                    "duplicate key \"{}\" for model {}.{} (also at [{first}])",
                    decl.key, decl.model.app_label, decl.model.model
                ),
            ));
        }
        parsed.push(decl);
    }
    Ok(parsed)
}

/// What a sync did, as reported to the caller.
#[derive(Default)]
struct SyncReport {
    created: Vec<String>,
    updated: Vec<String>,
    unchanged: Vec<String>,
    pruned: Vec<String>,
    permissions_created: Vec<String>,
    permissions_kept: Vec<String>,
}

impl SyncReport {
    fn note(list: &mut Vec<String>, verb: &str, what: String) {
        notice!("{verb} {what}");
        list.push(what);
    }

    fn to_json(&self) -> Value {
        json!({
            "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
            "pruned": self.pruned, "permissions_created": self.permissions_created,
            "permissions_kept": self.permissions_kept,
        })
    }
}

/// Write one declaration: content type, permission, action row.
fn sync_one(position: usize, decl: &Declaration, report: &mut SyncReport) -> Result<()> {
    let ct = ensure_content_type(&decl.model, None)?;
    let label = format!("{}.{}:{}", decl.model.app_label, decl.model.model, decl.key);
    let permission_id = match &decl.codename {
        Some(code) => {
            let (id, created) = ensure_permission(ct, code, &decl.name)?;
            if created {
                SyncReport::note(
                    &mut report.permissions_created,
                    "created permission",
                    format!(
                        "{}.{code} ({}.{})",
                        decl.model.app_label, decl.model.app_label, decl.model.model
                    ),
                );
            }
            Some(id)
        }
        None => None,
    };
    let args = [
        ct.into(),
        decl.key.as_str().into(),
        decl.codename.as_deref().into(),
        permission_id.into(),
        decl.name.as_str().into(),
        decl.kind.as_str().into(),
        decl.scope.as_str().into(),
        decl.handler.as_deref().into(),
        (position as i32).into(),
    ];
    let outcome = Spi::get_one_with_args::<String>(
        "WITH old AS (SELECT * FROM authz.actions WHERE content_type_id = $1 AND key = $2),
              ins AS (INSERT INTO authz.actions
                             (content_type_id, key, codename, permission_id, name, kind, scope, handler, position)
                      SELECT $1, $2, $3, $4, $5, $6, $7, $8::regprocedure, $9
                       WHERE NOT EXISTS (SELECT 1 FROM old)
                      RETURNING 'created'),
              upd AS (UPDATE authz.actions a
                         SET codename = $3, permission_id = $4, name = $5, kind = $6, scope = $7,
                             handler = $8::regprocedure, position = $9
                        FROM old
                       WHERE a.id = old.id
                         AND (old.codename, old.permission_id, old.name, old.kind, old.scope, old.handler, old.position)
                             IS DISTINCT FROM ($3, $4, $5, $6, $7, $8::regprocedure, $9)
                      RETURNING 'updated')
         SELECT coalesce((SELECT * FROM ins), (SELECT * FROM upd), 'unchanged')",
        &args,
    )?;
    match outcome.as_deref() {
        Some("created") => SyncReport::note(&mut report.created, "created action", label),
        Some("updated") => SyncReport::note(&mut report.updated, "updated action", label),
        _ => report.unchanged.push(label),
    }
    Ok(())
}

/// Delete actions no longer declared; their permissions go too unless still granted or used.
fn prune(declared: &[Declaration], report: &mut SyncReport) -> Result<()> {
    let keep: Vec<String> = declared
        .iter()
        .map(|d| format!("{}.{}:{}", d.model.app_label, d.model.model, d.key))
        .collect();
    let gone = Spi::connect_mut(|client| -> Result<Vec<(String, Option<i64>)>> {
        let rows = client.update(
            "DELETE FROM authz.actions a USING authz.content_types ct
              WHERE ct.id = a.content_type_id
                AND ct.app_label || '.' || ct.model || ':' || a.key <> ALL ($1)
             RETURNING ct.app_label || '.' || ct.model || ':' || a.key, a.permission_id",
            None,
            &[keep.into()],
        )?;
        let mut out = Vec::new();
        for row in rows {
            out.push((
                row.get::<String>(1)?.unwrap_or_default(),
                row.get::<i64>(2)?,
            ));
        }
        Ok(out)
    })?;
    for (label, permission_id) in gone {
        SyncReport::note(&mut report.pruned, "pruned action", label);
        if let Some(id) = permission_id {
            prune_permission(id, report)?;
        }
    }
    Ok(())
}

fn prune_permission(permission_id: i64, report: &mut SyncReport) -> Result<()> {
    let row = Spi::connect(|client| -> Result<Option<(String, i64, i64, i64, bool)>> {
        let rows = client.select(
            "SELECT ct.app_label || '.' || p.codename || ' (' || ct.app_label || '.' || ct.model || ')',
                    (SELECT count(*) FROM authz.group_permissions WHERE permission_id = p.id),
                    (SELECT count(*) FROM authz.user_permissions WHERE permission_id = p.id),
                    (SELECT count(*) FROM authz.object_permissions WHERE permission_id = p.id),
                    EXISTS (SELECT 1 FROM authz.actions WHERE permission_id = p.id)
                      OR p.codename ~ ('^(add|change|delete|view)_' || ct.model || '$')
               FROM authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
              WHERE p.id = $1",
            Some(1),
            &[permission_id.into()],
        )?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        Ok(Some((
            row.get(1)?.unwrap_or_default(),
            row.get(2)?.unwrap_or(0),
            row.get(3)?.unwrap_or(0),
            row.get(4)?.unwrap_or(0),
            row.get(5)?.unwrap_or(true),
        )))
    })?;
    // Still used by another action, or one of the model's default permissions: not ours to drop.
    let Some((perm, groups, users, objects, in_use)) = row else {
        return Ok(());
    };
    if in_use {
        return Ok(());
    }
    if groups + users + objects == 0 {
        crate::django::delete_permission(permission_id)?;
        notice!("deleted permission {perm}");
    } else {
        let grants = format!("{groups} group(s), {users} user(s), {objects} object grant(s)");
        SyncReport::note(
            &mut report.permissions_kept,
            "kept permission",
            format!("{perm}: still granted to {grants}"),
        );
    }
    Ok(())
}

/// Sync the declared admin actions (the seed's ADMIN_ACTIONS list as a JSON array): get or
/// create each model's content type and permission, create or update each action, and, when
/// `prune` is true, delete actions no longer declared. Idempotent and all-or-nothing; returns a
/// report of what was created, updated, left alone and pruned (also raised as NOTICE lines).
/// `CALL authz.sync_admin_actions(...)` is the procedure form.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn sync_admin_actions_report(
    declarations: Option<pgrx::JsonB>,
    prune: default!(Option<bool>, false),
) -> pgrx::JsonB {
    let declarations = required_arg(declarations, "declarations");
    let declared = parse_declarations(&declarations.0).or_raise();
    let mut report = SyncReport::default();
    for (position, decl) in declared.iter().enumerate() {
        sync_one(position, decl, &mut report).or_raise();
    }
    if prune.unwrap_or(false) {
        self::prune(&declared, &mut report).or_raise();
    }
    pgrx::JsonB(report.to_json())
}

/// An action as stored, with the permission string it requires.
struct Action {
    key: String,
    name: String,
    kind: String,
    scope: String,
    permission: Option<String>,
    handler: Option<String>,
}

/// The actions of `model` in declaration order; P0002 when the model is not registered.
fn actions_of(model: &str) -> Result<(ModelName, Vec<Action>)> {
    let name = ModelName::parse(model)?;
    with_pinned_search_path(|| {
        Spi::connect(|client| {
            let ct = first_value::<i64>(client.select(
                "SELECT id FROM authz.content_types WHERE app_label = $1 AND model = $2",
                Some(1),
                &[name.app_label.as_str().into(), name.model.as_str().into()],
            )?)?
            .ok_or_else(|| AuthzError::NotFound(format!("unknown model \"{model}\"")))?;
            let rows = client.select(
                "SELECT a.key, a.name, a.kind, a.scope,
                        CASE WHEN a.codename IS NOT NULL THEN ct.app_label || '.' || a.codename END,
                        a.handler::oid::regprocedure::text
                   FROM authz.actions a JOIN authz.content_types ct ON ct.id = a.content_type_id
                  WHERE a.content_type_id = $1
                  ORDER BY a.position, a.key",
                None,
                &[ct.into()],
            )?;
            let mut actions = Vec::new();
            for row in rows {
                actions.push(Action {
                    key: row.get(1)?.unwrap_or_default(),
                    name: row.get(2)?.unwrap_or_default(),
                    kind: row.get(3)?.unwrap_or_default(),
                    scope: row.get(4)?.unwrap_or_default(),
                    permission: row.get(5)?,
                    handler: row.get(6)?,
                });
            }
            Ok((name.clone(), actions))
        })
    })
}

/// Why `user` may not run `action`, or `None` when it may: Django admin's rules, i.e. an active
/// staff user, and the action's permission unless it has none (superusers pass).
fn refusal(user: Option<&UserAuth>, action: &Action) -> Option<String> {
    let Some(user) = user else {
        return Some("is unknown".into());
    };
    if !user.is_active {
        return Some("is inactive".into());
    }
    if !user.is_staff {
        return Some("is not staff".into());
    }
    match &action.permission {
        Some(perm) if !user.has_perm(perm) => Some(format!("lacks permission {perm}")),
        _ => None,
    }
}

/// The actions of model `model` ('app_label.ModelName') for `user_id`, in declaration order:
/// `[{key, label, scope, kind, allowed}]`. Non-staff, inactive and unknown users are allowed
/// nothing; active staff superusers everything.
#[pg_extern(stable, parallel_safe)]
fn allowed_actions(user_id: Option<&str>, model: Option<&str>) -> pgrx::JsonB {
    let (_, actions) = actions_of(required_arg(model, "model")).or_raise();
    let list = |user: Option<&UserAuth>| -> Vec<Value> {
        actions
            .iter()
            .map(|a| {
                json!({"key": a.key, "label": a.name, "scope": a.scope, "kind": a.kind,
                       "allowed": refusal(user, a).is_none()})
            })
            .collect()
    };
    let listed = match user_id {
        Some(user) => cache::with_user(user, list).or_raise(),
        None => list(None),
    };
    pgrx::JsonB(Value::Array(listed))
}

/// Run admin action `key` of model `model` on `ids` with `params`, as the current user
/// (`authz.current_user_id()`): requires an active staff user and the action's permission, else
/// SQLSTATE 42501 (the denial is audited even though the statement fails). Runs the handler, if
/// any, and returns `{action, model, ok, failed, result, audit_id}`; one audit entry is written.
#[pg_extern(volatile, parallel_unsafe)]
fn perform_action(
    model: Option<&str>,
    key: Option<&str>,
    ids: Option<Vec<Option<String>>>,
    params: default!(Option<pgrx::JsonB>, "'{}'"),
) -> pgrx::JsonB {
    let (model, key) = (required_arg(model, "model"), required_arg(key, "key"));
    let params = params.map(|p| p.0).unwrap_or_else(|| json!({}));
    let (model_name, actions) = actions_of(model).or_raise();
    let model_label = format!("{}.{}", model_name.app_label, model_name.model);
    let action = actions
        .into_iter()
        .find(|a| a.key == key)
        .unwrap_or_else(|| {
            AuthzError::NotFound(format!("unknown action \"{key}\" for model {model}")).raise()
        });
    let actor = with_current_user_id(|u| u.map(str::to_owned));
    let (db_role, xid) = audit::caller().or_raise();
    let entry = |operation: &str, outcome: Value| audit::Entry {
        xid: xid.clone(),
        app_user: actor.clone(),
        db_role: db_role.clone(),
        operation: operation.into(),
        model: Some(model_label.clone()),
        action: Some(key.into()),
        row_count: Some(ids.iter().flatten().flatten().count() as i64),
        row_ids: Some(ids.iter().flatten().flatten().cloned().collect()),
        params: Some(params.clone()),
        outcome: Some(outcome),
        ..audit::Entry::default()
    };

    let refused = match &actor {
        None => Some("no user is set (call authz.set_user first)".to_owned()),
        Some(user) => cache::with_user(user, |u| refusal(u, &action))
            .or_raise()
            .map(|reason| format!("user \"{user}\" {reason}")),
    };
    if let Some(reason) = refused {
        audit::append_autonomously(&entry("DENIED", json!({"reason": reason})));
        AuthzError::Denied(format!(
            "permission denied for action \"{key}\" on model {model}: {reason}"
        ))
        .raise();
    }
    let ids = validated_ids(&action, model, ids.clone()).or_raise();

    // Writes the handler makes are audited with a link to this action's entry.
    let audit_id = audit::next_entry_id().or_raise();
    audit::set_running_action(Some(audit_id));
    let returned = match &action.handler {
        Some(handler) => run_handler(handler, &ids, &params).or_raise(),
        None => Value::Null,
    };
    audit::set_running_action(None);
    let (failed, result) = split_handler_result(returned);
    let failed_ids: HashSet<&str> = failed.iter().filter_map(|f| f["id"].as_str()).collect();
    let ok: Vec<&String> = ids
        .iter()
        .filter(|id| !failed_ids.contains(id.as_str()))
        .collect();
    let record = audit::Entry {
        id: Some(audit_id),
        ..entry("ACTION", json!({"ok": ok.len(), "failed": failed}))
    };
    audit::append(&record).or_raise();
    pgrx::JsonB(
        json!({"action": key, "model": model_label, "ok": ok, "failed": failed,
                       "result": result, "audit_id": audit_id}),
    )
}

/// Bulk actions need at least one id; no id may be NULL.
fn validated_ids(
    action: &Action,
    model: &str,
    ids: Option<Vec<Option<String>>>,
) -> Result<Vec<String>> {
    let ids = ids.unwrap_or_default();
    if action.scope == "bulk" && ids.is_empty() {
        return Err(AuthzError::InvalidArgument(format!(
            "action \"{}\" on model {model} is a bulk action: ids must name at least one object",
            action.key
        )));
    }
    ids.into_iter()
        .map(|id| id.ok_or_else(|| AuthzError::InvalidArgument("ids must not contain NULL".into())))
        .collect()
}

/// Call the handler `(ids text[], params jsonb) → jsonb`, as the calling role.
fn run_handler(handler: &str, ids: &[String], params: &Value) -> Result<Value> {
    let call = Spi::get_one_with_args::<String>(
        "SELECT pg_catalog.format('SELECT %I.%I($1, $2)', n.nspname, p.proname)
           FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
          WHERE p.oid = pg_catalog.to_regprocedure($1)",
        &[handler.into()],
    )?
    .ok_or_else(|| AuthzError::NotFound(format!("handler {handler} no longer exists")))?;
    let returned = Spi::connect_mut(|client| -> Result<Option<pgrx::JsonB>> {
        let table = client.update(
            call.as_str(),
            Some(1),
            &[ids.to_vec().into(), pgrx::JsonB(params.clone()).into()],
        )?;
        first_value::<pgrx::JsonB>(table)
    })?;
    Ok(returned.map(|j| j.0).unwrap_or(Value::Null))
}

/// A handler reports per-target failures as `{"failed": [{"id", "error"}], "result": ...}`;
/// any other value is the result itself.
fn split_handler_result(returned: Value) -> (Vec<Value>, Value) {
    match returned {
        Value::Object(mut obj) if obj.contains_key("failed") || obj.contains_key("result") => {
            let failed = match obj.remove("failed") {
                Some(Value::Array(list)) => list,
                _ => Vec::new(),
            };
            (failed, obj.remove("result").unwrap_or(Value::Null))
        }
        other => (Vec::new(), other),
    }
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    #[pg_test]
    fn keys_come_from_codename_or_name() {
        assert_eq!(key_from_name("Send notification"), "send_notification");
        assert_eq!(key_from_name("  Export -- CSV! "), "export_csv");
        let d = parse_declaration(
            0,
            &json!({"model": "order.Order", "codename": "print_receipt",
            "name": "Print receipt", "kind": "server", "scope": "bulk"}),
        )
        .unwrap();
        assert_eq!(d.key, "print_receipt");
        assert_eq!(d.model.model, "order");
    }

    #[pg_test]
    fn declarations_name_index_and_field_when_refused() {
        let err = |v: Value| parse_declarations(&v).unwrap_err().message().to_owned();
        assert!(err(json!({})).contains("must be a JSON array"));
        assert!(
            err(json!([{"model": "a.B", "name": "x", "kind": "server", "scope": "bulk"}]))
                .contains("[0], field \"codename\": is missing")
        );
        let ok = json!({"model": "a.B", "codename": null, "name": "X", "kind": "server", "scope": "bulk"});
        let mut wrong_kind = ok.clone();
        wrong_kind["kind"] = json!("srv");
        assert!(err(json!([ok, wrong_kind])).contains("[1], field \"kind\""));
        assert!(err(json!([ok, ok])).contains("duplicate key \"x\""));
    }

    #[pg_test]
    fn handler_reports_split_into_failed_and_result() {
        let (failed, result) =
            split_handler_result(json!({"failed": [{"id": "2", "error": "no"}], "result": 5}));
        assert_eq!((failed.len(), result), (1, json!(5)));
        let (failed, result) = split_handler_result(json!({"exported": 3}));
        assert_eq!((failed.len(), result), (0, json!({"exported": 3})));
    }
}
