"""Installing the extension and binding it to Django's auth tables (used by the migration
operations, and by the post_migrate fallback when migrations are skipped)."""

import json

from django.conf import settings
from django.db import connections


def extension_installed(connection):
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_authz')")
        return cursor.fetchone()[0]


def _is_superuser(connection):
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user")
        return cursor.fetchone()[0]


def run_as_superuser(connection, sql):
    """Run ``sql`` on this database as a superuser: on the connection itself when its role is
    one, else on a second connection made with ``settings.PG_AUTHZ_SUPERUSER`` (a dict such as
    ``{"USER": "postgres", "PASSWORD": "..."}`` merged over the database's own settings)."""
    if _is_superuser(connection):
        with connection.cursor() as cursor:
            cursor.execute(sql)
        return
    privileged = getattr(settings, "PG_AUTHZ_SUPERUSER", None)
    if not privileged:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"{sql} needs a superuser: run it once as one in this database (or in its template), "
            "or set PG_AUTHZ_SUPERUSER = {'USER': ..., 'PASSWORD': ...}"
        )
    params = connection.get_connection_params()
    for key in ("cursor_factory", "context", "server_side_binding", "prepare_threshold"):
        params.pop(key, None)
    for key in ("USER", "PASSWORD", "HOST", "PORT"):
        if key in privileged:
            params[key.lower()] = privileged[key]
    raw = connection.Database.connect(**params)
    try:
        raw.autocommit = True
        with raw.cursor() as cursor:
            cursor.execute(sql)
    finally:
        raw.close()


def create_extension(connection):
    """``CREATE EXTENSION pg_authz`` unless installed (it needs a superuser: see
    :func:`run_as_superuser`). Returns whether it was created."""
    if extension_installed(connection):
        return False
    run_as_superuser(connection, "CREATE EXTENSION IF NOT EXISTS pg_authz")
    return True


def drop_extension(connection):
    if extension_installed(connection):
        run_as_superuser(connection, "DROP EXTENSION pg_authz")


def bind_arguments(user_model):
    """``authz.bind_django`` arguments describing ``user_model`` (a model class, historical
    ones from migrations included), following what Django does for a field it lacks."""
    meta = user_model._meta
    names = {f.name: f for f in meta.get_fields()}

    def column(name):
        field = names.get(name)
        return field.column if field is not None and getattr(field, "concrete", False) and not field.many_to_many else None

    def through(name):
        field = names.get(name)
        if field is None or not field.many_to_many:
            return None, None
        through_model = field.remote_field.through
        return through_model._meta.db_table, field.m2m_column_name()

    groups_table, groups_column = through("groups")
    permissions_table, permissions_column = through("user_permissions")
    return {
        "user_table": meta.db_table,
        "user_id_column": meta.pk.column,
        "user_groups_table": groups_table,
        "user_permissions_table": permissions_table,
        "user_column": groups_column or permissions_column or "user_id",
        "is_active_column": column("is_active"),
        "is_staff_column": column("is_staff"),
        "is_superuser_column": column("is_superuser"),
    }


def bind(connection, arguments):
    names = list(arguments)
    call = ", ".join(f"{name} => %s" for name in names)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT authz.bind_django({call})", [arguments[n] for n in names])
        summary = cursor.fetchone()[0]
    return json.loads(summary) if isinstance(summary, str) else summary


def unbind(connection):
    with connection.cursor() as cursor:
        cursor.execute("SELECT authz.unbind_django()")
        return cursor.fetchone()[0]


def bound_user_table(connection):
    """The user table pg_authz is bound to, None when not bound."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = b.user_table) FROM authz.django_binding b"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def ensure_after_migrate(sender, using="default", **kwargs):
    """post_migrate: rebind (cheap when nothing changed; picks up django-guardian's tables
    migrated later), or, when migrations are skipped (``--nomigrations``, ``--run-syncdb``),
    install and bind as the migration would have."""
    if getattr(sender, "label", None) != "auth":
        return
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    from django.contrib.auth import get_user_model
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.recorder import MigrationRecorder

    migrated = "pg_authz" in MigrationLoader(connection, ignore_no_migrations=True).migrated_apps
    if migrated:
        applied = MigrationRecorder(connection).applied_migrations()
        if ("pg_authz", "0001_initial") not in applied:
            return  # migrated back to zero: leave it unbound
    else:
        create_extension(connection)
    bind(connection, bind_arguments(get_user_model()))
