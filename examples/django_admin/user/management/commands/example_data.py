"""``manage.py example_data``: the seed's three groups and ten admins, and sample shop data.

The groups get the matrix of shared/seeds/004 (ticked as in the Group editor), plus the view
permissions of the four models: Data team (3 admins) may export users and print order receipts,
General staff (7 admins) may print order receipts, Billing (nobody yet) has all four action
permissions. Nobody but Billing may print a subscription's receipt; everyone may send
notifications (the action has no permission). Each subscription has an account manager among the
ten admins, who sees only theirs (Billing and superusers see all: subscription/migrations/0004).
Idempotent: a second run changes nothing.
"""

from decimal import Decimal

from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction

from notification.models import Notification
from pg_authz import acting_as
from order.models import Order
from subscription.models import Subscription
from user.models import User

PASSWORD = "pw"
VIEW = ["user.view_user", "order.view_order", "subscription.view_subscription", "notification.view_notification"]
GROUPS = {
    "Billing": ["user.export", "order.print_receipt", "order.issue_tax_invoice", "subscription.print_receipt"],
    "Data team": ["user.export", "order.print_receipt"],
    "General staff": ["order.print_receipt"],
}
ADMINS = [(f"data{i}", "Data team") for i in (1, 2, 3)] + [(f"staff{i}", "General staff") for i in range(1, 8)]
CUSTOMERS = 20
ORDERS = 10_000  # the dashboard's bulk action changes them all


def _permissions(names):
    found = []
    for name in names:
        app_label, codename = name.split(".")
        found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found


class Command(BaseCommand):
    help = "Create the seed's groups, the ten admins (password 'pw'), a superuser 'root' and sample data."

    @transaction.atomic
    def handle(self, *args, **options):
        groups = {}
        for name, perms in GROUPS.items():
            groups[name], _ = Group.objects.get_or_create(name=name)
            groups[name].permissions.set(_permissions(VIEW + perms))
        for username, group in ADMINS:
            admin, created = User.objects.get_or_create(username=username, defaults={"is_staff": True})
            if created:
                admin.set_password(PASSWORD)
                admin.save()
                admin.groups.add(groups[group])
        if not User.objects.filter(username="root").exists():
            User.objects.create_superuser("root", "root@example.com", PASSWORD)
        customers = []
        for i in range(1, CUSTOMERS + 1):
            customer, _ = User.objects.get_or_create(username=f"customer{i:02}", defaults={"email": f"c{i}@example.com"})
            customers.append(customer)
        if not Order.objects.exists():
            statuses = [s for s, _ in Order.STATUSES]
            Order.objects.bulk_create(
                Order(customer=customers[i % CUSTOMERS], number=f"ORD-{i:05}", status=statuses[i % len(statuses)],
                      total=Decimal(10 + i % 90) + Decimal("0.99"))
                for i in range(1, ORDERS + 1)
            )
            managers = [User.objects.get(username=username) for username, _ in ADMINS]
            with acting_as(User.objects.get(username="root")):  # row-level security: someone must ask
                Subscription.objects.bulk_create(
                    Subscription(customer=c, account_manager=managers[i % len(managers)], plan=["basic", "pro"][i % 2])
                    for i, c in enumerate(customers)
                )
            Notification.objects.bulk_create(
                Notification(recipient=c, message=f"Welcome, {c.username}") for c in customers
            )
        self.stdout.write(
            f"{len(ADMINS)} admins (password {PASSWORD!r}) in {', '.join(GROUPS)}; superuser root; "
            f"{User.objects.count()} users, {Order.objects.count()} orders"
        )
