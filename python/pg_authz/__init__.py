"""django-pg-authz: the Django side of the pg_authz PostgreSQL extension.

Add ``"pg_authz"`` to ``INSTALLED_APPS`` and ``"pg_authz.middleware.AuthzMiddleware"`` after
``AuthenticationMiddleware``; ``migrate`` installs the extension and binds it to Django's auth
tables. See README.md.
"""

from pg_authz.identity import acting_as, current_user_id

__all__ = ["acting_as", "current_user_id"]
__version__ = "0.2.0"
