from django.contrib.postgres.fields import ArrayField
from django.db import models


class AuditEntry(models.Model):
    """``authz.audit_log``, read-only (unmanaged: pg_authz owns the table, nobody may change it;
    reading it takes authz_auditor, which the example's role has)."""

    logged_at = models.DateTimeField()
    app_user = models.TextField(null=True, verbose_name="actor")
    db_role = models.TextField(null=True)
    operation = models.TextField()
    relation = models.TextField(null=True)
    model = models.TextField(null=True)
    action = models.TextField(null=True)
    row_count = models.BigIntegerField(null=True)
    row_ids = ArrayField(models.TextField(), null=True)
    params = models.JSONField(null=True)
    outcome = models.JSONField(null=True)

    class Meta:
        managed = False
        db_table = 'authz"."audit_log'
        ordering = ["-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"

    def __str__(self):
        return f"#{self.pk} {self.operation} {self.action or self.relation or ''}"
