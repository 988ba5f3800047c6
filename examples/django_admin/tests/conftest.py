"""The example served for real: a fresh database (made as the server's superuser, then migrate,
sync_admin_actions and example_data as the app's own non-superuser role), one runserver on a free
localhost port for the whole session, and headless Chromium (Debian's) through Playwright."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest

EXAMPLE = Path(__file__).resolve().parent.parent
ROOT = EXAMPLE.parent.parent
DB = os.environ.get("EXAMPLE_DB", "pg_authz_example_browser")  # dropped and made afresh
SCREENSHOTS = ROOT / "target" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def superuser(dbname="postgres"):
    return psycopg.connect(
        host=os.environ.get("PG_AUTHZ_BASE", "127.0.0.1"),
        port=os.environ.get("PG_AUTHZ_PORT", "55432"),
        user="postgres",
        dbname=dbname,
        autocommit=True,
    )


def _env():
    return {**os.environ, "EXAMPLE_DB": DB, "EXAMPLE_DEBUG": "0"}


def _manage(*args):
    subprocess.run([sys.executable, "manage.py", *args], cwd=EXAMPLE, env=_env(), check=True, stdout=subprocess.DEVNULL)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server():
    with superuser() as conn:
        conn.execute(
            """DO $$
            BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authz_example_app') THEN
                    CREATE ROLE authz_example_app LOGIN NOSUPERUSER;
                END IF;
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authz_admin') THEN CREATE ROLE authz_admin NOLOGIN; END IF;
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authz_authenticator') THEN CREATE ROLE authz_authenticator NOLOGIN; END IF;
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authz_auditor') THEN CREATE ROLE authz_auditor NOLOGIN; END IF;
            END
            $$"""
        )
        conn.execute("GRANT authz_admin, authz_authenticator, authz_auditor TO authz_example_app")
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB} OWNER authz_example_app")
    for step in (["migrate", "-v0"], ["sync_admin_actions"], ["example_data"]):
        _manage(*step)
    port = _free_port()
    log = open(ROOT / "target" / "example-server.log", "w")  # the server's requests and errors
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", "--insecure", f"127.0.0.1:{port}"],
        cwd=EXAMPLE, env=_env(), stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/admin/login/", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("the example server did not start")
        yield base
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def login(server, browser):
    """``login(username)``: a page of a fresh browser context, logged in through the login form."""
    contexts = []

    def _login(username, password="pw"):
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.goto(server + "/admin/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        page.wait_for_url(server + "/admin/")
        return page

    yield _login
    for context in contexts:
        context.close()


@pytest.fixture
def audit():
    """``audit(operation, action, username)``: the user's audit entries, read as the superuser."""

    def _audit(operation, action, username):
        with superuser(DB) as conn:
            return conn.execute(
                """SELECT a.model, a.row_ids FROM authz.audit_log a JOIN user_user u ON a.app_user = u.id::text
                    WHERE a.operation = %s AND a.action = %s AND u.username = %s ORDER BY a.id""",
                [operation, action, username],
            ).fetchall()

    return _audit
