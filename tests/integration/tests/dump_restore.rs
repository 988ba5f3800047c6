//! pg_dump / pg_restore bring everything back (issue #13): every catalog row, every audit entry
//! with its id and content, the generated policies and triggers, the protected and audited
//! relation records and the same `has_perm` answers and visible rows; the restore adds no audit
//! entry of its own, and the next audited write takes the next id. Custom and plain formats, and
//! `--data-only` into an existing install (schema restored first), with the server's own tools.

use std::process::Command;

use pg_authz_integration::{connect, pg_tool, server_url};
use postgres::Client;

const SOURCE: &str = "
    CREATE SCHEMA shop;
    GRANT USAGE ON SCHEMA shop TO PUBLIC;
    CREATE TABLE shop.orders (id int PRIMARY KEY, owner_id text NOT NULL, total int NOT NULL DEFAULT 0,
                              note text, updated_at timestamptz);
    GRANT SELECT, UPDATE ON shop.orders TO authz_it_dump_reader;
    SELECT authz.enable_audit('shop.orders', updated_at => 'updated_at', row_images => true);
    SELECT authz.protect('shop.orders', '{\"model\": \"shop.Order\", \"owner\": {\"column\": \"owner_id\"},
                                          \"readonly\": [{\"columns\": [\"total\"]}]}');
    INSERT INTO authz.users (id, is_staff) VALUES ('alice', true), ('bob', true), ('carol', false);
    INSERT INTO authz.groups (name) VALUES ('clerks');
    INSERT INTO authz.user_groups SELECT 'alice', id FROM authz.groups;
    INSERT INTO authz.group_permissions SELECT g.id, p.id FROM authz.groups g, authz.permissions p
     WHERE p.codename IN ('view_order', 'change_order');
    INSERT INTO authz.user_permissions SELECT 'bob', id FROM authz.permissions WHERE codename = 'view_order';
    INSERT INTO authz.object_permissions (permission_id, user_id, object_pk)
    SELECT id, 'carol', '7' FROM authz.permissions WHERE codename = 'view_order';
    INSERT INTO shop.orders (id, owner_id) SELECT g, CASE WHEN g % 2 = 0 THEN 'alice' ELSE 'bob' END
      FROM generate_series(1, 20) g;
    UPDATE shop.orders SET note = 'checked' WHERE id <= 5;
    DELETE FROM authz.user_permissions WHERE user_id = 'bob';
    INSERT INTO authz.user_permissions SELECT 'bob', id FROM authz.permissions WHERE codename = 'view_order';
";

/// Everything a restore must bring back, as text: catalogs, audit log, policies, triggers,
/// records, has_perm answers and the rows each app user sees.
const SNAPSHOT: &str = "
    SELECT concat_ws(E'\\n--\\n',
      (SELECT string_agg(x::text, E'\\n' ORDER BY x::text) FROM authz.content_types x),
      (SELECT string_agg(x::text, E'\\n' ORDER BY x::text) FROM authz.permissions x),
      (SELECT string_agg(x::text, E'\\n' ORDER BY x::text) FROM authz.groups x),
      (SELECT string_agg(x::text, E'\\n' ORDER BY x::text) FROM authz.group_permissions x),
      (SELECT string_agg(x::text, E'\\n' ORDER BY x::text) FROM authz.users x),
      (SELECT string_agg(x::text, E'\\n' ORDER BY x::text) FROM authz.user_groups x),
      (SELECT string_agg(x::text, E'\\n' ORDER BY x::text) FROM authz.user_permissions x),
      (SELECT string_agg(x::text, E'\\n' ORDER BY x::text) FROM authz.object_permissions x),
      (SELECT string_agg(x::text, E'\\n' ORDER BY x::text) FROM authz.actions x),
      (SELECT string_agg(x::text, E'\\n' ORDER BY x::text) FROM authz.protected_relations x),
      (SELECT string_agg(to_jsonb(x)::text, E'\\n' ORDER BY x.id) FROM authz.audit_log x),
      (SELECT string_agg(x::text, E'\\n' ORDER BY x::text) FROM authz.audited_relations x),
      (SELECT string_agg(x::text, E'\\n' ORDER BY x::text) FROM authz.policies x),
      (SELECT string_agg(pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text, E'\\n' ORDER BY t.tgname)
         FROM pg_trigger t WHERE t.tgrelid = 'shop.orders'::regclass),
      (SELECT relrowsecurity::text || relforcerowsecurity::text FROM pg_class WHERE oid = 'shop.orders'::regclass),
      (SELECT string_agg(u.id || ' ' || p.perm || ' ' || authz.has_perm(u.id, p.perm), E'\\n' ORDER BY 1)
         FROM authz.users u,
              (SELECT ct.app_label || '.' || p.codename AS perm FROM authz.permissions p
                 JOIN authz.content_types ct ON ct.id = p.content_type_id) p),
      (SELECT string_agg(u.id || ' ' || authz.has_perm(u.id, 'shop.view_order', '7'), ' ' ORDER BY u.id)
         FROM authz.users u),
      (SELECT count(*)::text FROM authz.protection_breaches))";

/// Run a PostgreSQL client tool; it must succeed without printing an error.
fn run(tool: &str, args: &[&str]) {
    let out = Command::new(pg_tool(tool))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("ERROR"),
        "{tool} {args:?} failed:\n{stderr}"
    );
}

