"""Settings shared by the two test projects (stock auth.User, and a custom uuid user model).

The database is the local pg_authz server (scripts/dev: PG_AUTHZ_BASE / PG_AUTHZ_PORT). Django
connects as a NON-superuser role, so row-level security applies; the role is a member of
authz_admin (migrations bind and protect) and authz_authenticator (the middleware acts for app
users). CREATE EXTENSION runs through PG_AUTHZ_SUPERUSER's second connection.
"""

import os

APP_ROLE = "authz_django_app"
SECRET_KEY = "pg_authz tests"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "pg_authz_django",
        "USER": APP_ROLE,
        "HOST": os.environ.get("PG_AUTHZ_BASE", "127.0.0.1"),
        "PORT": os.environ.get("PG_AUTHZ_PORT", "55432"),
        "CONN_MAX_AGE": 60,
        "TEST": {},
    }
}
PG_AUTHZ_SUPERUSER = {"USER": "postgres"}

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "pg_authz",
    "tests.shop",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "pg_authz.middleware.AuthzMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(os.path.dirname(__file__), "templates")],
    }
]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

PG_AUTHZ_ADMIN_ACTIONS = "tests.shop.actions.ADMIN_ACTIONS"
