"""The stock project under a test database of its own, for test_runners.py's subprocesses."""

from tests.settings import *  # noqa: F401,F403

DATABASES["default"]["TEST"]["NAME"] = "test_pg_authz_django_runner"  # noqa: F405
