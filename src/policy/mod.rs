//! Generated row-level security: `authz.protect(relation, spec)` turns a declarative spec (the
//! `get_queryset()` and `has_*_permission(obj)` rules of a Django admin) into RLS policies, so
//! every client sees and changes only the rows the rules allow.
//!
//! For each command the one permissive policy is
//!   active superuser OR (model permission AND (no row rule OR any row rule's access)) OR object grant
//! and every restriction (tenant, status, age) is a RESTRICTIVE policy no other rule can widen.
//! Checks are written `(SELECT authz.…)`, so PostgreSQL evaluates them once per query, and row
//! predicates compare a column with such a value, so indexes apply. Adding a rule kind means one
//! file here implementing [`Rule`], and one pg_regress file.

mod age;
mod conditions;
mod explain;
mod grants;
mod hidden;
mod membership;
mod owner;
mod predicate;
mod readonly;
mod sql;
mod status;
mod strict;
mod table;

use pgrx::prelude::*;
use pgrx::PgRelation;
use serde::Deserialize;

use crate::catalog::{ensure_content_type, ensure_permission, ModelName};
use crate::error::{self, required_arg, AuthzError, OrRaise};
use sql::{model_permission, once, superuser};
use table::Table;

/// The four commands a policy can be for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Select,
    Insert,
    Update,
    Delete,
}

impl Command {
    const ALL: [Command; 4] = [
        Command::Select,
        Command::Insert,
        Command::Update,
        Command::Delete,
    ];

    /// The command named `name` (any case).
    fn parse(name: &str) -> Option<Command> {
        Command::ALL
            .into_iter()
            .find(|c| c.sql().eq_ignore_ascii_case(name))
    }

    fn sql(self) -> &'static str {
        match self {
            Command::Select => "SELECT",
            Command::Insert => "INSERT",
            Command::Update => "UPDATE",
            Command::Delete => "DELETE",
        }
    }
}

/// How a rule grants access to rows.
pub enum Access {
    /// The rows matching this predicate (it references the row's columns).
    Rows(String),
    /// The rows whose `column` (quoted) equals `value`, an expression of no column evaluated
    /// once per query (the owner rule's current user).
    ColumnIs { column: String, value: String },
    /// Every row, when this row-independent condition holds (see_all, edit_all).
    AllRows(String),
}

/// A RESTRICTIVE policy a rule asks for.
pub struct Restriction {
    /// Suffix of the policy name: `authz_<name>`.
    pub name: String,
    /// `None`: FOR ALL.
    pub command: Option<Command>,
    pub using: Option<String>,
    pub check: Option<String>,
    /// How active superusers pass it.
    pub bypass: Bypass,
}

impl Restriction {
    /// The same condition on the existing row of an UPDATE and a DELETE, named
    /// `authz_<name>_update` / `authz_<name>_delete`. The new row of an UPDATE is not checked, so
    /// moving a row into the restricted state (approving, say) stays allowed.
    pub fn on_existing_rows(name: &str, using: String) -> Vec<Restriction> {
        [Command::Update, Command::Delete]
            .into_iter()
            .map(|command| Restriction {
                name: format!("{name}_{}", command.sql().to_lowercase()),
                command: Some(command),
                using: Some(using.clone()),
                check: (command == Command::Update).then(|| "true".to_owned()),
                bypass: Bypass::Plain,
            })
            .collect()
    }
}

/// How a restriction lets active superusers through.
pub enum Bypass {
    /// `superuser OR predicate`: for predicates no index serves anyway.
    Plain,
    /// A primary-key range that is empty unless the user is a superuser (see
    /// `Table::all_rows_if`), so the predicate's index stays usable.
    KeyRange,
    /// The rule wrote the bypass into its predicates itself.
    Included,
}

