"""A customer's signing link (its credential for the signing pages)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SigningToken(models.Model):
    """A customer's own credential for its signing pages: ``Authorization: Signing <token>``.

    Only a SHA-256 digest is stored; the token itself is shown once, when it is created.
    An ``enroll`` link may send references and start one enrollment (then it is consumed
    and only verifies); a ``verify`` link only verifies.
    """

    class Purpose(models.TextChoices):
        ENROLL = "enroll", "Enroll (single use)"
        VERIFY = "verify", "Verify"

    customer = models.ForeignKey("verification.Customer", on_delete=models.CASCADE, related_name="signing_tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters of the token, to tell tokens apart")
    purpose = models.CharField(max_length=8, choices=Purpose.choices, default=Purpose.VERIFY)
    consumed_at = models.DateTimeField(null=True, blank=True, help_text="When an enroll link started its enrollment")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
