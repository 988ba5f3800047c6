"""Review 3 (shared/reviews/review-3-2026-12.md): the identity wrapper when Django's transaction
management is off or savepoints are used by hand, and DatabaseBackend against ModelBackend for a
user whose Python object is inactive. Each test asserts what PostgreSQL saw."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.db import connection, transaction

from pg_authz import acting_as
from pg_authz.backends import DatabaseBackend
from tests.shop.models import Order

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
