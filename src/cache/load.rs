//! Reading the catalogs for the cache: direct primary-key scans of our own tables, no SPI.
//!
//! A user's entry is at most three probes (`users`, `user_groups`, `user_permissions`, each by
//! its primary key's leading column), its flags alone one, and a group's two (`groups`,
//! `group_permissions`): a few microseconds, where one SPI query (executor start-up, a generic
//! plan over the permission strings) cost 300 µs. The permission strings themselves are read
//! once per backend and after any change to `permissions` or `content_types` (two heap scans),
//! and interned: a user holds permission ids, and a check looks its string up once in the
//! interned table. The groups are read with them, whole, when their tables are small (two more
//! heap scans), so that a user's first check needs no group probe; so are every user's
//! memberships and direct grants (two more, see [`Links`]), so that it needs only the `users`
//! probe.
//!
//! Privileges are checked as a query would check them (SELECT on each table, for the current
//! role), and rows are read under the snapshot a read-only SPI query would use: the active one,
//! or, once the transaction has written something, a fresh one that sees its own writes.

use std::rc::Rc;

use pgrx::pg_sys;
use pgrx::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::{AuthzError, Result};

/// The interned permission strings: `app_label.codename` to permission ids (the same string on
/// two models of one app is two ids), and back.
#[derive(Debug, Default)]
pub struct Catalog {
    pub ids_by_name: FxHashMap<Box<str>, Box<[i64]>>,
    pub name_by_id: FxHashMap<i64, Rc<str>>,
}

/// A group: its name and the sorted ids of the permissions it holds.
#[derive(Debug)]
pub struct Group {
    pub id: i64,
    pub name: Rc<str>,
    pub perm_ids: Box<[i64]>,
}

/// A user's own row: flags, group ids and the sorted ids of its direct permissions.
pub struct UserRow {
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub group_ids: Vec<i64>,
    pub perm_ids: Box<[i64]>,
}

/// The relations read here, looked up by name once per full invalidation.
#[derive(Clone, Copy, Debug)]
pub struct Tables {
    content_types: pg_sys::Oid,
    permissions: pg_sys::Oid,
    groups: pg_sys::Oid,
    group_permissions: pg_sys::Oid,
    users: pg_sys::Oid,
    user_groups: pg_sys::Oid,
    user_permissions: pg_sys::Oid,
}

impl Tables {
    pub fn look_up() -> Result<Tables> {
        let relation = |name: &std::ffi::CStr| unsafe {
            let schema = pg_sys::get_namespace_oid(c"authz".as_ptr(), true);
            let oid = if schema == pg_sys::InvalidOid {
                pg_sys::InvalidOid
            } else {
                pg_sys::get_relname_relid(name.as_ptr(), schema)
            };
            if oid == pg_sys::InvalidOid {
                return Err(AuthzError::UndefinedTable(format!(
                    "relation \"authz.{}\" does not exist",
                    name.to_string_lossy()
                )));
            }
            Ok(oid)
        };
        Ok(Tables {
            content_types: relation(c"content_types")?,
            permissions: relation(c"permissions")?,
            groups: relation(c"groups")?,
            group_permissions: relation(c"group_permissions")?,
            users: relation(c"users")?,
            user_groups: relation(c"user_groups")?,
            user_permissions: relation(c"user_permissions")?,
        })
    }
}

/// The value a scan looks for in the leading primary-key column.
#[derive(Clone, Copy)]
enum Probe<'a> {
    Text(&'a str),
    Int8(i64),
}

/// One open relation, locked as a query would lock it (AccessShareLock until the end of the
/// transaction), after the privilege check a query would make.
struct Open(pg_sys::Relation);

/// The privilege check a query reading `relid` would make: SELECT for the current role.
fn check_select(relid: pg_sys::Oid) -> Result<()> {
    unsafe {
        if pg_sys::pg_class_aclcheck(relid, pg_sys::GetUserId(), pg_sys::ACL_SELECT as _)
            == pg_sys::AclResult::ACLCHECK_OK
        {
            return Ok(());
        }
        let name = pg_sys::get_rel_name(relid);
        let name = if name.is_null() {
            relid.to_string()
        } else {
            std::ffi::CStr::from_ptr(name)
                .to_string_lossy()
                .into_owned()
        };
        Err(AuthzError::Denied(format!(
            "permission denied for table {name}"
        )))
    }
}

