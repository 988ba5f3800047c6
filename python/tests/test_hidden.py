"""pg_authz.hidden: a model with hidden columns (tests.shop.Customer, migration 0003: Protect with
"hidden") reads through shop_customer_visible and writes to the table. Holders of
shop.view_customer_secrets (and superusers) see the API key and the notes; other app users see
NULL and '(hidden)', in querysets and in the admin, and can still save the plain columns, which
leaves the stored hidden values as they were."""

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import DatabaseError

from pg_authz import acting_as
from pg_authz.hidden import masked_columns, view_name
from tests.conftest import superuser_connection
from tests.shop.models import Customer

STORED = {"name": "Acme", "api_key": "key-acme", "internal_notes": "pays late"}


def _stored(pk=None, name=None):
    """The row as stored in the table (by id or name), read as the server's superuser."""
    with superuser_connection() as conn:
        row = conn.execute(
            "SELECT name, api_key, internal_notes FROM shop_customer WHERE id = %s OR name = %s", [pk, name]
        ).fetchone()
    return None if row is None else dict(zip(["name", "api_key", "internal_notes"], row))


@pytest.fixture
def customers(transactional_db, make_user):
    """``sue`` in Support (view, add and change customers, and see their secrets), ``sam`` in Sales
    (view, add and change customers), ``root`` a superuser; one customer, committed."""
    perms = {p.codename: p for p in Permission.objects.filter(content_type__app_label="shop")}
    support = Group.objects.create(name="Support")
    crud = [perms["view_customer"], perms["add_customer"], perms["change_customer"]]
    support.permissions.set([*crud, perms["view_customer_secrets"]])
    sales = Group.objects.create(name="Sales")
    sales.permissions.set(crud)
    # The admin's users are staff (the custom user model of settings_custom has no such flag).
    staff = {"is_staff": True} if any(f.name == "is_staff" for f in get_user_model()._meta.fields) else {}
    users = {
        "sue": make_user("sue", **staff),
        "sam": make_user("sam", **staff),
        "root": make_user("root", is_superuser=True, **staff),
    }
    users["sue"].groups.add(support)
    users["sam"].groups.add(sales)
    with acting_as(users["root"]):
        users["customer"] = Customer.objects.create(**STORED)
    return users


def _seen(user):
    with acting_as(user):
        return Customer.objects.values("name", "api_key", "internal_notes").get()


def test_the_model_reads_the_view_and_writes_the_table(customers):
    sql = str(Customer.objects.filter(name="Acme").query)
    assert f'FROM "{view_name("shop_customer")}" "shop_customer"' in sql
    assert view_name("shop_customer") == "shop_customer_visible"
    # A long table name is cut to leave the suffix whole (63 bytes in all), never inside a character.
    assert view_name("é" * 40) == "é" * 27 + "_visible"
    assert view_name("t" * 63) == "t" * 55 + "_visible"


def test_holders_see_the_values_others_the_masks(customers):
    assert _seen(customers["sue"]) == STORED
    assert _seen(customers["root"]) == STORED
    assert _seen(customers["sam"]) == {"name": "Acme", "api_key": None, "internal_notes": "(hidden)"}
    with acting_as(customers["sam"]):
        # A filter on a hidden column compares the mask, never the stored value.
        assert not Customer.objects.filter(api_key="key-acme").exists()
        assert Customer.objects.filter(internal_notes="(hidden)").count() == 1
        customer = Customer.objects.get()
        customer.refresh_from_db()
        assert customer.api_key is None
        assert masked_columns(Customer) == {"api_key", "internal_notes"}
    with acting_as(customers["sue"]):
        assert masked_columns(Customer) == set()


def test_a_non_holder_saves_the_plain_columns_and_leaves_the_hidden_ones(customers):
    with acting_as(customers["sam"]):
        customer = Customer.objects.get()
        customer.name = "Acme Ltd"
        customer.save()
        customer.save(update_fields=["name", "api_key"])
    assert _stored(customer.pk) == {**STORED, "name": "Acme Ltd"}


