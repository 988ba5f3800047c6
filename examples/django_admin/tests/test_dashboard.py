"""The orders dashboard and its event stream through Django's test client, in this process, on the
served example's database (review 3, finding 10): who may open them, what they count, and when a
stream ends and what it leaves open. The browser side (a bulk action seen within a second, a closed
tab) is in test_browser.py."""

import os
import re
import time

import pytest

from tests.conftest import DB, superuser

LISTENERS = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s"
APP_CONNECTIONS = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND usename = 'authz_example_app'"


@pytest.fixture(scope="module")
def django_env(server):
    """Django set up in this process on the served example's database."""
    os.environ["EXAMPLE_DB"] = DB
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsite.settings")
    # Playwright's sync API (test_browser.py's session-wide browser) keeps an event loop in this
    # thread, where Django refuses the ORM unless told; nothing here runs on that loop.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    import django

    django.setup()
    from django.db import connection

    yield
    connection.close()


@pytest.fixture
def dashboard(django_env, monkeypatch):
    """The dashboard module, with a stream that writes and re-checks every second."""
    from shopsite import dashboard

    monkeypatch.setattr(dashboard, "RECHECK_SECONDS", 1)
    monkeypatch.setattr(dashboard, "KEEPALIVE_SECONDS", 1)
    # The served example's streams (test_browser.py's closed tabs) end within its 5 s.
    assert _wait_for_zero(LISTENERS, dashboard.LISTENER_NAME) == 0
    yield dashboard
    while _streams:  # a failed test's
        _streams.pop().close()


def _count(sql, *params):
    with superuser(DB) as conn:
        return conn.execute(sql, [DB, *params]).fetchone()[0]


def _wait_for_zero(sql, *params, seconds=10):
    deadline = time.monotonic() + seconds
    while _count(sql, *params) > 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    return _count(sql, *params)


def _staff(username, permissions=()):
    """A staff user (no password) holding exactly ``permissions`` (codenames of the order app), given
    by hand in the database."""
    from user.models import User

    user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
    with superuser(DB) as conn:
        conn.execute("UPDATE user_user SET is_active = true, is_staff = true WHERE id = %s", [user.pk])
        conn.execute("DELETE FROM user_user_user_permissions WHERE user_id = %s", [user.pk])
        for codename in permissions:
            conn.execute(
                """INSERT INTO user_user_user_permissions (user_id, permission_id)
                   SELECT %s, p.id FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id
                    WHERE ct.app_label = 'order' AND p.codename = %s""",
                [user.pk, codename],
            )
    return user


def _client(user=None):
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    if user is not None:
        client.force_login(user)
    return client


def test_a_staff_user_without_view_order_gets_403_on_the_dashboard_and_its_stream(dashboard):
    # tests/repro/python/example_dashboard.py (review 3, finding 10a): before, 200 with the counts.
    client = _client(_staff("nostaff_r3"))
    assert client.get("/admin/order/order/").status_code == 403
    assert client.get("/dashboard/").status_code == 403
    assert client.get("/dashboard/events").status_code == 403
    anonymous = _client()
    assert anonymous.get("/dashboard/").status_code == 302  # to the admin's login
    assert anonymous.get("/dashboard/events").status_code == 403
    assert _count(LISTENERS, dashboard.LISTENER_NAME) == 0


_streams = []


def _events(client):
    response = client.get("/dashboard/events")
    assert response.status_code == 200
    _streams.append(response)
    return response, iter(response.streaming_content)


def _data(chunk):
    import json

    text = chunk.decode()
    assert text.startswith("data: "), text
    return json.loads(text[len("data: "):])


