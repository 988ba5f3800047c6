//! An immediate shutdown during concurrent audited writes (issue #13): after restart, the audited
//! rows and the audit entries name the same keys, every write whose commit was acknowledged is
//! there with its entry, and no write of a transaction that never committed has one.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pg_authz_integration::{as_postgres, connect, fresh_database, server_base};

const DB: &str = "pg_authz_it_crash";

/// Run pg_ctl on the local server (as the postgres user).
fn pg_ctl(args: &[&str]) {
    let data = format!("{}/data", server_base());
    let log = format!("{}/server.log", server_base());
    let mut all = vec!["-D", data.as_str(), "-l", log.as_str(), "-w"];
    all.extend_from_slice(args);
    as_postgres("pg_ctl", &all);
}

#[derive(Default)]
struct Outcome {
    acknowledged: BTreeSet<i64>,
    never_committed: BTreeSet<i64>,
}

/// One writer: autocommitted audited inserts (synchronous commit, so an acknowledged commit is
/// durable), and now and then a transaction left open until the crash.
fn writer(worker: i64, outcome: Arc<Mutex<Outcome>>) {
    let mut client = connect(DB);
    client.batch_execute("SET synchronous_commit = on").unwrap();
    let mut open = client.transaction().unwrap();
    let pending = 1_000_000 + worker;
    open.execute(
        "INSERT INTO public.events (id, v) VALUES ($1, 0)",
        &[&pending],
    )
    .unwrap();
    outcome.lock().unwrap().never_committed.insert(pending);
    // The open transaction's session stays idle; the others write through a second session.
    let mut other = connect(DB);
    other.batch_execute("SET synchronous_commit = on").unwrap();
    for n in 0.. {
        let id = worker * 100_000 + n;
        match other.execute("INSERT INTO public.events (id, v) VALUES ($1, 1)", &[&id]) {
            Ok(_) => {
                outcome.lock().unwrap().acknowledged.insert(id);
            }
            Err(_) => break,
        }
    }
    drop(open);
}

#[test]
fn an_immediate_shutdown_loses_no_acknowledged_write_and_invents_no_entry() {
    fresh_database(DB);
    connect(DB)
        .batch_execute(
            "CREATE TABLE public.events (id bigint PRIMARY KEY, v int);
             SELECT authz.enable_audit('public.events');",
        )
        .unwrap();
    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let writers: Vec<_> = (1..=4)
        .map(|w| {
            let outcome = Arc::clone(&outcome);
            std::thread::spawn(move || writer(w, outcome))
        })
        .collect();
    let started = Instant::now();
    while outcome.lock().unwrap().acknowledged.len() < 200
        && started.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    pg_ctl(&["-m", "immediate", "stop"]);
    for w in writers {
        let _ = w.join();
    }
    pg_ctl(&["start"]);

    let mut client = connect(DB);
    let rows: BTreeSet<i64> = client
        .query("SELECT id FROM public.events", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let entries: Vec<(i64, String)> = client
        .query(
            "SELECT row_count, unnest(row_ids) FROM authz.audit_log
              WHERE relation = 'public.events' AND operation = 'INSERT'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(
        entries.iter().all(|(count, _)| *count == 1),
        "one entry per single-row statement"
    );
    let audited: BTreeSet<i64> = entries.iter().map(|(_, id)| id.parse().unwrap()).collect();
    let outcome = outcome.lock().unwrap();
    assert!(
        outcome.acknowledged.len() >= 200,
        "the writers wrote before the crash"
    );
    assert_eq!(audited.len(), entries.len(), "no key audited twice");
    assert_eq!(
        rows, audited,
        "every surviving row has its entry and every entry its row"
    );
    let lost: Vec<_> = outcome.acknowledged.difference(&rows).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    let leaked: Vec<_> = outcome.never_committed.intersection(&audited).collect();
    assert!(
        leaked.is_empty(),
        "entries of transactions that never committed: {leaked:?}"
    );
}