fn conninfo(db: &str) -> String {
    format!("{} dbname={db}", server_url())
}

fn recreate(db: &str) {
    let mut admin = connect("postgres");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .unwrap();
}

fn source(db: &str) -> Client {
    let mut admin = connect("postgres");
    admin
        .batch_execute(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authz_it_dump_reader') THEN
                 CREATE ROLE authz_it_dump_reader;
               END IF;
             END $$",
        )
        .unwrap();
    recreate(db);
    let mut client = connect(db);
    client.batch_execute("CREATE EXTENSION pg_authz").unwrap();
    client.batch_execute(SOURCE).unwrap();
    client
}

fn snapshot(client: &mut Client) -> String {
    let mut text: String = client.query_one(SNAPSHOT, &[]).unwrap().get(0);
    for user in ["alice", "bob", "carol"] {
        let mut tx = client.transaction().unwrap();
        tx.execute("SELECT authz.set_user($1)", &[&user]).unwrap();
        tx.batch_execute("SET LOCAL ROLE authz_it_dump_reader")
            .unwrap();
        let ids: Option<String> = tx
            .query_one(
                "SELECT string_agg(id::text, ',' ORDER BY id) FROM shop.orders",
                &[],
            )
            .unwrap()
            .get(0);
        text.push_str(&format!("\n{user} sees {ids:?}"));
        tx.rollback().unwrap();
    }
    text
}

/// The restored database goes on: the next audited write gets the next id, and the guard holds.
fn still_works(client: &mut Client, before_max: i64) {
    client
        .batch_execute("INSERT INTO authz.users (id) VALUES ('dave')")
        .unwrap();
    let (min, count): (i64, i64) = {
        let row = client
            .query_one(
                "SELECT min(id), count(*) FROM authz.audit_log WHERE id > $1",
                &[&before_max],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(
        (min, count),
        (before_max + 1, 1),
        "the next entry takes the next id"
    );
    let refused = client.batch_execute("DROP POLICY authz_select ON shop.orders");
    assert_eq!(
        refused
            .unwrap_err()
            .code()
            .map(|c| c.code().to_owned())
            .as_deref(),
        Some("2BP01")
    );
}

fn max_id(client: &mut Client) -> i64 {
    client
        .query_one("SELECT max(id) FROM authz.audit_log", &[])
        .unwrap()
        .get(0)
}

#[test]
fn custom_format_restores_everything() {
    let mut src = source("pg_authz_it_dump_src_c");
    let expected = snapshot(&mut src);
    let file = std::env::temp_dir().join("pg_authz_it_dump.custom");
    let file = file.to_str().unwrap();
    run(
        "pg_dump",
        &["-Fc", "-f", file, "-d", &conninfo("pg_authz_it_dump_src_c")],
    );
    recreate("pg_authz_it_dump_dst_c");
    run(
        "pg_restore",
        &[
            "--exit-on-error",
            "-d",
            &conninfo("pg_authz_it_dump_dst_c"),
            file,
        ],
    );
    let mut dst = connect("pg_authz_it_dump_dst_c");
    assert_eq!(snapshot(&mut dst), expected);
    still_works(&mut dst, max_id(&mut src));
}

#[test]
fn plain_format_restores_everything() {
    let mut src = source("pg_authz_it_dump_src_p");
    let expected = snapshot(&mut src);
    let file = std::env::temp_dir().join("pg_authz_it_dump.sql");
    let file = file.to_str().unwrap();
    run(
        "pg_dump",
        &["-Fp", "-f", file, "-d", &conninfo("pg_authz_it_dump_src_p")],
    );
    recreate("pg_authz_it_dump_dst_p");
    run(
        "psql",
        &[
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-f",
            file,
            "-d",
            &conninfo("pg_authz_it_dump_dst_p"),
        ],
    );
    let mut dst = connect("pg_authz_it_dump_dst_p");
    assert_eq!(snapshot(&mut dst), expected);
    still_works(&mut dst, max_id(&mut src));
}

#[test]
fn data_only_restores_into_an_existing_install() {
    let mut src = source("pg_authz_it_dump_src_d");
    let expected = snapshot(&mut src);
    let schema = std::env::temp_dir().join("pg_authz_it_dump.schema");
    let data = std::env::temp_dir().join("pg_authz_it_dump.data");
    let (schema, data) = (schema.to_str().unwrap(), data.to_str().unwrap());
    run(
        "pg_dump",
        &[
            "-Fc",
            "--schema-only",
            "-f",
            schema,
            "-d",
            &conninfo("pg_authz_it_dump_src_d"),
        ],
    );
    run(
        "pg_dump",
        &[
            "-Fc",
            "--data-only",
            "-f",
            data,
            "-d",
            &conninfo("pg_authz_it_dump_src_d"),
        ],
    );
    // The existing install: pg_authz and the application's tables, policies and triggers.
    recreate("pg_authz_it_dump_dst_d");
    run(
        "pg_restore",
        &[
            "--exit-on-error",
            "-d",
            &conninfo("pg_authz_it_dump_dst_d"),
            schema,
        ],
    );
    run(
        "pg_restore",
        &[
            "--exit-on-error",
            "--data-only",
            "-d",
            &conninfo("pg_authz_it_dump_dst_d"),
            data,
        ],
    );
    let mut dst = connect("pg_authz_it_dump_dst_d");
    assert_eq!(snapshot(&mut dst), expected);
    still_works(&mut dst, max_id(&mut src));
}
