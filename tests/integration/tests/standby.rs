//! A hot standby of the local server (issue #13), made with `pg_basebackup -R`: a grant committed
//! on the primary changes `has_perm` and what the generated policies let through on the standby,
//! in the same standby session, at its next statement after replay; the standby's permission
//! cache needs no help. A denial on the standby, where nothing can be written, is recorded in
//! the standby's server log as one line (the README's "Audit and notify"): a fixed prefix and the
//! entry as JSON, the fields `authz.audit_log` would have.

use std::time::{Duration, Instant};

use pg_authz_integration::{
    as_postgres, connect, fresh_database, has_perm, run_as_postgres, server_base, server_url,
};
use postgres::{Client, NoTls};

const DB: &str = "pg_authz_it_standby";

fn primary_port() -> u16 {
    std::env::var("PG_AUTHZ_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(55432)
}

/// The standby: a base backup of the local server on the next port but 1000, stopped on drop.
struct Standby {
    data: String,
    port: u16,
}

impl Standby {
    fn start() -> Standby {
        let port = primary_port() + 1000;
        let data = format!("{}/standby", server_base());
        let _ = run_as_postgres("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&data);
        as_postgres(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &primary_port().to_string(),
                "-U",
                "postgres",
                "-D",
                &data,
                "-R",
                "-X",
                "stream",
            ],
        );
        let log = standby_log();
        let _ = std::fs::remove_file(&log);
        let options = format!(
            "-p {port} -c hot_standby=on -c unix_socket_directories={}",
            server_base()
        );
        as_postgres(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-o", &options, "-w", "start"],
        );
        Standby { data, port }
    }

    fn connect(&self, db: &str) -> Client {
        let url = server_url().replace(
            &format!("port={}", primary_port()),
            &format!("port={}", self.port),
        );
        Client::connect(&format!("{url} dbname={db}"), NoTls).expect("connect to the standby")
    }
}

impl Drop for Standby {
    fn drop(&mut self) {
        let _ = run_as_postgres("pg_ctl", &["-D", &self.data, "-m", "fast", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

fn standby_log() -> String {
    format!("{}/standby.log", server_base())
}

/// Wait until the standby has replayed everything the primary has committed so far.
fn wait_for_replay(primary: &mut Client, standby: &mut Client) {
    // The insert position: with asynchronous commit the last commit may not be written yet.
    let lsn: String = primary
        .query_one("SELECT pg_current_wal_insert_lsn()::text", &[])
        .unwrap()
        .get(0);
    let started = Instant::now();
    loop {
        let done: bool = standby
            .query_one(
                "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn",
                &[&lsn],
            )
            .unwrap()
            .get(0);
        if done {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the standby did not replay {lsn}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn visible_ids(standby: &mut Client, user: &str) -> Option<String> {
    let mut tx = standby.transaction().unwrap();
    tx.execute("SELECT authz.set_user($1)", &[&user]).unwrap();
    tx.batch_execute("SET LOCAL ROLE authz_it_standby_reader")
        .unwrap();
    let ids = tx
        .query_one(
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM public.docs",
            &[],
        )
        .unwrap()
        .get(0);
    tx.rollback().unwrap();
    ids
}

#[test]
fn a_grant_on_the_primary_reaches_the_standby_at_its_next_statement() {
    fresh_database(DB);
    let mut primary = connect(DB);
    primary
        .batch_execute(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authz_it_standby_reader') THEN
                 CREATE ROLE authz_it_standby_reader;
               END IF;
             END $$;
             CREATE TABLE public.docs (id int PRIMARY KEY, owner_id text NOT NULL);
             GRANT SELECT ON public.docs TO authz_it_standby_reader;
             INSERT INTO public.docs VALUES (1, 'ann'), (2, 'ben');
             SELECT authz.register_model('app.Doc', 'public.docs');
             INSERT INTO authz.permissions (content_type_id, codename, name)
             SELECT id, 'see_all_docs', 'See all docs' FROM authz.content_types WHERE app_label = 'app';
             SELECT authz.protect('public.docs', '{\"model\": \"app.Doc\", \"owner\": {\"column\": \"owner_id\",
                                                   \"see_all\": [\"app.see_all_docs\"]}}');
             INSERT INTO authz.users (id, is_staff) VALUES ('ann', true), ('ben', true);
             CALL authz.sync_admin_actions($$[{\"model\": \"app.Doc\", \"codename\": \"archive_doc\",
                 \"name\": \"Archive\", \"kind\": \"server\", \"scope\": \"bulk\"}]$$);
             INSERT INTO authz.user_permissions SELECT 'ann', id FROM authz.permissions WHERE codename = 'view_doc';",
        )
        .unwrap();
    primary.batch_execute("CHECKPOINT").unwrap();
    let standby = Standby::start();
    let mut replica = standby.connect(DB);
    wait_for_replay(&mut primary, &mut replica);

    // Warm the standby session's cache, then grant on the primary.
    assert!(has_perm(&mut replica, "ann", "app.view_doc"));
    assert!(!has_perm(&mut replica, "ann", "app.see_all_docs"));
    assert_eq!(visible_ids(&mut replica, "ann").as_deref(), Some("1"));
    primary
        .batch_execute(
            "INSERT INTO authz.user_permissions SELECT 'ann', id FROM authz.permissions WHERE codename = 'see_all_docs'",
        )
        .unwrap();
    wait_for_replay(&mut primary, &mut replica);
    assert!(
        has_perm(&mut replica, "ann", "app.see_all_docs"),
        "the grant reached the standby's cache"
    );
    assert_eq!(
        visible_ids(&mut replica, "ann").as_deref(),
        Some("1,2"),
        "and its policies"
    );

    // Revoked on the primary: gone on the standby at its next statement too.
    primary
        .batch_execute("DELETE FROM authz.user_permissions WHERE user_id = 'ann'")
        .unwrap();
    wait_for_replay(&mut primary, &mut replica);
    assert!(!has_perm(&mut replica, "ann", "app.view_doc"));
    assert_eq!(visible_ids(&mut replica, "ann"), None);

    // A change to her row alone (the standby reads her flags again): seen there too.
    primary
        .batch_execute("UPDATE authz.users SET is_superuser = true WHERE id = 'ann'")
        .unwrap();
    wait_for_replay(&mut primary, &mut replica);
    assert!(has_perm(&mut replica, "ann", "app.view_doc"), "superuser on the standby");
    primary
        .batch_execute("UPDATE authz.users SET is_superuser = false WHERE id = 'ann'")
        .unwrap();
    wait_for_replay(&mut primary, &mut replica);
    assert!(!has_perm(&mut replica, "ann", "app.view_doc"), "and no longer");

    // The standby is read-only: a write is refused there (25006), audited nowhere.
    let refused = replica
        .batch_execute("INSERT INTO authz.users (id) VALUES ('eve')")
        .unwrap_err();
    assert_eq!(refused.code().map(|c| c.code()), Some("25006"));

    // A denial on the standby: refused as on the primary, and recorded in the standby's log.
    let denied = replica
        .batch_execute(
            "SELECT authz.set_user('ben');
             SELECT authz.perform_action('app.Doc', 'archive_doc', ARRAY['7'], '{\"why\": \"x\"}')",
        )
        .unwrap_err();
    assert_eq!(denied.code().map(|c| c.code()), Some("42501"), "{denied:?}");
    let prefix = "pg_authz: audit entry on a hot standby (read-only, not in authz.audit_log): ";
    let log = std::fs::read_to_string(standby_log()).unwrap();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(prefix)).collect();
    assert_eq!(lines.len(), 1, "one line in the standby's log: {lines:?}");
    let json: serde_json::Value = serde_json::from_str(lines[0].split_once(prefix).unwrap().1)
        .expect("the line ends in JSON");
    let entry = &json["entry"];
    assert_eq!(entry["operation"], "DENIED");
    assert_eq!(entry["app_user"], "ben");
    assert_eq!(entry["model"], "app.doc");
    assert_eq!(entry["action"], "archive_doc");
    assert_eq!(entry["row_ids"], serde_json::json!(["7"]));
    assert_eq!(json["params"], serde_json::json!({"why": "x"}));
    wait_for_replay(&mut primary, &mut replica);
    let on_primary: i64 = primary
        .query_one(
            "SELECT count(*) FROM authz.audit_log WHERE operation = 'DENIED'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(on_primary, 0, "nothing reached the primary's log");
}
