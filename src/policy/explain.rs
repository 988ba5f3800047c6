//! `authz.explain_row`: why one row of a protected table is or is not within reach of a command,
//! for the current user or (for authz_admin) any user. Every generated policy that applies to
//! the command is evaluated on the row as PostgreSQL would evaluate it for that user, and each
//! failing one names the rule of the spec it comes from and what is missing.
//!
//! The row is never revealed to a caller who cannot see it: whether the caller sees it is asked
//! first, as the caller (row-level security applies), and without that only authz_admin gets
//! more than `"visible": false`, which a missing row gives too. The row is then read as the
//! extension's owner (as text) and the policies evaluated as the table's owner on that value, not
//! on the table, with the checks answering for the user explained.

use pgrx::prelude::*;
use pgrx::PgRelation;
use serde_json::{json, Value};

use super::sql::{literal, who};
use super::strict::{Needs, StrictTrigger};
use super::table::Table;
use super::{recorded_spec, Command, Spec};
use crate::error::{self, required_arg, AuthzError, OrRaise};
use crate::privilege::{as_table_owner_restricted, OwnerReads};

/// Which generated policies pass and which fail for the row of `relation` whose primary key
/// (its text, `ROW(a, b)::text` for a composite key) is `key`, for `command` ('SELECT',
/// 'INSERT', 'UPDATE', 'DELETE'), for the current user or `user_id` (another user takes
/// authz_admin). Each failing policy names its rule of the spec and what is missing. A row the
/// caller cannot see gives only `"visible": false` unless the caller is authz_admin.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn explain_row(
    relation: Option<PgRelation>,
    key: Option<&str>,
    command: default!(Option<&str>, "'SELECT'"),
    user_id: default!(Option<&str>, "NULL"),
) -> pgrx::JsonB {
    let relid = required_arg(relation, "relation").oid();
    let key = required_arg(key, "key");
    let command = required_arg(command, "command");
    pgrx::JsonB(explain(relid, key, command, user_id).or_raise())
}

