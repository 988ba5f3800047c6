//! A revoke is answered by the first statement whose snapshot sees it, even when the same
//! transaction (or backend) has read the permission under an older snapshot after the change's
//! invalidation was already processed: a cursor's snapshot, or one imported with
//! `SET TRANSACTION SNAPSHOT`.

use pg_authz_integration::{connect, fresh_database, has_perm};

const SETUP: &str = "
    SELECT authz.register_model('shop.Order');
    INSERT INTO authz.users (id, is_active, is_staff) VALUES ('c1', true, true);
    INSERT INTO authz.user_permissions (user_id, permission_id)
      SELECT 'c1', id FROM authz.permissions WHERE codename = 'view_order';
";

/// In one statement: what `has_perm` says, and how many grants that statement's snapshot sees.
fn check_and_grants(client: &mut impl postgres::GenericClient) -> (bool, i64) {
    let row = client
        .query_one(
            "SELECT authz.has_perm('c1', 'shop.view_order'),
                    (SELECT count(*) FROM authz.user_permissions WHERE user_id = 'c1')",
            &[],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

const REVOKE: &str = "DELETE FROM authz.user_permissions WHERE user_id = 'c1'";

#[test]
fn a_cursor_on_an_older_snapshot_does_not_keep_a_revoked_grant_for_the_transaction() {
    let db = fresh_database("pg_authz_it_cursor_snapshot");
    let mut admin = connect(&db);
    let mut app = connect(&db);
    admin.batch_execute(SETUP).unwrap();

    let mut tx = app.transaction().unwrap();
    tx.batch_execute("DECLARE c CURSOR FOR SELECT authz.has_perm('c1', 'shop.view_order')")
        .unwrap();
    admin.batch_execute(REVOKE).unwrap();
    // The cursor answers by its own snapshot, taken before the revoke.
    let fetched: bool = tx.query_one("FETCH c", &[]).unwrap().get(0);
    assert!(fetched, "the cursor's snapshot still holds the grant");
    // The next statement's snapshot sees the revoke, and so must the check.
    assert_eq!(check_and_grants(&mut tx), (false, 0));
    let again: bool = tx
        .query_one("SELECT authz.has_perm('c1', 'shop.view_order')", &[])
        .unwrap()
        .get(0);
    assert!(!again);
    tx.commit().unwrap();
    assert!(!has_perm(&mut app, "c1", "shop.view_order"));
}

#[test]
fn an_imported_older_snapshot_does_not_keep_a_revoked_grant_for_the_backend() {
    let db = fresh_database("pg_authz_it_imported_snapshot");
    let mut admin = connect(&db);
    let mut exporter = connect(&db);
    let mut app = connect(&db);
    admin.batch_execute(SETUP).unwrap();

    let mut snap_tx = exporter
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .start()
        .unwrap();
    let snapshot: String = snap_tx
        .query_one("SELECT pg_export_snapshot()", &[])
        .unwrap()
        .get(0);
    admin.batch_execute(REVOKE).unwrap();
    // The app session processes the revoke's invalidation in a transaction of its own.
    assert!(!has_perm(&mut app, "c1", "shop.view_order"));

    app.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ").unwrap();
    app.batch_execute(&format!("SET TRANSACTION SNAPSHOT '{snapshot}'")).unwrap();
    assert!(
        has_perm(&mut app, "c1", "shop.view_order"),
        "the imported snapshot predates the revoke"
    );
    app.batch_execute("COMMIT").unwrap();
    snap_tx.commit().unwrap();

    // Later transactions of the backend read the catalogs as they are.
    assert!(!has_perm(&mut app, "c1", "shop.view_order"));
    assert_eq!(check_and_grants(&mut app), (false, 0));
}
