//! Admin actions: declared once (`sync_admin_actions`), listed per user (`allowed_actions`),
//! enforced and audited by the database (`perform_action`). See seeds 003 and 004.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use pgrx::prelude::*;
use pgrx::{FromDatum, IntoDatum};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::audit;
use crate::cache::{self, with_pinned_search_path, UserAuth};
use crate::catalog::{
    ensure_content_type, ensure_permission, first_value, is_identifier, ModelName,
};
use crate::error::{required_arg, AuthzError, OrRaise, Result};
use crate::identity::with_current_user_id;
use crate::jsonb::JsonbText;

const FIELDS: [&str; 8] = [
    "model", "codename", "name", "kind", "scope", "handler", "key", "audit",
];

/// A refused call records at most this many ids (plus their count and a digest of all of them).
const DENIED_IDS_KEPT: usize = 100;
/// A refused call records params up to this many bytes of jsonb text (else their size and digest).
const DENIED_PARAMS_KEPT: usize = 8192;
/// A refused call records each id up to this many bytes (with a digest of all ids when cut).
const DENIED_ID_BYTES: usize = 64;
/// A refused call records, and its error message shows, the user id up to this many bytes.
const DENIED_USER_BYTES: usize = 256;

/// One entry of the `ADMIN_ACTIONS` list, validated.
#[derive(Debug, Clone, PartialEq)]
struct Declaration {
    model: ModelName,
    key: String,
    codename: Option<String>,
    name: String,
    kind: String,
    scope: String,
    /// The handler's canonical signature `schema.name(text[],jsonb)`, resolved at sync.
    handler: Option<String>,
    /// `transactional` (the ACTION entry commits or rolls back with the caller) or `autonomous`
    /// (written in a transaction of its own, for actions whose effects leave the database).
    audit: String,
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
            "is not a known field (expected model, codename, name, kind, scope, handler, key, audit)",
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
    let audit = match field::<Option<String>>(obj, index, "audit")?.flatten() {
        Some(mode) => one_of(index, "audit", mode, &["transactional", "autonomous"])?,
        None => "transactional".to_owned(),
    };
    Ok(Declaration {
        model,
        key,
        codename,
        name,
        kind,
        scope,
        handler,
        audit,
    })
}

/// One SQL identifier at the start of `text`: `"quoted"` (with `""` escapes) as written, or
/// unquoted and folded to lower case, as PostgreSQL reads it; with the rest of the text.
fn identifier(text: &str) -> Option<(String, &str)> {
    if let Some(quoted) = text.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '"' {
                name.push(c);
            } else if quoted[i + 1..].starts_with('"') {
                name.push('"');
                chars.next();
            } else {
                return (!name.is_empty()).then(|| (name, &quoted[i + 1..]));
            }
        }
        return None;
    }
    // PostgreSQL's scanner: ident_start [A-Za-z\200-\377_], ident_cont adds [0-9$].
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()))
        .unwrap_or(text.len());
    let name = &text[..end];
    let starts_well =
        name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || !c.is_ascii());
    starts_well.then(|| (name.to_ascii_lowercase(), &text[end..]))
}

/// A handler as declared: `schema.name`, or `schema.name(<argument types>)`.
struct HandlerName {
    schema: String,
    name: String,
    /// An argument list spelled otherwise than `(text[], jsonb)` (`(_text, pg_catalog.jsonb)`,
    /// say): PostgreSQL's own parser reads it, see [`names_the_handler`].
    other_args: bool,
}

/// Read `schema.name` and an optional argument list; `None` if malformed.
fn handler_name(handler: &str) -> Option<HandlerName> {
    let (schema, rest) = identifier(handler.trim())?;
    let (name, rest) = identifier(rest.trim_start().strip_prefix('.')?.trim_start())?;
    let args: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
    let other_args = match args.to_ascii_lowercase().as_str() {
        "" | "(text[],jsonb)" => false,
        other if other.starts_with('(') => true,
        _ => return None,
    };
    Some(HandlerName {
        schema,
        name,
        other_args,
    })
}