fn explain(
    relid: pg_sys::Oid,
    key: &str,
    command: &str,
    user_id: Option<&str>,
) -> error::Result<Value> {
    let command = Command::parse(command).ok_or_else(|| {
        AuthzError::InvalidArgument(format!(
            "command: expected SELECT, INSERT, UPDATE or DELETE, not \"{command}\""
        ))
    })?;
    let table = Table::load(relid)?;
    let spec_json = recorded_spec(relid)?.ok_or_else(|| {
        AuthzError::InvalidArgument(format!(
            "relation {} is not protected by authz.protect",
            table.name
        ))
    })?;
    let (spec, _) = Spec::parse(&spec_json)?;
    let admin = Spi::get_one::<bool>("SELECT pg_catalog.pg_has_role('authz_admin', 'USAGE')")?
        == Some(true);
    let me = crate::identity::with_current_user_id(|u| u.map(str::to_owned));
    let user = match user_id {
        Some(other) if Some(other) != me.as_deref() => {
            if !admin {
                return Err(AuthzError::Denied(format!(
                    "permission denied to explain rows for user \"{other}\": it takes the authz_admin role"
                )));
            }
            Some(other.to_owned())
        }
        _ => me,
    };
    let key_text = key_text(&table)?;
    // As the caller, under row-level security. Naming the row takes SELECT on its key columns
    // only, so a caller granted the columns a table with hidden columns shows (not the whole
    // table) sees its rows here as in a query; a caller without it sees none.
    let may_select = Spi::get_one_with_args::<bool>(
        "SELECT pg_catalog.bool_and(pg_catalog.has_column_privilege($1::pg_catalog.oid, k, 'SELECT'))
           FROM pg_catalog.unnest($2::pg_catalog.text[]) AS k",
        &[relid.into(), table.primary_key.clone().into()],
    )? == Some(true);
    let visible = may_select
        && Spi::get_one_with_args::<bool>(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM {} t WHERE {key_text} OPERATOR(pg_catalog.=) $1)",
                table.name
            ),
            &[key.into()],
        )? == Some(true);
    let mut out = json!({
        "relation": table.name, "key": key, "command": command.sql(), "user": user, "visible": visible,
    });
    if !visible && !admin {
        return Ok(out);
    }
    // The policies are evaluated over the whole row: a caller granted only some columns (as
    // for a table with hidden columns) would learn, policy by policy, facts about the others.
    if !admin && !may_select_every_column(relid)? {
        out["withheld"] = json!(
            "the policies are evaluated over every column of the row: explaining them takes SELECT on all of the table's columns, or the authz_admin role"
        );
        return Ok(out);
    }
    let owner = Spi::get_one_with_args::<pg_sys::Oid>(
        "SELECT relowner FROM pg_catalog.pg_class WHERE oid OPERATOR(pg_catalog.=) $1",
        &[relid.into()],
    )?
    .ok_or_else(|| AuthzError::Internal("protected table vanished".into()))?;
    // Read as the table's owner, not a more privileged role: the row's text and the key's come
    // from output functions and casts that the owner may have defined.
    let row = crate::cache::with_pinned_search_path(|| {
        as_table_owner_restricted(owner, OwnerReads::EveryRow, || {
            Ok(Spi::get_one_with_args::<String>(
                &format!(
                    "SELECT (SELECT pg_catalog.format('%s', t) FROM {} t WHERE {key_text} OPERATOR(pg_catalog.=) $1)",
                    table.name
                ),
                &[key.into()],
            )?)
        })
    })?;
    let Some(row) = row else {
        out["exists"] = json!(false);
        return Ok(out);
    };
    let evaluator = Evaluator {
        table: &table,
        row: &row,
        user: user.as_deref(),
        owner,
    };
    let mut policies = Vec::new();
    let mut permissive_pass = false;
    let mut restrictive_pass = true;
    for policy in applicable_policies(&table, command)? {
        let passes = evaluator.holds(policy.expression.as_deref().unwrap_or("true"))?;
        if policy.permissive {
            permissive_pass |= passes;
        } else {
            restrictive_pass &= passes;
        }
        let mut entry = json!({
            "policy": policy.name, "command": policy.command, "passes": passes,
            "kind": if policy.permissive { "PERMISSIVE" } else { "RESTRICTIVE" },
            "rule": rule_of(&policy.name, &spec_json),
        });
        if !passes {
            entry["missing"] = evaluator.missing(&policy.name, command, &spec, &spec_json)?;
        }
        policies.push(entry);
    }
    let mut triggers = Vec::new();
    for trigger in strict_triggers(&table, &spec, command)? {
        let matches = evaluator.holds(&format!("({}) IS TRUE", trigger.condition))?;
        let lacking = if matches {
            evaluator.lacking(&trigger.requires, &trigger.rule)?
        } else {
            Vec::new()
        };
        let any = trigger.needs == Needs::Any;
        let passes = lacking.is_empty() || (any && lacking.len() < trigger.requires.len());
        restrictive_pass &= passes;
        let mut entry = json!({"trigger": trigger.name, "passes": passes, "rule": trigger.rule});
        if !passes {
            let requires = if any { "requires_one_of" } else { "requires" };
            entry["missing"] = json!({"condition": trigger.condition, requires: lacking});
        }
        triggers.push(entry);
    }
    out["exists"] = json!(true);
    out["allowed"] = json!(permissive_pass && restrictive_pass);
    out["policies"] = Value::Array(policies);
    if !triggers.is_empty() {
        out["triggers"] = Value::Array(triggers);
    }
    Ok(out)
}

/// Whether the current user may SELECT every column of `relid`.
fn may_select_every_column(relid: pg_sys::Oid) -> error::Result<bool> {
    Ok(Spi::get_one_with_args::<bool>(
        "SELECT pg_catalog.has_table_privilege($1::pg_catalog.oid, 'SELECT')
             OR NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attnum OPERATOR(pg_catalog.>) 0
                               AND NOT a.attisdropped
                               AND NOT pg_catalog.has_column_privilege($1::pg_catalog.oid, a.attnum, 'SELECT'))",
        &[relid.into()],
    )? == Some(true))
}

/// The text of a row's primary key, as `key` names it (`ROW(a, b)` as text for a composite
/// key), from the types' output functions through `format`, never through a cast the table's
/// owner could have defined.
fn key_text(table: &Table) -> error::Result<String> {
    let columns: Vec<String> = table
        .primary_key
        .iter()
        .map(|c| format!("t.{}", super::sql::ident(c)))
        .collect();
    match columns.as_slice() {
        [] => Err(AuthzError::InvalidArgument(format!(
            "relation {} has no primary key: explain_row names rows by it",
            table.name
        ))),
        [one] => Ok(format!("pg_catalog.format('%s', {one})")),
        _ => Ok(format!(
            "pg_catalog.format('%s', ROW({}))",
            columns.join(", ")
        )),
    }
}

