//! The permission cache is never stale across sessions: a committed change made in one session
//! is seen by another on its very next statement; uncommitted and rolled-back changes are not.

use std::time::Duration;

use pg_authz_integration::{connect, fresh_database, has_perm};

const SETUP: &str = "
    SELECT authz.register_model('shop.Order');
    INSERT INTO authz.users (id, is_staff) VALUES ('ann', true), ('ben', true);
    INSERT INTO authz.groups (name) VALUES ('Clerks'), ('Managers');
    INSERT INTO authz.group_permissions (group_id, permission_id)
      SELECT g.id, p.id FROM authz.groups g, authz.permissions p
       WHERE (g.name, p.codename) IN (('Clerks', 'view_order'), ('Managers', 'change_order'));
    INSERT INTO authz.user_groups (user_id, group_id)
      SELECT 'ann', id FROM authz.groups WHERE name = 'Clerks';
";

#[test]
fn committed_changes_reach_other_sessions_on_their_next_statement() {
    let db = fresh_database("pg_authz_it_freshness");
    let mut admin = connect(&db);
    let mut app = connect(&db);
    admin.batch_execute(SETUP).unwrap();

    // Warm the app session's cache.
    assert!(has_perm(&mut app, "ann", "shop.view_order"));
    assert!(!has_perm(&mut app, "ann", "shop.change_order"));

    // A group move, committed: seen on the next statement.
    admin
        .batch_execute(
            "UPDATE authz.user_groups SET group_id = (SELECT id FROM authz.groups WHERE name = 'Managers')
              WHERE user_id = 'ann'",
        )
        .unwrap();
    assert!(has_perm(&mut app, "ann", "shop.change_order"));
    assert!(!has_perm(&mut app, "ann", "shop.view_order"));

    // Uncommitted: not seen; committed: seen.
    let mut tx = admin.transaction().unwrap();
    tx.batch_execute("UPDATE authz.users SET is_active = false WHERE id = 'ann'").unwrap();
    assert!(has_perm(&mut app, "ann", "shop.change_order"), "uncommitted change must not leak");
    tx.commit().unwrap();
    assert!(!has_perm(&mut app, "ann", "shop.change_order"), "deactivation seen after commit");

    // Rolled back: no trace.
    let mut tx = admin.transaction().unwrap();
    tx.batch_execute("UPDATE authz.users SET is_active = true, is_superuser = true WHERE id = 'ann'")
        .unwrap();
    tx.rollback().unwrap();
    assert!(!has_perm(&mut app, "ann", "anything.at_all"));
    assert!(!has_perm(&mut app, "ann", "shop.change_order"));

    // A direct grant and a revoke.
    admin
        .batch_execute(
            "INSERT INTO authz.user_permissions (user_id, permission_id)
               SELECT 'ben', id FROM authz.permissions WHERE codename = 'delete_order'",
        )
        .unwrap();
    assert!(has_perm(&mut app, "ben", "shop.delete_order"));
    admin.batch_execute("DELETE FROM authz.user_permissions WHERE user_id = 'ben'").unwrap();
    assert!(!has_perm(&mut app, "ben", "shop.delete_order"));
}

#[test]
fn a_change_committed_during_an_open_transaction_is_seen_by_its_next_statement() {
    let db = fresh_database("pg_authz_it_open_tx");
    let mut admin = connect(&db);
    let mut app = connect(&db);
    admin.batch_execute(SETUP).unwrap();

    let mut tx = app.transaction().unwrap();
    let check = "SELECT authz.has_perm('ben', 'shop.view_order')";
    assert!(!tx.query_one(check, &[]).unwrap().get::<_, bool>(0));
    admin
        .batch_execute(
            "INSERT INTO authz.user_groups (user_id, group_id)
               SELECT 'ben', id FROM authz.groups WHERE name = 'Clerks'",
        )
        .unwrap();
    // READ COMMITTED: the next statement of the open transaction sees the committed grant.
    assert!(tx.query_one(check, &[]).unwrap().get::<_, bool>(0));
    tx.commit().unwrap();
}