def test_a_holder_changes_the_hidden_values(customers):
    with acting_as(customers["sue"]):
        customer = Customer.objects.get()
        customer.api_key = "key-rotated"
        customer.save()
    assert _stored(customer.pk) == {**STORED, "api_key": "key-rotated"}


def test_a_non_holder_cannot_write_a_hidden_value(customers):
    with acting_as(customers["sam"]):
        with pytest.raises(DatabaseError) as refused:
            Customer.objects.filter(name="Acme").update(api_key="stolen")
    assert refused.value.__cause__.sqlstate == "42501"
    assert _stored(customers["customer"].pk) == STORED


def test_update_chooses_its_rows_through_the_view(customers):
    """A filter on a hidden column matches what the user sees (the mask), never the stored value:
    a non-holder cannot test a guess of it by the count of rows updated."""
    with acting_as(customers["sam"]):
        assert Customer.objects.filter(api_key=STORED["api_key"]).update(name="Guessed") == 0
        assert Customer.objects.filter(internal_notes="(hidden)").update(name="Acme Ltd") == 1
    with acting_as(customers["sue"]):
        assert Customer.objects.filter(api_key=STORED["api_key"]).update(name="Acme") == 1
    assert _stored(customers["customer"].pk) == STORED


def test_an_instance_read_for_another_user_writes_no_hidden_value_back(customers):
    """Loaded for a non-holder (masks in its hidden fields), saved by a holder: the masks are not
    written over the stored values."""
    with acting_as(customers["sam"]):
        customer = Customer.objects.get(pk=customers["customer"].pk)
    assert customer.api_key is None
    with acting_as(customers["sue"]):
        customer.name = "Acme Ltd"
        customer.save()
    assert _stored(customer.pk) == {**STORED, "name": "Acme Ltd"}


admin_only = pytest.mark.skipif(
    not apps.is_installed("django.contrib.admin"), reason="the admin is installed in the stock project only"
)


def test_a_non_holder_adds_rows_with_the_hidden_columns_at_their_defaults(customers):
    with acting_as(customers["sam"]):
        added = Customer.objects.create(name="Beta")
        with pytest.raises(DatabaseError) as refused:
            Customer.objects.create(name="Gamma", api_key="planted")
    assert refused.value.__cause__.sqlstate == "42501"
    assert _stored(added.pk) == {"name": "Beta", "api_key": None, "internal_notes": ""}
    with acting_as(customers["sue"]):
        Customer.objects.create(name="Delta", api_key="key-delta")
        assert Customer.objects.values_list("name", "api_key").get(name="Delta") == ("Delta", "key-delta")


@admin_only
def test_the_admin_shows_masks_to_non_holders_and_saves_their_changes(customers, client):
    pk = customers["customer"].pk
    client.force_login(customers["sam"])
    changelist = client.get("/admin/shop/customer/").content.decode()
    assert "Acme" in changelist and "key-acme" not in changelist
    form = client.get(f"/admin/shop/customer/{pk}/change/").content.decode()
    assert "key-acme" not in form and "pays late" not in form
    assert "(hidden)" in form and 'name="api_key"' not in form
    response = client.post(f"/admin/shop/customer/{pk}/change/", {"name": "Acme GmbH", "_save": "Save"})
    assert response.status_code == 302
    assert _stored(pk) == {**STORED, "name": "Acme GmbH"}
    response = client.post("/admin/shop/customer/add/", {"name": "Epsilon", "_save": "Save"})
    assert response.status_code == 302
    assert _stored(name="Epsilon") == {"name": "Epsilon", "api_key": None, "internal_notes": ""}


