"""Metric 12: a Django admin changelist of 100 rows with pg_authz against the same project with
Django's own checks only (bench/README.md).

Worker processes serve the example (examples/django_admin) through Django's test client, logged
in as one admin: ``pg_authz`` with the example's settings (identity middleware, DatabaseBackend,
AuthzAdminMixin: has_*_permission and allowed_actions from the database) and the order table under
a generated policy; ``baseline`` with ``shopsite.settings_baseline`` (no pg_authz app or middleware,
ModelBackend, stock ModelAdmin, the declared actions as Django actions guarded by has_perm: the
same dropdown) and row-level security off on that table; for information ``pg_authz_rls_off``, the
example's settings without the policy. Each GETs the order changelist (100 rows, Django's default
page) in batches, the variants taking turns (A B C, then C B A, ...), each batch after an untimed
warm-up request; every request's wall time (and the worker's CPU time) is a sample in bench.samples.

    python bench/changelist.py                run, write the samples and notes into --bench-db
    python bench/changelist.py --profile V    cProfile one batch of variant V, print the top entries

The example database (--db) must be set up (scripts/dev's example_setup, which `make bench` runs).
Connections: libpq's PGHOST/PGPORT/PGUSER (the server's superuser), as bench/run exports them.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "django_admin"
URL = "/admin/order/order/"
ROWS = 100
METRIC = "12_changelist"
# variant: (settings, row-level security on the order table). pg_authz_rls_off separates what the
# policy costs from what identity and the admin mixin cost.
VARIANTS = {
    "pg_authz": ("shopsite.settings", True),
    "pg_authz_rls_off": ("shopsite.settings", False),
    "baseline": ("shopsite.settings_baseline", False),
}
TABLE = "public.order_order"
SPEC = {"model": "order.Order"}  # model permission only: view_order (or change) sees every row


# -- worker (one per variant, in its own process) ------------------------------------------------

def worker(admin):
    sys.path.insert(0, str(EXAMPLE))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(username=admin))

    def get():
        response = client.get(URL)
        if response.status_code != 200:
            raise RuntimeError(f"GET {URL} answered {response.status_code}")
        return response

    def rows(response):
        return response.content.count(b'<th class="field-number"')  # the first column of each row

    def actions(response):
        return [a.decode() for a in re.findall(rb'<option value="(\w+)"', response.content)]

    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "batch":
            checked = rows(get())  # untimed: the first request after the table's RLS flag changed
            times, cpu = [], []
            for _ in range(command["n"]):
                start, start_cpu = time.perf_counter(), time.process_time()
                get()
                times.append((time.perf_counter() - start) * 1e3)
                cpu.append((time.process_time() - start_cpu) * 1e3)
            answer = {"ms": times, "cpu_ms": cpu, "rows": checked}
        elif command["op"] == "queries":
            with CaptureQueriesContext(connection) as queries:
                response = get()
            sql = [q["sql"] for q in queries]
            answer = {
                "statements": sum(1 for q in sql if q not in ("BEGIN", "COMMIT")),
                # pg_authz: an autocommit statement acting for the user is BEGIN, set_user, it, COMMIT.
                "transactions": sql.count("BEGIN"),
                "rows": rows(response),
                "actions": actions(response),
            }
        elif command["op"] == "profile":
            import cProfile
            import io
            import pstats

            get()
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(command["n"]):
                get()
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(command.get("sort", "cumulative")).print_stats(command.get("top", 40))
            answer = {"profile": out.getvalue()}
        else:
            break
        print(json.dumps(answer), flush=True)


class Worker:
    def __init__(self, variant, db, admin):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": VARIANTS[variant][0], "EXAMPLE_DB": db, "EXAMPLE_DEBUG": "0",
               "EXAMPLE_CONN_MAX_AGE": "60",  # one thread: persistent connections, as a production server
               "PG_AUTHZ_BASE": os.environ.get("PGHOST", "127.0.0.1"), "PG_AUTHZ_PORT": os.environ.get("PGPORT", "55432")}
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker", admin], cwd=EXAMPLE, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def ask(self, **command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the worker exited ({self.process.wait()})")
        return json.loads(line)

    def close(self):
        self.process.stdin.close()
        self.process.wait(30)


# -- controller --------------------------------------------------------------------------------

def connect(dbname):
    import psycopg

    return psycopg.connect(dbname=dbname, autocommit=True)


def set_rls(conn, variant):
    """pg_authz: the generated policy applies; the others: row-level security off on the table (the
    tamper guard refuses that, so in replica mode, as bench/run does for metrics 3, 4 and 6)."""
    if VARIANTS[variant][1]:
        conn.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    else:
        conn.execute("SET session_replication_role = replica")
        conn.execute(f"ALTER TABLE {TABLE} DISABLE ROW LEVEL SECURITY")
        conn.execute("RESET session_replication_role")


def measure(args):
    with connect(args.db) as example:
        example.execute("SELECT authz.protect(%s::regclass, %s::jsonb)", [TABLE, json.dumps(SPEC)])
        workers = {v: Worker(v, args.db, args.admin) for v in VARIANTS}
        try:
            samples = {v: [] for v in VARIANTS}
            cpu = {v: [] for v in VARIANTS}
            queries = {}
            for variant in VARIANTS:
                set_rls(example, variant)
                queries[variant] = workers[variant].ask(op="queries")
                if queries[variant]["rows"] != ROWS:
                    raise RuntimeError(f"{variant}: the changelist shows {queries[variant]['rows']} rows, not {ROWS}")
            if queries["pg_authz"]["actions"] != queries["baseline"]["actions"]:
                raise RuntimeError(f"the dropdowns differ: {queries}")
            for r in range(args.rounds):
                order = list(VARIANTS) if r % 2 == 0 else list(reversed(VARIANTS))
                for variant in order:
                    set_rls(example, variant)
                    answer = workers[variant].ask(op="batch", n=args.batch)
                    samples[variant].extend(answer["ms"])
                    cpu[variant].extend(answer["cpu_ms"])
            return samples, cpu, queries
        finally:
            for w in workers.values():
                w.close()
            example.execute("SELECT authz.unprotect(%s::regclass)", [TABLE])


def _lines(samples, cpu):
    """The report's metrics (bench/run's report lines 12): each with its samples and variants."""
    return [
        (METRIC, samples, ("pg_authz", "baseline")),
        (METRIC + "_rls_off", samples, ("pg_authz_rls_off", "baseline")),
        (METRIC + "_cpu", cpu, ("pg_authz", "baseline")),
    ]


def record(args, samples, cpu, queries):
    with connect(args.bench_db) as bench:
        bench.execute("DELETE FROM bench.samples WHERE metric LIKE %s", [METRIC + "%"])
        with bench.cursor() as cur:
            cur.executemany(
                "INSERT INTO bench.samples VALUES (%s, %s, %s, %s, 'ms')",
                [(metric, v, i + 1, ms) for metric, values, variants in _lines(samples, cpu)
                 for v in variants for i, ms in enumerate(values[v])],
            )
        notes = [
            f"{args.rounds} alternating batches of {args.batch} GETs of {URL} per variant (Django test client, "
            f"logged in as {args.admin}), {ROWS} rows; wall time per request",
            "statements per request: {statements} with pg_authz ({transactions} of them in set_user transactions: "
            "BEGIN, set_user, the statement, COMMIT), {base} with Django's checks only".format(
                base=queries["baseline"]["statements"], **queries["pg_authz"]),
            f"label:orders under authz.protect {json.dumps(SPEC)}; baseline: settings_baseline, RLS off",
        ]
        for note in notes:
            bench.execute("INSERT INTO bench.notes VALUES (%s, %s)", [METRIC, note])
        bench.execute(
            "INSERT INTO bench.notes VALUES (%s, %s)",
            [METRIC + "_rls_off", "label:the example's settings, RLS off on the table: identity and the admin mixin"],
        )


def profile(args):
    with connect(args.db) as example:
        example.execute("SELECT authz.protect(%s::regclass, %s::jsonb)", [TABLE, json.dumps(SPEC)])
        set_rls(example, args.profile)
        w = Worker(args.profile, args.db, args.admin)
        try:
            print(w.ask(op="queries"))
            print(w.ask(op="profile", n=args.batch, sort=args.sort, top=args.top)["profile"])
        finally:
            w.close()
            example.execute("SELECT authz.unprotect(%s::regclass)", [TABLE])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=os.environ.get("EXAMPLE_DB", "pg_authz_bench_changelist"))
    parser.add_argument("--bench-db", default="pg_authz_bench")
    parser.add_argument("--admin", default="data1")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_CHANGELIST_ROUNDS", 20)))
    parser.add_argument("--batch", type=int, default=int(os.environ.get("BENCH_CHANGELIST_BATCH", 20)))
    parser.add_argument("--profile", choices=sorted(VARIANTS))
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--print", action="store_true", help="print the medians, do not record")
    parser.add_argument("--worker", metavar="ADMIN", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker)
    if args.profile:
        return profile(args)
    samples, cpu, queries = measure(args)
    for name, values in (("wall", samples), ("Django process CPU", cpu)):
        m = {v: statistics.median(values[v]) for v in VARIANTS}
        print(f"changelist {name}: pg_authz {m['pg_authz']:.2f} ms ({m['pg_authz'] / m['baseline']:.3f}x), "
              f"RLS off {m['pg_authz_rls_off']:.2f} ms ({m['pg_authz_rls_off'] / m['baseline']:.3f}x), "
              f"baseline {m['baseline']:.2f} ms ({len(values['pg_authz'])} requests each)", file=sys.stderr)
    print(f"changelist: {queries}", file=sys.stderr)
    if not args.print:
        record(args, samples, cpu, queries)


if __name__ == "__main__":
    sys.exit(main())