/// One rule kind of the spec.
pub trait Rule {
    /// Whether the rule limits which rows the model permission reaches (owner, team, ...): then
    /// a row must match one of the rules' `row_access` alternatives.
    fn scopes_rows(&self) -> bool {
        false
    }
    /// Alternatives, each granting `command` on rows, for holders of the model permission.
    fn row_access(&self, _command: Command, _table: &Table) -> error::Result<Vec<Access>> {
        Ok(Vec::new())
    }
    /// Alternatives granting `command` on a row without the model permission (object grants).
    fn direct_access(&self, _command: Command, _table: &Table) -> error::Result<Vec<String>> {
        Ok(Vec::new())
    }
    /// RESTRICTIVE policies.
    fn restrictions(&self, _table: &Table) -> error::Result<Vec<Restriction>> {
        Ok(Vec::new())
    }
    /// Other statements to run after the policies (triggers).
    fn statements(&self, _table: &Table) -> error::Result<Vec<String>> {
        Ok(Vec::new())
    }
}

/// The declarative spec, as JSON. See README "Row-level security" for every field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    /// 'app_label.ModelName': the model whose add_/change_/delete_/view_ permissions gate rows.
    model: String,
    #[serde(default)]
    owner: Option<owner::Owner>,
    #[serde(default)]
    members: Vec<membership::Members>,
    #[serde(default)]
    tenant: Option<membership::Tenant>,
    #[serde(default)]
    object_grants: bool,
    #[serde(default)]
    status: Option<status::Status>,
    #[serde(default)]
    max_age: Option<age::MaxAge>,
    #[serde(default)]
    readonly: Vec<readonly::Readonly>,
    #[serde(default, rename = "conditions")]
    condition_list: Vec<conditions::Condition>,
    /// Whether conditions, status and max_age raise 42501 for the rows they keep from an
    /// UPDATE or DELETE, instead of skipping them.
    #[serde(default)]
    strict: bool,
    #[serde(default)]
    hidden: hidden::HiddenColumns,
    /// `conditions` with `strict`.
    #[serde(skip)]
    conditions: conditions::Conditions,
    /// The object grants rule of `model`, when `object_grants`.
    #[serde(skip)]
    grants: Option<grants::ObjectGrants>,
}

impl Spec {
    fn parse(value: &serde_json::Value) -> error::Result<(Spec, ModelName)> {
        let mut spec: Spec = serde_json::from_value(value.clone())
            .map_err(|e| AuthzError::InvalidArgument(format!("invalid protect spec: {e}")))?;
        let model = ModelName::parse(&spec.model)?;
        spec.grants = spec.object_grants.then(|| grants::ObjectGrants::of(&model));
        if let Some(status) = &mut spec.status {
            status.strict = spec.strict;
        }
        if let Some(age) = &mut spec.max_age {
            age.strict = spec.strict;
        }
        spec.conditions = conditions::Conditions {
            list: std::mem::take(&mut spec.condition_list),
            strict: spec.strict,
        };
        Ok((spec, model))
    }

    /// The strict triggers the spec's conditions, status and max_age rules make (none unless
    /// `strict`).
    fn strict_triggers(&self, table: &Table) -> error::Result<Vec<strict::StrictTrigger>> {
        let mut out = self.conditions.strict_triggers(table)?;
        if let Some(status) = &self.status {
            out.extend(status.strict_triggers(table)?);
        }
        if let Some(age) = &self.max_age {
            out.extend(age.strict_triggers(table)?);
        }
        Ok(out)
    }

    fn rules(&self) -> Vec<&dyn Rule> {
        let mut rules: Vec<&dyn Rule> = Vec::new();
        if let Some(owner) = &self.owner {
            rules.push(owner);
        }
        rules.extend(self.members.iter().map(|m| m as &dyn Rule));
        if let Some(tenant) = &self.tenant {
            rules.push(tenant);
        }
        if let Some(grants) = &self.grants {
            rules.push(grants);
        }
        if let Some(status) = &self.status {
            rules.push(status);
        }
        if let Some(age) = &self.max_age {
            rules.push(age);
        }
        rules.extend(self.readonly.iter().map(|r| r as &dyn Rule));
        rules.push(&self.conditions);
        rules.push(&self.hidden);
        rules
    }
}