#[test]
fn checks_in_one_statement_cost_no_catalog_query_each() {
    let db = fresh_database("pg_authz_it_cache");
    let mut app = connect(&db);
    app.batch_execute(SETUP).unwrap();
    let loads = |c: &mut postgres::Client| -> i64 {
        c.query_one("SELECT (authz.cache_stats()->>'loads')::bigint", &[]).unwrap().get(0)
    };
    let before = loads(&mut app);
    let allowed: i64 = app
        .query_one(
            "SELECT count(*) FROM generate_series(1, 100000) i
              WHERE authz.has_perm(CASE WHEN i % 2 = 0 THEN 'ann' ELSE 'ben' END, 'shop.view_order')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(allowed, 50_000);
    assert!(loads(&mut app) - before <= 2, "at most one catalog load per user");
}

#[test]
fn an_entry_read_under_an_old_snapshot_does_not_outlive_its_transaction() {
    stale_snapshot_scenario("pg_authz_it_snapshot_cold", false);
}

#[test]
fn the_same_holds_in_a_backend_whose_cache_is_already_warm() {
    stale_snapshot_scenario("pg_authz_it_snapshot_warm", true);
}

fn stale_snapshot_scenario(db: &str, warm: bool) {
    let db = fresh_database(db);
    let mut admin = connect(&db);
    let mut app = connect(&db);
    admin.batch_execute(SETUP).unwrap();
    if warm {
        assert!(!has_perm(&mut app, "ben", "shop.view_order"));
    }

    // The app's REPEATABLE READ snapshot predates the revoke...
    app.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1").unwrap();
    admin
        .batch_execute("DELETE FROM authz.user_groups WHERE user_id = 'ann'")
        .unwrap();
    // ... so inside it the grant still holds, as every other query of that snapshot sees it,
    assert!(has_perm(&mut app, "ann", "shop.view_order"));
    app.batch_execute("COMMIT").unwrap();
    // ... but not a moment after it.
    assert!(!has_perm(&mut app, "ann", "shop.view_order"));
}

#[test]
fn inside_a_function_the_next_statement_whose_snapshot_sees_a_revoke_answers_by_it() {
    let db = fresh_database("pg_authz_it_freshness_plpgsql");
    let mut admin = connect(&db);
    let mut app = connect(&db);
    admin.batch_execute(SETUP).unwrap();
    // Checks, waits for the admin (an advisory lock: no relation lock, so PostgreSQL reads no
    // invalidation on its own), checks again; in one top-level statement.
    admin
        .batch_execute(
            "CREATE FUNCTION public.check_twice() RETURNS text LANGUAGE plpgsql AS $$
             DECLARE before boolean; after boolean;
             BEGIN
               before := authz.has_perm('ann', 'shop.view_order');
               PERFORM pg_advisory_lock(4242);
               after := authz.has_perm('ann', 'shop.view_order');
               PERFORM pg_advisory_unlock(4242);
               RETURN before || ' ' || after;
             END $$",
        )
        .unwrap();
    assert!(has_perm(&mut app, "ann", "shop.view_order"), "warm");
    admin
        .batch_execute("SELECT pg_advisory_lock(4242)")
        .unwrap();
    let checking = std::thread::spawn(move || {
        app.query_one("SELECT public.check_twice()", &[])
            .unwrap()
            .get::<_, String>(0)
    });
    wait_for_an_advisory_lock_waiter(&mut admin);
    admin
        .batch_execute("DELETE FROM authz.user_groups WHERE user_id = 'ann'")
        .unwrap();
    admin
        .batch_execute("SELECT pg_advisory_unlock(4242)")
        .unwrap();
    assert_eq!(checking.join().unwrap(), "true false");
}

/// Wait until some session waits for an advisory lock.
fn wait_for_an_advisory_lock_waiter(admin: &mut postgres::Client) {
    while admin
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
            &[],
        )
        .unwrap()
        .get::<_, i64>(0)
        == 0
    {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `authz.cache_stats()` of `client`'s backend: (users read, groups read, permission strings read).
fn loads(client: &mut postgres::Client) -> (i64, i64, i64) {
    let row = client
        .query_one(
            "SELECT (s->>'loads')::bigint, (s->>'group_loads')::bigint, (s->>'catalog_loads')::bigint
               FROM authz.cache_stats() s",
            &[],
        )
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[test]
fn another_sessions_signup_membership_and_grant_changes_invalidate_only_what_they_touch() {
    let db = fresh_database("pg_authz_it_keys");
    let mut admin = connect(&db);
    let mut app = connect(&db);
    admin.batch_execute(SETUP).unwrap();
    let warm = |app: &mut postgres::Client| {
        (
            has_perm(app, "ann", "shop.view_order"),
            has_perm(app, "ben", "shop.change_order"),
            has_perm(app, "cat", "shop.view_order"),
        )
    };
    assert_eq!(warm(&mut app), (true, false, false));
    let mut before = loads(&mut app);

    // A signup: the id 'cat', remembered as unknown, is read again; nobody else is.
    admin.batch_execute("INSERT INTO authz.users (id, is_superuser) VALUES ('cat', true)").unwrap();
    assert_eq!(warm(&mut app), (true, false, true));
    let now = loads(&mut app);
    assert_eq!((now.0 - before.0, now.1 - before.1, now.2 - before.2), (1, 0, 0), "signup");
    before = now;

    // A membership change: ben joins Managers; ann keeps her entry.
    admin
        .batch_execute(
            "INSERT INTO authz.user_groups (user_id, group_id)
               SELECT 'ben', id FROM authz.groups WHERE name = 'Managers'",
        )
        .unwrap();
    assert_eq!(warm(&mut app), (true, true, true));
    let now = loads(&mut app);
    assert_eq!((now.0 - before.0, now.2 - before.2), (1, 0), "membership change");
    before = now;

    // A grant change to Clerks: the group is read again, and its member ann takes it again
    // (no user read whole), not ben nor cat.
    admin
        .batch_execute(
            "DELETE FROM authz.group_permissions
              WHERE group_id = (SELECT id FROM authz.groups WHERE name = 'Clerks')",
        )
        .unwrap();
    assert_eq!(warm(&mut app), (false, true, true));
    let now = loads(&mut app);
    assert_eq!((now.0 - before.0, now.1 - before.1, now.2 - before.2), (0, 1, 0), "grant change");
    before = now;

    // A new model's permissions: everything is read again.
    admin.batch_execute("SELECT authz.register_model('shop.Item')").unwrap();
    assert_eq!(warm(&mut app), (false, true, true));
    let now = loads(&mut app);
    assert_eq!((now.0 - before.0, now.2 - before.2), (3, 1), "full invalidation");
}

/// `authz.cache_stats()`'s row_loads of `client`'s backend: users whose flags alone were read
/// again.
fn row_loads(client: &mut postgres::Client) -> i64 {
    client
        .query_one("SELECT (authz.cache_stats()->>'row_loads')::bigint", &[])
        .unwrap()
        .get(0)
}

#[test]
fn another_sessions_change_to_a_users_row_rereads_its_flags_only() {
    let db = fresh_database("pg_authz_it_user_row");
    let mut admin = connect(&db);
    let mut app = connect(&db);
    admin.batch_execute(SETUP).unwrap();
    assert!(has_perm(&mut app, "ann", "shop.view_order"));
    assert!(!has_perm(&mut app, "ben", "anything.at_all"));
    let (before, rows_before) = (loads(&mut app), row_loads(&mut app));

    admin.batch_execute("UPDATE authz.users SET is_superuser = true WHERE id = 'ben'").unwrap();
    assert!(has_perm(&mut app, "ben", "anything.at_all"), "ben's new flag is seen");
    assert!(has_perm(&mut app, "ann", "shop.view_order"));
    admin.batch_execute("UPDATE authz.users SET is_active = false WHERE id = 'ann'").unwrap();
    assert!(!has_perm(&mut app, "ann", "shop.view_order"), "ann's deactivation is seen");
    admin.batch_execute("UPDATE authz.users SET is_active = true WHERE id = 'ann'").unwrap();
    assert!(has_perm(&mut app, "ann", "shop.view_order"), "her group kept its grant for her");

    let now = loads(&mut app);
    assert_eq!((now.0 - before.0, now.1 - before.1), (0, 0), "no user or group read whole");
    assert_eq!(row_loads(&mut app) - rows_before, 3, "three rows read again");
}

/// Groups are kept only from a snapshot that misses no change, a group's included: a backend
/// whose permission strings are read again (here after an error, which drops the cache) under a
/// REPEATABLE READ snapshot that predates a change to a group answers by the old group inside
/// that snapshot, and by the new one right after it.
#[test]
fn a_group_read_under_an_old_snapshot_is_not_kept_after_it() {
    let db = fresh_database("pg_authz_it_snapshot_group");
    let mut admin = connect(&db);
    let mut app = connect(&db);
    admin.batch_execute(SETUP).unwrap();
    assert!(has_perm(&mut app, "ann", "shop.view_order"));
    app.batch_execute("SELECT 1/0").expect_err("division by zero");

    app.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1").unwrap();
    admin
        .batch_execute(
            "DELETE FROM authz.group_permissions
              WHERE group_id = (SELECT id FROM authz.groups WHERE name = 'Clerks')",
        )
        .unwrap();
    assert!(has_perm(&mut app, "ann", "shop.view_order"), "the snapshot still sees the grant");
    app.batch_execute("COMMIT").unwrap();
    assert!(!has_perm(&mut app, "ann", "shop.view_order"), "the group's change is seen after it");
}

#[test]
fn a_rolled_back_savepoint_past_the_key_limit_does_not_swallow_later_changes() {
    let db = fresh_database("pg_authz_it_key_limit");
    let mut admin = connect(&db);
    let mut app = connect(&db);
    admin.batch_execute(SETUP).unwrap();
    admin
        .batch_execute("INSERT INTO authz.users (id) SELECT 'bulk' || i FROM generate_series(1, 300) i")
        .unwrap();
    assert!(has_perm(&mut app, "ann", "shop.view_order"));

    // 300 keys inside a savepoint: past the limit, everything is invalidated, with the savepoint;
    // rolled back, that message is gone, so the change after it must still be sent.
    admin
        .batch_execute(
            "BEGIN;
             SAVEPOINT s;
             DO $$ BEGIN
                 FOR i IN 1..300 LOOP
                     UPDATE authz.users SET is_staff = true WHERE id = 'bulk' || i;
                 END LOOP;
             END $$;
             ROLLBACK TO SAVEPOINT s;
             UPDATE authz.users SET is_active = false WHERE id = 'ann';
             COMMIT;",
        )
        .unwrap();
    assert!(!has_perm(&mut app, "ann", "shop.view_order"), "ann's deactivation reached the other session");
}

/// Every user's memberships and direct grants are read whole with the groups (the tables are
/// small here), so a user's first load reads only its row: a change another session commits to
/// the links of a user this backend has not read yet is seen by its first check all the same,
/// on the next statement or, inside a function, on the next check whose snapshot sees it.
#[test]
fn links_read_whole_follow_changes_to_users_not_read_yet() {
    let db = fresh_database("pg_authz_it_freshness_links");
    let mut admin = connect(&db);
    let mut app = connect(&db);
    admin.batch_execute(SETUP).unwrap();
    admin
        .batch_execute("INSERT INTO authz.users (id) VALUES ('cy'), ('dee'), ('eli'), ('fay')")
        .unwrap();
    // The app backend reads the catalogs, and with them every membership and grant.
    assert!(has_perm(&mut app, "ann", "shop.view_order"));

    // Committed: a membership and a grant for users not read yet, a membership removed.
    admin
        .batch_execute(
            "INSERT INTO authz.user_groups (user_id, group_id)
               SELECT 'cy', id FROM authz.groups WHERE name = 'Clerks';
             INSERT INTO authz.user_permissions (user_id, permission_id)
               SELECT 'dee', id FROM authz.permissions WHERE codename = 'delete_order';
             DELETE FROM authz.user_groups WHERE user_id = 'ann';",
        )
        .unwrap();
    assert!(has_perm(&mut app, "cy", "shop.view_order"));
    assert!(has_perm(&mut app, "dee", "shop.delete_order"));
    assert!(!has_perm(&mut app, "ann", "shop.view_order"));

    // Uncommitted: not seen (and eli is read meanwhile); committed: seen.
    let mut tx = admin.transaction().unwrap();
    tx.batch_execute(
        "INSERT INTO authz.user_permissions (user_id, permission_id)
           SELECT 'eli', id FROM authz.permissions WHERE codename = 'change_order'",
    )
    .unwrap();
    assert!(!has_perm(&mut app, "eli", "shop.change_order"), "uncommitted grant must not leak");
    tx.commit().unwrap();
    assert!(has_perm(&mut app, "eli", "shop.change_order"));

    // Inside one statement: fay's first check comes after a membership committed while the
    // function waited (an advisory lock: PostgreSQL reads no invalidation on its own).
    admin
        .batch_execute(
            "CREATE FUNCTION public.wait_then_check() RETURNS boolean LANGUAGE plpgsql AS $$
             DECLARE ok boolean;
             BEGIN
               PERFORM authz.has_perm('cy', 'shop.view_order');
               PERFORM pg_advisory_lock(4343);
               ok := authz.has_perm('fay', 'shop.view_order');
               PERFORM pg_advisory_unlock(4343);
               RETURN ok;
             END $$;
             SELECT authz.register_model('shop.Refund');",
        )
        .unwrap();
    admin.batch_execute("SELECT pg_advisory_lock(4343)").unwrap();
    let checking = std::thread::spawn(move || {
        app.query_one("SELECT public.wait_then_check()", &[])
            .unwrap()
            .get::<_, bool>(0)
    });
    wait_for_an_advisory_lock_waiter(&mut admin);
    admin
        .batch_execute(
            "INSERT INTO authz.user_groups (user_id, group_id)
               SELECT 'fay', id FROM authz.groups WHERE name = 'Clerks'",
        )
        .unwrap();
    admin
        .batch_execute("SELECT pg_advisory_unlock(4343)")
        .unwrap();
    assert!(checking.join().unwrap(), "fay's first check sees the committed membership");
}
