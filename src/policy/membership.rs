//! Membership through another table. `members` (team, department managers) grant access to
//! rows whose key the user is a member of; `tenant` (organization, store) is RESTRICTIVE: a row
//! outside the user's tenants is out of reach whatever else holds, and no write may move a row
//! into a tenant the user lacks. A user may belong to several teams or tenants.

use serde::Deserialize;

use super::sql::{current_user_as, once, superuser};
use super::table::Table;
use super::{Access, Bypass, Command, Restriction, Rule};
use crate::error::{self, AuthzError};

/// Where memberships are listed: `table(user_column, key_column[, can_edit])`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    /// The protected table's column holding the team, department or tenant key.
    column: String,
    /// The membership table, e.g. 'app.project_members'.
    table: String,
    /// Its column holding the key (defaults to `column`).
    #[serde(default)]
    key: Option<String>,
    /// Its column holding the member's app user id (default 'user_id').
    #[serde(default = "user_id")]
    user: String,
    /// Its boolean column saying whether the member may edit (absent: every member may).
    #[serde(default)]
    can_edit: Option<String>,
}

fn user_id() -> String {
    "user_id".into()
}

impl Membership {
    /// The protected column (quoted) and `SELECT m.key FROM table m WHERE m.user = <current
    /// user> [AND m.can_edit]`, the keys the current user is a member of.
    fn keys(&self, table: &Table, editing: bool, field: &str) -> error::Result<(String, String)> {
        let (column, _) = table.column(&self.column, &format!("{field}.column"))?;
        let members = MembershipTable::load(&self.table, field)?;
        let key = members.column(
            self.key.as_deref().unwrap_or(&self.column),
            &format!("{field}.key"),
        )?;
        let (user, user_type) = members.column_typed(&self.user, &format!("{field}.user"))?;
        let current = current_user_as(&user_type, &format!("{field}.user"))?;
        let mut filter = format!("m.{user} = {current}");
        if let (true, Some(flag)) = (editing, &self.can_edit) {
            filter.push_str(&format!(
                " AND m.{}",
                members.column(flag, &format!("{field}.can_edit"))?
            ));
        }
        Ok((
            column,
            format!("SELECT m.{key} FROM {} m WHERE {filter}", members.name),
        ))
    }

    /// `column = ANY (ARRAY(keys))`: the keys are computed once (an InitPlan), and `= ANY` can
    /// use an index on the column.
    fn member_of(&self, table: &Table, editing: bool, field: &str) -> error::Result<String> {
        let (column, keys) = self.keys(table, editing, field)?;
        Ok(format!("{column} = ANY (ARRAY({keys}))"))
    }
}

/// Team / department rule: members see rows; editing members (all, or those with `can_edit`)
/// change them; deleting needs `can_delete`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Members {
    #[serde(flatten)]
    membership: Membership,
    /// Whether editing members may delete rows (default false: e.g. owner-only delete).
    #[serde(default)]
    can_delete: bool,
}

impl Rule for Members {
    fn scopes_rows(&self) -> bool {
        true
    }

    fn row_access(&self, command: Command, table: &Table) -> error::Result<Vec<Access>> {
        let editing = match command {
            Command::Select => false,
            Command::Delete if !self.can_delete => return Ok(Vec::new()),
            _ => true,
        };
        Ok(vec![Access::Rows(
            self.membership.member_of(table, editing, "members")?,
        )])
    }
}

/// Tenant rule: RESTRICTIVE on every command, for reading and for writing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    #[serde(flatten)]
    membership: Membership,
    /// Whether superusers are confined to their tenants too (default false: active superusers
    /// pass, as in Django). For platforms where `is_superuser` means "tenant admin".
    #[serde(default)]
    confine_superusers: bool,
}

/// The tenants the current user is a member of, for a tenant rule that confines superusers:
/// every generated policy of the table is then written as an index condition on the tenant
/// column (see [`Confinement::keys_where`]).
pub struct Confinement {
    column: String,
    keys: String,
}

