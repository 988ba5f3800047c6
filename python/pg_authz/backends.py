"""``DatabaseBackend``: ``user.has_perm()`` and friends ask the database (pg_authz), so the
rules have one implementation. Authentication is ``ModelBackend``'s."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connection


def _user_id(user_obj):
    if user_obj is None or user_obj.is_anonymous or user_obj.pk is None:
        return None
    return str(user_obj.pk)


def _rows(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


class DatabaseBackend(ModelBackend):
    def _permissions(self, user_obj, function):
        user_id = _user_id(user_obj)
        if user_id is None or not user_obj.is_active:
            return set()
        return set(_rows(f"SELECT p FROM authz.{function}(%s) p", [user_id]))

    def get_user_permissions(self, user_obj, obj=None):
        return set() if obj is not None else self._permissions(user_obj, "get_user_permissions")

    def get_group_permissions(self, user_obj, obj=None):
        return set() if obj is not None else self._permissions(user_obj, "get_group_permissions")

    def get_all_permissions(self, user_obj, obj=None):
        return set() if obj is not None else self._permissions(user_obj, "get_all_permissions")

    def has_perm(self, user_obj, perm, obj=None):
        # As ModelBackend: an inactive user holds nothing, whatever the database's copy says
        # (is_active may be a property, or changed and not saved yet).
        user_id = _user_id(user_obj)
        if user_id is None or not user_obj.is_active:
            return False
        if obj is None:
            return _rows("SELECT authz.has_perm(%s, %s)", [user_id, perm])[0]
        # Object level, with django-guardian's semantics (grants in its tables when bound).
        return _rows("SELECT authz.has_perm(%s, %s, %s)", [user_id, perm, str(obj.pk)])[0]

    def has_module_perms(self, user_obj, app_label):
        user_id = _user_id(user_obj)
        if user_id is None or not user_obj.is_active:
            return False
        return _rows("SELECT authz.has_module_perms(%s, %s)", [user_id, app_label])[0]

    def with_perm(self, perm, is_active=True, include_superusers=True, obj=None):
        UserModel = get_user_model()
        if isinstance(perm, str):
            if perm.count(".") != 1:
                raise ValueError("Permission name should be in the form app_label.permission_codename.")
        elif hasattr(perm, "content_type"):
            perm = f"{perm.content_type.app_label}.{perm.codename}"
        else:
            raise TypeError("The `perm` argument must be a string or a permission instance.")
        if obj is not None:
            return UserModel._default_manager.none()
        ids = _rows("SELECT u FROM authz.users_with_perm(%s, %s, %s) u", [perm, include_superusers, is_active])
        return UserModel._default_manager.filter(pk__in=ids)