/// Whether `signature` is, as `regprocedure` reads it with search_path pinned, the function
/// `oid` (false when it names no function); PostgreSQL's message when it cannot read it (a
/// syntax error, an unknown type), caught in a subtransaction. The cast, not to_regprocedure:
/// from PostgreSQL 16 on, to_regprocedure gives NULL for those instead of their message.
fn names_the_handler(signature: &str, oid: pg_sys::Oid) -> std::result::Result<bool, String> {
    let lookup = || {
        with_pinned_search_path(|| {
            Ok(Spi::get_one_with_args::<pg_sys::Oid>(
                "SELECT $1::pg_catalog.regprocedure::pg_catalog.oid",
                &[signature.into()],
            )?)
        })
    };
    match crate::error::in_subtransaction(lookup) {
        Ok(found) => found
            .map(|found| found == Some(oid))
            .map_err(|e| e.message().to_owned()),
        Err(caught) if caught.code == PgSqlErrorCode::ERRCODE_UNDEFINED_FUNCTION => Ok(false),
        Err(caught) => Err(caught.message),
    }
}

/// A function `schema.name(text[], jsonb)` as the catalogs describe it.
struct Handler {
    oid: pg_sys::Oid,
    /// Canonical signature `schema.name(text[],jsonb)`, as stored in `authz.actions.handler`.
    signature: String,
    returns_jsonb: bool,
    returns_set: bool,
    /// In a temporary schema (this session's or another's): whoever gets that schema next
    /// could define the function.
    temporary: bool,
    /// Whether the current role may execute it.
    executable: bool,
}

impl Handler {
    /// Why this function cannot be a handler, if it cannot.
    fn unfit(&self) -> Option<String> {
        let sig = &self.signature;
        if self.temporary {
            Some(format!(
                "{sig} is in a temporary schema: a handler must live in a permanent schema"
            ))
        } else if self.returns_set {
            Some(format!(
                "{sig} returns a set: a handler returns one jsonb value"
            ))
        } else if !self.returns_jsonb {
            Some(format!("{sig} must return jsonb"))
        } else {
            None
        }
    }
}

/// The function `schema.name(text[], jsonb)`, or `None` if there is none. Catalog lookups here
/// never depend on the caller's search_path.
fn find_handler(schema: &str, name: &str) -> Result<Option<Handler>> {
    with_pinned_search_path(|| {
        Spi::connect(|client| {
            let rows = client.select(
                "SELECT p.oid, pg_catalog.format('%I.%I(text[],jsonb)', n.nspname, p.proname),
                        p.prorettype OPERATOR(pg_catalog.=) 'pg_catalog.jsonb'::pg_catalog.regtype,
                        p.proretset,
                        pg_catalog.starts_with(n.nspname::pg_catalog.text, 'pg_temp_')
                          OR pg_catalog.starts_with(n.nspname::pg_catalog.text, 'pg_toast_temp_'),
                        pg_catalog.has_function_privilege(p.oid, 'EXECUTE')
                   FROM pg_catalog.pg_proc p
                   JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
                  WHERE n.nspname OPERATOR(pg_catalog.=) $1 AND p.proname OPERATOR(pg_catalog.=) $2
                    AND p.proargtypes OPERATOR(pg_catalog.=) '1009 3802'::pg_catalog.oidvector",
                Some(1),
                &[schema.into(), name.into()],
            )?;
            let Some(row) = rows.into_iter().next() else {
                return Ok(None);
            };
            Ok(Some(Handler {
                oid: row.get::<pg_sys::Oid>(1)?.unwrap_or(pg_sys::InvalidOid),
                signature: row.get::<String>(2)?.unwrap_or_default(),
                returns_jsonb: row.get::<bool>(3)?.unwrap_or(false),
                returns_set: row.get::<bool>(4)?.unwrap_or(true),
                temporary: row.get::<bool>(5)?.unwrap_or(true),
                executable: row.get::<bool>(6)?.unwrap_or(false),
            }))
        })
    })
}

