"""A custom AUTH_USER_MODEL: uuid ids, its own table name, no is_staff; psycopg's server-side
binding on (prepared statements must keep working)."""

from tests.settings_base import *  # noqa: F401,F403

INSTALLED_APPS = INSTALLED_APPS + ["tests.accounts"]  # noqa: F405
AUTH_USER_MODEL = "accounts.Member"
DATABASES["default"]["TEST"]["NAME"] = "test_pg_authz_django_custom"  # noqa: F405
DATABASES["default"]["OPTIONS"] = {"server_side_binding": True}  # noqa: F405