impl Open {
    fn new(relid: pg_sys::Oid) -> Result<Open> {
        check_select(relid)?;
        unsafe {
            Ok(Open(pg_sys::table_open(
                relid,
                pg_sys::AccessShareLock as pg_sys::LOCKMODE,
            )))
        }
    }

    /// Every row (`probe` None) or the rows whose leading primary-key column equals `probe`,
    /// handed to `each` with the relation's descriptor.
    fn scan(
        &self,
        snapshot: pg_sys::Snapshot,
        probe: Option<Probe>,
        mut each: impl FnMut(*mut pg_sys::HeapTupleData, pg_sys::TupleDesc) -> Result<()>,
    ) -> Result<()> {
        unsafe {
            let rel = self.0;
            let desc = (*rel).rd_att;
            let mut key: pg_sys::ScanKeyData = std::mem::zeroed();
            let (index, nkeys) = match probe {
                None => (pg_sys::InvalidOid, 0),
                Some(probe) => {
                    let index = crate::compat::primary_key_index(rel);
                    // The index compares with the column's collation; so must the key.
                    let collation = crate::compat::column_collation(desc, 1);
                    let (procedure, argument) = match probe {
                        Probe::Text(s) => (pg_sys::F_TEXTEQ, s.into_datum()),
                        Probe::Int8(v) => (pg_sys::F_INT8EQ, v.into_datum()),
                    };
                    pg_sys::ScanKeyEntryInitialize(
                        &mut key,
                        0,
                        1,
                        pg_sys::BTEqualStrategyNumber as pg_sys::StrategyNumber,
                        pg_sys::InvalidOid,
                        collation,
                        pg_sys::RegProcedure::from(procedure),
                        argument.unwrap_or(pg_sys::Datum::from(0)),
                    );
                    (index, 1)
                }
            };
            // systable_* scan any heap relation: by index when one is given, else the heap.
            let scan = pg_sys::systable_beginscan(
                rel,
                index,
                index != pg_sys::InvalidOid,
                snapshot,
                nkeys,
                &mut key,
            );
            let mut outcome = Ok(());
            loop {
                let tuple = pg_sys::systable_getnext(scan);
                if tuple.is_null() {
                    break;
                }
                outcome = each(tuple, desc);
                if outcome.is_err() {
                    break;
                }
            }
            pg_sys::systable_endscan(scan);
            outcome
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        unsafe { pg_sys::table_close(self.0, pg_sys::NoLock as pg_sys::LOCKMODE) };
    }
}

unsafe fn attribute(
    tuple: *mut pg_sys::HeapTupleData,
    desc: pg_sys::TupleDesc,
    attnum: i32,
) -> Option<pg_sys::Datum> {
    let mut isnull = false;
    let datum = pg_sys::heap_getattr(tuple, attnum, desc, &mut isnull);
    (!isnull).then_some(datum)
}

unsafe fn int8(
    tuple: *mut pg_sys::HeapTupleData,
    desc: pg_sys::TupleDesc,
    attnum: i32,
) -> Option<i64> {
    attribute(tuple, desc, attnum).map(|d| d.value() as i64)
}

unsafe fn boolean(tuple: *mut pg_sys::HeapTupleData, desc: pg_sys::TupleDesc, attnum: i32) -> bool {
    attribute(tuple, desc, attnum).is_some_and(|d| d.value() != 0)
}

unsafe fn text(
    tuple: *mut pg_sys::HeapTupleData,
    desc: pg_sys::TupleDesc,
    attnum: i32,
) -> Option<String> {
    attribute(tuple, desc, attnum).and_then(|d| String::from_datum(d, false))
}

/// Run `f` with the snapshot a read-only SPI query of this function would use (see the module
/// comment): the active one; once the transaction has an xid, a new one that also sees the
/// transaction's latest writes, as SPI takes for a transaction that has written.
pub fn with_snapshot<R>(f: impl FnOnce(pg_sys::Snapshot) -> Result<R>) -> Result<R> {
    unsafe {
        // A parallel worker may not advance the command counter; it reads as the leader does.
        let wrote = pg_sys::GetCurrentTransactionIdIfAny() != pg_sys::InvalidTransactionId
            && !pg_sys::IsInParallelMode();
        if !wrote && pg_sys::ActiveSnapshotSet() {
            return f(pg_sys::GetActiveSnapshot());
        }
        pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
        if wrote {
            pg_sys::CommandCounterIncrement();
            pg_sys::UpdateActiveSnapshotCommandId();
        }
        let result = f(pg_sys::GetActiveSnapshot());
        pg_sys::PopActiveSnapshot();
        result
    }
}

// Column numbers, as in sql/bootstrap.sql (checked by the unit test below).
const CONTENT_TYPE_ID: i32 = 1;
const CONTENT_TYPE_APP_LABEL: i32 = 2;
const PERMISSION_ID: i32 = 1;
const PERMISSION_CONTENT_TYPE: i32 = 2;
const PERMISSION_CODENAME: i32 = 3;
const GROUP_ID: i32 = 1;
const GROUP_NAME: i32 = 2;
const LINK_SOURCE: i32 = 1; // the probed column: user_groups.user_id, user_permissions.user_id, group_permissions.group_id
const LINK_TARGET: i32 = 2; // user_groups.group_id, user_permissions.permission_id, group_permissions.permission_id
const USER_ID: i32 = 1;
const USER_IS_ACTIVE: i32 = 2;
const USER_IS_STAFF: i32 = 3;
const USER_IS_SUPERUSER: i32 = 4;

/// Every permission string, interned.
pub fn catalog(tables: &Tables, snapshot: pg_sys::Snapshot) -> Result<Catalog> {
    let mut app_labels: FxHashMap<i64, String> = FxHashMap::default();
    Open::new(tables.content_types)?.scan(snapshot, None, |t, d| unsafe {
        if let (Some(id), Some(app)) = (
            int8(t, d, CONTENT_TYPE_ID),
            text(t, d, CONTENT_TYPE_APP_LABEL),
        ) {
            app_labels.insert(id, app);
        }
        Ok(())
    })?;
    let mut names: FxHashMap<Box<str>, Vec<i64>> = FxHashMap::default();
    let mut catalog = Catalog::default();
    Open::new(tables.permissions)?.scan(snapshot, None, |t, d| unsafe {
        let id = int8(t, d, PERMISSION_ID);
        let app = int8(t, d, PERMISSION_CONTENT_TYPE).and_then(|ct| app_labels.get(&ct));
        if let (Some(id), Some(app), Some(codename)) = (id, app, text(t, d, PERMISSION_CODENAME)) {
            let name: Rc<str> = format!("{app}.{codename}").into();
            names.entry(Box::from(&*name)).or_default().push(id);
            catalog.name_by_id.insert(id, name);
        }
        Ok(())
    })?;
    catalog.ids_by_name = names
        .into_iter()
        .map(|(name, ids)| (name, ids.into_boxed_slice()))
        .collect();
    Ok(catalog)
}

/// Sorted, deduplicated.
fn sorted(mut ids: Vec<i64>) -> Box<[i64]> {
    ids.sort_unstable();
    ids.dedup();
    ids.into_boxed_slice()
}

/// The second column of the rows of link table `relid` whose first column is `probe`.
fn targets(relid: pg_sys::Oid, snapshot: pg_sys::Snapshot, probe: Probe) -> Result<Vec<i64>> {
    let mut ids = Vec::new();
    Open::new(relid)?.scan(snapshot, Some(probe), |t, d| {
        ids.extend(unsafe { int8(t, d, LINK_TARGET) });
        Ok(())
    })?;
    Ok(ids)
}

/// Group `id` and its permissions; `None` when there is no such group.
pub fn group(tables: &Tables, snapshot: pg_sys::Snapshot, id: i64) -> Result<Option<Group>> {
    let mut name = None;
    Open::new(tables.groups)?.scan(snapshot, Some(Probe::Int8(id)), |t, d| {
        name = unsafe { text(t, d, GROUP_NAME) };
        Ok(())
    })?;
    let Some(name) = name else {
        return Ok(None);
    };
    Ok(Some(Group {
        id,
        name: name.into(),
        perm_ids: sorted(targets(
            tables.group_permissions,
            snapshot,
            Probe::Int8(id),
        )?),
    }))
}

/// User `user_id`'s flags (is_active, is_staff, is_superuser); `None` for an unknown user.
pub fn user_flags(
    tables: &Tables,
    snapshot: pg_sys::Snapshot,
    user_id: &str,
) -> Result<Option<(bool, bool, bool)>> {
    let mut flags = None;
    Open::new(tables.users)?.scan(snapshot, Some(Probe::Text(user_id)), |t, d| {
        flags = Some(unsafe {
            (
                boolean(t, d, USER_IS_ACTIVE),
                boolean(t, d, USER_IS_STAFF),
                boolean(t, d, USER_IS_SUPERUSER),
            )
        });
        Ok(())
    })?;
    Ok(flags)
}

/// User `user_id`'s row, group ids and direct permissions; `None` for an unknown user. `known`:
/// its group ids and direct permissions where the caller knows them (see [`Links`]): those link
/// tables are then not probed, but still checked for the privilege a query reading them would
/// need.
pub fn user(
    tables: &Tables,
    snapshot: pg_sys::Snapshot,
    user_id: &str,
    known: Known,
) -> Result<Option<UserRow>> {
    let Some((is_active, is_staff, is_superuser)) = user_flags(tables, snapshot, user_id)? else {
        return Ok(None);
    };
    let links = |relid: pg_sys::Oid, known: Option<Box<[i64]>>| match known {
        Some(ids) => check_select(relid).map(|()| ids),
        None => targets(relid, snapshot, Probe::Text(user_id)).map(sorted),
    };
    Ok(Some(UserRow {
        is_active,
        is_staff,
        is_superuser,
        group_ids: links(tables.user_groups, known.groups)?.into_vec(),
        perm_ids: links(tables.user_permissions, known.grants)?,
    }))
}

/// What the link tables say of one user, where [`Links`] knows it (sorted ids).
#[derive(Default)]
pub struct Known {
    pub groups: Option<Box<[i64]>>,
    pub grants: Option<Box<[i64]>>,
}

/// Every user's groups (`user_groups`) and direct grants (`user_permissions`), each table read
/// whole with the groups when it is small (see [`MAX_LINK_PAGES`]), so that loading a user
/// takes one probe (its row) instead of three. A change to a user's memberships or direct
/// grants names the user's key (`keys`); [`Links::forget`] then marks its bucket, whose users
/// are probed again until the next invalidation of everything reads the tables anew.
#[derive(Debug, Default)]
pub struct Links {
    groups: Option<FxHashMap<Box<str>, Vec<i64>>>,
    grants: Option<FxHashMap<Box<str>, Vec<i64>>>,
    /// User buckets whose links changed since the tables were read.
    changed: FxHashSet<u32>,
}

impl Links {
    /// What is known of `user_id`'s links: nothing when they may have changed since the tables
    /// were read.
    pub fn of(&self, user_id: &str) -> Known {
        if self.changed.contains(&super::keys::user_bucket(user_id)) {
            return Known::default();
        }
        let of = |table: &Option<FxHashMap<Box<str>, Vec<i64>>>| {
            table.as_ref().map(|t| {
                t.get(user_id)
                    .map_or_else(Box::default, |ids| ids.as_slice().into())
            })
        };
        Known {
            groups: of(&self.groups),
            grants: of(&self.grants),
        }
    }

