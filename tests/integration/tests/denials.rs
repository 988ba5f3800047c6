//! A refused `perform_action` is in the audit log whatever the caller does to its own
//! statement: a statement timeout or a cancel that arrives while the writer worker runs only
//! takes effect once the entry is written. The wait for that worker is bounded: when the log
//! cannot be written (a lock held on it, by anyone, the caller included), the call ends within
//! seconds, a denial with 42501 (the entry goes to the server log), an autonomous action 53000.

use std::time::{Duration, Instant};

use pg_authz_integration::{connect, fresh_database};

const SETUP: &str = "
    SELECT authz.register_model('shop.Order');
    CALL authz.sync_admin_actions($$[{\"model\": \"shop.Order\", \"codename\": \"approve_order\",
        \"name\": \"Approve\", \"kind\": \"server\", \"scope\": \"bulk\"}]$$);
";

fn denials(admin: &mut postgres::Client) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM authz.audit_log WHERE operation = 'DENIED' AND action = 'approve_order'",
            &[],
        )
        .unwrap()
        .get(0)
}

#[test]
fn a_statement_timeout_during_the_write_does_not_keep_the_denial_out_of_the_log() {
    let db = fresh_database("pg_authz_it_denial_timeout");
    let mut admin = connect(&db);
    let mut app = connect(&db);
    admin.batch_execute(SETUP).unwrap();
    // Warm the session (plans, cache), so that refusing takes well under a millisecond.
    let call = "SELECT authz.perform_action('shop.Order', 'approve_order', ARRAY['1'], '{}')";
    assert!(app.batch_execute(call).is_err());
    let before = denials(&mut admin);

    // A lock on the log holds the writer up for 1.5 s (under its 2 s lock_timeout), so the
    // caller is still waiting for it when its 600 ms timeout is due, whatever the machine's
    // load: refusing takes a few ms, and well under 600 ms on a loaded machine (a timeout due
    // before the refusal cancels the call, and then there is no denial to log).
    for attempt in 0..3 {
        let mut locker = connect(&db);
        locker
            .batch_execute("BEGIN; LOCK TABLE authz.audit_log IN SHARE MODE")
            .unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            locker.batch_execute("ROLLBACK").unwrap();
        });
        app.batch_execute("SET statement_timeout = '600ms'").unwrap();
        let (code, took) = timed_sqlstate(&mut app, call);
        assert!(
            code == "57014" || code == "42501",
            "refused (42501) or cancelled by the timeout (57014), got {code}"
        );
        assert!(took >= Duration::from_millis(1200), "the call waited for the writer ({took:?})");
        app.batch_execute("RESET statement_timeout").unwrap();
        release.join().unwrap();
        let expected = before + attempt + 1;
        assert_eq!(denials(&mut admin), expected, "a timeout during the wait ({code}) is logged");
    }
}

/// The SQLSTATE of `sql` run by `client` and how long it took.
fn timed_sqlstate(client: &mut postgres::Client, sql: &str) -> (String, Duration) {
    let start = Instant::now();
    let err = client.batch_execute(sql).expect_err("the call must fail");
    let code = err.code().map(|c| c.code().to_owned()).unwrap_or_default();
    (code, start.elapsed())
}

/// An autonomously audited action `export` that `ann` may run, for the tests below.
const AUTONOMOUS: &str = "
    CREATE FUNCTION public.export_h(ids text[], params jsonb) RETURNS jsonb LANGUAGE sql AS 'SELECT ''{}''::jsonb';
    CALL authz.sync_admin_actions($$[{\"model\": \"shop.Order\", \"codename\": \"export\", \"name\": \"Export\",
        \"kind\": \"server\", \"scope\": \"bulk\", \"handler\": \"public.export_h\", \"audit\": \"autonomous\"}]$$);
    INSERT INTO authz.users (id, is_staff) VALUES ('ann', true);
    INSERT INTO authz.user_permissions SELECT 'ann', id FROM authz.permissions WHERE codename = 'export';
";

#[test]
fn a_lock_held_on_the_log_by_another_session_delays_a_call_by_seconds_at_most() {
    let db = fresh_database("pg_authz_it_denial_locked");
    let mut admin = connect(&db);
    let mut app = connect(&db);
    admin.batch_execute(SETUP).unwrap();
    admin.batch_execute(AUTONOMOUS).unwrap();
    let before = denials(&mut admin);
    let mut locker = connect(&db);
    locker
        .batch_execute("BEGIN; LOCK TABLE authz.audit_log IN ACCESS EXCLUSIVE MODE")
        .unwrap();

    let denied = "SELECT authz.perform_action('shop.Order', 'approve_order', ARRAY['1'], '{}')";
    let (code, took) = timed_sqlstate(&mut app, denied);
    assert_eq!(code, "42501", "still refused");
    assert!(took < Duration::from_secs(8), "refused after {took:?}");
    let export = "BEGIN; SELECT authz.set_user('ann');
                  SELECT authz.perform_action('shop.Order', 'export', ARRAY['1'], '{}')";
    let (code, took) = timed_sqlstate(&mut app, export);
    assert_eq!(
        code, "53000",
        "an action whose entry cannot be written withholds its result"
    );
    assert!(took < Duration::from_secs(8), "gave up after {took:?}");
    app.batch_execute("ROLLBACK").unwrap();

    // A statement timeout due meanwhile takes effect once the wait is over, not later.
    app.batch_execute("SET statement_timeout = '200ms'")
        .unwrap();
    let (code, took) = timed_sqlstate(&mut app, denied);
    assert!(code == "57014" || code == "42501", "got {code}");
    assert!(took < Duration::from_secs(8), "ended after {took:?}");

    locker.batch_execute("ROLLBACK").unwrap();
    assert_eq!(
        denials(&mut admin),
        before,
        "the refusals went to the server log instead"
    );
}

#[test]
fn a_caller_holding_a_lock_on_the_log_does_not_deadlock_with_its_writer() {
    let db = fresh_database("pg_authz_it_denial_self_locked");
    let mut admin = connect(&db);
    let mut app = connect(&db);
    admin.batch_execute(SETUP).unwrap();
    admin.batch_execute(AUTONOMOUS).unwrap();
    app.batch_execute("BEGIN; LOCK TABLE authz.audit_log IN SHARE MODE")
        .unwrap();
    let (code, took) = timed_sqlstate(
        &mut app,
        "SELECT authz.perform_action('shop.Order', 'approve_order', ARRAY['1'], '{}')",
    );
    assert_eq!(code, "42501");
    assert!(took < Duration::from_secs(8), "refused after {took:?}");
    app.batch_execute("ROLLBACK; BEGIN; LOCK TABLE authz.audit_log IN SHARE MODE")
        .unwrap();
    let (code, took) = timed_sqlstate(
        &mut app,
        "SELECT authz.set_user('ann'); SELECT authz.perform_action('shop.Order', 'export', ARRAY['1'], '{}')",
    );
    assert_eq!(code, "53000");
    assert!(took < Duration::from_secs(8), "gave up after {took:?}");
    app.batch_execute("ROLLBACK").unwrap();
    // The session and the server are fine afterwards: the next denial is written as usual.
    let before = denials(&mut admin);
    let (code, _) = timed_sqlstate(
        &mut app,
        "SELECT authz.perform_action('shop.Order', 'approve_order', ARRAY['1'], '{}')",
    );
    assert_eq!(code, "42501");
    assert_eq!(denials(&mut admin), before + 1);
}
