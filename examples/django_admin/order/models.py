from django.conf import settings
from django.db import models


class Order(models.Model):
    STATUSES = [("new", "new"), ("paid", "paid"), ("shipped", "shipped"), ("cancelled", "cancelled")]

    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orders")
    number = models.CharField(max_length=20, unique=True)
    status = models.CharField(max_length=20, choices=STATUSES, default="new")
    total = models.DecimalField(max_digits=10, decimal_places=2)
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.number
