"""Pen dynamics of pad signatures: each pad reference's online template, and how each
verification was decided (image, online or fused path; replay). Written by
``services/pad_dynamics.py``."""

from __future__ import annotations

from django.db import models


class ReferenceDynamics(models.Model):
    """A pad reference's online features (``ml.online.pad.template_pack``), float16 bytes."""

    reference = models.OneToOneField("verification.ReferenceSignature", on_delete=models.CASCADE, related_name="dynamics")
    params_key = models.CharField(max_length=32, help_text="What the template depends on (rate, channels); another key is stale")
    frames = models.BinaryField(help_text="float16, (n_frames, n_channels), C order")
    n_frames = models.PositiveIntegerField()
    n_channels = models.PositiveSmallIntegerField()
    has_pressure = models.BooleanField(default=False)
    duration_ms = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)


class VerificationDynamics(models.Model):
    """Which path decided a verification, its part scores, and the replay check (staff only)."""

    class Path(models.TextChoices):
        IMAGE = "image", "Image"
        ONLINE = "online", "Online (pen dynamics)"
        FUSED = "fused", "Image and pen dynamics fused"

    verification = models.OneToOneField("verification.Verification", on_delete=models.CASCADE, related_name="dynamics")
    decision_path = models.CharField(max_length=8, choices=Path.choices, default=Path.IMAGE, db_index=True)
    pad_references = models.PositiveSmallIntegerField(default=0, help_text="Pad references with an online template")
    image_score = models.FloatField(null=True, blank=True)
    online_score = models.FloatField(null=True, blank=True)
    replay = models.BooleanField(default=False, db_index=True, help_text="Rejected as a replay of a stored reference")
    replay_distance = models.FloatField(null=True, blank=True)
    replay_reference = models.ForeignKey(
        "verification.ReferenceSignature", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
