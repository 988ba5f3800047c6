from django.db import migrations, models

from pg_authz.operations import Protect


def secrets_permission(apps, schema_editor):
    """The permission the hidden columns' ``unless`` names: Protect checks that it exists, and
    Django creates permissions only after migrate (post_migrate), so it is made here (Django's
    own post_migrate then finds it)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    content_type, _ = ContentType.objects.get_or_create(app_label="shop", model="customer")
    Permission.objects.get_or_create(
        content_type=content_type, codename="view_customer_secrets",
        defaults={"name": "See customers' API keys and notes"},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0002_protect"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name="Customer",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                ("api_key", models.CharField(blank=True, max_length=64, null=True)),
                ("internal_notes", models.TextField(blank=True, db_default="")),
            ],
            options={
                "abstract": False,
                "base_manager_name": "objects",
                "permissions": [("view_customer_secrets", "See customers' API keys and notes")],
            },
        ),
        migrations.RunPython(secrets_permission, migrations.RunPython.noop),
        # The view shop_customer_visible: the API key as NULL, the notes as '(hidden)', except
        # for holders of view_customer_secrets and superusers.
        Protect("shop.Customer", {"hidden": [
            {"columns": ["api_key"], "unless": ["shop.view_customer_secrets"]},
            {"columns": ["internal_notes"], "unless": ["shop.view_customer_secrets"], "mask": "'(hidden)'"},
        ]}),
    ]
