"""Identity per request: every statement the ORM runs for a request acts for request.user, and
nothing else does. Each test asserts what PostgreSQL saw: authz.current_user_id() and the rows
row-level security let through (alice and bob own one order each; root is a superuser)."""

import pytest
from asgiref.sync import async_to_sync
from django.db import connection

from tests.shop.models import Order

pytestmark = pytest.mark.django_db(transaction=True)


def login(client, user):
    client.force_login(user)
    return client


def test_request_acts_for_its_user(client, world, atomic_requests):
    body = login(client, world["alice"]).get("/whoami/").json()
    assert body["user"] == str(world["alice"].pk)
    assert body["titles"] == ["alice-1"]


def test_superuser_sees_everything(client, world, atomic_requests):
    assert login(client, world["root"]).get("/whoami/").json()["titles"] == ["alice-1", "bob-1"]


def test_anonymous_is_nobody(client, world, atomic_requests):
    body = client.get("/whoami/").json()
    assert body["user"] is None
    assert body["titles"] == []


def test_outside_a_request_is_nobody(world):
    with connection.cursor() as cursor:
        cursor.execute("SELECT authz.current_user_id()")
        assert cursor.fetchone()[0] is None
    assert Order.objects.count() == 0


def test_template_rendered_after_the_view(client, world, atomic_requests):
    response = login(client, world["bob"]).get("/template/")
    assert response.content.decode().strip() == "bob-1;"


def test_streaming_response(client, world, atomic_requests):
    response = login(client, world["alice"]).get("/stream/")
    lines = b"".join(response.streaming_content).decode().split()
    assert lines == [f'"{world["alice"].pk}"', "alice-1"]


def test_streaming_response_of_anonymous(client, world):
    lines = b"".join(client.get("/stream/").streaming_content).decode().split()
    assert lines == ["null"]


async def _async_titles(async_client, user=None):
    if user is not None:
        await async_client.aforce_login(user)
    return (await async_client.get("/async/")).json()["titles"]


def test_async_view(async_client, world):
    assert async_to_sync(_async_titles)(async_client, world["alice"]) == ["alice-1"]


def test_async_view_anonymous(async_client, world):
    assert async_to_sync(_async_titles)(async_client) == []


def test_authentication_inside_the_view(client, world, atomic_requests):
    """DRF-style: the view authenticates (here from a header) after the middleware ran."""
    body = client.get("/late/", HTTP_X_TOKEN=str(world["bob"].pk)).json()
    assert body["before"] is None
    assert body["after"] == str(world["bob"].pk)
    assert body["titles"] == ["bob-1"]


def test_persistent_connection_does_not_leak(client, world, atomic_requests):
    """CONN_MAX_AGE: the same server connection serves alice, then an anonymous request."""
    first = login(client, world["alice"]).get("/whoami/").json()
    client.logout()
    second = client.get("/whoami/").json()
    assert first["pid"] == second["pid"]
    assert (first["user"], second["user"]) == (str(world["alice"].pk), None)
    assert second["titles"] == []
    # And outside any request afterwards.
    assert Order.objects.count() == 0


def test_denied_write_is_403(client, world, atomic_requests):
    login(client, world["alice"])
    assert client.get("/create/", {"owner": world["alice"].pk, "title": "mine"}).status_code == 200
    response = client.get("/create/", {"owner": world["bob"].pk, "title": "not mine"})
    assert response.status_code == 403
    assert sorted(client.get("/whoami/").json()["titles"]) == ["alice-1", "mine"]


def test_executemany_acts_for_the_user(client, world, atomic_requests):
    titles = login(client, world["alice"]).get("/executemany/").json()["titles"]
    assert titles == ["alice-1", "bulk0", "bulk1", "bulk2"]


def test_acting_as_for_background_jobs(world):
    from pg_authz import acting_as

    with acting_as(world["bob"]):
        assert list(Order.objects.values_list("title", flat=True)) == ["bob-1"]
    with acting_as(None):
        assert Order.objects.count() == 0