/// Resolve a declared handler to its canonical signature `schema.name(text[],jsonb)`.
fn resolve_handler(index: usize, handler: &str) -> Result<String> {
    let takes = "a handler takes (ids text[], params jsonb) and returns jsonb";
    let malformed = || {
        let form = "expected schema.name or schema.name(text[], jsonb)";
        bad(
            index,
            "handler",
            format!("\"{handler}\" is malformed ({form}): {takes}"),
        )
    };
    let HandlerName {
        schema,
        name,
        other_args,
    } = handler_name(handler).ok_or_else(malformed)?;
    let unreadable = |problem: String| {
        bad(
            index,
            "handler",
            format!("\"{handler}\" cannot be read: {problem}"),
        )
    };
    let found = find_handler(&schema, &name)?;
    if let (true, Some(found)) = (other_args, &found) {
        if !names_the_handler(handler, found.oid).map_err(unreadable)? {
            return Err(bad(
                index,
                "handler",
                format!("\"{handler}\" does not name {}: {takes}", found.signature),
            ));
        }
    }
    match found {
        Some(found) => match found.unfit() {
            Some(problem) => Err(bad(index, "handler", problem)),
            None => Ok(found.signature),
        },
        None if other_args => match names_the_handler(handler, pg_sys::InvalidOid) {
            Err(problem) => Err(unreadable(problem)),
            Ok(_) => Err(bad(
                index,
                "handler",
                format!("no function {schema}.{name}(text[], jsonb): {takes}"),
            )),
        },
        None => Err(bad(
            index,
            "handler",
            format!("no function {schema}.{name}(text[], jsonb): {takes}"),
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
            warn_if_string_is_shared(decl, ct, code)?;
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
        decl.audit.as_str().into(),
    ];
    let outcome = Spi::get_one_with_args::<String>(
        "WITH old AS (SELECT * FROM authz.actions WHERE content_type_id = $1 AND key = $2),
              ins AS (INSERT INTO authz.actions
                             (content_type_id, key, codename, permission_id, name, kind, scope, handler, position, audit)
                      SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
                       WHERE NOT EXISTS (SELECT 1 FROM old)
                      RETURNING 'created'),
              upd AS (UPDATE authz.actions a
                         SET codename = $3, permission_id = $4, name = $5, kind = $6, scope = $7,
                             handler = $8, position = $9, audit = $10
                        FROM old
                       WHERE a.id = old.id
                         AND (old.codename, old.permission_id, old.name, old.kind, old.scope, old.handler, old.position, old.audit)
                             IS DISTINCT FROM ($3, $4, $5, $6, $7, $8, $9, $10)
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

/// `has_perm('app.codename')` compares strings, as Django does, so it cannot tell this
/// permission from one of the same codename on another model of the app: say so. Actions
/// themselves check their own permission row.
fn warn_if_string_is_shared(
    decl: &Declaration,
    content_type_id: i64,
    codename: &str,
) -> Result<()> {
    let others = Spi::get_one_with_args::<String>(
        "SELECT string_agg(ct.app_label || '.' || ct.model, ', ' ORDER BY ct.model)
           FROM authz.permissions p JOIN authz.content_types ct ON ct.id = p.content_type_id
          WHERE ct.app_label = $1 AND p.codename = $2 AND ct.id <> $3",
        &[
            decl.model.app_label.as_str().into(),
            codename.into(),
            content_type_id.into(),
        ],
    )?;
    if let Some(others) = others {
        let perm = format!("{}.{codename}", decl.model.app_label);
        warning!(
            "permission string {perm} of model {}.{} also names the permission of {others}: \
             has_perm('{perm}') holds for a grant of either; perform_action and allowed_actions \
             check each action's own permission",
            decl.model.app_label,
            decl.model.model
        );
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
    declarations: Option<JsonbText>,
    prune: default!(Option<bool>, false),
) -> pgrx::JsonB {
    let declarations = required_arg(declarations, "declarations")
        .parse("declarations")
        .or_raise();
    let declared = parse_declarations(&declarations).or_raise();
    let mut report = SyncReport::default();
    for (position, decl) in declared.iter().enumerate() {
        sync_one(position, decl, &mut report).or_raise();
    }
    if prune.unwrap_or(false) {
        self::prune(&declared, &mut report).or_raise();
    }
    pgrx::JsonB(report.to_json())
}

/// An action as stored, with the permission it requires.
struct Action {
    key: String,
    name: String,
    kind: String,
    scope: String,
    /// `app_label.codename`, for messages; the check uses `permission_id`.
    permission: Option<String>,
    /// The action's own permission row: the same codename on another model is another row.
    permission_id: Option<i64>,
    /// Canonical signature `schema.name(text[],jsonb)`.
    handler: Option<String>,
    /// Whether the ACTION entry is written in a transaction of its own.
    autonomous: bool,
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
                        a.permission_id, a.handler, a.audit = 'autonomous'
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
                    permission_id: row.get(6)?,
                    handler: row.get(7)?,
                    autonomous: row.get(8)?.unwrap_or(false),
                });
            }
            Ok((name.clone(), actions))
        })
    })
}

