from django.contrib import admin

from pg_authz.admin import AuthzAdminMixin
from subscription.models import Subscription


@admin.register(Subscription)
class SubscriptionAdmin(AuthzAdminMixin, admin.ModelAdmin):
    list_display = ["customer", "account_manager", "plan", "active"]
