"""The stock project: django.contrib.auth's User, with the admin (pg_authz.admin's tests)."""

from tests.settings_base import *  # noqa: F401,F403

DATABASES["default"]["TEST"]["NAME"] = "test_pg_authz_django_stock"  # noqa: F405
INSTALLED_APPS = ["django.contrib.admin", "django.contrib.messages"] + INSTALLED_APPS  # noqa: F405
MIDDLEWARE = MIDDLEWARE + ["django.contrib.messages.middleware.MessageMiddleware"]  # noqa: F405
TEMPLATES[0]["APP_DIRS"] = True  # noqa: F405
TEMPLATES[0]["OPTIONS"] = {  # noqa: F405
    "context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]
}
