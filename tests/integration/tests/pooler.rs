//! Identity behind a real PgBouncer in transaction mode with ONE server connection: every
//! client's transactions run on the same PostgreSQL backend, one after the other. The app's
//! pooled role is an authenticator and names the app user per transaction with
//! `authz.set_user` (transaction-local): identity never crosses clients. A session-level
//! `set_user(..., false)` does cross them, which is why the README calls it unsafe behind a pooler.
//!
//! Needs Debian's `pgbouncer` package (scripts/dev installs it); the test starts its own
//! PgBouncer on a free port and stops it when done.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pg_authz_integration::{connect, fresh_database, server_url};
use postgres::{Client, NoTls, SimpleQueryMessage};

const APP_ROLE: &str = "regress_pool_app";

/// A PgBouncer process, stopped on drop.
struct Pooler {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Pooler {
    /// SIGTERM, which `runuser` (the child when the tests run as root) passes on to PgBouncer;
    /// a SIGKILL would stop `runuser` alone and leave PgBouncer running.
    fn drop(&mut self) {
        let terminated = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if !terminated {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn server_port() -> String {
    server_url()
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("port="))
        .unwrap_or("5432")
        .to_owned()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false)
}

/// Start PgBouncer in front of the test server: transaction pooling, one server connection.
fn start_pooler(db: &str) -> Pooler {
    let binary = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("pgbouncer is not installed (apt-get install pgbouncer; scripts/dev does it)");
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("pg_authz_pooler_{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: String| {
        let mut f = std::fs::File::create(dir.join(name)).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    };
    write("userlist.txt", format!("\"{APP_ROLE}\" \"\"\n"));
    write(
        "pgbouncer.ini",
        format!(
            "[databases]\n{db} = host=127.0.0.1 port={server} dbname={db}\n\
             [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {dir}/userlist.txt\nlogfile = {dir}/pgbouncer.log\n\
             pool_mode = transaction\ndefault_pool_size = 1\nmin_pool_size = 0\nreserve_pool_size = 0\n\
             max_client_conn = 20\nignore_startup_parameters = extra_float_digits,options\n",
            server = server_port(),
            dir = dir.display(),
        ),
    );
    let ini = dir.join("pgbouncer.ini");
    // PgBouncer refuses to run as root.
    let mut command = if is_root() {
        Command::new("chmod")
            .args(["-R", "a+rwX"])
            .arg(&dir)
            .status()
            .unwrap();
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", binary]).arg(&ini);
        c
    } else {
        let mut c = Command::new(binary);
        c.arg(&ini);
        c
    };
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pooler = Pooler { child, port, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "pgbouncer did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    pooler
}

/// A client of the pooler, logged in as the app's pooled role. PgBouncer's transaction mode
/// and the extended protocol's named statements do not mix, so clients use the simple protocol.
fn pooled_client(pooler: &Pooler, db: &str) -> Client {
    Client::connect(
        &format!(
            "host=127.0.0.1 port={} user={APP_ROLE} dbname={db}",
            pooler.port
        ),
        NoTls,
    )
    .unwrap()
}

/// The first column of each row of `sql`'s last result (NULL as "<nobody>").
fn column(client: &mut Client, sql: &str) -> Vec<String> {
    let mut rows = Vec::new();
    for message in client.simple_query(sql).unwrap() {
        match message {
            SimpleQueryMessage::RowDescription(_) => rows.clear(),
            SimpleQueryMessage::Row(r) => rows.push(r.get(0).unwrap_or("<nobody>").to_owned()),
            _ => {}
        }
    }
    rows
}

fn one(client: &mut Client, sql: &str) -> String {
    column(client, sql).pop().expect("one row")
}

fn setup(db: &str) {
    let mut admin = connect(db);
    admin
        .batch_execute(&format!(
            "DO $$ BEGIN
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                     CREATE ROLE {APP_ROLE} LOGIN;
                 END IF;
             END $$;
             GRANT authz_authenticator TO {APP_ROLE};
             CREATE SCHEMA app;
             CREATE TABLE app.notes (id int PRIMARY KEY, owner_id text NOT NULL);
             INSERT INTO app.notes SELECT i, CASE WHEN i % 2 = 0 THEN 'u2' ELSE 'u1' END FROM generate_series(1, 10) i;
             GRANT USAGE ON SCHEMA app TO {APP_ROLE};
             GRANT SELECT ON app.notes TO {APP_ROLE};
             SELECT authz.register_model('app.Note', 'app.notes');
             INSERT INTO authz.users (id) VALUES ('u1'), ('u2');
             INSERT INTO authz.user_permissions (user_id, permission_id)
               SELECT u.id, p.id FROM authz.users u, authz.permissions p WHERE p.codename = 'view_note';
             SELECT authz.protect('app.notes', '{{\"model\": \"app.Note\", \"owner\": {{\"column\": \"owner_id\"}}}}');"
        ))
        .unwrap();
}

/// One transaction as `user`: who the database says is asking, and the owners of the rows it sees.
fn transaction_as(client: &mut Client, user: &str) -> (String, Vec<String>) {
    let rows = column(
        client,
        &format!(
            "BEGIN;
             SELECT authz.set_user('{user}');
             SELECT coalesce(authz.current_user_id(), '<nobody>') || ':' || pg_backend_pid()
               UNION ALL (SELECT DISTINCT owner_id FROM app.notes);
             COMMIT;"
        ),
    );
    let (me, seen) = rows.split_first().unwrap();
    (me.clone(), seen.to_vec())
}

#[test]
fn transaction_local_identity_never_crosses_clients() {
    let db = fresh_database("pg_authz_it_pooler");
    setup(&db);
    let pooler = start_pooler(&db);
    let mut a = pooled_client(&pooler, &db);
    let mut b = pooled_client(&pooler, &db);

    // Interleaved on one server backend: each transaction sees only its own user.
    let mut backends = std::collections::HashSet::new();
    for _ in 0..20 {
        for (client, user) in [(&mut a, "u1"), (&mut b, "u2")] {
            let (me, seen) = transaction_as(client, user);
            let (id, pid) = me.split_once(':').unwrap();
            assert_eq!(id, user);
            assert_eq!(seen, vec![user.to_owned()], "{user} sees only its own rows");
            backends.insert(pid.to_owned());
            // The next statement, outside that transaction, is nobody again.
            assert_eq!(one(client, "SELECT authz.current_user_id()"), "<nobody>");
            assert_eq!(one(client, "SELECT count(*) FROM app.notes"), "0");
        }
    }
    assert_eq!(
        backends.len(),
        1,
        "both clients shared one server connection"
    );

    // The same, concurrently: two threads racing through the single server connection.
    let threads: Vec<_> = [(a, "u1"), (b, "u2")]
        .into_iter()
        .map(|(mut client, user)| {
            std::thread::spawn(move || {
                for _ in 0..100 {
                    let (me, seen) = transaction_as(&mut client, user);
                    assert!(me.starts_with(&format!("{user}:")), "{user} saw {me}");
                    assert_eq!(seen, vec![user.to_owned()]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn session_level_set_user_through_a_transaction_pooler_leaks_to_the_next_client() {
    let db = fresh_database("pg_authz_it_pooler_unsafe");
    setup(&db);
    let pooler = start_pooler(&db);
    let mut a = pooled_client(&pooler, &db);
    let mut b = pooled_client(&pooler, &db);

    // Client A sets its user for "the session", but in transaction mode the session is
    // PgBouncer's server connection, which client B gets next: B now acts as u1.
    one(&mut a, "SELECT authz.set_user('u1', is_local => false)");
    assert_eq!(
        one(&mut b, "SELECT authz.current_user_id()"),
        "u1",
        "the unsafe case leaks"
    );
    assert_eq!(
        one(
            &mut b,
            "SELECT count(DISTINCT owner_id) || ':' || min(owner_id) FROM app.notes"
        ),
        "1:u1"
    );
    // Only a reset of the server connection (PgBouncer runs DISCARD ALL in session mode, or
    // with server_reset_query_always) ends it; transaction-local set_user needs none.
    a.batch_execute("DISCARD ALL").unwrap();
    assert_eq!(one(&mut b, "SELECT authz.current_user_id()"), "<nobody>");
}
