from django.contrib import admin

from pg_authz.admin import AuthzAdminMixin
from tests.shop.models import Order


@admin.register(Order)
class OrderAdmin(AuthzAdminMixin, admin.ModelAdmin):
    list_display = ["title", "owner"]