/// Why `user` may not run `action`, or `None` when it may: Django admin's rules, i.e. an active
/// staff user, and the action's own permission row unless it has none (superusers pass).
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
    match (action.permission_id, &action.permission) {
        (Some(id), Some(perm)) if !user.has_perm_id(id) => Some(format!("lacks permission {perm}")),
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
/// any, and returns `{action, model, ok, failed, result, audit_id}`; one audit entry is written,
/// in a transaction of its own for actions declared `"audit": "autonomous"`. Params reach the
/// handler and the log exactly as sent.
#[pg_extern(volatile, parallel_unsafe)]
fn perform_action(
    model: Option<&str>,
    key: Option<&str>,
    ids: Option<Vec<Option<String>>>,
    params: default!(Option<JsonbText>, "'{}'"),
) -> JsonbText {
    let (model, key) = (required_arg(model, "model"), required_arg(key, "key"));
    let params = params.unwrap_or_else(JsonbText::empty_object);
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
    let given: Vec<String> = ids.iter().flatten().flatten().cloned().collect();
    let entry = |operation: &str| audit::Entry {
        xid: xid.clone(),
        app_user: actor.clone(),
        db_role: db_role.clone(),
        operation: operation.into(),
        model: Some(model_label.clone()),
        action: Some(key.into()),
        row_count: Some(given.len() as i64),
        ..audit::Entry::default()
    };

    let refused = match &actor {
        None => Some("no user is set (call authz.set_user first)".to_owned()),
        Some(user) => cache::with_user(user, |u| refusal(u, &action))
            .or_raise()
            .map(|reason| format!("user \"{}\" {reason}", clipped(user, DENIED_USER_BYTES))),
    };
    if let Some(reason) = refused {
        let denial = bounded_denial(entry("DENIED"), &given, &params, &reason).or_raise();
        audit::append_autonomously(&denial);
        AuthzError::Denied(denial_message(key, model, &reason)).raise();
    }
    let ids = validated_ids(&action, model, ids).or_raise();

    // Writes the handler makes are audited with a link to this action's entry.
    let audit_id = audit::next_entry_id().or_raise();
    let returned = {
        let _link = audit::RunningAction::start(audit_id);
        match &action.handler {
            Some(handler) => run_handler(handler, &ids, &params).or_raise(),
            None => None,
        }
    };
    let report = HandlerReport::read(returned, &ids).or_raise();
    let record = audit::Entry {
        id: Some(audit_id),
        row_ids: Some(given.clone()),
        params: Some(params),
        outcome: Some(report.outcome.clone()),
        ..entry("ACTION")
    };
    if action.autonomous {
        if !audit::append_autonomously(&record) {
            AuthzError::Unavailable(format!(
                "action \"{key}\" on model {model} is audited autonomously, and its entry could not be written: its result is withheld"
            ))
            .raise();
        }
    } else {
        audit::append(&record).or_raise();
    }
    report.response(key, &model_label, audit_id).or_raise()
}

/// The 42501 message. A NUL in the reason (a token's subject can hold one) would cut the
/// message short there: it shows as U+FFFD, as the entry has it.
fn denial_message(key: &str, model: &str, reason: &str) -> String {
    let reason = reason.replace('\0', "\u{FFFD}");
    format!("permission denied for action \"{key}\" on model {model}: {reason}")
}

/// What a refused call records: its ids up to `DENIED_IDS_KEPT`, each up to `DENIED_ID_BYTES`,
/// its params up to `DENIED_PARAMS_KEPT` bytes, its user id up to `DENIED_USER_BYTES`, and for
/// what is cut or left out the size and a sha256 digest, so that a caller without any right
/// cannot grow the append-only log by more than about 15 kB a call.
fn bounded_denial(
    mut entry: audit::Entry,
    ids: &[String],
    params: &JsonbText,
    reason: &str,
) -> Result<audit::Entry> {
    let mut outcome = json!({"reason": reason});
    if let Some(user) = entry.app_user.take() {
        let shown = clipped(&user, DENIED_USER_BYTES).into_owned();
        if shown != user {
            outcome["app_user_bytes"] = json!(user.len());
            outcome["app_user_sha256"] = json!(sha256_hex(&user)?);
        }
        entry.app_user = Some(shown);
    }
    let kept: Vec<String> = ids
        .iter()
        .take(DENIED_IDS_KEPT)
        .map(|id| clipped(id, DENIED_ID_BYTES).into_owned())
        .collect();
    let cut = kept.iter().zip(ids).filter(|(k, id)| k != id).count();
    if ids.len() > DENIED_IDS_KEPT {
        outcome["ids_omitted"] = json!(ids.len() - DENIED_IDS_KEPT);
    }
    if cut > 0 {
        outcome["ids_cut"] = json!(cut);
    }
    if ids.len() > DENIED_IDS_KEPT || cut > 0 {
        outcome["ids_sha256"] = json!(sha256_hex(&serde_json::to_string(ids).unwrap_or_default())?);
    }
    entry.row_ids = Some(kept);
    entry.params = Some(if params.0.len() > DENIED_PARAMS_KEPT {
        JsonbText::from_value(
            &json!({"omitted_bytes": params.0.len(), "sha256": sha256_hex(&params.0)?}),
        )
    } else {
        params.clone()
    });
    entry.outcome = Some(JsonbText::from_value(&outcome));
    Ok(entry)
}

/// `text` cut to at most `max` bytes at a character boundary, ending in "…" when cut.
fn clipped(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &text[..end]))
}

