from django.conf import settings
from django.db import models


class Subscription(models.Model):
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions")
    # Owner-scoped (migration 0004: a generated policy, not a get_queryset override): an admin sees
    # the subscriptions they manage, Billing and superusers see all.
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="managed_subscriptions"
    )
    plan = models.CharField(max_length=20)
    active = models.BooleanField(default=True)

    def __str__(self):
        return f"{self.customer} / {self.plan}"
