"""The example's URLs with every admin re-registered as Django alone would have it: no
``AuthzAdminMixin``, the same list_display, filters and forms, and the declared actions
(``PG_AUTHZ_ADMIN_ACTIONS``) as Django admin actions guarded by Django's own ``has_perm``
(``@admin.action(permissions=...)``), so the changelist shows the same dropdown (settings_baseline)."""

from django.contrib import admin
from django.utils.module_loading import import_string

from django.conf import settings
from pg_authz.admin import AuthzAdminMixin

DECLARED = import_string(settings.PG_AUTHZ_ADMIN_ACTIONS)


def _action(declared):
    def run(modeladmin, request, queryset):
        modeladmin.message_user(request, f"{declared['name']}: {queryset.count()} selected")

    run.__name__ = declared["codename"] or declared["name"].lower().replace(" ", "_")
    permissions = [declared["codename"]] if declared["codename"] else None
    return admin.action(description=declared["name"], permissions=permissions)(run)


def _has_permission(app_label, codename):
    def check(self, request):
        return request.user.has_perm(f"{app_label}.{codename}")

    return check


def _stock(model, model_admin_class):
    bases = tuple(b for b in model_admin_class.__bases__ if b is not AuthzAdminMixin) or (admin.ModelAdmin,)
    # "media" is the property Django's metaclass made for that class; the new class gets its own.
    attrs = {k: v for k, v in vars(model_admin_class).items() if k not in ("__dict__", "__weakref__", "media")}
    label = f"{model._meta.app_label}.{model._meta.object_name}"
    declared = [d for d in DECLARED if d["model"] == label]
    if declared and attrs.get("actions", ()) is not None:
        attrs["actions"] = [_action(d) for d in declared]
        for d in declared:
            if d["codename"]:
                attrs[f"has_{d['codename']}_permission"] = _has_permission(model._meta.app_label, d["codename"])
    return type(model_admin_class.__name__, bases, attrs)


# Before the URLs are built: admin.site.urls reads the registry when shopsite.urls is imported.
for model, model_admin in list(admin.site._registry.items()):
    admin.site.unregister(model)
    admin.site.register(model, _stock(model, type(model_admin)))

from shopsite.urls import urlpatterns  # noqa: E402,F401
