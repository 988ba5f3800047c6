from django.db import migrations

from pg_authz.operations import EnableAudit, Protect


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0001_initial"),
        ("pg_authz", "0001_initial"),
    ]

    operations = [
        # Owners see and change their own orders (with the model permission); superusers all.
        Protect("shop.Order", {"owner": {"column": "owner_id"}}),
        EnableAudit("shop.Order", channel="orders", updated_at="updated_at"),
    ]
