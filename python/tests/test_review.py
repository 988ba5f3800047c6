"""Review 3 (shared/reviews/review-3-2026-12.md): the identity wrapper when Django's transaction
management is off or savepoints are used by hand, and DatabaseBackend against ModelBackend for a
user whose Python object is inactive. Each test asserts what PostgreSQL saw."""

import pytest
from django.apps import apps
from django.contrib.auth.backends import ModelBackend
from django.db import connection, transaction

from pg_authz import acting_as
from pg_authz.backends import DatabaseBackend
from tests.shop.models import Order
from tests.test_admin import CHANGELIST, _audit, _client, _own, staff  # noqa: F401 (staff: a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _db_user():
    with connection.cursor() as cursor:
        cursor.execute("SELECT authz.current_user_id()")
        return cursor.fetchone()[0]


def _titles():
    return sorted(Order.objects.values_list("title", flat=True))


def test_manual_transaction_does_not_keep_the_user(world):
    """AUTOCOMMIT False / set_autocommit(False): the server transaction outlives each statement
    and atomic block, so the user acting_as set must not stay for the statements after it."""
    transaction.set_autocommit(False)
    try:
        with acting_as(world["alice"]):
            assert _titles() == ["alice-1"]
        assert _db_user() is None
        assert _titles() == []
        with acting_as(world["bob"]):
            assert _titles() == ["bob-1"]
    finally:
        transaction.rollback()
        transaction.set_autocommit(True)


def test_savepoint_rolled_back_by_hand_does_not_bring_back_another_user(world):
    """ROLLBACK TO SAVEPOINT restores the user set when the savepoint was made (root here):
    the statements after it must still act for the user the code asks for (alice)."""
    with transaction.atomic():
        with acting_as(world["root"]):
            assert _titles() == ["alice-1", "bob-1"]
            sid = transaction.savepoint()
        with acting_as(world["alice"]):
            assert _titles() == ["alice-1"]
            transaction.savepoint_rollback(sid)
            assert _db_user() == str(world["alice"].pk)
            assert _titles() == ["alice-1"]


def test_inactive_user_object_holds_nothing(world):
    """ModelBackend answers False for an inactive user (is_active changed and not saved yet, or a
    custom user model's is_active property); DatabaseBackend must not answer from the
    database's copy of the flag instead."""
    alice = world["alice"]
    assert alice.has_perm("shop.view_order") and alice.has_module_perms("shop")
    alice.is_active = False
    for backend in (ModelBackend(), DatabaseBackend()):
        assert backend.has_perm(alice, "shop.view_order") is False, backend
        assert backend.has_module_perms(alice, "shop") is False, backend
    assert not alice.has_perm("shop.view_order")



admin_only = pytest.mark.skipif(
    not apps.is_installed("django.contrib.admin"), reason="the admin is installed in the stock project only"
)


@admin_only
def test_a_hidden_action_with_an_index_django_reads_as_0_is_refused_and_audited(staff, client):
    """Django's response_action reads index=x as 0; the mixin must read it the same way, so the
    probe reaches perform_action (403, a DENIED entry) instead of passing unrecorded."""
    ids = _own(staff["clerk"])
    response = _client(client, staff["clerk"]).post(
        CHANGELIST, {"action": "print_receipt", "index": "x", "_selected_action": ids}
    )
    assert response.status_code == 403
    assert _audit("print_receipt", "DENIED", staff["clerk"]) == [(str(staff["clerk"].pk), ids)]


def test_a_computed_is_active_is_warned_about():
    """A custom user model whose is_active is a property: the database cannot see it (W006)."""
    from django.contrib.auth import get_user_model

    from pg_authz.checks import user_model_flag_warnings

    class Meta:
        concrete_fields = []
        label = "accounts.Banned"

    class Banned:
        _meta = Meta
        banned_at = None

        @property
        def is_active(self):
            return self.banned_at is None

    assert [w.id for w in user_model_flag_warnings(Banned)] == ["pg_authz.W006"]
    assert user_model_flag_warnings(get_user_model()) == []
