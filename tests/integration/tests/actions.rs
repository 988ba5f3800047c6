//! Admin actions seen from outside: a group move in one session changes another session's
//! allowed actions on its next statement, and a denial is in the audit log for every session
//! although the denied transaction rolled back.

use pg_authz_integration::{connect, fresh_database, sqlstate_of};

const SETUP: &str = "
    CALL authz.sync_admin_actions($$[
      {\"model\": \"user.User\", \"codename\": \"export\", \"name\": \"Export users\", \"kind\": \"server\", \"scope\": \"bulk\"},
      {\"model\": \"notification.Notification\", \"codename\": null, \"name\": \"Send notification\", \"kind\": \"server\", \"scope\": \"toolbar\"}
    ]$$);
    INSERT INTO authz.users (id, is_staff) VALUES ('admin5', true);
    INSERT INTO authz.groups (name) VALUES ('Data team'), ('General staff');
    INSERT INTO authz.group_permissions (group_id, permission_id)
      SELECT g.id, p.id FROM authz.groups g, authz.permissions p
       WHERE g.name = 'Data team' AND p.codename = 'export';
    INSERT INTO authz.user_groups (user_id, group_id)
      SELECT 'admin5', id FROM authz.groups WHERE name = 'General staff';
";

fn may_export(client: &mut postgres::Client) -> bool {
    client
        .query_one(
            "SELECT (authz.allowed_actions('admin5', 'user.User') -> 0 ->> 'allowed')::boolean",
            &[],
        )
        .unwrap()
        .get(0)
}

#[test]
fn moving_an_admin_between_groups_changes_actions_in_another_session() {
    let db = fresh_database("pg_authz_it_actions");
    let mut admin = connect(&db);
    let mut panel = connect(&db);
    admin.batch_execute(SETUP).unwrap();

    assert!(!may_export(&mut panel));
    admin
        .batch_execute(
            "UPDATE authz.user_groups SET group_id = (SELECT id FROM authz.groups WHERE name = 'Data team')
              WHERE user_id = 'admin5'",
        )
        .unwrap();
    assert!(may_export(&mut panel), "the next statement sees the move");
}

#[test]
fn a_denial_is_audited_even_though_its_transaction_rolls_back() {
    let db = fresh_database("pg_authz_it_denial");
    let mut admin = connect(&db);
    let mut attacker = connect(&db);
    admin.batch_execute(SETUP).unwrap();

    let state = sqlstate_of(
        &mut attacker,
        "BEGIN;
         SELECT authz.set_user('admin5');
         SELECT authz.perform_action('user.User', 'export', ARRAY['1', '2']);",
    );
    assert_eq!(state, "42501");
    attacker.batch_execute("ROLLBACK").unwrap();

    // Another session (an auditor) sees the committed denial entry.
    let rows = admin
        .query(
            "SELECT app_user, action, row_ids, outcome->>'reason'
               FROM authz.audit_log WHERE operation = 'DENIED'",
            &[],
        )
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, String>(0), "admin5");
    assert_eq!(rows[0].get::<_, String>(1), "export");
    assert_eq!(rows[0].get::<_, Vec<String>>(2), vec!["1", "2"]);
    assert_eq!(rows[0].get::<_, String>(3), "user \"admin5\" lacks permission user.export");
}
