from django.contrib import admin

from audit.models import AuditEntry
from pg_authz.admin import AuthzAdminMixin


@admin.register(AuditEntry)
class AuditEntryAdmin(AuthzAdminMixin, admin.ModelAdmin):
    """Viewable by who has audit.view_auditentry (the database says), changed by nobody."""

    actions = None
    list_display = ["id", "logged_at", "operation", "app_user", "db_role", "model", "action", "row_count"]
    list_filter = ["operation", "action", "model", "app_user"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
