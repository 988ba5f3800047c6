"""``AuthzAdminMixin``: a ``ModelAdmin`` whose actions and permissions come from the database.

- The changelist's action dropdown lists exactly the actions ``authz.allowed_actions`` allows the
  admin on that model (declared in ``settings.PG_AUTHZ_ADMIN_ACTIONS``, synced by
  ``manage.py sync_admin_actions``); Django's own ``delete_selected`` is not offered.
- Running one calls ``authz.perform_action``, so the database checks and audits it. A POST of a
  declared action the dropdown did not offer goes to ``perform_action`` too: the database refuses it
  (42501, a DENIED audit entry) and the admin answers 403.
- ``has_view/add/change/delete_permission`` and ``has_module_permission`` ask ``authz.has_perm`` and
  ``authz.has_module_perms``: the first question of a request asks, in one query, for every model
  registered with this mixin, and for this model's allowed actions.

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
from pg_authz.identity import user_id_of


def _fetch(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _user_id(request):
    return user_id_of(getattr(request, "user", None))


def _request_memo(request, user_id):
    """This request's answers for ``user_id`` (a login or logout within the request starts afresh)."""
    memo = getattr(request, "_pg_authz_admin", None)
    if memo is None or memo[0] != user_id:
        memo = request._pg_authz_admin = (user_id, {})
    return memo[1]


_DEFAULT_PERMISSIONS = ("view", "add", "change", "delete")

# A model's allowed actions, none for a model the catalog does not know (one without a content
# type, say an unmanaged or not yet synced one, whose admin Django still registers): allowed_actions
# would refuse it (P0002) and, asked in the prefetch, fail every answer of the request.
_ACTIONS = """
CASE WHEN EXISTS (SELECT FROM authz.content_types
                   WHERE app_label = pg_catalog.split_part(%(model)s, '.', 1)
                     AND model = pg_catalog.lower(pg_catalog.split_part(%(model)s, '.', 2)))
     THEN authz.allowed_actions(%(user)s, %(model)s) ELSE '[]' END
"""

# Every answer the admin's pages ask for, in one round trip: has_perm for each permission,
# has_module_perms for each app label, allowed_actions for one model.
_PREFETCH = f"""
SELECT jsonb_build_object(
    'perm', (SELECT coalesce(jsonb_object_agg(p, authz.has_perm(%(user)s, p)), '{{}}') FROM unnest(%(perms)s::text[]) p),
    'module', (SELECT coalesce(jsonb_object_agg(a, authz.has_module_perms(%(user)s, a)), '{{}}')
                 FROM unnest(%(apps)s::text[]) a),
    'actions', jsonb_build_object(%(model)s::text, {_ACTIONS}))
"""


class AuthzAdminMixin:
    """Put it before ``admin.ModelAdmin``: ``class OrderAdmin(AuthzAdminMixin, admin.ModelAdmin)``."""

    @property
    def authz_model(self):
        """The model as pg_authz names it: ``app_label.ModelName``."""
        return f"{self.opts.app_label}.{self.opts.object_name}"

    # -- permissions -------------------------------------------------------------------------

    def _answer(self, request, kind, name, sql, params):
        """The database's answer ``kind``/``name`` for the request's user: the first question of a
        request fetches every answer the admin site's pages ask for (``_prefetch``); others (a
        permission no registered admin has) are asked one by one. Remembered for this request."""
        user_id = _user_id(request)
        if user_id is None:
            return None
        memo = _request_memo(request, user_id)
        if not memo:
            self._prefetch(user_id, memo)
        key = (kind, name)
        if key not in memo:
            memo[key] = _fetch(sql, {"user": user_id, **params} if isinstance(params, dict) else [user_id, *params])
        return memo[key]

    def _prefetch(self, user_id, memo):
        """The four default permissions of every model and the module permission of every app
        registered on this admin site with this mixin, and this model's allowed actions: one query."""
        perms, apps = [], []
        for model, model_admin in self.admin_site._registry.items():
            if isinstance(model_admin, AuthzAdminMixin):
                opts = model._meta
                apps.append(opts.app_label)
                perms.extend(f"{opts.app_label}.{get_permission_codename(a, opts)}" for a in _DEFAULT_PERMISSIONS)
        answers = _json(
            _fetch(_PREFETCH, {"user": user_id, "perms": perms, "apps": sorted(set(apps)), "model": self.authz_model})
        )
        for kind, values in answers.items():
            for name, value in values.items():
                memo[(kind, name)] = _json(value) if kind == "actions" else value

    def authz_has_perm(self, request, perm):
        """``authz.has_perm`` for the request's user."""
        return bool(self._answer(request, "perm", perm, "SELECT authz.has_perm(%s, %s)", [perm]))

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
        return bool(
            self._answer(request, "module", self.opts.app_label, "SELECT authz.has_module_perms(%s, %s)",
                         [self.opts.app_label])
        )

    # -- actions -----------------------------------------------------------------------------

    def authz_actions(self, request):
        """``authz.allowed_actions`` for the request's user on this model: every declared action,
        each with ``allowed``."""
        actions = self._answer(request, "actions", self.authz_model, f"SELECT {_ACTIONS}", {"model": self.authz_model})
        return [] if actions is None else _json(actions)

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
