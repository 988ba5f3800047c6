from django.contrib import admin

from notification.models import Notification
from pg_authz.admin import AuthzAdminMixin


@admin.register(Notification)
class NotificationAdmin(AuthzAdminMixin, admin.ModelAdmin):
    list_display = ["recipient", "message"]
