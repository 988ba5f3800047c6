"""``AuthzAdminMixin``: a ``ModelAdmin`` whose actions and permissions come from the database.

- The changelist's action dropdown lists exactly the actions ``authz.allowed_actions`` allows the
  admin on that model (declared in ``settings.PG_AUTHZ_ADMIN_ACTIONS``, synced by
  ``manage.py sync_admin_actions``); Django's own ``delete_selected`` is not offered.
- Running one calls ``authz.perform_action``, so the database checks and audits it. A POST of a
  declared action the dropdown did not offer goes to ``perform_action`` too: the database refuses it
  (42501, a DENIED audit entry) and the admin answers 403.
- ``has_view/add/change/delete_permission`` and ``has_module_permission`` ask ``authz.has_perm``.

Answers are remembered for one request only, so a change of groups shows on the next request.
What an action does is its ``handler`` (a SQL function, see the README); to show its result, define
``authz_response_<key>(self, request, result)`` on the admin, returning a response or None.
"""

import json

from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.auth import get_permission_codename
from django.db import DatabaseError, connection
from django.http import HttpResponseRedirect

from pg_authz.errors import translate


def _fetch(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _user_id(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.pk is None:
        return None
    return str(user.pk)


def _request_memo(request, user_id):
    """This request's answers for this user (a request may change its user: a login, DRF's
    authentication inside the view)."""
    memos = getattr(request, "_pg_authz_admin", None)
    if memos is None:
        memos = request._pg_authz_admin = {}
    return memos.setdefault(user_id, {})


class AuthzAdminMixin:
    """Put it before ``admin.ModelAdmin``: ``class OrderAdmin(AuthzAdminMixin, admin.ModelAdmin)``."""

    @property
    def authz_model(self):
        """The model as pg_authz names it: ``app_label.ModelName``."""
        return f"{self.opts.app_label}.{self.opts.object_name}"

    # -- permissions -------------------------------------------------------------------------

    def authz_has_perm(self, request, perm):
        """``authz.has_perm`` for the request's user (once per request and permission)."""
        user_id = _user_id(request)
        if user_id is None:
            return False
        memo = _request_memo(request, user_id)
        key = ("perm", perm)
        if key not in memo:
            memo[key] = _fetch("SELECT authz.has_perm(%s, %s)", [user_id, perm])
        return memo[key]

    def _model_perm(self, request, action):
        return self.authz_has_perm(request, f"{self.opts.app_label}.{get_permission_codename(action, self.opts)}")

    def has_view_permission(self, request, obj=None):
        return self._model_perm(request, "view") or self._model_perm(request, "change")

    def has_add_permission(self, request):
        return self._model_perm(request, "add")

    def has_change_permission(self, request, obj=None):
        return self._model_perm(request, "change")

    def has_delete_permission(self, request, obj=None):
        return self._model_perm(request, "delete")

    def has_module_permission(self, request):
        user_id = _user_id(request)
        if user_id is None:
            return False
        memo = _request_memo(request, user_id)
        key = ("module", self.opts.app_label)
        if key not in memo:
            memo[key] = _fetch("SELECT authz.has_module_perms(%s, %s)", [user_id, self.opts.app_label])
        return memo[key]

    # -- actions -----------------------------------------------------------------------------

    def authz_actions(self, request):
        """``authz.allowed_actions`` for the request's user on this model: every declared action,
        each with ``allowed`` (once per request)."""
        user_id = _user_id(request)
        if user_id is None:
            return []
        memo = _request_memo(request, user_id)
        key = ("actions", self.authz_model)
        if key not in memo:
            memo[key] = _json(_fetch("SELECT authz.allowed_actions(%s, %s)", [user_id, self.authz_model]))
        return memo[key]

    def get_actions(self, request):
        if self.actions is None or "_popup" in request.GET:
            return {}
        actions = {}
        for declared in self.authz_actions(request):
            if declared["allowed"]:
                name = declared["key"]
                actions[name] = (self._action_function(name), name, declared["label"])
        return actions

    def _action_function(self, key):
        def run(modeladmin, request, queryset):
            return modeladmin.authz_perform(request, key, [str(pk) for pk in queryset.values_list("pk", flat=True)])

        run.__name__ = key
        return run

    def authz_perform(self, request, key, ids, params=None):
        """``authz.perform_action`` on ``ids``; 42501 becomes ``PermissionDenied`` (a 403)."""
        try:
            outcome = _json(
                _fetch(
                    "SELECT authz.perform_action(%s, %s, %s::text[], %s::jsonb)",
                    [self.authz_model, key, ids, json.dumps(params or {})],
                )
            )
        except DatabaseError as exc:
            better = translate(exc)
            if better is None:
                raise
            raise better from exc
        hook = getattr(self, f"authz_response_{key}", None)
        if hook is not None:
            response = hook(request, outcome)
            if response is not None:
                return response
        failed = outcome.get("failed") or []
        label = next((a["label"] for a in self.authz_actions(request) if a["key"] == key), key)
        level = messages.WARNING if failed else messages.SUCCESS
        self.message_user(request, f"{label}: {len(ids) - len(failed)} done, {len(failed)} failed", level)
        return None

    def changelist_view(self, request, extra_context=None):
        key = self._posted_action(request)
        if key is not None and key not in self.get_actions(request):
            # Declared but not offered to this admin: the database decides (and audits the denial).
            ids = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
            if request.POST.get("select_across") == "1":
                ids = [str(pk) for pk in self.get_queryset(request).values_list("pk", flat=True)]
            # The database refuses (PermissionDenied, a 403) unless a grant came since the page.
            return self.authz_perform(request, key, ids) or HttpResponseRedirect(request.get_full_path())
        return super().changelist_view(request, extra_context)

    def _posted_action(self, request):
        """The declared action a changelist POST asks for (Django's reading of the form), else None."""
        if request.method != "POST" or "_save" in request.POST:
            return None
        names = request.POST.getlist("action")
        # As Django's response_action reads it: an index that is not a number means 0.
        try:
            index = int(request.POST.get("index", 0))
        except ValueError:
            index = 0
        try:
            name = names[index]
        except IndexError:
            return None
        declared = {a["key"] for a in self.authz_actions(request)}
        return name if name in declared else None
