"""The audit trail's model: append-only rows of who changed what (``services/audit.py`` writes them)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AppendOnlyError(Exception):
    """An audit row was about to be changed or deleted."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events are append-only: they cannot be updated")

    def delete(self):
        raise AppendOnlyError("audit events are append-only: they cannot be deleted")

    def _raw_delete(self, using):
        raise AppendOnlyError("audit events are append-only: they cannot be deleted")


class AuditEvent(models.Model):
    """What happened to whom, kept when biometric data is erased or a customer deleted.

    Append-only: saving an existing row, deleting one and queryset update/delete all raise
    ``AppendOnlyError``. Customers are referred to by id and external reference, not by a
    foreign key, so deleting a customer leaves its audit trail intact.
    """

    objects = AuditEventQuerySet.as_manager()

    action = models.CharField(max_length=64, db_index=True)
    # DO_NOTHING and no database constraint: deleting a user must not rewrite its audit rows
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True, help_text="The actor's username when it acted")
    customer_id_ref = models.BigIntegerField(null=True, blank=True, db_index=True, help_text="Customer.id, kept after deletion")
    customer_external_ref = models.CharField(max_length=128, blank=True)
    before = models.JSONField(null=True, blank=True, help_text="The changed fields before the change")
    after = models.JSONField(null=True, blank=True, help_text="The changed fields after the change")
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit events are append-only: they cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events are append-only: they cannot be deleted")