struct Policy {
    name: String,
    command: String,
    permissive: bool,
    expression: Option<String>,
}

/// The generated policies PostgreSQL applies to `command` on an existing row: the command's own
/// and FOR ALL, and for UPDATE and DELETE the SELECT ones too (which apply as soon as the
/// statement reads the row: a WHERE or RETURNING). INSERT: their WITH CHECK, on this row.
fn applicable_policies(table: &Table, command: Command) -> error::Result<Vec<Policy>> {
    let letter = match command {
        Command::Select => "r",
        Command::Insert => "a",
        Command::Update => "w",
        Command::Delete => "d",
    };
    let with_select = matches!(command, Command::Update | Command::Delete);
    let mut out = Vec::new();
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT p.polname::text, CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
                    WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                    p.polpermissive,
                    CASE WHEN $2 OPERATOR(pg_catalog.=) 'a' OR p.polcmd OPERATOR(pg_catalog.=) 'a'
                         THEN pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)
                         ELSE pg_catalog.pg_get_expr(p.polqual, p.polrelid) END
               FROM pg_catalog.pg_policy p
              WHERE p.polrelid OPERATOR(pg_catalog.=) $1 AND p.polname LIKE 'authz\\_%'
                AND (p.polcmd OPERATOR(pg_catalog.=) $2::\"char\" OR p.polcmd OPERATOR(pg_catalog.=) '*'
                     OR ($3 AND p.polcmd OPERATOR(pg_catalog.=) 'r'))
              ORDER BY p.polpermissive DESC, p.polname",
            None,
            &[table.oid.into(), letter.into(), with_select.into()],
        )?;
        for row in rows {
            out.push(Policy {
                name: row.get::<String>(1)?.unwrap_or_default(),
                command: row.get::<String>(2)?.unwrap_or_default(),
                permissive: row.get::<bool>(3)?.unwrap_or(false),
                expression: row.get::<String>(4)?,
            });
        }
        Ok::<_, pgrx::spi::SpiError>(())
    })?;
    Ok(out)
}

/// The strict triggers of the spec that fire for `command` (UPDATE or DELETE) and are on
/// `table`, as the spec makes them: a trigger's own arguments are not trusted (a role with
/// TRIGGER on the table could have written them), only its name and function.
fn strict_triggers(
    table: &Table,
    spec: &Spec,
    command: Command,
) -> error::Result<Vec<StrictTrigger>> {
    let mut out = Vec::new();
    for trigger in spec.strict_triggers(table)? {
        if !trigger.commands.contains(&command) {
            continue;
        }
        let present = Spi::get_one_with_args::<bool>(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_trigger t
                             WHERE t.tgrelid OPERATOR(pg_catalog.=) $1 AND t.tgname OPERATOR(pg_catalog.=) $2
                               AND t.tgfoid OPERATOR(pg_catalog.=) 'authz.refuse_conditional_change()'::pg_catalog.regprocedure)",
            &[table.oid.into(), trigger.name.as_str().into()],
        )? == Some(true);
        if present {
            out.push(trigger);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The rules of the spec that open rows to permission holders (or, object grants, to anyone).
fn row_rules(spec_json: &Value) -> Vec<&'static str> {
    ["owner", "members", "object_grants"]
        .into_iter()
        .filter(|r| {
            let rule = &spec_json[*r];
            !rule.is_null() && *rule != json!(false) && *rule != json!([])
        })
        .collect()
}

/// The spec rule a generated policy comes from.
fn rule_of(policy: &str, spec_json: &Value) -> String {
    let name = policy.strip_prefix("authz_").unwrap_or(policy);
    if matches!(name, "select" | "insert" | "update" | "delete") {
        let rules = row_rules(spec_json);
        if rules.is_empty() {
            return "model permission".into();
        }
        return format!("model permission and one of: {}", rules.join(", "));
    }
    if let Some(rest) = name.strip_prefix("condition_") {
        let index = rest.split('_').next().unwrap_or(rest);
        return format!("conditions[{index}]");
    }
    for (prefix, rule) in [
        ("tenant", "tenant"),
        ("status_", "status"),
        ("age_", "max_age"),
    ] {
        if name.starts_with(prefix) {
            return rule.into();
        }
    }
    if name == "intact" {
        return "intact (every generated restriction in place)".into();
    }
    name.to_owned()
}

/// Evaluates expressions on the row, as the table's owner, for the user explained.
struct Evaluator<'a> {
    table: &'a Table,
    /// The row, as its composite type's text.
    row: &'a str,
    user: Option<&'a str>,
    owner: pg_sys::Oid,
}

