"""The test runners a project uses, run twice each as subprocesses on tests/runner_cases.py
(stock project, its own test database): Django's (``manage.py test --parallel 2 --keepdb``:
the kept database and its two clones) and pytest-django's ``--reuse-db``. Both runs pass, and
every database the tests ran on has the extension, bound to auth_user."""

import os
import subprocess
import sys

import psycopg
import pytest
from django.conf import settings

from tests.settings_runner import DATABASES

# The subprocesses run the stock project whatever this run's settings: once is enough.
pytestmark = pytest.mark.skipif(settings.AUTH_USER_MODEL != "auth.User", reason="runs the stock project")

TEST_DB = DATABASES["default"]["TEST"]["NAME"]
CLONES = [f"{TEST_DB}_1", f"{TEST_DB}_2"]
PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def superuser(dbname):
    db = DATABASES["default"]
    return psycopg.connect(host=db["HOST"], port=db["PORT"], user="postgres", dbname=dbname, autocommit=True)


@pytest.fixture
def no_runner_databases():
    def drop():
        with superuser("postgres") as conn:
            for name in [TEST_DB] + CLONES:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    drop()
    yield
    drop()


def run(*args):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings_runner")
    done = subprocess.run([sys.executable, *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def bound_user_table(dbname):
    with superuser(dbname) as conn:
        return conn.execute(
            "SELECT (SELECT relname FROM pg_class WHERE oid = user_table) FROM authz.django_binding"
        ).fetchall()


def database_oids():
    with superuser("postgres") as conn:
        rows = conn.execute("SELECT datname, oid FROM pg_database WHERE datname = ANY(%s)", [[TEST_DB] + CLONES])
        return dict(rows.fetchall())


def test_django_runner_parallel_keepdb_twice(no_runner_databases):
    django_test = ["-m", "django", "test", "tests.runner_cases", "--parallel", "2", "--keepdb"]
    assert "Ran 2 tests" in run(*django_test)
    made = database_oids()
    assert sorted(made) == sorted([TEST_DB] + CLONES)
    for name in made:
        assert bound_user_table(name) == [("auth_user",)], name
    # The second run keeps the database and its clones (same oids), and passes on them.
    assert "Ran 2 tests" in run(*django_test)
    assert database_oids() == made


def test_pytest_reuse_db_twice(no_runner_databases):
    pytest_run = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--reuse-db", "tests/runner_cases.py"]
    assert "2 passed" in run(*pytest_run)
    made = database_oids()
    assert list(made) == [TEST_DB]
    assert bound_user_table(TEST_DB) == [("auth_user",)]
    assert "2 passed" in run(*pytest_run)
    assert database_oids() == made
