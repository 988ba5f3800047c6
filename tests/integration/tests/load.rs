//! The load test of issue #13 in its short version: `bench/load` with 4 clients for 10 s of mixed
//! has_perm calls, RLS reads, audited writes, catalog changes and denials against the local
//! server; it checks that no backend crashed, that the audit entries equal the committed audited
//! statements and that each backend's memory stays flat after warm-up (its report is printed
//! with `--nocapture`; `LOAD_SECONDS=60 bench/load` is the full run).

use pg_authz_integration::{pg_tool, server_base, server_url};

#[test]
fn ten_seconds_of_mixed_load_crash_nothing_lose_no_entry_and_leak_no_memory() {
    let url = server_url();
    let port = url
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("port="))
        .unwrap_or("55432");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/load");
    let bin = pg_tool("pgbench");
    let out = std::process::Command::new(script)
        .env("LOAD_SECONDS", "10")
        .env("PG_BIN", std::path::Path::new(&bin).parent().unwrap())
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", port)
        .env("PGUSER", "postgres")
        .env("LOAD_SERVER_LOG", format!("{}/server.log", server_base()))
        .output()
        .expect("run bench/load");
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    assert!(
        out.status.success() && report.contains("load: OK"),
        "bench/load failed:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
