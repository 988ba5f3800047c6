from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from pg_authz.admin import AuthzAdminMixin
from user.models import User


@admin.register(User)
class ShopUserAdmin(AuthzAdminMixin, UserAdmin):
    list_display = ["username", "email", "is_staff"]
