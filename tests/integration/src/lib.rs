//! Helpers for the integration tests: each test gets a fresh database with pg_authz installed
//! on the local server started by `scripts/dev test` (connection in `PG_AUTHZ_TEST_URL`).

use postgres::{Client, NoTls};

/// Connection parameters of the local server, without a database name.
pub fn server_url() -> String {
    std::env::var("PG_AUTHZ_TEST_URL").expect(
        "PG_AUTHZ_TEST_URL is not set: run the integration tests through `make test`",
    )
}

/// Open a new session on database `db`.
pub fn connect(db: &str) -> Client {
    Client::connect(&format!("{} dbname={db}", server_url()), NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to {db}: {e}"))
}

/// Drop and recreate database `db` with pg_authz installed; returns its name.
pub fn fresh_database(db: &str) -> String {
    let mut admin = connect("postgres");
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
    connect(db).batch_execute("CREATE EXTENSION pg_authz").unwrap();
    db.to_owned()
}

/// `authz.has_perm(user, perm)` as seen by session `client`.
pub fn has_perm(client: &mut Client, user: &str, perm: &str) -> bool {
    client.query_one("SELECT authz.has_perm($1, $2)", &[&user, &perm]).unwrap().get(0)
}

/// The SQLSTATE of a statement that must fail.
pub fn sqlstate_of(client: &mut Client, sql: &str) -> String {
    match client.batch_execute(sql) {
        Ok(()) => panic!("expected an error from: {sql}"),
        Err(e) => e.code().map(|c| c.code().to_owned()).unwrap_or_default(),
    }
}

/// Path of a PostgreSQL program of the server under test (`PG_AUTHZ_PG_BIN`, else Debian's 15).
pub fn pg_tool(tool: &str) -> String {
    let dir =
        std::env::var("PG_AUTHZ_PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into());
    format!("{dir}/{tool}")
}

/// The local server's base directory (`PG_AUTHZ_BASE`): its data directory is `data` below it.
pub fn server_base() -> String {
    std::env::var("PG_AUTHZ_BASE").unwrap_or_else(|_| "/var/tmp/pg_authz".into())
}

/// Run a PostgreSQL program as the postgres user (the server refuses to run as root), with the
/// environment `scripts/dev` starts the server with; its output, whether it succeeded or not.
pub fn run_as_postgres(tool: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new("runuser")
        .args([
            "-u",
            "postgres",
            "--",
            "env",
            "RUST_BACKTRACE=0",
            "RUST_LIB_BACKTRACE=0",
        ])
        .arg(pg_tool(tool))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"))
}

/// Run a PostgreSQL program as the postgres user; it must succeed.
pub fn as_postgres(tool: &str, args: &[&str]) {
    let out = run_as_postgres(tool, args);
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Open a new session on database `db` logged in as `role` (the test server trusts local logins).
pub fn connect_as(db: &str, role: &str) -> Client {
    Client::connect(&format!("{} dbname={db} user={role}", server_url()), NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to {db} as {role}: {e}"))
}

/// A PostgreSQL server of its own for one test file (a preloaded configuration, say): its data
/// directory `<server_base>/<name>`, the local server's port plus `port_offset`, its log
/// `<server_base>/<name>.log`. Created empty; stopped and removed on drop.
pub struct OwnServer {
    pub data: String,
    pub log: String,
    pub port: u16,
}

impl OwnServer {
    /// `initdb` a new cluster with `conf` appended to its postgresql.conf.
    pub fn init(name: &str, port_offset: u16, conf: &str) -> OwnServer {
        let base = server_base();
        let data = format!("{base}/{name}");
        let log = format!("{base}/{name}.log");
        let _ = run_as_postgres("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&data);
        let _ = std::fs::remove_file(&log);
        as_postgres(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        );
        let local: u16 = std::env::var("PG_AUTHZ_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(55432);
        let port = local + port_offset;
        let settings = format!(
            "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{base}'\n\
             shared_buffers = 32MB\nfsync = off\nfull_page_writes = off\n{conf}\n"
        );
        let conf_file = format!("{data}/postgresql.conf");
        let out = std::process::Command::new("runuser")
            .args([
                "-u",
                "postgres",
                "--",
                "sh",
                "-c",
                &format!("cat >> '{conf_file}'"),
            ])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(settings.as_bytes())?;
                child.wait()
            })
            .expect("append to postgresql.conf");
        assert!(out.success(), "cannot configure {data}");
        OwnServer { data, log, port }
    }

    /// Start it with extra `-c name=value` settings (`options`, as pg_ctl -o takes them).
    pub fn start(&self, options: &str) {
        as_postgres(
            "pg_ctl",
            &[
                "-D", &self.data, "-l", &self.log, "-o", options, "-w", "start",
            ],
        );
    }

    pub fn stop(&self, mode: &str) {
        as_postgres("pg_ctl", &["-D", &self.data, "-m", mode, "-w", "stop"]);
    }

    /// A new session on database `db` of this server.
    pub fn connect(&self, db: &str) -> Client {
        Client::connect(
            &format!(
                "host=127.0.0.1 port={} user=postgres dbname={db}",
                self.port
            ),
            NoTls,
        )
        .unwrap_or_else(|e| panic!("cannot connect to {db} on port {}: {e}", self.port))
    }

    /// The server log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = run_as_postgres("pg_ctl", &["-D", &self.data, "-m", "fast", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
