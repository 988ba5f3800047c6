//! The cached users, indexed by what their invalidations name (see `keys`): a user bucket, a
//! group. Applying a key then touches the entries it names, not every cached user: a backend
//! holding 10 000 users spent most of a first check after a change to one user's row scanning
//! them all.

use std::rc::Rc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::{keys, Cached, UserAuth, View};

/// The entries by user id, with two indexes kept exact on every insertion and removal: the ids
/// under each user bucket, and the ids of the known users who belong to each group. The three
/// share one allocation of each id.
#[derive(Default)]
pub(super) struct Users {
    by_id: FxHashMap<Rc<str>, Cached>,
    by_bucket: FxHashMap<u32, Vec<Rc<str>>>,
    members: FxHashMap<i64, FxHashSet<Rc<str>>>,
}

impl Users {
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn get(&self, id: &str) -> Option<&Cached> {
        self.by_id.get(id)
    }

    pub fn clear(&mut self) {
        self.by_id.clear();
        self.by_bucket.clear();
        self.members.clear();
    }

    /// Keep `user` (`None`: no such user) as `id`'s fresh entry, bound to `bound_to` when it was
    /// read under a view that may miss a change already processed.
    pub fn insert(&mut self, id: &str, user: Option<Rc<UserAuth>>, bound_to: Option<View>) {
        self.remove(id);
        let id: Rc<str> = id.into();
        let bucket = keys::user_bucket(&id);
        for group in user.iter().flat_map(|u| u.groups.iter()) {
            self.members.entry(group.id).or_default().insert(id.clone());
        }
        self.by_bucket.entry(bucket).or_default().push(id.clone());
        let entry = Cached {
            user,
            bound_to,
            bucket,
            row_stale: false,
            groups_stale: false,
        };
        self.by_id.insert(id, entry);
    }

    fn remove(&mut self, id: &str) {
        let Some(old) = self.by_id.remove(id) else {
            return;
        };
        for group in old.user.iter().flat_map(|u| u.groups.iter()) {
            if let Some(ids) = self.members.get_mut(&group.id) {
                ids.remove(id);
                if ids.is_empty() {
                    self.members.remove(&group.id);
                }
            }
        }
        if let Some(ids) = self.by_bucket.get_mut(&old.bucket) {
            ids.retain(|kept| &**kept != id);
            if ids.is_empty() {
                self.by_bucket.remove(&old.bucket);
            }
        }
    }

    /// Apply invalidated keys: drop the users of the buckets in `users` (what they hold
    /// changed); mark those of the buckets in `rows` (their own row changed) to have their flags
    /// read again, dropping the unknown ids among them (a signup); mark the members of the
    /// groups of the buckets in `groups` to have their groups taken again.
    pub fn apply(
        &mut self,
        users: &FxHashSet<u32>,
        rows: &FxHashSet<u32>,
        groups: &FxHashSet<u32>,
    ) {
        for bucket in users {
            for id in self.by_bucket.remove(bucket).unwrap_or_default() {
                self.remove(&id);
            }
        }
        for bucket in rows {
            for id in self.by_bucket.get(bucket).cloned().unwrap_or_default() {
                match self.by_id.get_mut(&*id) {
                    Some(Cached { user: None, .. }) => self.remove(&id),
                    Some(entry) => entry.row_stale = true,
                    None => (),
                }
            }
        }
        if groups.is_empty() {
            return;
        }
        let members: Vec<Rc<str>> = self
            .members
            .iter()
            .filter(|(&group, _)| groups.contains(&keys::group_bucket(group)))
            .flat_map(|(_, ids)| ids.iter().cloned())
            .collect();
        for id in members {
            if let Some(entry) = self.by_id.get_mut(&*id) {
                entry.groups_stale = true;
            }
        }
    }
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use super::*;
    use crate::cache::load::{Catalog, Group};
    use pgrx::prelude::*;

    fn member_of(groups: &[i64]) -> Option<Rc<UserAuth>> {
        let groups = groups.iter().map(|&id| {
            Rc::new(Group {
                id,
                name: format!("g{id}").into(),
                perm_ids: Box::new([]),
            })
        });
        Some(Rc::new(UserAuth {
            is_active: true,
            is_staff: false,
            is_superuser: false,
            perm_ids: Box::new([]),
            groups: groups.collect(),
            catalog: Rc::new(Catalog::default()),
        }))
    }

    fn set(buckets: &[u32]) -> FxHashSet<u32> {
        buckets.iter().copied().collect()
    }

    fn stale(users: &Users, id: &str) -> (bool, bool) {
        let e = users.get(id).expect("still cached");
        (e.row_stale, e.groups_stale)
    }

    #[pg_test]
    fn a_key_touches_the_entries_it_names_only() {
        let mut users = Users::default();
        users.insert("a", member_of(&[1, 2]), None);
        users.insert("b", member_of(&[2]), None);
        users.insert("c", member_of(&[]), None);
        users.insert("nobody", None, None);
        let none = set(&[]);

        users.apply(&none, &none, &set(&[keys::group_bucket(1)]));
        assert_eq!(stale(&users, "a"), (false, true), "a member of group 1");
        assert_eq!(stale(&users, "b"), (false, false), "not a member");

        users.apply(
            &none,
            &set(&[keys::user_bucket("c"), keys::user_bucket("nobody")]),
            &none,
        );
        assert_eq!(stale(&users, "c"), (true, false), "its row changed");
        assert!(
            users.get("nobody").is_none(),
            "an unknown id goes at a signup"
        );
        assert_eq!(stale(&users, "b"), (false, false));

        users.apply(&set(&[keys::user_bucket("b")]), &none, &none);
        assert!(users.get("b").is_none(), "what b holds changed");
        assert_eq!(users.len(), 2);
    }

    #[pg_test]
    fn the_indexes_follow_replaced_and_removed_entries() {
        let mut users = Users::default();
        users.insert("a", member_of(&[1]), None);
        users.insert("a", member_of(&[2]), None);
        assert_eq!(
            users.by_bucket[&keys::user_bucket("a")].len(),
            1,
            "replaced, not added"
        );
        assert!(
            !users.members.contains_key(&1),
            "a left group 1 with its old entry"
        );
        let none = set(&[]);
        users.apply(&none, &none, &set(&[keys::group_bucket(1)]));
        assert_eq!(stale(&users, "a"), (false, false));
        users.apply(&set(&[keys::user_bucket("a")]), &none, &none);
        assert!(users.by_id.is_empty() && users.by_bucket.is_empty() && users.members.is_empty());
    }
}
