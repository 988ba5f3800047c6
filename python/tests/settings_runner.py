"""The stock project under a test database of its own, for test_runners.py's subprocesses (a copy
of DATABASES: importing this module leaves the stock settings alone)."""

import copy

from tests.settings import *  # noqa: F401,F403

DATABASES = copy.deepcopy(DATABASES)  # noqa: F405
DATABASES["default"]["TEST"]["NAME"] = "test_pg_authz_django_runner"