/// The permissive policy of one command: a bypass for every row (superusers, and model
/// permission holders when no rule scopes rows or a see_all/edit_all applies), OR'ed with the
/// indexable row predicates and the object grants.
fn permissive(
    model: &ModelName,
    command: Command,
    rules: &[&dyn Rule],
    table: &Table,
    confined: Option<&membership::Confinement>,
) -> error::Result<String> {
    let permission = model_permission(model, command);
    let mut every_row = vec![superuser()];
    let mut rows = Vec::new();
    if !rules.iter().any(|r| r.scopes_rows()) {
        every_row.push(permission.clone());
    }
    for rule in rules {
        for access in rule.row_access(command, table)? {
            match access {
                Access::AllRows(condition) => {
                    every_row.push(format!("({permission} AND {condition})"))
                }
                Access::Rows(predicate) => {
                    rows.push(format!("({} AND {predicate})", once(&permission)))
                }
                // The permission folded into the compared value (NULL without it, so that no
                // row matches): one InitPlan instead of two, each an executor set-up per query
                // (a few per cent of a short query's time), and one test fewer per row.
                Access::ColumnIs { column, value } => rows.push(format!(
                    "{column} = (SELECT CASE WHEN {permission} THEN {value} END)"
                )),
            }
        }
        rows.extend(rule.direct_access(command, table)?);
    }
    let every_row = every_row.join(" OR ");
    if rows.is_empty() {
        // Row-independent: one parameter per row; for a tenant that confines superusers, an
        // index condition instead (the tenant restriction requires those rows anyway).
        return Ok(match confined {
            Some(confined) => confined.keys_where(&every_row),
            None => once(&every_row),
        });
    }
    let mut alternatives = vec![table.all_rows_if(&every_row)];
    alternatives.extend(rows);
    Ok(alternatives.join("\n    OR "))
}

/// The RESTRICTIVE policy `authz_intact`: every row is out of reach unless the table still has
/// all `count` RESTRICTIVE policies protect made (itself included). A restriction dropped as a
/// side effect (a CASCADE from a membership table, in a session that skips the event trigger
/// guarding against it) then denies everything instead of opening the rows it kept out. It
/// depends on nothing but the table, and costs one relation-cache read per query (an InitPlan).
fn intact(table: &Table, count: usize, confined: Option<&membership::Confinement>) -> String {
    let intact = format!(
        "authz.protection_intact({}::regclass, {count})",
        sql::literal(&table.name)
    );
    // A tenant that confines superusers: as an index condition (see Confinement::keys_where).
    let check = match confined {
        Some(confined) => confined.keys_where(&intact),
        None => once(&intact),
    };
    format!(
        "CREATE POLICY authz_intact ON {} AS RESTRICTIVE FOR ALL TO PUBLIC\n  USING ({check})\n  WITH CHECK ({check})",
        table.name
    )
}

