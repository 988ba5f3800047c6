"""The same project with Django's own checks only: the baseline of the benchmark's admin changelist
metric (bench/changelist.py). pg_authz's pieces are off: no app (so no identity on the connection),
no middleware, Django's ``ModelBackend``, and every admin a stock ``ModelAdmin`` (``urls_baseline``).
The benchmark also turns row-level security off on the table it lists while this variant runs."""

from shopsite.settings import *  # noqa: F401,F403
from shopsite.settings import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "pg_authz"]
MIDDLEWARE = [m for m in MIDDLEWARE if m != "pg_authz.middleware.AuthzMiddleware"]
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
ROOT_URLCONF = "shopsite.urls_baseline"
