//! Reproductions for the review of the durable denials (issue #13,
//! /work/shared/reviews/review-durable-2026-12.md), on a server of the test's own with pg_authz
//! in `shared_preload_libraries`. Each test asserts what the product should do; those that fail
//! on the reviewed code are `#[ignore]`d here, so that `make test` does not run them:
//!     cargo test --manifest-path tests/integration/Cargo.toml --test repro_durable -- --ignored --nocapture
//! Fixed findings move to tests/integration/tests/denials_queue.rs, run by `make test`.

use std::time::{Duration, Instant};

use pg_authz_integration::OwnServer;
use postgres::Client;

const DB: &str = "pg_authz_repro_durable";
const FALLBACK_LINE: &str = "could not write audit entry to authz.audit_log";

const SETUP: &str = "
    CREATE EXTENSION pg_authz;
    SELECT authz.register_model('shop.Order');
    CALL authz.sync_admin_actions($$[{\"model\": \"shop.Order\", \"codename\": \"approve_order\",
        \"name\": \"Approve\", \"kind\": \"server\", \"scope\": \"bulk\"}]$$);
    INSERT INTO authz.users (id, is_staff) VALUES ('ann', true), ('poison', true);
";
const DENIED: &str = "SELECT authz.perform_action('shop.Order', 'approve_order', ARRAY['1'], '{}')";

fn server(name: &str, offset: u16) -> OwnServer {
    let server = OwnServer::init(name, offset, "");
    server.start("-c shared_preload_libraries=pg_authz");
    let mut admin = server.connect("postgres");
    admin
        .batch_execute(&format!("CREATE DATABASE {DB}"))
        .unwrap();
    server.connect(DB).batch_execute(SETUP).unwrap();
    server
}

/// A session of `user` that makes one refused call in a thread; whether it was reported (42501).
fn deny_in_thread(server: &OwnServer, user: &str) -> std::thread::JoinHandle<bool> {
    let mut client = server.connect(DB);
    client
        .batch_execute(&format!("SELECT authz.set_user('{user}', false)"))
        .unwrap();
    std::thread::spawn(move || {
        let err = client.batch_execute(DENIED).expect_err("refused");
        err.code().map(|c| c.code()) == Some("42501")
    })
}

fn denials_of(client: &mut Client, user: &str) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM authz.audit_log WHERE operation = 'DENIED' AND app_user = $1",
            &[&user],
        )
        .unwrap()
        .get(0)
}

/// Finding 1: a writer that exits (a terminate, a shutdown) while it retries a failed batch entry
/// by entry hands back the entries it had already committed, and the next writer stores them
/// again. The log refuses entries of user `poison` after a second (a trigger stands for any
/// entry the log refuses while the others go in: a lock released during the retries, a bad row).
#[test]
#[ignore = "fails on the reviewed code: the retried entry is stored twice"]
fn an_entry_committed_before_the_writer_exits_is_stored_once() {
    let server = server("repro-durable-dup", 2100);
    let mut admin = server.connect(DB);
    admin
        .batch_execute(
            "CREATE FUNCTION public.refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF NEW.app_user = 'poison' THEN
                     PERFORM pg_catalog.pg_sleep(1);
                     RAISE EXCEPTION 'the log refuses this entry';
                 END IF;
                 RETURN NEW;
             END $$;
             CREATE TRIGGER refuse_poison BEFORE INSERT ON authz.audit_log
                 FOR EACH ROW EXECUTE FUNCTION public.refuse_poison();",
        )
        .unwrap();
    // The writer is busy with a first refused entry while ann's and the second one queue, so
    // that they make one batch: it fails, then ann's entry is committed alone, then the
    // refused one is retried (a second of sleep) and the writer is terminated meanwhile.
    let first = deny_in_thread(&server, "poison");
    std::thread::sleep(Duration::from_millis(300));
    let ann = deny_in_thread(&server, "ann");
    let second = deny_in_thread(&server, "poison");
    let start = Instant::now();
    while denials_of(&mut admin, "ann") == 0 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(denials_of(&mut admin, "ann"), 1, "ann's entry was committed");
    let terminated: i64 = admin
        .query_one(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
              WHERE backend_type = 'pg_authz audit queue writer'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(terminated, 1, "the writer was terminated");
    for t in [first, ann, second] {
        assert!(t.join().unwrap(), "every call is refused");
    }
    assert_eq!(denials_of(&mut admin, "ann"), 1, "ann's denial is in the log once");
    assert_eq!(denials_of(&mut admin, "poison"), 0);
}

/// Finding 2: a caller waiting for the writer holds interrupts for up to 5 s, and a fast
/// shutdown terminates the writer, which no new one replaces: the caller waits out its 5 s and
/// holds the shutdown up as long. It should give up soon after it is asked to exit (the entry
/// then goes to the server log, as documented).
#[test]
#[ignore = "fails on the reviewed code: the shutdown takes the caller's whole 5 s"]
fn a_fast_shutdown_is_not_held_up_by_a_waiting_caller() {
    let server = server("repro-durable-shutdown", 2110);
    // The log is locked: the writer waits (lock_timeout 2 s) and the caller with it.
    let mut locker = server.connect(DB);
    locker
        .batch_execute("BEGIN; LOCK TABLE authz.audit_log IN SHARE MODE")
        .unwrap();
    let caller = deny_in_thread(&server, "ann");
    std::thread::sleep(Duration::from_millis(500));
    let start = Instant::now();
    server.stop("fast");
    let took = start.elapsed();
    drop(locker);
    let _ = caller.join();
    println!("fast shutdown with a waiting caller: {took:?}");
    assert!(
        server.log_text().contains(FALLBACK_LINE),
        "the denial is in the server log"
    );
    assert!(
        took < Duration::from_secs(3),
        "the fast shutdown took {took:?}"
    );
}
