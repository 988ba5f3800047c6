from django.conf import settings
from django.db import models


class Order(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orders")
    title = models.CharField(max_length=100)
    updated_at = models.DateTimeField(null=True)

    class Meta:
        permissions = [("print_receipt", "Print receipt")]
