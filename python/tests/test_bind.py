"""The bound database against Django's own answers, and the package's other parts."""

import random

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection, transaction

from pg_authz import errors
from pg_authz.backends import DatabaseBackend


def db_rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def perm_names():
    return [f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")]


def assert_agree():
    """has_perm, get_all_permissions and with_perm of ModelBackend == the database's."""
    model_backend = ModelBackend()
    users = list(get_user_model()._default_manager.all())
    perms = perm_names()
    checked = 0
    for user in users:
        user = get_user_model()._default_manager.get(pk=user.pk)  # no cached permissions
        expected = model_backend.get_all_permissions(user)
        assert set(db_rows("SELECT authz.get_all_permissions(%s)", [str(user.pk)])) == expected, user
        for perm in perms:
            assert db_rows("SELECT authz.has_perm(%s, %s)", [str(user.pk), perm])[0] == model_backend.has_perm(user, perm), (user, perm)
            checked += 1
    for perm in perms:
        for is_active in (True, False, None):
            for superusers in (True, False):
                expected = {str(u.pk) for u in model_backend.with_perm(perm, is_active=is_active, include_superusers=superusers)}
                got = set(db_rows("SELECT authz.users_with_perm(%s, %s, %s)", [perm, superusers, is_active]))
                assert got == expected, (perm, is_active, superusers)
    return checked


@pytest.mark.django_db
def test_differential_random_world(make_user):
    rng = random.Random(11)
    User = get_user_model()
    has_superuser = any(f.name == "is_superuser" for f in User._meta.get_fields())
    groups = [Group.objects.create(name=f"g{i}") for i in range(5)]
    perms = list(Permission.objects.all())
    users = [make_user(f"u{i}", is_active=rng.random() > 0.2,
                       **({"is_superuser": rng.random() < 0.15} if has_superuser else {})) for i in range(25)]
    for group in groups:
        group.permissions.set(rng.sample(perms, rng.randint(0, len(perms))))
    for user in users:
        user.groups.set(rng.sample(groups, rng.randint(0, 3)))
        user.user_permissions.set(rng.sample(perms, rng.randint(0, 4)))
    assert assert_agree() > 100

    # Changed through the ORM: bulk update(), bulk_create of links, removals, deletes.
    User._default_manager.filter(pk__in=[u.pk for u in users[::3]]).update(is_active=False)
    User._default_manager.filter(pk__in=[u.pk for u in users[1::4]]).update(is_active=True)
    User.groups.through.objects.bulk_create(
        [User.groups.through(**{User.groups.field.m2m_field_name(): u, "group": groups[0]}) for u in users
         if not u.groups.filter(pk=groups[0].pk).exists()]
    )
    groups[1].permissions.clear()
    groups[2].delete()
    Permission.objects.filter(pk=perms[0].pk).delete()
    users[5].user_permissions.add(perms[1])
    users[7].delete()
    Group.objects.filter(pk=groups[3].pk).update(name="renamed")
    assert assert_agree() > 100


@pytest.mark.django_db
def test_bound_to_this_projects_user_model():
    assert db_rows("SELECT (SELECT relname FROM pg_class WHERE oid = user_table) FROM authz.django_binding") == [
        get_user_model()._meta.db_table
    ]


@pytest.mark.django_db(transaction=True)
def test_changes_are_seen_by_other_sessions(make_user):
    """Committed in one session, seen on the next statement of another (the cache is invalidated)."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    user = make_user("carol")
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=connection.settings_dict["NAME"],
                         autocommit=True) as other:
        check = lambda: other.execute("SELECT authz.has_perm(%s, 'shop.view_order')", [str(user.pk)]).fetchone()[0]
        assert check() is False
        user.user_permissions.add(Permission.objects.get(codename="view_order"))
        assert check() is True
        get_user_model()._default_manager.filter(pk=user.pk).update(is_active=False)
        assert check() is False


@pytest.mark.django_db
def test_database_backend_agrees(make_user):
    backend = DatabaseBackend()
    user = make_user("dora")
    view = Permission.objects.get(codename="view_order")
    group = Group.objects.create(name="G")
    group.permissions.add(Permission.objects.get(codename="change_order"))
    user.groups.add(group)
    user.user_permissions.add(view)
    user = get_user_model()._default_manager.get(pk=user.pk)
    assert backend.has_perm(user, "shop.view_order") and not backend.has_perm(user, "shop.delete_order")
    assert backend.get_all_permissions(user) == ModelBackend().get_all_permissions(user)
    assert backend.get_user_permissions(user) == {"shop.view_order"}
    assert backend.get_group_permissions(user) == {"shop.change_order"}
    assert backend.has_module_perms(user, "shop") and not backend.has_module_perms(user, "auth")
    assert list(backend.with_perm("shop.view_order")) == [user]
    with pytest.raises(ValueError):
        backend.with_perm("shop.view.order")


@pytest.mark.django_db
def test_sync_admin_actions_creates_django_permissions(capsys):
    call_command("sync_admin_actions", "--dry-run")
    out = capsys.readouterr().out
    assert "would have created permission shop.issue_tax_invoice (shop.order)" in out
    assert not Permission.objects.filter(codename="issue_tax_invoice").exists()

    call_command("sync_admin_actions")
    out = capsys.readouterr().out
    assert "created action shop.order:issue_tax_invoice" in out
    # A Django Permission row (so it is in the Group editor), mirrored with Django's id.
    perm = Permission.objects.get(codename="issue_tax_invoice", content_type__app_label="shop")
    assert db_rows("SELECT id FROM authz.permissions WHERE codename = 'issue_tax_invoice'") == [perm.pk]
    assert db_rows("SELECT key FROM authz.actions ORDER BY position") == ["print_receipt", "issue_tax_invoice", "refresh"]

    call_command("sync_admin_actions")
    assert "Synced: 0 permissions created, 0 created, 0 updated, 3 unchanged" in capsys.readouterr().out


@pytest.mark.django_db
def test_sync_admin_actions_prune(settings, capsys):
    call_command("sync_admin_actions")
    settings.PG_AUTHZ_ADMIN_ACTIONS = [
        {"model": "shop.Order", "codename": "print_receipt", "name": "Print receipt", "kind": "server", "scope": "bulk"}
    ]
    call_command("sync_admin_actions", "--prune")
    out = capsys.readouterr().out
    assert "pruned action shop.order:issue_tax_invoice" in out
    # Not granted: the permission went from Django's table too.
    assert not Permission.objects.filter(codename="issue_tax_invoice").exists()


@pytest.mark.django_db
def test_sync_admin_actions_bad_declaration(settings):
    from django.core.management.base import CommandError

    settings.PG_AUTHZ_ADMIN_ACTIONS = [{"model": "shop.Order", "name": "x", "kind": "nope", "scope": "bulk", "codename": "x"}]
    with pytest.raises(CommandError, match="kind"):
        call_command("sync_admin_actions")


@pytest.mark.django_db
def test_errors_translate():
    call_command("sync_admin_actions", verbosity=0)
    with pytest.raises(PermissionDenied, match="permission denied"):
        with errors.translated(), transaction.atomic():
            db_rows("SELECT authz.perform_action('shop.Order', 'print_receipt', ARRAY['1'])")
    with pytest.raises(ValueError, match="invalid permission"):
        with errors.translated(), transaction.atomic():
            db_rows("SELECT authz.users_with_perm('a.b.c')")


@pytest.mark.django_db
def test_form_error():
    from django import forms

    form = forms.Form(data={})
    assert form.is_valid()
    with form_errors_block(form):
        db_rows("SELECT authz.users_with_perm('nodot')")
    assert "invalid permission" in str(form.non_field_errors())


def form_errors_block(form):
    from contextlib import contextmanager

    @contextmanager
    def block():
        with errors.form_errors(form):
            with transaction.atomic():
                yield

    return block()


@pytest.mark.django_db
def test_system_checks(settings):
    from django.core import checks

    assert [e.id for e in checks.run_checks(databases=["default"]) if e.id.startswith("pg_authz")] == []
    settings.MIDDLEWARE = ["pg_authz.middleware.AuthzMiddleware", "django.contrib.auth.middleware.AuthenticationMiddleware"]
    assert "pg_authz.E002" in [e.id for e in checks.run_checks()]
    settings.MIDDLEWARE = []
    assert "pg_authz.W001" in [e.id for e in checks.run_checks()]
    db_rows("SELECT authz.unbind_django()")
    assert "pg_authz.W004" in [e.id for e in checks.run_checks(databases=["default"])]


@pytest.mark.django_db(transaction=True)
def test_migrations_are_reversible():
    """migrate to zero unbinds and removes the extension; migrating forward restores both."""
    call_command("migrate", "shop", "zero", verbosity=0)
    call_command("migrate", "pg_authz", "zero", verbosity=0)
    assert db_rows("SELECT count(*) FROM pg_extension WHERE extname = 'pg_authz'") == [0]
    assert db_rows("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'authz_django%%'") == [0]
    call_command("migrate", verbosity=0)
    assert db_rows("SELECT count(*) FROM authz.django_binding") == [1]
    assert db_rows("SELECT count(*) FROM authz.policies WHERE relation = 'shop_order'::regclass") != [0]
    assert db_rows("SELECT count(*) FROM authz.audited_relations WHERE relation = 'shop_order'::regclass") == [1]