@admin_only
def test_the_admin_lets_holders_edit_hidden_values(customers, client):
    pk = customers["customer"].pk
    client.force_login(customers["sue"])
    form = client.get(f"/admin/shop/customer/{pk}/change/").content.decode()
    assert 'value="key-acme"' in form and "pays late" in form
    response = client.post(
        f"/admin/shop/customer/{pk}/change/",
        {"name": "Acme", "api_key": "key-new", "internal_notes": "pays late", "_save": "Save"},
    )
    assert response.status_code == 302
    assert _stored(pk) == {**STORED, "api_key": "key-new"}


READER = "authz_django_hidden_reader"


@pytest.fixture
def split_privileges(customers):
    """The app's role with exactly the README's grants ("Hidden columns"), which the Django
    connection takes with SET ROLE for the test: SELECT on the view, SELECT of the plain columns
    on the table, the writes, and no more (the tests otherwise run as the tables' owner)."""
    from django.db import connection

    from tests.settings_base import APP_ROLE

    with superuser_connection() as conn:
        conn.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READER}') THEN"
            f" CREATE ROLE {READER} NOLOGIN; END IF; END $$"
        )
        conn.execute(f"GRANT {READER} TO {APP_ROLE}")
        conn.execute(f"GRANT SELECT, UPDATE ON shop_customer_visible TO {READER}")
        conn.execute(f"GRANT SELECT (id, name) ON shop_customer TO {READER}")
        conn.execute(f"GRANT INSERT, UPDATE, DELETE ON shop_customer TO {READER}")
        conn.execute(f"GRANT USAGE ON SEQUENCE shop_customer_id_seq TO {READER}")
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {READER}")
    try:
        yield customers
    finally:
        connection.close()  # the next test's connection starts as the app role again
        with superuser_connection() as conn:
            conn.execute(f"DROP OWNED BY {READER}")
            conn.execute(f"DROP ROLE {READER}")


def test_with_the_readmes_grants_the_app_role_reads_and_writes_as_its_users(split_privileges):
    from django.db import connection, transaction

    users = split_privileges
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == READER
    assert _seen(users["sam"]) == {"name": "Acme", "api_key": None, "internal_notes": "(hidden)"}
    assert _seen(users["sue"]) == STORED
    with acting_as(users["sam"]):
        # bulk_create: INSERT ... RETURNING id, a plain column.
        added = Customer.objects.bulk_create([Customer(name="Beta"), Customer(name="Gamma")])
        assert all(c.pk for c in added)
        # The hidden db_default column is read back through the view: the mask, for this user.
        assert [c.internal_notes for c in added] == ["(hidden)", "(hidden)"]
        customer = Customer.objects.get(pk=users["customer"].pk)
        customer.name = "Acme Ltd"
        customer.save()
        assert Customer.objects.filter(name="Beta").update(name="Beta Ltd") == 1
        # The table itself does not show a hidden column to the app role.
        with pytest.raises(DatabaseError) as refused, transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT api_key FROM shop_customer")
        assert refused.value.__cause__.sqlstate == "42501"
    with acting_as(users["sue"]):
        customer = Customer.objects.get(pk=users["customer"].pk)
        customer.api_key = "key-rotated"
        customer.save()
        # A holder's new row reads back the stored default, a value (never a DatabaseDefault
        # that a later save() would write as DEFAULT again).
        created = Customer.objects.create(name="Delta")
        assert created.internal_notes == ""
        created.name = "Delta Ltd"
        created.save()
    with acting_as(users["root"]):  # Support may not delete customers
        assert Customer.objects.filter(name="Gamma").delete()[0] == 1
    assert _stored(users["customer"].pk) == {**STORED, "name": "Acme Ltd", "api_key": "key-rotated"}
    assert _stored(name="Beta Ltd") == {"name": "Beta Ltd", "api_key": None, "internal_notes": ""}
    assert _stored(name="Gamma") is None
    assert _stored(name="Delta Ltd") == {"name": "Delta Ltd", "api_key": None, "internal_notes": ""}
