"""pg_authz.admin.AuthzAdminMixin through the real admin (Django's test client, committed data):
the dropdown is allowed_actions, running goes through perform_action, a hidden action is a 403
and a DENIED audit entry, has_*_permission asks the database, and group changes show at once."""

import re

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection

from pg_authz import acting_as
from tests.conftest import superuser_connection
from tests.shop.models import Order

pytestmark = pytest.mark.skipif(
    not apps.is_installed("django.contrib.admin"), reason="the admin is installed in the stock project only"
)

CHANGELIST = "/admin/shop/order/"


def _audit(action, operation, user):
    """A user's audit entries for an action, read as the server's superuser (the app role is no
    auditor; the log is append-only, so it keeps earlier tests' entries: user ids are not reused)."""
    with superuser_connection() as conn:
        return conn.execute(
            "SELECT app_user, row_ids FROM authz.audit_log WHERE action = %s AND operation = %s AND app_user = %s"
            " ORDER BY id",
            [action, operation, str(user.pk)],
        ).fetchall()


def _dropdown(client):
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    select = re.search(r'<select name="action"[^>]*>(.*?)</select>', response.content.decode(), re.S)
    if select is None:
        return []
    return [v for v in re.findall(r'<option value="([^"]*)"', select.group(1)) if v]


@pytest.fixture
def staff(world, make_user):
    """Two staff users: ``billing`` in Billing (view orders, print receipts), ``clerk`` in Clerks (view only)."""
    call_command("sync_admin_actions")
    view = Permission.objects.get(content_type__app_label="shop", codename="view_order")
    receipt = Permission.objects.get(content_type__app_label="shop", codename="print_receipt")
    billing_group = Group.objects.create(name="Billing")
    billing_group.permissions.set([view, receipt])
    clerks = Group.objects.create(name="Clerks")
    clerks.permissions.set([view])
    users = {}
    for name, group in [("billing", billing_group), ("clerk", clerks)]:
        users[name] = make_user(name, is_staff=True)
        users[name].groups.add(group)
        with acting_as(world["root"]):
            # Orders are owner-scoped (tests/shop/migrations/0002_protect): each sees its own.
            Order.objects.create(owner=users[name], title=f"{name}-1")
    users["root"] = world["root"]
    users["root"].is_staff = True
    users["root"].save()
    return users


def _client(client, user):
    client.force_login(user)
    return client


def _own(user):
    with acting_as(user):
        return [str(pk) for pk in Order.objects.values_list("pk", flat=True)]


def test_dropdown_lists_exactly_the_allowed_actions(staff, client):
    assert _dropdown(_client(client, staff["billing"])) == ["print_receipt", "refresh"]
    client.logout()
    assert _dropdown(_client(client, staff["clerk"])) == ["refresh"]
    client.logout()
    assert _dropdown(_client(client, staff["root"])) == ["print_receipt", "issue_tax_invoice", "refresh"]


def test_running_an_action_goes_through_perform_action(staff, client):
    ids = _own(staff["billing"])
    response = _client(client, staff["billing"]).post(
        CHANGELIST, {"action": "print_receipt", "index": "0", "_selected_action": ids}, follow=True
    )
    assert response.status_code == 200
    assert "Print receipt: 1 done, 0 failed" in response.content.decode()
    assert [(u, sorted(r)) for u, r in _audit("print_receipt", "ACTION", staff["billing"])] == [
        (str(staff["billing"].pk), sorted(ids))
    ]


def test_a_hidden_action_is_403_and_audited(staff, client):
    ids = _own(staff["clerk"])
    response = _client(client, staff["clerk"]).post(
        CHANGELIST, {"action": "print_receipt", "index": "0", "_selected_action": ids}
    )
    assert response.status_code == 403
    assert _audit("print_receipt", "DENIED", staff["clerk"]) == [(str(staff["clerk"].pk), ids)]
    assert _audit("print_receipt", "ACTION", staff["clerk"]) == []


def test_permissions_come_from_the_database(staff, client):
    c = _client(client, staff["clerk"])
    assert c.get(CHANGELIST).status_code == 200
    assert c.get(CHANGELIST + "add/").status_code == 403
    pk = _own(staff["clerk"])[0]
    # View only: the change page is read-only (no save button), the delete page refused.
    page = c.get(f"{CHANGELIST}{pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert c.get(f"{CHANGELIST}{pk}/delete/").status_code == 403
    client.logout()
    # A staff user with no grant: neither the app on the index nor the changelist.
    outsider = staff["clerk"].__class__.objects.create_user("outsider", password="pw", is_staff=True)
    c = _client(client, outsider)
    assert "/admin/shop/" not in c.get("/admin/").content.decode()
    assert c.get(CHANGELIST).status_code == 403


def test_group_change_shows_on_the_next_request(staff, client):
    c = _client(client, staff["clerk"])
    assert _dropdown(c) == ["refresh"]
    staff["clerk"].groups.add(Group.objects.get(name="Billing"))
    assert _dropdown(c) == ["print_receipt", "refresh"]
    staff["clerk"].groups.remove(Group.objects.get(name="Billing"))
    assert _dropdown(c) == ["refresh"]



def test_a_changelist_asks_the_database_once_for_every_answer(staff, client):
    # has_*_permission of every mixin admin (the index and the sidebar ask them all),
    # has_module_permission and this model's allowed_actions: one query per request.
    from django.test.utils import CaptureQueriesContext

    c = _client(client, staff["billing"])
    with CaptureQueriesContext(connection) as queries:
        assert _dropdown(c) == ["print_receipt", "refresh"]
    asked = [q["sql"] for q in queries if "authz.has_perm" in q["sql"] or "authz.allowed_actions" in q["sql"]
             or "authz.has_module_perms" in q["sql"]]
    assert len(asked) == 1, asked


def test_the_session_and_the_user_are_loaded_once(staff, client):
    # The admin touches request.user before any statement: loading it runs as nobody, once
    # (not again for its own first query, which would need the user it is loading).
    from django.test.utils import CaptureQueriesContext

    c = _client(client, staff["billing"])
    with CaptureQueriesContext(connection) as queries:
        assert c.get(CHANGELIST).status_code == 200
    sessions = [q for q in queries if 'FROM "django_session"' in q["sql"]]
    users = [q for q in queries if q["sql"].startswith('SELECT "auth_user"."id"')]
    assert (len(sessions), len(users)) == (1, 1), [q["sql"][:60] for q in queries]


def test_an_admin_of_a_model_the_catalog_does_not_know_has_no_actions_and_breaks_no_page(staff, client, rf):
    # A model without a content type (unmanaged, not yet synced): allowed_actions would refuse it
    # (P0002); asked first, its admin fetches the request's answers without failing them.
    from django.contrib import admin
    from tests.shop.admin import OrderAdmin

    class GhostAdmin(OrderAdmin):
        authz_model = "shop.Ghost"

    ghost = GhostAdmin(Order, admin.site)
    request = rf.get(CHANGELIST)
    request.user = staff["billing"]
    with acting_as(staff["billing"]):
        assert ghost.get_actions(request) == {}
        assert ghost.has_view_permission(request) is True
        assert ghost.has_add_permission(request) is False
    # Asked after another admin's prefetch, one by one: no actions either.
    request = rf.get(CHANGELIST)
    request.user = staff["billing"]
    with acting_as(staff["billing"]):
        assert admin.site._registry[Order].has_view_permission(request) is True
        assert ghost.authz_actions(request) == []
    assert _dropdown(_client(client, staff["billing"])) == ["print_receipt", "refresh"]
