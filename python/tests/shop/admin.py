from django.contrib import admin

from pg_authz.admin import AuthzAdminMixin
from pg_authz.hidden import HiddenColumnsAdminMixin
from tests.shop.models import Customer, Order


@admin.register(Order)
class OrderAdmin(AuthzAdminMixin, admin.ModelAdmin):
    list_display = ["title", "owner"]


@admin.register(Customer)
class CustomerAdmin(HiddenColumnsAdminMixin, AuthzAdminMixin, admin.ModelAdmin):
    list_display = ["name", "api_key"]