impl Evaluator<'_> {
    /// Whether `expression` (over the row's columns) is true for the row.
    fn holds(&self, expression: &str) -> error::Result<bool> {
        let query = format!(
            "SELECT ({expression}) IS TRUE FROM (SELECT ($1::pg_catalog.text::{}).*) AS t",
            self.table.name
        );
        let result = crate::identity::evaluating_as(self.user, || {
            crate::cache::with_pinned_search_path(|| {
                as_table_owner_restricted(self.owner, OwnerReads::UnderItsPolicies, || {
                    Ok(Spi::get_one_with_args::<bool>(&query, &[self.row.into()])?)
                })
            })
        })?;
        Ok(result == Some(true))
    }

    /// The entries of a "who" list (permissions, `group:Name`s, "superuser") the user lacks.
    fn lacking(&self, entries: &[String], field: &str) -> error::Result<Vec<String>> {
        let mut out = Vec::new();
        for entry in entries {
            let held = if entry == "superuser" {
                self.holds("authz.is_superuser()")?
            } else {
                let check = who(std::slice::from_ref(entry), field)?.join("");
                self.holds(&format!("authz.is_superuser() OR {check}"))?
            };
            if !held {
                out.push(entry.clone());
            }
        }
        Ok(out)
    }

    /// What is missing for a failing policy, from the spec.
    fn missing(
        &self,
        policy: &str,
        command: Command,
        spec: &Spec,
        spec_json: &Value,
    ) -> error::Result<Value> {
        let name = policy.strip_prefix("authz_").unwrap_or(policy);
        if let Some(rest) = name.strip_prefix("condition_") {
            let index: usize = rest
                .split('_')
                .next()
                .and_then(|i| i.parse().ok())
                .unwrap_or(0);
            if let Some(c) = spec
                .conditions
                .explained(self.table)?
                .into_iter()
                .nth(index)
            {
                return Ok(
                    json!({"condition": c.when, "requires": self.lacking(&c.requires, &c.label)?}),
                );
            }
        }
        let model = &spec_json["model"];
        Ok(match name {
            "select" | "insert" | "update" | "delete" => {
                let (app, model) = model
                    .as_str()
                    .and_then(|m| m.split_once('.'))
                    .unwrap_or(("", ""));
                let model = model.to_lowercase();
                let perms: Vec<String> = match Command::parse(name).unwrap_or(command) {
                    Command::Select => vec![
                        format!("{app}.view_{model}"),
                        format!("{app}.change_{model}"),
                    ],
                    Command::Insert => vec![format!("{app}.add_{model}")],
                    Command::Update => vec![format!("{app}.change_{model}")],
                    Command::Delete => vec![format!("{app}.delete_{model}")],
                };
                let lacking = self.lacking(&perms, "model")?;
                if lacking.len() == perms.len() {
                    json!({"permission": perms.join(" or ")})
                } else {
                    let rules: serde_json::Map<String, Value> = row_rules(spec_json)
                        .into_iter()
                        .map(|r| (r.to_owned(), spec_json[r].clone()))
                        .collect();
                    json!({"row": "the row matches none of the row rules for this user", "rules": rules})
                }
            }
            "tenant" => {
                json!({"membership": format!("the row's tenant ({}) is not one of the user's, in {}",
                                                     spec_json["tenant"]["column"].as_str().unwrap_or("?"),
                                                     spec_json["tenant"]["table"].as_str().unwrap_or("?"))})
            }
            n if n.starts_with("status_") => {
                let status = &spec_json["status"];
                json!({"condition": format!("the row's {} is locked (superusers only) or editors-only", status["column"].as_str().unwrap_or("?")),
                       "locked": status["locked"], "editors_only": status["editors_only"],
                       "editors": self.lacking(&strings(&status["editors"]), "status.editors")?})
            }
            n if n.starts_with("age_") => {
                let age = &spec_json["max_age"];
                json!({"condition": format!("the row is older than {} days by {} (superusers only), or the date is in the future",
                                            age["days"], age["column"].as_str().unwrap_or("?"))})
            }
            "intact" => {
                json!({"condition": "a generated RESTRICTIVE policy is missing: the table fails closed until protect runs again"})
            }
            _ => json!({"policy": literal(policy)}),
        })
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
