//! A refused `perform_action` is in the audit log whatever the caller does to its own
//! statement: a statement timeout or a cancel that arrives while the writer worker runs only
//! takes effect once the entry is written.

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

    // The timeout is due 5 to 14 ms after the sleep: after the refusal is decided (a few ms
    // in, debug build), during the wait for the writer (about 10 ms). A timeout due earlier
    // cancels the call before it is refused, and then there is no denial to log.
    for (attempt, timeout_ms) in (55..=64).enumerate() {
        app.batch_execute(&format!("SET statement_timeout = '{timeout_ms}ms'")).unwrap();
        let err = app
            .batch_execute(
                "SELECT pg_sleep(0.05), authz.perform_action('shop.Order', 'approve_order', ARRAY['1'], '{}')",
            )
            .expect_err("the call is refused or cancelled");
        let code = err.code().map(|c| c.code().to_owned()).unwrap_or_default();
        assert!(
            code == "57014" || code == "42501",
            "refused (42501) or cancelled by the timeout (57014), got {code}: {err}"
        );
        app.batch_execute("RESET statement_timeout").unwrap();
        let expected = before + attempt as i64 + 1;
        assert_eq!(denials(&mut admin), expected, "a timeout of {timeout_ms} ms ({code}) is logged");
    }
}