/// Open relation `relid` if it exists (without a lock beyond AccessShare) and run `f` on it.
pub(crate) fn with_relation<T>(
    relid: pg_sys::Oid,
    f: impl FnOnce(pg_sys::Relation) -> T,
) -> Option<T> {
    // SAFETY: try_relation_open returns NULL for a missing relation, else an open relation
    // that is closed again before returning.
    unsafe {
        let relation =
            pg_sys::try_relation_open(relid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        if relation.is_null() {
            return None;
        }
        let result = f(relation);
        pg_sys::relation_close(relation, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        Some(result)
    }
}

/// Whether `relation` has `restrictive` RESTRICTIVE row-level security policies named `authz_*`
/// (read from the relation cache, no query): the check of the `authz_intact` policy that
/// `authz.protect` adds to tables with restrictions. False, denying every row, once one of them
/// is gone, or for a relation that does not exist.
#[pg_extern(stable, parallel_safe)]
fn protection_intact(relation: Option<pg_sys::Oid>, restrictive: Option<i32>) -> bool {
    let (Some(relation), Some(restrictive)) = (relation, restrictive) else {
        return false;
    };
    // SAFETY: the relation is open; its row-security descriptor and policy list live in its
    // relcache entry, read without changing them.
    let found = with_relation(relation, |relation| unsafe {
        let rsdesc = (*relation).rd_rsdesc;
        if rsdesc.is_null() || (*rsdesc).policies.is_null() {
            0
        } else {
            let list = (*rsdesc).policies;
            let cells = std::slice::from_raw_parts((*list).elements, (*list).length as usize);
            cells
                .iter()
                .map(|cell| &*(cell.ptr_value as *const pg_sys::RowSecurityPolicy))
                .filter(|policy| {
                    !policy.permissive
                        && std::ffi::CStr::from_ptr(policy.policy_name)
                            .to_bytes()
                            .starts_with(b"authz_")
                })
                .count()
        }
    });
    found.is_some_and(|found| usize::try_from(restrictive) == Ok(found))
}

/// Every statement `protect` runs for `spec` on `table`, in order.
fn render(spec: &Spec, model: &ModelName, table: &Table) -> error::Result<Vec<String>> {
    let rules = spec.rules();
    let name = &table.name;
    let mut out = vec![
        format!("ALTER TABLE {name} ENABLE ROW LEVEL SECURITY"),
        format!("ALTER TABLE {name} FORCE ROW LEVEL SECURITY"),
    ];
    let confined = match &spec.tenant {
        Some(tenant) => tenant.confinement(table)?,
        None => None,
    };
    for command in Command::ALL {
        let expr = permissive(model, command, &rules, table, confined.as_ref())?;
        let policy = format!("authz_{}", command.sql().to_lowercase());
        out.push(match command {
            Command::Select | Command::Delete => {
                format!("CREATE POLICY {policy} ON {name} AS PERMISSIVE FOR {} TO PUBLIC\n  USING (\n    {expr})", command.sql())
            }
            Command::Insert => {
                format!("CREATE POLICY {policy} ON {name} AS PERMISSIVE FOR INSERT TO PUBLIC\n  WITH CHECK (\n    {expr})")
            }
            Command::Update => format!(
                "CREATE POLICY {policy} ON {name} AS PERMISSIVE FOR UPDATE TO PUBLIC\n  USING (\n    {expr})\n  WITH CHECK (\n    {expr})"
            ),
        });
    }
    let mut restrictions = Vec::new();
    for rule in &rules {
        restrictions.extend(rule.restrictions(table)?);
    }
    let restrictive = restrictions.len();
    for r in restrictions {
        let command = r.command.map_or("ALL", Command::sql);
        let mut policy = format!(
            "CREATE POLICY authz_{} ON {name} AS RESTRICTIVE FOR {command} TO PUBLIC",
            r.name
        );
        let bypass = match r.bypass {
            Bypass::Plain => format!("{} OR ", once(&superuser())),
            Bypass::KeyRange => format!("{} OR ", table.all_rows_if(&superuser())),
            Bypass::Included => String::new(),
        };
        if let Some(using) = r.using {
            policy.push_str(&format!("\n  USING ({bypass}{using})"));
        }
        if let Some(check) = r.check {
            policy.push_str(&format!("\n  WITH CHECK ({bypass}{check})"));
        }
        out.push(policy);
    }
    if restrictive > 0 {
        out.push(intact(table, restrictive + 1, confined.as_ref()));
    }
    for rule in &rules {
        out.extend(rule.statements(table)?);
    }
    Ok(out)
}

/// Protect table `relation` with row-level security generated from `spec` (a JSON object:
/// model, owner, members, tenant, object_grants, status, max_age, readonly, conditions, strict,
/// hidden;
/// see the README).
/// Enables and forces RLS, registers the model, and replaces any policies an earlier call made,
/// in one transaction. Returns the SQL; with `dry_run` it only returns it. Calling it again with
/// the same spec changes nothing.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn protect(
    relation: Option<PgRelation>,
    spec: Option<crate::jsonb::JsonbText>,
    dry_run: default!(Option<bool>, false),
) -> String {
    // Only the oid: an open relation would make ALTER TABLE refuse ("used by active queries").
    let relid = required_arg(relation, "relation").oid();
    let spec_json = required_arg(spec, "spec").parse("spec").or_raise();
    let dry_run = dry_run.unwrap_or(false);
    if dry_run {
        return protect_table(relid, &spec_json, true).or_raise();
    }
    crate::audit::configure(
        "protect",
        relid,
        || recorded_spec(relid),
        || protect_table(relid, &spec_json, false),
    )
    .or_raise()
}

/// The spec `authz.protected_relations` records for the table, if it is protected.
fn recorded_spec(relid: pg_sys::Oid) -> error::Result<Option<serde_json::Value>> {
    Ok(Spi::get_one_with_args::<pgrx::JsonB>(
        "SELECT (SELECT spec FROM authz.protected_relations
                  WHERE relation OPERATOR(pg_catalog.=) $1::oid::regclass)",
        &[relid.into()],
    )?
    .map(|j| j.0))
}

