//! Every write is recorded and announced once per statement, bulk included: a second session
//! that LISTENs gets exactly one notification per statement, on commit only.

use std::time::Duration;

use pg_authz_integration::{connect, fresh_database};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, Notification};

const SETUP: &str = "
    CREATE TABLE public.orders (id int PRIMARY KEY, status text NOT NULL DEFAULT 'new',
                                updated_at timestamptz NOT NULL DEFAULT '2000-01-01');
    INSERT INTO public.orders (id) SELECT i FROM generate_series(1, 100000) i;
    SELECT authz.enable_audit('public.orders', channel => 'orders', updated_at => 'updated_at',
                              notify_ids => true);
    CREATE FUNCTION public.mark_shipped(ids text[], params jsonb) RETURNS jsonb LANGUAGE sql AS $$
        UPDATE public.orders SET status = 'shipped' WHERE id = ANY (ids::int[]);
        SELECT '{}'::jsonb $$;
    CALL authz.sync_admin_actions($$[{\"model\": \"shop.Order\", \"codename\": \"ship\", \"name\": \"Ship\",
        \"kind\": \"server\", \"scope\": \"bulk\", \"handler\": \"public.mark_shipped\"}]$$);
    INSERT INTO authz.users (id, is_staff, is_superuser) VALUES ('boss', true, true);
";

/// Notifications that reach `listener` within a short wait.
fn received(listener: &mut Client) -> Vec<Notification> {
    // Any statement makes the client read what the server has sent.
    listener.batch_execute("SELECT 1").unwrap();
    let mut notes = listener.notifications();
    notes.timeout_iter(Duration::from_millis(500)).collect::<Vec<_>>().unwrap()
}

fn payload(note: &Notification) -> serde_json::Value {
    serde_json::from_str(note.payload()).unwrap()
}

fn setup(db: &str) -> (Client, Client) {
    let db = fresh_database(db);
    let mut app = connect(&db);
    app.batch_execute(SETUP).unwrap();
    let mut listener = connect(&db);
    listener.batch_execute("LISTEN orders").unwrap();
    (app, listener)
}

#[test]
fn a_bulk_action_yields_one_notification_and_one_complete_entry() {
    let (mut app, mut listener) = setup("pg_authz_it_audit_bulk");
    app.batch_execute(
        "BEGIN;
         SELECT authz.set_user('boss');
         SELECT authz.perform_action('shop.Order', 'ship',
                (SELECT array_agg(i::text) FROM generate_series(1, 10000) i));
         COMMIT;",
    )
    .unwrap();

    let notes = received(&mut listener);
    assert_eq!(notes.len(), 1, "exactly one notification for the bulk update");
    let note = payload(&notes[0]);
    assert_eq!(note["count"], 10000);
    assert_eq!(note["operation"], "UPDATE");
    assert_eq!(note["table"], "public.orders");
    assert_eq!(note["actor"], "boss");
    assert_eq!(note["ids_omitted"], true, "10 000 ids do not fit in a payload");
    assert!(note["action_id"].is_i64(), "linked to the action entry");

    let row = app
        .query_one(
            "SELECT row_count, cardinality(row_ids), changed_columns, action_id
               FROM authz.audit_log WHERE id = $1",
            &[&note["audit_id"].as_i64().unwrap()],
        )
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 10000);
    assert_eq!(row.get::<_, i32>(1), 10000, "the entry lists every id");
    assert_eq!(row.get::<_, Vec<String>>(2), vec!["status", "updated_at"]);
    assert_eq!(row.get::<_, Option<i64>>(3), note["action_id"].as_i64());

    // The dashboard ordered by updated_at sees the bulk change first.
    let newest: Vec<String> = app
        .query("SELECT status FROM public.orders ORDER BY updated_at DESC, id LIMIT 3", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(newest, vec!["shipped"; 3]);
}

#[test]
fn small_statements_carry_their_ids_and_rollbacks_announce_nothing() {
    let (mut app, mut listener) = setup("pg_authz_it_audit_small");
    app.batch_execute("UPDATE public.orders SET status = 'paid' WHERE id IN (7, 8)").unwrap();
    let notes = received(&mut listener);
    assert_eq!(notes.len(), 1);
    let ids = payload(&notes[0])["ids"].clone();
    let mut ids: Vec<String> = serde_json::from_value(ids).unwrap();
    ids.sort();
    assert_eq!(ids, vec!["7", "8"]);

    app.batch_execute("BEGIN; UPDATE public.orders SET status = 'void'; ROLLBACK;").unwrap();
    assert!(received(&mut listener).is_empty(), "a rolled-back statement announces nothing");

    app.batch_execute("BEGIN; DELETE FROM public.orders WHERE id = 1; INSERT INTO public.orders (id) VALUES (1); COMMIT;")
        .unwrap();
    let ops: Vec<String> = received(&mut listener)
        .iter()
        .map(|n| payload(n)["operation"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ops, vec!["DELETE", "INSERT"], "one notification per statement, on commit");
}

#[test]
fn a_100000_row_update_stays_under_the_payload_limit() {
    let (mut app, mut listener) = setup("pg_authz_it_audit_limit");
    app.batch_execute("UPDATE public.orders SET status = 'archived'").unwrap();
    let notes = received(&mut listener);
    assert_eq!(notes.len(), 1);
    assert!(notes[0].payload().len() < 8000);
    let note = payload(&notes[0]);
    assert_eq!(note["count"], 100000);
    assert_eq!(note["ids_omitted"], true);
    let listed: i32 = app
        .query_one(
            "SELECT cardinality(row_ids) FROM authz.audit_log WHERE id = $1",
            &[&note["audit_id"].as_i64().unwrap()],
        )
        .unwrap()
        .get(0);
    assert_eq!(listed, 100000);

    app.batch_execute("TRUNCATE public.orders").unwrap();
    let notes = received(&mut listener);
    assert_eq!(payload(&notes[0])["operation"], "TRUNCATE");
}

/// Whether `note` is genuine: the audit entry it names exists and says the same. Any role can
/// NOTIFY on any channel; only pg_authz writes the log.
fn genuine(client: &mut Client, note: &serde_json::Value) -> bool {
    let Some(id) = note["audit_id"].as_i64() else {
        return false;
    };
    client
        .query_opt(
            "SELECT relation, operation, row_count FROM authz.audit_log WHERE id = $1",
            &[&id],
        )
        .unwrap()
        .is_some_and(|row| {
            note["table"] == row.get::<_, String>(0)
                && note["operation"] == row.get::<_, String>(1)
                && note["count"].as_i64() == row.get::<_, Option<i64>>(2)
        })
}

#[test]
fn payloads_name_no_keys_by_default_and_forgeries_are_told_by_the_log() {
    let db = fresh_database("pg_authz_it_audit_private");
    let mut app = connect(&db);
    app.batch_execute(
        "CREATE TABLE public.patients (email text PRIMARY KEY, diagnosis text);
         SELECT authz.enable_audit('public.patients', channel => 'clinic');
         INSERT INTO authz.users (id) VALUES ('2');",
    )
    .unwrap();
    let mut listener = connect(&db);
    listener.batch_execute("LISTEN clinic").unwrap();
    app.batch_execute(
        "BEGIN; SELECT authz.set_user('2');
         INSERT INTO public.patients VALUES ('jane.doe@example.com', 'confidential'); COMMIT;",
    )
    .unwrap();
    let notes = received(&mut listener);
    assert_eq!(notes.len(), 1);
    assert!(
        !notes[0].payload().contains("jane.doe") && !notes[0].payload().contains("actor"),
        "no key and no actor unless enable_audit(notify_ids => true): {}",
        notes[0].payload()
    );
    let note = payload(&notes[0]);
    assert_eq!((note["operation"].as_str(), note["count"].as_i64()), (Some("INSERT"), Some(1)));
    assert!(genuine(&mut listener, &note), "the entry confirms it: {note}");

    // Anyone can send on the channel; the log tells a made-up entry and a replayed id apart.
    let forged = r#"{"table":"public.patients","operation":"DELETE","count":1,"audit_id":999999}"#;
    let replayed = format!(
        r#"{{"table":"public.patients","operation":"DELETE","count":1,"audit_id":{}}}"#,
        note["audit_id"]
    );
    for fake in [forged.to_owned(), replayed] {
        app.execute("SELECT pg_notify('clinic', $1)", &[&fake]).unwrap();
        let notes = received(&mut listener);
        assert_eq!(notes.len(), 1);
        assert!(!genuine(&mut listener, &payload(&notes[0])), "forged: {fake}");
    }
}
