"""The stock project: django.contrib.auth's User."""

from tests.settings_base import *  # noqa: F401,F403

DATABASES["default"]["TEST"]["NAME"] = "test_pg_authz_django_stock"  # noqa: F405
