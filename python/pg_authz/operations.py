"""Migration operations, all reversible:

    CreateExtension()                          CREATE EXTENSION pg_authz / DROP EXTENSION
    BindDjango()                               authz.bind_django(...) from AUTH_USER_MODEL's _meta / unbind
    Protect("app_label.Model", spec)           authz.protect(table, spec) / authz.unprotect(table)
    EnableAudit("app_label.Model", **options)  authz.enable_audit(table, ...) / authz.disable_audit(table)
"""

import json

from django.conf import settings
from django.db.migrations.operations.base import Operation

from pg_authz import setup


class _PostgresOnly(Operation):
    reduces_to_sql = False
    reversible = True

    def state_forwards(self, app_label, state):
        pass

    def _applies(self, schema_editor):
        return schema_editor.connection.vendor == "postgresql"


class CreateExtension(_PostgresOnly):
    """Install pg_authz (a no-op when it is installed, e.g. in a template database)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if self._applies(schema_editor):
            setup.create_extension(schema_editor.connection)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if self._applies(schema_editor):
            setup.drop_extension(schema_editor.connection)

    def describe(self):
        return "Create extension pg_authz"


class BindDjango(_PostgresOnly):
    """Bind pg_authz to Django's auth tables; keyword arguments override what is read from the
    user model (``AUTH_USER_MODEL`` unless ``user_model`` names another)."""

    def __init__(self, user_model=None, **overrides):
        self.user_model = user_model
        self.overrides = overrides

    def deconstruct(self):
        kwargs = dict(self.overrides)
        if self.user_model:
            kwargs["user_model"] = self.user_model
        return self.__class__.__name__, [], kwargs

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not self._applies(schema_editor):
            return
        app, model = (self.user_model or settings.AUTH_USER_MODEL).split(".")
        arguments = setup.bind_arguments(to_state.apps.get_model(app, model))
        arguments.update(self.overrides)
        setup.bind(schema_editor.connection, arguments)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if self._applies(schema_editor):
            setup.unbind(schema_editor.connection)

    def describe(self):
        return "Bind pg_authz to Django's auth tables"


class _ModelOperation(_PostgresOnly):
    def __init__(self, model):
        self.model = model

    def _table(self, state):
        app, name = self.model.split(".")
        return state.apps.get_model(app, name)._meta.db_table


class Protect(_ModelOperation):
    """Row-level security generated from ``spec`` (see the README's "Row-level security")."""

    def __init__(self, model, spec):
        super().__init__(model)
        self.spec = spec

    def deconstruct(self):
        return self.__class__.__name__, [self.model, self.spec], {}

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if self._applies(schema_editor):
            spec = {"model": self.model, **self.spec}
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT authz.protect(%s::regclass, %s::jsonb)",
                    [schema_editor.quote_name(self._table(to_state)), json.dumps(spec)],
                )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if self._applies(schema_editor):
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT authz.unprotect(%s::regclass)", [schema_editor.quote_name(self._table(from_state))]
                )

    def describe(self):
        return f"Protect {self.model} with generated row-level security"


class EnableAudit(_ModelOperation):
    """Audit every write to the model's table (options: channel, row_images, updated_at)."""

    def __init__(self, model, **options):
        super().__init__(model)
        self.options = options

    def deconstruct(self):
        return self.__class__.__name__, [self.model], dict(self.options)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if self._applies(schema_editor):
            names = list(self.options)
            extra = "".join(f", {name} => %s" for name in names)
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT authz.enable_audit(%s::regclass{extra})",
                    [schema_editor.quote_name(self._table(to_state))] + [self.options[n] for n in names],
                )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if self._applies(schema_editor):
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT authz.disable_audit(%s::regclass)", [schema_editor.quote_name(self._table(from_state))]
                )

    def describe(self):
        return f"Audit writes to {self.model}"