/// The sha256 digest of `text` (UTF-8), in hex.
fn sha256_hex(text: &str) -> Result<String> {
    // A read-only query (`Spi::get_one` would assign a transaction id): a denial on a hot
    // standby digests too.
    with_pinned_search_path(|| {
        Spi::connect(|client| {
            client
                .select(
                    "SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to($1, 'UTF8')), 'hex')",
                    Some(1),
                    &[text.into()],
                )?
                .first()
                .get_one::<String>()?
                .ok_or_else(|| AuthzError::Internal("sha256 returned NULL".into()))
        })
    })
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

/// Call the handler `(ids text[], params jsonb) → jsonb`, as the calling role. It is found by
/// its stored signature with a pinned search_path (P0002 when it is gone, 22023 when it no
/// longer fits, 42501 when the caller may not execute it) and called by its oid, so that an
/// overload of the same name cannot make the call ambiguous or divert it.
fn run_handler(handler: &str, ids: &[String], params: &JsonbText) -> Result<Option<JsonbText>> {
    let gone = || AuthzError::NotFound(format!("handler {handler} no longer exists"));
    let stored = handler_name(handler).ok_or_else(gone)?;
    let found = find_handler(&stored.schema, &stored.name)?.ok_or_else(gone)?;
    if let Some(problem) = found.unfit() {
        return Err(AuthzError::InvalidArgument(format!(
            "handler {problem}; re-create it or sync the actions again"
        )));
    }
    if !found.executable {
        return Err(AuthzError::Denied(format!(
            "permission denied for handler {}",
            found.signature
        )));
    }
    let args = [ids.to_vec().into_datum(), params.clone().into_datum()];
    Ok(unsafe { call_by_oid(found.oid, &args) })
}

/// Call function `oid` with `args` (none NULL) through fmgr, as PostgreSQL's executor would
/// (SECURITY DEFINER and SET clauses included), and read its jsonb result; `None` for NULL.
unsafe fn call_by_oid(oid: pg_sys::Oid, args: &[Option<pg_sys::Datum>]) -> Option<JsonbText> {
    let mut flinfo = pg_sys::FmgrInfo::default();
    pg_sys::fmgr_info(oid, &mut flinfo);
    let fcinfo = pg_sys::palloc0(
        std::mem::size_of::<pg_sys::FunctionCallInfoBaseData>()
            + std::mem::size_of::<pg_sys::NullableDatum>() * args.len(),
    ) as *mut pg_sys::FunctionCallInfoBaseData;
    let call = &mut *fcinfo;
    call.flinfo = &mut flinfo;
    call.fncollation = pg_sys::DEFAULT_COLLATION_OID;
    call.nargs = args.len() as i16;
    for (slot, arg) in call.args.as_mut_slice(args.len()).iter_mut().zip(args) {
        (slot.value, slot.isnull) = match arg {
            Some(datum) => (*datum, false),
            None => (pg_sys::Datum::from(0), true),
        };
    }
    let function = flinfo.fn_addr.expect("fmgr_info sets fn_addr");
    let result = pg_sys::ffi::pg_guard_ffi_boundary(|| function(fcinfo));
    let value = JsonbText::from_datum(result, call.isnull);
    pg_sys::pfree(fcinfo.cast());
    value
}

/// A handler reports per-target failures as `{"failed": [{"id", "error"}], "result": ...}`;
/// any other value is the result itself. Read in SQL, so the handler's jsonb is passed on
/// exactly as it returned it.
struct HandlerReport {
    ok: Vec<String>,
    failed: JsonbText,
    result: Option<JsonbText>,
    /// `{ok: <count>, failed}` for the audit entry.
    outcome: JsonbText,
}

impl HandlerReport {
    fn read(returned: Option<JsonbText>, ids: &[String]) -> Result<HandlerReport> {
        let (failed, result, failed_ids) = with_pinned_search_path(|| {
            Spi::connect(|client| {
                let rows = client.select(
                    "WITH r AS (SELECT v, jsonb_typeof(v) = 'object' AND (v ? 'failed' OR v ? 'result') AS split
                                  FROM (SELECT $1::jsonb AS v) s),
                          f AS (SELECT split, v,
                                       CASE WHEN split AND jsonb_typeof(v -> 'failed') = 'array'
                                            THEN v -> 'failed' ELSE '[]' END AS failed
                                  FROM r)
                     SELECT failed, CASE WHEN split THEN v -> 'result' ELSE v END,
                            ARRAY(SELECT e ->> 'id' FROM jsonb_array_elements(failed) e
                                   WHERE jsonb_typeof(e -> 'id') = 'string')
                       FROM f",
                    Some(1),
                    &[returned.into()],
                )?;
                let row = rows.first();
                Ok::<_, AuthzError>((
                    row.get::<JsonbText>(1)?
                        .unwrap_or_else(|| JsonbText("[]".into())),
                    row.get::<JsonbText>(2)?,
                    row.get::<Vec<String>>(3)?.unwrap_or_default(),
                ))
            })
        })?;
        let failed_ids: HashSet<String> = failed_ids.into_iter().collect();
        let ok: Vec<String> = ids
            .iter()
            .filter(|id| !failed_ids.contains(id.as_str()))
            .cloned()
            .collect();
        let outcome = with_pinned_search_path(|| {
            Spi::get_one_with_args::<JsonbText>(
                "SELECT jsonb_build_object('ok', $1::int, 'failed', $2::jsonb)",
                &[(ok.len() as i32).into(), failed.clone().into()],
            )?
            .ok_or_else(|| AuthzError::Internal("outcome was NULL".into()))
        })?;
        Ok(HandlerReport {
            ok,
            failed,
            result,
            outcome,
        })
    }

    /// `{action, model, ok, failed, result, audit_id}`, the value `perform_action` returns.
    fn response(&self, key: &str, model: &str, audit_id: i64) -> Result<JsonbText> {
        with_pinned_search_path(|| {
            Spi::get_one_with_args::<JsonbText>(
                "SELECT jsonb_build_object('action', $1::text, 'model', $2::text, 'ok', to_jsonb($3::text[]),
                                           'failed', $4::jsonb, 'result', $5::jsonb, 'audit_id', $6::bigint)",
                &[
                    key.into(),
                    model.into(),
                    self.ok.clone().into(),
                    self.failed.clone().into(),
                    self.result.clone().into(),
                    audit_id.into(),
                ],
            )?
            .ok_or_else(|| AuthzError::Internal("result was NULL".into()))
        })
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
    fn a_nul_in_the_subject_does_not_cut_the_denial_message() {
        let message = denial_message("x", "a.B", "user \"sub\0tail\" is unknown");
        assert_eq!(
            message,
            "permission denied for action \"x\" on model a.B: user \"sub\u{FFFD}tail\" is unknown"
        );
    }

    #[pg_test]
    fn handler_names_read_the_postgresql_way() {
        let name = |h: &str| handler_name(h).map(|n| (n.schema, n.name, n.other_args));
        let read = |a: &str, b: &str, other: bool| Some((a.to_owned(), b.to_owned(), other));
        assert_eq!(name("App.Approve"), read("app", "approve", false));
        assert_eq!(
            name("rev.Café"),
            read("rev", "café", false),
            "only ASCII folds"
        );
        assert_eq!(
            name("app . approve( text[] , JSONB )"),
            read("app", "approve", false)
        );
        assert_eq!(
            name("\"My App\".\"Do\"\"It\"(text[],jsonb)"),
            read("My App", "Do\"It", false)
        );
        // Other spellings of the argument list are left to PostgreSQL's parser.
        assert_eq!(
            name("app.approve(_text, pg_catalog.jsonb)"),
            read("app", "approve", true)
        );
        for malformed in ["approve", "a.b.c", "1a.b", "\"x.y", ""] {
            assert_eq!(name(malformed), None, "{malformed} must be refused");
        }
    }
}