impl Confinement {
    /// `column = ANY (ARRAY(<the user's tenants> AND (SELECT condition)))`: the rows of the
    /// user's tenants while the row-independent `condition` holds, none otherwise. Trick: the
    /// condition (the model permission, the authz_intact check) rides inside the array's
    /// subquery, computed once per query, instead of being a per-row filter. PostgreSQL tests a
    /// policy's once-per-query value on every row it scans (it never makes a row-level-security
    /// condition a one-time filter); as index conditions on the same column, the generated
    /// policies cost a tenant count what the hand-written WHERE costs (README, Performance).
    pub fn keys_where(&self, condition: &str) -> String {
        format!(
            "{} = ANY (ARRAY({} AND {}))",
            self.column,
            self.keys,
            once(condition)
        )
    }
}

impl Tenant {
    /// The confinement, when this rule confines superusers.
    pub fn confinement(&self, table: &Table) -> error::Result<Option<Confinement>> {
        if !self.confine_superusers {
            return Ok(None);
        }
        let (column, keys) = self.membership.keys(table, false, "tenant")?;
        Ok(Some(Confinement { column, keys }))
    }
}

impl Rule for Tenant {
    fn restrictions(&self, table: &Table) -> error::Result<Vec<Restriction>> {
        let (inside, bypass) = match table.bounded_not_null(&self.membership.column) {
            // Superusers confined: the bare membership, no bypass.
            _ if self.confine_superusers => (
                self.membership.member_of(table, false, "tenant")?,
                Bypass::Included,
            ),
            Some(bounds) => (self.within_range(table, bounds)?, Bypass::Included),
            None => (
                self.membership.member_of(table, false, "tenant")?,
                Bypass::KeyRange,
            ),
        };
        Ok(vec![Restriction {
            name: "tenant".into(),
            command: None,
            using: Some(inside.clone()),
            check: Some(inside),
            bypass,
        }])
    }
}

impl Tenant {
    /// For a NOT NULL column of a bounded type: an index range over the user's tenants (the
    /// whole type for superusers) with the exact membership as a filter on the same column, so
    /// a count can be answered from the index alone, as with a hand-written WHERE. The range is
    /// exact for superusers and for members of one tenant; then the filter stops at its first,
    /// once-per-query term.
    fn within_range(&self, table: &Table, (min, max): (&str, &str)) -> error::Result<String> {
        let (column, keys) = self.membership.keys(table, false, "tenant")?;
        let superuser = superuser();
        let bound = |whole: &str, aggregate: &str| {
            format!("(SELECT CASE WHEN {superuser} THEN {whole} ELSE (SELECT {aggregate}(k) FROM ({keys}) s(k)) END)")
        };
        Ok(format!(
            "{column} BETWEEN {} AND {} AND ({} OR {column} = ANY (ARRAY({keys})))",
            bound(min, "min"),
            bound(max, "max"),
            once(&format!(
                "{superuser} OR (SELECT count(DISTINCT k) <= 1 FROM ({keys}) s(k))"
            )),
        ))
    }
}

/// The membership table, resolved to a quoted name and its columns.
struct MembershipTable {
    name: String,
    inner: Table,
}

impl MembershipTable {
    fn load(name: &str, field: &str) -> error::Result<MembershipTable> {
        let oid = pgrx::Spi::get_one_with_args::<pgrx::pg_sys::Oid>(
            "SELECT to_regclass($1)::oid",
            &[name.into()],
        )?
        .ok_or_else(|| {
            AuthzError::InvalidArgument(format!(
                "{field}.table: relation \"{name}\" does not exist"
            ))
        })?;
        let inner = Table::load(oid)?;
        Ok(MembershipTable {
            name: inner.name.clone(),
            inner,
        })
    }

    fn column(&self, column: &str, field: &str) -> error::Result<String> {
        Ok(self.inner.column(column, field)?.0)
    }

    fn column_typed(&self, column: &str, field: &str) -> error::Result<(String, String)> {
        let (quoted, column_type) = self.inner.column(column, field)?;
        Ok((quoted, column_type.to_owned()))
    }
}
