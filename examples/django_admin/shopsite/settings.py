"""The ten-admins example: pg_authz set up as its README tells (INSTALLED_APPS, the middleware, the
database backend, PG_AUTHZ_ADMIN_ACTIONS), Django connecting as a non-superuser role.

The database is the local pg_authz server (scripts/dev: PG_AUTHZ_BASE / PG_AUTHZ_PORT); the role
``authz_example_app`` is a member of authz_admin, authz_authenticator and authz_auditor (the audit log page) (``scripts/dev example``
makes it); CREATE EXTENSION runs once through PG_AUTHZ_SUPERUSER's second connection.
"""

import os

SECRET_KEY = os.environ.get("EXAMPLE_SECRET_KEY", "pg_authz example (not for production)")
DEBUG = os.environ.get("EXAMPLE_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "shopsite.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "user.User"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("EXAMPLE_DB", "pg_authz_example"),
        "USER": "authz_example_app",
        "HOST": os.environ.get("PG_AUTHZ_BASE", "127.0.0.1"),
        "PORT": os.environ.get("PG_AUTHZ_PORT", "55432"),
        # 0: closed at the end of each request. runserver serves each browser connection in a thread
        # of its own, so a persistent connection is never reused: it stays open until Python's
        # garbage collector frees its thread's DatabaseWrapper (a reference cycle), and a browser
        # session of a few dozen pages ran the server out of connection slots (a 500 at login).
        # The benchmark (bench/changelist.py, one thread) sets EXAMPLE_CONN_MAX_AGE=60.
        "CONN_MAX_AGE": int(os.environ.get("EXAMPLE_CONN_MAX_AGE", "0")),
    }
}
PG_AUTHZ_SUPERUSER = {"USER": "postgres"}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "pg_authz",
    "user",
    "order",
    "subscription",
    "notification",
    "audit",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "pg_authz.middleware.AuthzMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
AUTHENTICATION_BACKENDS = ["pg_authz.backends.DatabaseBackend"]
PG_AUTHZ_ADMIN_ACTIONS = "shopsite.actions.ADMIN_ACTIONS"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(os.path.dirname(__file__), "templates")],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "static/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]

# Errors (with tracebacks) to the console, DEBUG or not: runserver's log shows them.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False}},
}
