from django.conf import settings
from django.db import migrations

import pg_authz.operations


class Migration(migrations.Migration):
    initial = True
    # CREATE/DROP EXTENSION may run on a second, privileged connection: it must not wait for
    # locks this migration holds, so each operation commits on its own.
    atomic = False

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        pg_authz.operations.CreateExtension(),
        pg_authz.operations.BindDjango(),
    ]
