"""Finding 10 (MEDIUM, open): the example's dashboard shows order counts to a staff user whom the
admin refuses the order list. Run against a set-up example database (make test leaves
pg_authz_example_browser; or `make example`):

    cd examples/django_admin && PG_AUTHZ_BASE=... PG_AUTHZ_PORT=... EXAMPLE_DB=pg_authz_example_browser \
        DJANGO_SETTINGS_MODULE=shopsite.settings ../../target/venv/bin/python ../../tests/repro/python/example_dashboard.py

main and review3: changelist 403, dashboard 200 with the counts, events 200 with a data line.
"""

import django

django.setup()

from django.test import Client  # noqa: E402

from user.models import User  # noqa: E402

user, _ = User.objects.get_or_create(username="nostaff_r3", defaults={"is_staff": True})
print("has order.view_order:", user.has_perm("order.view_order"))
client = Client(HTTP_HOST="127.0.0.1")
client.force_login(user)
print("changelist:", client.get("/admin/order/order/").status_code)
page = client.get("/dashboard/")
print("dashboard:", page.status_code, [line.strip() for line in page.content.decode().splitlines() if "count-" in line][:1])
events = client.get("/dashboard/events")
print("events:", events.status_code, next(iter(events.streaming_content))[:120])
events.close()
