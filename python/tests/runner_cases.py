"""The tiny test module that test_runners.py runs with Django's runner (--parallel 2 --keepdb)
and with pytest-django (--reuse-db). Two TestCase classes, so that each parallel worker gets
one, on its own clone of the test database."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import TestCase

from pg_authz import acting_as
from tests.shop.models import Order


class BindingTests(TestCase):
    def test_bound_to_auth_user(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT (SELECT relname FROM pg_class WHERE oid = user_table) FROM authz.django_binding")
            self.assertEqual(cursor.fetchall(), [(get_user_model()._meta.db_table,)])


class RowSecurityTests(TestCase):
    def test_rows_of_the_user_acted_for(self):
        users = get_user_model()._default_manager
        root = users.create_user("root", is_superuser=True)
        alice = users.create_user("alice")
        alice.user_permissions.add(Permission.objects.get(content_type__app_label="shop", codename="view_order"))
        with acting_as(root):
            Order.objects.create(owner=alice, title="alice-1")
        with acting_as(alice):
            self.assertEqual(list(Order.objects.values_list("title", flat=True)), ["alice-1"])
        with acting_as(None):
            self.assertEqual(Order.objects.count(), 0)
