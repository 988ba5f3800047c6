//! Identity decisions reach sessions that are already open, at their next statement: binding,
//! unbinding and revoking `authz_authenticator` (role and membership syscache callbacks, and
//! the bindings table's catalog_changed trigger).

use pg_authz_integration::{connect, connect_as, fresh_database, sqlstate_of};

fn current_user_id(client: &mut postgres::Client) -> Option<String> {
    client
        .query_one("SELECT authz.current_user_id()", &[])
        .unwrap()
        .get(0)
}

#[test]
fn bindings_and_memberships_apply_to_open_sessions() {
    let db = fresh_database("pg_authz_it_identity");
    let mut admin = connect(&db);
    admin
        .batch_execute(
            "DROP ROLE IF EXISTS regress_it_person, regress_it_person2, regress_it_app;
             CREATE ROLE regress_it_person LOGIN;
             CREATE ROLE regress_it_app LOGIN IN ROLE authz_authenticator;
             INSERT INTO authz.users (id) VALUES ('ann'), ('ben');",
        )
        .unwrap();
    let mut person = connect_as(&db, "regress_it_person");
    let mut app = connect_as(&db, "regress_it_app");
    assert_eq!(current_user_id(&mut person), None, "unbound: nobody");

    admin
        .batch_execute("SELECT authz.bind_role('regress_it_person', 'ann')")
        .unwrap();
    assert_eq!(
        current_user_id(&mut person).as_deref(),
        Some("ann"),
        "bound at the next statement"
    );
    admin
        .batch_execute("SELECT authz.bind_role('regress_it_person', 'ben')")
        .unwrap();
    assert_eq!(
        current_user_id(&mut person).as_deref(),
        Some("ben"),
        "rebinding moves it"
    );
    // Renaming the role keeps the binding.
    admin
        .batch_execute("ALTER ROLE regress_it_person RENAME TO regress_it_person2")
        .unwrap();
    assert_eq!(current_user_id(&mut person).as_deref(), Some("ben"));
    admin
        .batch_execute("SELECT authz.unbind_role('regress_it_person2')")
        .unwrap();
    assert_eq!(
        current_user_id(&mut person),
        None,
        "unbound at the next statement"
    );

    // The authenticator chooses; once its membership is revoked, it cannot.
    app.batch_execute("SELECT authz.set_user('ann', false)")
        .unwrap();
    assert_eq!(current_user_id(&mut app).as_deref(), Some("ann"));
    admin
        .batch_execute("REVOKE authz_authenticator FROM regress_it_app")
        .unwrap();
    assert_eq!(
        current_user_id(&mut app),
        None,
        "the session setting no longer counts"
    );
    assert_eq!(
        sqlstate_of(&mut app, "SELECT authz.set_user('ben')"),
        "42501"
    );
    admin
        .batch_execute("GRANT authz_authenticator TO regress_it_app")
        .unwrap();
    assert_eq!(current_user_id(&mut app).as_deref(), Some("ann"));

    // Inside an open transaction too, at its next statement.
    let mut tx = person.transaction().unwrap();
    let who = |tx: &mut postgres::Transaction| -> Option<String> {
        tx.query_one("SELECT authz.current_user_id()", &[])
            .unwrap()
            .get(0)
    };
    assert_eq!(who(&mut tx), None);
    admin
        .batch_execute("SELECT authz.bind_role('regress_it_person2', 'ann')")
        .unwrap();
    assert_eq!(who(&mut tx).as_deref(), Some("ann"));
    tx.commit().unwrap();

    drop((person, app));
    admin
        .batch_execute(
            "SELECT authz.unbind_role('regress_it_person2');
             DROP ROLE regress_it_person2, regress_it_app;",
        )
        .unwrap();
}
