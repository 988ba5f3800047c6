"""System checks: the middleware's place, and (with ``--database``, and during ``migrate``)
whether the database is bound to this project's user model."""

from django.conf import settings
from django.core import checks
from django.db import connections

MIDDLEWARE = "pg_authz.middleware.AuthzMiddleware"
AUTHENTICATION = "django.contrib.auth.middleware.AuthenticationMiddleware"


@checks.register(checks.Tags.security)
def check_middleware(app_configs=None, **kwargs):
    middleware = list(getattr(settings, "MIDDLEWARE", []))
    if MIDDLEWARE not in middleware:
        return [
            checks.Warning(
                f"{MIDDLEWARE} is not in MIDDLEWARE: requests act as nobody in the database.",
                hint=f"Add it after {AUTHENTICATION}.",
                id="pg_authz.W001",
            )
        ]
    if AUTHENTICATION not in middleware or middleware.index(MIDDLEWARE) < middleware.index(AUTHENTICATION):
        return [
            checks.Error(
                f"{MIDDLEWARE} must come after {AUTHENTICATION}.",
                id="pg_authz.E002",
            )
        ]
    return []


@checks.register(checks.Tags.database)
def check_binding(app_configs=None, databases=None, **kwargs):
    from django.contrib.auth import get_user_model

    from pg_authz import setup

    errors = []
    for alias in databases or []:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        if not setup.extension_installed(connection):
            errors.append(
                checks.Warning(f"pg_authz is not installed in database {alias!r}.",
                               hint="Run migrate (pg_authz's migration installs it).", id="pg_authz.W003")
            )
            continue
        table = setup.bound_user_table(connection)
        expected = get_user_model()._meta.db_table
        if table is None:
            errors.append(
                checks.Warning(f"pg_authz is not bound to Django's auth tables in database {alias!r}: "
                               "its checks do not see Django's users, groups and permissions.",
                               hint="Run migrate.", id="pg_authz.W004")
            )
        elif table != expected:
            errors.append(
                checks.Error(f"pg_authz is bound to user table {table!r}, but AUTH_USER_MODEL's table is "
                             f"{expected!r}: the database and ModelBackend cannot agree.",
                             hint="Run migrate, or BindDjango() again.", id="pg_authz.E005")
            )
    return errors


@checks.register(checks.Tags.security)
def check_user_model_flags(app_configs=None, **kwargs):
    from django.contrib.auth import get_user_model

    return user_model_flag_warnings(get_user_model())


def user_model_flag_warnings(model):
    """pg_authz reads is_active from a column. A user model without one binds as "everyone
    active", which is AbstractBaseUser's default; a property or another value there (a ban
    computed in Python) is invisible to the database: its checks and policies would still treat
    such users as active."""
    if any(f.name == "is_active" for f in model._meta.concrete_fields):
        return []
    if getattr(model, "is_active", True) is True:
        return []
    return [
        checks.Warning(
            f"{model._meta.label}.is_active is not a database column: pg_authz treats every user as active, "
            "whatever it computes.",
            hint="Store the flag in a BooleanField named is_active (and bind again), or derive it in the database.",
            id="pg_authz.W006",
        )
    ]