fn protect_table(
    relid: pg_sys::Oid,
    spec_json: &serde_json::Value,
    dry_run: bool,
) -> error::Result<String> {
    let (spec, model) = Spec::parse(spec_json)?;
    let table = Table::load(relid)?;
    let statements = render(&spec, &model, &table)?;
    if !dry_run {
        require_admin("protect", &table)?;
    }
    let script = statements.join(";\n") + ";\n";
    if dry_run || unchanged(&table, spec_json, &script, &statements)? {
        return Ok(script);
    }
    let (was_enabled, was_forced) = table.rls_flags()?;
    let previous = remove_generated(&table)?;
    if count(&statements, VIEW) == 0 {
        drop_generated_views(&table)?;
    }
    // The DDL runs as the caller: only the table's owner gets past it.
    for statement in &statements {
        Spi::run(statement)?;
    }
    // Keep the RLS flags the table had before pg_authz first touched it.
    let (was_enabled, was_forced) = previous.unwrap_or((was_enabled, was_forced));
    // As the caller (an authz_admin member), so that the catalogs' audit entries name it.
    let content_type = ensure_content_type(&model, Some(relid))?;
    for action in ["add", "change", "delete", "view"] {
        let codename = format!("{action}_{}", model.model);
        ensure_permission(
            content_type,
            &codename,
            &format!("Can {action} {}", model.model),
        )?;
    }
    // A table is one model: an earlier model bound to it is not any more, so its object
    // grants and policies cannot reach the table's rows again.
    Spi::run_with_args(
        "UPDATE authz.content_types SET relation = NULL
          WHERE relation OPERATOR(pg_catalog.=) $1::oid::regclass AND id OPERATOR(pg_catalog.<>) $2",
        &[relid.into(), content_type.into()],
    )?;
    Spi::run_with_args(
        "INSERT INTO authz.protected_relations (relation, spec, script, rls_was_enabled, rls_was_forced)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (relation) DO UPDATE
            SET spec = EXCLUDED.spec, script = EXCLUDED.script, protected_at = now()",
        &[
            relid.into(),
            pgrx::JsonB(spec_json.clone()).into(),
            script.as_str().into(),
            was_enabled.into(),
            was_forced.into(),
        ],
    )?;
    refuse_breaches(&table)?;
    Ok(script)
}

/// 22023 when the table, now protected, still has a way around its policies that protect does
/// not remove (`authz.protection_breaches`): a PERMISSIVE policy of someone else's, say.
fn refuse_breaches(table: &Table) -> error::Result<()> {
    let breach = Spi::get_one_with_args::<String>(
        "SELECT (SELECT b.breach FROM authz.protection_breaches b
                  WHERE b.relation OPERATOR(pg_catalog.=) $1::oid::regclass LIMIT 1)",
        &[table.oid.into()],
    )?;
    match breach {
        None => Ok(()),
        Some(breach) => Err(AuthzError::InvalidArgument(format!(
            "cannot protect {}: {breach}; remove it first",
            table.name
        ))),
    }
}

