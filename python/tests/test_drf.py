"""Django REST framework: an APIView whose authentication class finds the user inside the view
(as TokenAuthentication does). The view's queries act for that user, not for the session's, and
the database's 42501 is a 403."""

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.drf_views")]


def token(user):
    return {"HTTP_AUTHORIZATION": f"Token {user.pk}"}


def titles_as_root(world):
    from pg_authz import acting_as
    from tests.shop.models import Order

    with acting_as(world["root"]):
        return sorted(Order.objects.values_list("title", flat=True))


def test_view_acts_for_the_drf_user_not_the_session(client, world, atomic_requests):
    client.force_login(world["alice"])  # the session says alice, the token says bob
    body = client.get("/api/orders/", **token(world["bob"])).json()
    assert body == {"user": str(world["bob"].pk), "db_user": str(world["bob"].pk), "titles": ["bob-1"]}


def test_the_session_alone_is_no_drf_user(client, world):
    client.force_login(world["alice"])  # DRF ignores the session: no SessionAuthentication
    assert client.get("/api/orders/").status_code in (401, 403)


def test_denied_write_is_403(client, world, atomic_requests):
    alice = token(world["alice"])
    created = client.post("/api/orders/", {"owner": world["alice"].pk, "title": "mine"}, **alice)
    assert created.status_code == 201
    refused = client.post("/api/orders/", {"owner": world["bob"].pk, "title": "not mine"}, **alice)
    assert refused.status_code == 403
    assert titles_as_root(world) == ["alice-1", "bob-1", "mine"]
