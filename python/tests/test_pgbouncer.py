"""Behind PgBouncer in transaction mode (one server connection for every client): Django's
persistent connections (CONN_MAX_AGE) are PgBouncer clients, and a server connection goes from
one to the other between transactions. Two Django workers (threads, each with its own
connection) serve alice and bob, interleaved, on the one server backend: neither sees the
other's identity or rows, and a request after an anonymous one acts for nobody.

Django is connected with DISABLE_SERVER_SIDE_CURSORS and without server-side binding, as
Django's documentation requires for transaction pooling. The test starts its own PgBouncer
(Debian's package, which scripts/dev installs) on a free port, trust auth, pool size 1."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pgbouncer():
    if not os.path.exists(PGBOUNCER):
        pytest.fail("pgbouncer is not installed (apt-get install pgbouncer; scripts/dev does it)")
    port = _free_port()
    db = connections["default"].settings_dict
    workdir = tempfile.mkdtemp(prefix="pg_authz_pgbouncer_")
    with open(os.path.join(workdir, "userlist.txt"), "w") as f:
        f.write(f'"{db["USER"]}" ""\n')
    ini = os.path.join(workdir, "pgbouncer.ini")
    with open(ini, "w") as f:
        f.write(
            f"[databases]\n* = host=127.0.0.1 port={db['PORT']}\n"
            f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {workdir}/userlist.txt\nlogfile = {workdir}/pgbouncer.log\n"
            "pool_mode = transaction\ndefault_pool_size = 1\nmin_pool_size = 0\nreserve_pool_size = 0\n"
            "max_client_conn = 20\nignore_startup_parameters = extra_float_digits,options\n"
        )
    command = [PGBOUNCER, ini]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        subprocess.run(["chmod", "-R", "a+rwX", workdir], check=True)
        command = ["runuser", "-u", "postgres", "--"] + command
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"pgbouncer did not start on port {port}"
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def through_pgbouncer(pgbouncer, world):
    """The default database, reached through PgBouncer, for every thread's connection."""
    settings_dict = connections["default"].settings_dict
    saved = {k: settings_dict.get(k) for k in ("HOST", "PORT", "DISABLE_SERVER_SIDE_CURSORS", "OPTIONS")}
    connections["default"].close()
    options = {k: v for k, v in (saved["OPTIONS"] or {}).items() if k != "server_side_binding"}
    settings_dict.update(HOST="127.0.0.1", PORT=str(pgbouncer), DISABLE_SERVER_SIDE_CURSORS=True, OPTIONS=options)
    assert settings_dict["CONN_MAX_AGE"] > 0
    yield world
    connections["default"].close()
    settings_dict.update(saved)


class Worker:
    """One Django worker: its own thread, hence its own persistent Django connection."""

    def __init__(self, user=None):
        self._thread = ThreadPoolExecutor(max_workers=1)
        self.client = Client()
        if user is not None:
            self.run(self.client.force_login, user)

    def run(self, fn, *args):
        return self._thread.submit(fn, *args).result()

    def whoami(self):
        return self.run(lambda: self.client.get("/whoami/").json())

    def stop(self):
        self.run(connections.close_all)
        self._thread.shutdown()


def test_interleaved_users_share_one_backend_and_nothing_else(through_pgbouncer, atomic_requests):
    world = through_pgbouncer
    alice, bob = Worker(world["alice"]), Worker(world["bob"])
    try:
        seen = []
        for _ in range(3):
            for worker, name in ((alice, "alice"), (bob, "bob")):
                body = worker.whoami()
                assert (body["user"], body["titles"]) == (str(world[name].pk), [f"{name}-1"])
                seen.append(body["pid"])
        # One server backend served both workers' connections (pool size 1).
        assert len(set(seen)) == 1
        # bob's request was the last one: alice's next one is anonymous, and so is the one
        # after it, from a worker that never logged in.
        alice.run(alice.client.logout)
        newcomer = Worker()
        try:
            for worker in (alice, newcomer):
                body = worker.whoami()
                assert (body["user"], body["titles"], body["pid"]) == (None, [], seen[0])
        finally:
            newcomer.stop()
        assert bob.whoami()["titles"] == ["bob-1"]
    finally:
        alice.stop()
        bob.stop()
