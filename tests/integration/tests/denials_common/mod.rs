//! What the audit queue's tests share (tests/integration/tests/denials_queue.rs and the
//! reproductions in tests/repro/durable_queue.rs): a server of the test's own with pg_authz
//! preloaded, databases with a model whose action staff users `ann` and `poison` are refused.

use pg_authz_integration::OwnServer;
use postgres::Client;

pub const FALLBACK_LINE: &str = "could not write audit entry to authz.audit_log";

pub const SETUP: &str = "
    CREATE EXTENSION pg_authz;
    SELECT authz.register_model('shop.Order');
    CALL authz.sync_admin_actions($$[{\"model\": \"shop.Order\", \"codename\": \"approve_order\",
        \"name\": \"Approve\", \"kind\": \"server\", \"scope\": \"bulk\"}]$$);
    INSERT INTO authz.users (id, is_staff) VALUES ('ann', true), ('poison', true);
";
pub const DENIED: &str =
    "SELECT authz.perform_action('shop.Order', 'approve_order', ARRAY['1'], '{}')";

/// A new server (`initdb`) started with pg_authz preloaded and `options`, with `databases`
/// set up.
pub fn server(name: &str, offset: u16, options: &str, databases: &[&str]) -> OwnServer {
    let server = OwnServer::init(name, offset, "");
    server.start(&format!("-c shared_preload_libraries=pg_authz {options}"));
    for db in databases {
        server
            .connect("postgres")
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .unwrap();
        server.connect(db).batch_execute(SETUP).unwrap();
    }
    server
}

/// A session of `user` on `db`, ready to make a refused call.
pub fn session(server: &OwnServer, db: &str, user: &str) -> Client {
    let mut client = server.connect(db);
    client
        .batch_execute(&format!("SELECT authz.set_user('{user}', false)"))
        .unwrap();
    client
}

/// Make one refused call on `client` in a thread; whether it was reported (42501).
pub fn refuse_in_thread(mut client: Client) -> std::thread::JoinHandle<bool> {
    std::thread::spawn(move || {
        let err = client.batch_execute(DENIED).expect_err("refused");
        err.code().map(|c| c.code()) == Some("42501")
    })
}

/// How many denials of `user` the log has.
pub fn denials_of(client: &mut Client, user: &str) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM authz.audit_log WHERE operation = 'DENIED' AND app_user = $1",
            &[&user],
        )
        .unwrap()
        .get(0)
}
