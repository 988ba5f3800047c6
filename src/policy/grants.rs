//! Object grants with django-guardian's semantics: a grant in `authz.object_permissions` of the
//! command's permission on a row's primary key, to the user or one of its groups, gives access
//! to that row without the model permission. Inactive users hold no grant. Only grants of the
//! spec's model count (not those of another model once bound to the same table), and a grant
//! names its object by the key's canonical text, `key::text`, as `has_perm(user, perm, pk)`
//! compares it.

use super::sql::{guarded_cast, literal};
use super::table::Table;
use super::{Command, Rule};
use crate::catalog::ModelName;
use crate::error::{self, AuthzError};

#[derive(Debug)]
pub struct ObjectGrants {
    app_label: String,
    model: String,
}

impl ObjectGrants {
    pub fn of(model: &ModelName) -> ObjectGrants {
        ObjectGrants {
            app_label: model.app_label.clone(),
            model: model.model.clone(),
        }
    }
}

impl Rule for ObjectGrants {
    fn direct_access(&self, command: Command, table: &Table) -> error::Result<Vec<String>> {
        let [key] = table.primary_key.as_slice() else {
            return Err(AuthzError::InvalidArgument(format!(
                "object_grants: relation {} needs a single-column primary key (grants name objects by it)",
                table.name
            )));
        };
        let (key, key_type) = table.column(key, "object_grants")?;
        let actions: &[&str] = match command {
            Command::Select => &["view", "change"],
            Command::Insert => return Ok(Vec::new()),
            Command::Update => &["change"],
            Command::Delete => &["delete"],
        };
        let codenames: Vec<String> = actions
            .iter()
            .map(|a| literal(&format!("{a}_{}", self.model)))
            .collect();
        // Compared in the key's own type where possible, so `= ANY` can use the key's index.
        let (left, granted) = match guarded_cast("op.object_pk", key_type) {
            Some(cast) => (key, cast),
            None => (format!("({key})::text"), "op.object_pk".to_owned()),
        };
        Ok(vec![format!(
            "{left} = ANY (ARRAY(
        SELECT {granted} FROM authz.object_permissions op
          JOIN authz.permissions p ON p.id = op.permission_id
          JOIN authz.content_types ct ON ct.id = p.content_type_id
         WHERE ct.app_label = {app_label} AND ct.model = {model}
           AND p.codename IN ({codenames})
           AND (SELECT u.is_active FROM authz.users u WHERE u.id = (SELECT authz.current_user_id()))
           AND (op.user_id = (SELECT authz.current_user_id())
                OR op.group_id IN (SELECT ug.group_id FROM authz.user_groups ug
                                    WHERE ug.user_id = (SELECT authz.current_user_id())))))",
            app_label = literal(&self.app_label),
            model = literal(&self.model),
            codenames = codenames.join(", "),
        )])
    }
}
