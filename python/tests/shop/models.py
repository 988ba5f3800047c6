from django.conf import settings
from django.db import models

from pg_authz.hidden import HiddenColumnsModel


class Order(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orders")
    title = models.CharField(max_length=100)
    updated_at = models.DateTimeField(null=True)

    class Meta:
        permissions = [("print_receipt", "Print receipt")]


class Customer(HiddenColumnsModel):
    """Hidden columns (pg_authz.hidden): the API key and the internal notes are shown to holders
    of view_customer_secrets (and superusers) only; the view shows the notes as '(hidden)'."""

    name = models.CharField(max_length=100)
    api_key = models.CharField(max_length=64, null=True, blank=True)
    internal_notes = models.TextField(db_default="", blank=True)

    class Meta(HiddenColumnsModel.Meta):
        permissions = [("view_customer_secrets", "See customers' API keys and notes")]