/// 42501 unless the caller has the privileges of authz_admin: protect and unprotect write the
/// catalogs and `authz.protected_relations` as the caller, so that their audit entries name it.
fn require_admin(what: &str, table: &Table) -> error::Result<()> {
    if Spi::get_one::<bool>("SELECT pg_catalog.pg_has_role('authz_admin', 'USAGE')")? == Some(true)
    {
        return Ok(());
    }
    Err(AuthzError::Denied(format!(
        "permission denied to {what} {}: it takes the authz_admin role (and owning the table)",
        table.name
    )))
}

/// Whether `table` is protected with this very spec and script already, and still as protect
/// left it: row-level security on and forced, every generated policy and trigger in place.
fn unchanged(
    table: &Table,
    spec: &serde_json::Value,
    script: &str,
    statements: &[String],
) -> error::Result<bool> {
    let count = |prefix: &str| count(statements, prefix);
    let recorded = Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM authz.protected_relations
                         WHERE relation = $1 AND spec = $2 AND script = $3)",
        &[
            table.oid.into(),
            pgrx::JsonB(spec.clone()).into(),
            script.into(),
        ],
    )? == Some(true);
    Ok(recorded
        && table.rls_flags()? == (true, true)
        && table.generated_policies()?.len() == count("CREATE POLICY")
        && table.generated_triggers()?.len() == count("CREATE TRIGGER")
        && table.generated_views()?.len() == count(VIEW))
}

/// How generated views are created: OR REPLACE keeps the grants a DBA gave on them.
const VIEW: &str = "CREATE OR REPLACE VIEW";

/// How many of `statements` start with `prefix`.
fn count(statements: &[String], prefix: &str) -> usize {
    statements.iter().filter(|s| s.starts_with(prefix)).count()
}

/// Drop the view of hidden columns protect generated on `table`, if any.
fn drop_generated_views(table: &Table) -> error::Result<()> {
    for view in table.generated_views()? {
        Spi::run(&format!("DROP VIEW {view}"))?;
    }
    Ok(())
}

/// Drop the policies and triggers pg_authz generated on `table`; returns the RLS flags recorded
/// when it was first protected, if it was.
fn remove_generated(table: &Table) -> error::Result<Option<(bool, bool)>> {
    for policy in table.generated_policies()? {
        Spi::run(&format!(
            "DROP POLICY {} ON {}",
            sql::ident(&policy),
            table.name
        ))?;
    }
    for trigger in table.generated_triggers()? {
        Spi::run(&format!(
            "DROP TRIGGER {} ON {}",
            sql::ident(&trigger),
            table.name
        ))?;
    }
    Ok(Spi::get_two_with_args::<bool, bool>(
        "SELECT (SELECT rls_was_enabled FROM authz.protected_relations WHERE relation = $1),
                (SELECT rls_was_forced FROM authz.protected_relations WHERE relation = $1)",
        &[table.oid.into()],
    )
    .map(|(e, f)| e.zip(f))?)
}

/// Remove what `authz.protect` made on `relation`, and nothing else: its policies, its
/// triggers, and row-level security if the table did not have it before. Returns whether the
/// table was protected.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn unprotect(relation: Option<PgRelation>) -> bool {
    let relid = required_arg(relation, "relation").oid();
    crate::audit::configure(
        "unprotect",
        relid,
        || recorded_spec(relid),
        || unprotect_table(relid),
    )
    .or_raise()
}

fn unprotect_table(relid: pg_sys::Oid) -> error::Result<bool> {
    let table = Table::load(relid)?;
    require_admin("unprotect", &table)?;
    let Some((was_enabled, was_forced)) = remove_generated(&table)? else {
        return Ok(false);
    };
    drop_generated_views(&table)?;
    if !was_forced {
        Spi::run(&format!(
            "ALTER TABLE {} NO FORCE ROW LEVEL SECURITY",
            table.name
        ))?;
    }
    if !was_enabled {
        Spi::run(&format!(
            "ALTER TABLE {} DISABLE ROW LEVEL SECURITY",
            table.name
        ))?;
    }
    Spi::run_with_args(
        "DELETE FROM authz.protected_relations WHERE relation = $1",
        &[relid.into()],
    )?;
    Ok(true)
}
