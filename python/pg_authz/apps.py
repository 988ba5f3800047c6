from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class PgAuthzConfig(AppConfig):
    name = "pg_authz"
    verbose_name = "pg_authz"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from pg_authz import checks, identity, setup  # noqa: F401  (checks register themselves)

        connection_created.connect(identity.install_on_connection, dispatch_uid="pg_authz.identity")
        # pg_authz has no models, so Django sends it no post_migrate of its own: follow auth's.
        post_migrate.connect(setup.ensure_after_migrate, dispatch_uid="pg_authz.setup")