    /// The links of the users of `bucket` changed (or may have). Past `MAX_CHANGED_BUCKETS`,
    /// every user is probed again: the tables are let go, and the set of buckets stays small.
    pub fn forget(&mut self, bucket: u32) {
        if self.groups.is_none() && self.grants.is_none() {
            return;
        }
        self.changed.insert(bucket);
        if self.changed.len() > MAX_CHANGED_BUCKETS {
            *self = Links::default();
        }
    }
}

/// How many changed user buckets [`Links`] remembers before it lets the tables go.
const MAX_CHANGED_BUCKETS: usize = 4096;

/// A link table is read whole when it is at most this many pages (8 kB each): 256 pages of
/// `user_groups` hold about 38 000 memberships, read in a few milliseconds at the first check
/// after an invalidation of everything.
const MAX_LINK_PAGES: u32 = 256;

/// Whether this transaction has changed `user_groups` or `user_permissions`, so that the links
/// read whole may say less than the tables: counted as each row is written (the statistics'
/// per-transaction counters, every subtransaction level), where the row trigger that names the
/// user runs only at the statement's end. With the counters off, whether it has written at all.
pub fn links_changed_in_transaction(tables: &Tables) -> bool {
    [tables.user_groups, tables.user_permissions]
        .into_iter()
        .any(|relid| unsafe {
            let rel = pg_sys::RelationIdGetRelation(relid);
            if rel.is_null() {
                return true;
            }
            let changed = if !pg_sys::pgstat_track_counts || !(*rel).pgstat_enabled {
                pg_sys::GetTopTransactionIdIfAny() != pg_sys::InvalidTransactionId
            } else {
                let mut level = match (*rel).pgstat_info.as_ref() {
                    Some(info) => info.trans,
                    None => std::ptr::null_mut(),
                };
                let mut any = false;
                while let Some(t) = level.as_ref() {
                    if t.tuples_inserted > 0
                        || t.tuples_updated > 0
                        || t.tuples_deleted > 0
                        || t.truncdropped
                    {
                        any = true;
                        break;
                    }
                    level = t.upper;
                }
                any
            };
            pg_sys::RelationClose(rel);
            changed
        })
}

/// `user_groups` and `user_permissions`, each read whole when small enough and readable by the
/// current role (see [`Links`]).
pub fn all_links(tables: &Tables, snapshot: pg_sys::Snapshot) -> Result<Links> {
    let table = |relid: pg_sys::Oid| {
        // A role that may not read it is refused by the probe, as before, not here.
        if check_select(relid).is_err() {
            return Ok(None);
        }
        let open = Open::new(relid)?;
        if open.pages() > MAX_LINK_PAGES {
            return Ok(None);
        }
        // Sized by the planner's estimate of the rows; each user id is copied once.
        let rows = unsafe { (*(*open.0).rd_rel).reltuples }.clamp(0.0, 131_072.0) as usize;
        let mut by_user: FxHashMap<Box<str>, Vec<i64>> =
            FxHashMap::with_capacity_and_hasher(rows / 2, Default::default());
        // One call deforms a row (two columns read one by one walk it twice).
        let columns = unsafe { (*(*open.0).rd_att).natts } as usize;
        let (mut values, mut nulls) = (vec![pg_sys::Datum::from(0); columns], vec![true; columns]);
        let (source, target) = (LINK_SOURCE as usize - 1, LINK_TARGET as usize - 1);
        open.scan(snapshot, None, |t, d| unsafe {
            pg_sys::heap_deform_tuple(t, d, values.as_mut_ptr(), nulls.as_mut_ptr());
            if nulls[source] || nulls[target] {
                return Ok(());
            }
            let Some(user) = <&str>::from_datum(values[source], false) else {
                return Ok(());
            };
            let target = values[target].value() as i64;
            match by_user.get_mut(user) {
                Some(ids) => ids.push(target),
                None => {
                    // Users hold a few groups or grants each.
                    let mut ids = Vec::with_capacity(3);
                    ids.push(target);
                    by_user.insert(user.into(), ids);
                }
            }
            Ok(())
        })?;
        for ids in by_user.values_mut() {
            ids.sort_unstable();
            ids.dedup();
        }
        Ok::<_, AuthzError>(Some(by_user))
    };
    Ok(Links {
        groups: table(tables.user_groups)?,
        grants: table(tables.user_permissions)?,
        changed: FxHashSet::default(),
    })
}

/// Tables read whole with the permission strings when each is at most this many pages (8 kB
/// each): 128 pages of `group_permissions` hold about 30 000 grants, read in a millisecond or
/// two; larger catalogs are read group by group, on first use.
const MAX_WHOLE_TABLE_PAGES: u32 = 128;

impl Open {
    fn pages(&self) -> u32 {
        unsafe { pg_sys::RelationGetNumberOfBlocksInFork(self.0, pg_sys::ForkNumber::MAIN_FORKNUM) }
    }
}

/// Every group and its permissions, when `groups` and `group_permissions` are small enough to
/// read whole (see [`MAX_WHOLE_TABLE_PAGES`]); `None` otherwise.
pub fn all_groups(tables: &Tables, snapshot: pg_sys::Snapshot) -> Result<Option<Vec<Group>>> {
    let groups = Open::new(tables.groups)?;
    let grants = Open::new(tables.group_permissions)?;
    if groups.pages() > MAX_WHOLE_TABLE_PAGES || grants.pages() > MAX_WHOLE_TABLE_PAGES {
        return Ok(None);
    }
    let mut names: FxHashMap<i64, Rc<str>> = FxHashMap::default();
    groups.scan(snapshot, None, |t, d| unsafe {
        if let (Some(id), Some(name)) = (int8(t, d, GROUP_ID), text(t, d, GROUP_NAME)) {
            names.insert(id, name.into());
        }
        Ok(())
    })?;
    let mut perm_ids: FxHashMap<i64, Vec<i64>> = FxHashMap::default();
    grants.scan(snapshot, None, |t, d| unsafe {
        if let (Some(group), Some(permission)) = (int8(t, d, LINK_SOURCE), int8(t, d, LINK_TARGET))
        {
            perm_ids.entry(group).or_default().push(permission);
        }
        Ok(())
    })?;
    Ok(Some(
        names
            .into_iter()
            .map(|(id, name)| Group {
                id,
                name,
                perm_ids: sorted(perm_ids.remove(&id).unwrap_or_default()),
            })
            .collect(),
    ))
}

/// Every user's row, group ids and direct permissions, by id, when `users`, `user_groups` and
/// `user_permissions` are each at most `max_pages` pages; `None` otherwise.
pub fn all_users(
    tables: &Tables,
    snapshot: pg_sys::Snapshot,
    max_pages: u32,
) -> Result<Option<FxHashMap<String, UserRow>>> {
    let users = Open::new(tables.users)?;
    let groups = Open::new(tables.user_groups)?;
    let grants = Open::new(tables.user_permissions)?;
    if [&users, &groups, &grants]
        .iter()
        .any(|t| t.pages() > max_pages)
    {
        return Ok(None);
    }
    let mut rows: FxHashMap<String, UserRow> = FxHashMap::default();
    users.scan(snapshot, None, |t, d| unsafe {
        if let Some(id) = text(t, d, USER_ID) {
            let row = UserRow {
                is_active: boolean(t, d, USER_IS_ACTIVE),
                is_staff: boolean(t, d, USER_IS_STAFF),
                is_superuser: boolean(t, d, USER_IS_SUPERUSER),
                group_ids: Vec::new(),
                perm_ids: Box::new([]),
            };
            rows.insert(id, row);
        }
        Ok(())
    })?;
    // (user id, target) of every row of link table `open`.
    let links = |open: &Open| {
        let mut pairs: Vec<(String, i64)> = Vec::new();
        open.scan(snapshot, None, |t, d| unsafe {
            if let (Some(user), Some(target)) = (text(t, d, LINK_SOURCE), int8(t, d, LINK_TARGET)) {
                pairs.push((user, target));
            }
            Ok(())
        })?;
        Ok::<_, AuthzError>(pairs)
    };
    for (user, group) in links(&groups)? {
        if let Some(row) = rows.get_mut(&user) {
            row.group_ids.push(group);
        }
    }
    let mut direct: FxHashMap<String, Vec<i64>> = FxHashMap::default();
    for (user, permission) in links(&grants)? {
        direct.entry(user).or_default().push(permission);
    }
    for (user, ids) in direct {
        if let Some(row) = rows.get_mut(&user) {
            row.perm_ids = sorted(ids);
        }
    }
    Ok(Some(rows))
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    /// The column numbers above are those of sql/bootstrap.sql, and each scanned table's
    /// primary key leads with the probed column.
    #[pg_test]
    fn column_numbers_match_the_catalogs() {
        let wrong = Spi::get_one::<i64>(
            "SELECT count(*) FROM (VALUES
                ('content_types', 'id', 1), ('content_types', 'app_label', 2),
                ('permissions', 'id', 1), ('permissions', 'content_type_id', 2), ('permissions', 'codename', 3),
                ('groups', 'id', 1), ('groups', 'name', 2),
                ('users', 'id', 1), ('users', 'is_active', 2), ('users', 'is_staff', 3), ('users', 'is_superuser', 4),
                ('user_groups', 'user_id', 1), ('user_groups', 'group_id', 2),
                ('user_permissions', 'user_id', 1), ('user_permissions', 'permission_id', 2),
                ('group_permissions', 'group_id', 1), ('group_permissions', 'permission_id', 2)) c(t, col, n)
              WHERE NOT EXISTS (SELECT FROM pg_attribute a
                                 WHERE a.attrelid = ('authz.' || c.t)::regclass AND a.attname = c.col
                                   AND a.attnum = c.n)
                 OR (c.n = 1 AND NOT EXISTS (SELECT FROM pg_index i
                                              WHERE i.indrelid = ('authz.' || c.t)::regclass
                                                AND i.indisprimary AND i.indkey[0] = 1))",
        )
        .unwrap();
        assert_eq!(wrong, Some(0));
    }
}