def test_the_counts_are_the_rows_the_user_may_read(dashboard):
    # A row policy on orders that lets user `dash_viewer` read three orders: the page and the stream
    # count as that user, under its identity (as nobody they would count none, unfiltered 10 000).
    viewer = _staff("dash_viewer", ["view_order"])
    three = "number IN ('ORD-00001', 'ORD-00002', 'ORD-00003')"
    with superuser(DB) as conn:
        expected = dict(conn.execute(f"SELECT status, count(*) FROM order_order WHERE {three} GROUP BY status").fetchall())
        conn.execute("ALTER TABLE order_order ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY")
        conn.execute(
            "CREATE POLICY dash_viewer_three ON order_order USING"
            f" ((SELECT authz.current_user_id()) = '{viewer.pk}' AND {three})"
        )
    try:
        client = _client(viewer)
        page = client.get("/dashboard/").content.decode()
        assert {status: int(n) for status, n in re.findall(r'<td id="count-(\w+)">(\d+)<', page)} == expected
        response, chunks = _events(client)
        assert next(chunks) == b"retry: 1000\n\n"
        assert _data(next(chunks)) == expected
        response.close()
    finally:
        with superuser(DB) as conn:
            conn.execute("DROP POLICY dash_viewer_three ON order_order")
            conn.execute("ALTER TABLE order_order DISABLE ROW LEVEL SECURITY, NO FORCE ROW LEVEL SECURITY")


def _revoke(user, client):
    with superuser(DB) as conn:
        conn.execute("DELETE FROM user_user_user_permissions WHERE user_id = %s", [user.pk])


def _deactivate(user, client):
    with superuser(DB) as conn:
        conn.execute("UPDATE user_user SET is_active = false WHERE id = %s", [user.pk])


def _log_out(user, client):
    client.logout()


@pytest.mark.parametrize("end", [_revoke, _deactivate, _log_out], ids=["revoked", "deactivated", "logged-out"])
def test_a_stream_ends_within_seconds_when_its_user_may_no_longer_view(dashboard, end):
    viewer = _staff("dash_viewer", ["view_order"])
    client = _client(viewer)
    response, chunks = _events(client)
    assert next(chunks) == b"retry: 1000\n\n"
    assert sum(_data(next(chunks)).values()) == 10_000
    assert _count(LISTENERS, dashboard.LISTENER_NAME) == 1
    end(viewer, client)
    ended = time.monotonic()
    rest = list(chunks)  # the stream ends by itself
    assert time.monotonic() - ended < 3
    assert all(chunk == b": keep-alive\n\n" for chunk in rest)
    # Nothing left open: its LISTEN connection and Django's are closed.
    assert _wait_for_zero(LISTENERS, dashboard.LISTENER_NAME, seconds=1) == 0
    assert _wait_for_zero(APP_CONNECTIONS) == 0
    # The reconnection is refused.
    assert client.get("/dashboard/events").status_code == 403
    response.close()


def test_a_stream_ends_after_its_lifetime_and_closes_its_connections(dashboard, monkeypatch):
    monkeypatch.setattr(dashboard, "STREAM_SECONDS", 2)
    client = _client(_staff("dash_viewer", ["view_order"]))
    started = time.monotonic()
    response, chunks = _events(client)
    chunks = list(chunks)
    assert 2 <= time.monotonic() - started < 4
    assert chunks[0] == b"retry: 1000\n\n" and _data(chunks[1])
    assert _wait_for_zero(LISTENERS, dashboard.LISTENER_NAME, seconds=1) == 0
    assert _wait_for_zero(APP_CONNECTIONS) == 0
    response.close()


def test_a_stream_closed_by_its_client_closes_its_connections(dashboard):
    client = _client(_staff("dash_viewer", ["view_order"]))
    response, chunks = _events(client)
    next(chunks), next(chunks)
    assert _count(LISTENERS, dashboard.LISTENER_NAME) == 1
    response.close()  # what the WSGI server does when a write to a gone client fails
    assert _wait_for_zero(LISTENERS, dashboard.LISTENER_NAME, seconds=1) == 0
    assert _wait_for_zero(APP_CONNECTIONS) == 0
