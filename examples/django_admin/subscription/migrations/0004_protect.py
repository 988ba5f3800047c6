from django.db import migrations

from pg_authz.operations import Protect


def billing_group(apps, schema_editor):
    # The policy names the group, which must exist first (example_data gives it its permissions).
    apps.get_model("auth", "Group").objects.get_or_create(name="Billing")


class Migration(migrations.Migration):
    dependencies = [
        ("subscription", "0003_account_manager"),
        ("pg_authz", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(billing_group, migrations.RunPython.noop),
        Protect(
            "subscription.Subscription",
            {"owner": {"column": "account_manager_id", "see_all": ["group:Billing"]}},
        ),
    ]
