"""Test set-up: the app's database role, made once per run as the server's superuser."""

import os

import psycopg
import pytest

from tests.settings_base import APP_ROLE


def pytest_sessionstart(session):
    with psycopg.connect(
        host=os.environ.get("PG_AUTHZ_BASE", "127.0.0.1"),
        port=os.environ.get("PG_AUTHZ_PORT", "55432"),
        user="postgres",
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(
            f"""DO $$
            BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                    CREATE ROLE {APP_ROLE} LOGIN CREATEDB NOSUPERUSER;
                END IF;
                -- The extension's roles are cluster-wide and made by its first CREATE EXTENSION;
                -- the app role joins them before any test database exists, so make them here
                -- on a cluster that has none yet (CREATE EXTENSION keeps existing ones).
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authz_admin') THEN
                    CREATE ROLE authz_admin NOLOGIN;
                END IF;
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authz_authenticator') THEN
                    CREATE ROLE authz_authenticator NOLOGIN;
                END IF;
            END
            $$"""
        )
        conn.execute(f"GRANT authz_admin, authz_authenticator TO {APP_ROLE}")


def superuser_connection():
    """A connection to the test database as the server's superuser (to read what is stored,
    past row-level security and the app role's privileges)."""
    from django.db import connection

    return psycopg.connect(
        host=os.environ.get("PG_AUTHZ_BASE", "127.0.0.1"),
        port=os.environ.get("PG_AUTHZ_PORT", "55432"),
        user="postgres",
        dbname=connection.settings_dict["NAME"],
    )


@pytest.fixture
def world(transactional_db, django_user_model):
    """Three users and their orders, committed (real transactions, as in production)."""
    from django.contrib.auth.models import Group, Permission

    from tests.shop.models import Order

    viewers = Group.objects.create(name="Viewers")
    viewers.permissions.set(Permission.objects.filter(content_type__app_label="shop", codename__in=["view_order", "add_order"]))
    users = {}
    for name, extra in [("alice", {}), ("bob", {}), ("root", {"is_superuser": True})]:
        users[name] = _make_user(django_user_model, name, **extra)
    from pg_authz import acting_as

    for name in ("alice", "bob"):
        users[name].groups.add(viewers)
        # Outside a request nobody is set, and row-level security refuses the insert.
        with acting_as(users["root"]):
            Order.objects.create(owner=users[name], title=f"{name}-1")
    return users


def _make_user(model, name, **extra):
    field = model.USERNAME_FIELD
    value = f"{name}@example.com" if field == "email" else name
    return model._default_manager.create_user(**{field: value}, password="pw", **extra)


@pytest.fixture
def make_user(django_user_model):
    return lambda name, **extra: _make_user(django_user_model, name, **extra)


@pytest.fixture(params=[False, True], ids=["autocommit", "atomic_requests"])
def atomic_requests(request):
    """Each test twice: statements in autocommit, and each request in one transaction."""
    from django.db import connections

    settings_dict = connections["default"].settings_dict
    saved = settings_dict["ATOMIC_REQUESTS"]
    settings_dict["ATOMIC_REQUESTS"] = request.param
    yield request.param
    settings_dict["ATOMIC_REQUESTS"] = saved
