from django.contrib import admin

from order.models import Order
from pg_authz.admin import AuthzAdminMixin


@admin.register(Order)
class OrderAdmin(AuthzAdminMixin, admin.ModelAdmin):
    list_display = ["number", "customer", "status", "total"]
    list_filter = ["status"]
