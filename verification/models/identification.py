"""1:N identification and the per-model-version vector store.

* ``ReferenceEmbedding``: one reference's embedding for one model version (float32
  little-endian bytes, see ``verification.embeddings``). A model switch writes the new
  version's rows beside the old ones; the old version serves until the switch flips.
* ``WriterParams``: an enrollment's writer-dependent parameters for one model version.
* ``VectorChange``: an append-only log of what entered or left the identification index
  (references of active enrollments), so every process keeps its in-process index in step
  by reading the changes after the last one it applied.
* ``Identification``: one audited 1:N search, with its ranked candidates.
* ``EnrollmentDuplicate``: an enrollment whose references match another customer.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["EnrollmentDuplicate", "Identification", "ReferenceEmbedding", "VectorChange", "WriterParams"]


class ReferenceEmbedding(models.Model):
    reference = models.ForeignKey("verification.ReferenceSignature", on_delete=models.CASCADE, related_name="vectors")
    model_version = models.CharField(max_length=64, db_index=True)
    vector = models.BinaryField(help_text="float32 little-endian")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["reference", "model_version"], name="one_embedding_per_version")]


class WriterParams(models.Model):
    """``packed``: ``ml.writer_pack`` bytes (about 2 KB), completed by the ``ReferenceEmbedding``
    rows of ``reference_ids`` (the order they were fitted in); ``params``: the JSON of an
    engine whose parameters do not pack."""

    enrollment = models.ForeignKey("verification.Enrollment", on_delete=models.CASCADE, related_name="params_by_version")
    model_version = models.CharField(max_length=64, db_index=True)
    reference_ids = models.JSONField(default=list)
    packed = models.BinaryField(null=True, blank=True)
    params = models.JSONField(null=True, blank=True, help_text="Engine.fit_writer output, when it does not pack")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["enrollment", "model_version"], name="one_params_per_version")]


class VectorChange(models.Model):
    class Op(models.TextChoices):
        ADD = "add", "Added to the index"
        REMOVE = "remove", "Removed from the index"

    model_version = models.CharField(max_length=64, db_index=True)
    reference_id = models.BigIntegerField()
    customer_id = models.BigIntegerField()
    op = models.CharField(max_length=8, choices=Op.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class Identification(models.Model):
    class Outcome(models.TextChoices):
        MATCH = "match", "Match"
        AMBIGUOUS = "ambiguous", "Ambiguous"
        NONE = "none", "No match"

    source = models.CharField(max_length=16)
    query_image = models.BinaryField(null=True, blank=True)
    query_image_content_type = models.CharField(max_length=64, blank=True)
    query_strokes = models.JSONField(null=True, blank=True)
    preview_png = models.BinaryField(null=True, blank=True)
    top_k = models.PositiveSmallIntegerField(default=5)
    case_reference = models.CharField(max_length=128, blank=True, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, db_index=True)
    candidates = models.JSONField(
        default=list,
        help_text="[{customer, external_ref, name, score, threshold, enrollment, decision_path (image, online or fused), "
        "replay (only when true)}]",
    )
    model_version = models.CharField(max_length=64, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class EnrollmentDuplicate(models.Model):
    enrollment = models.ForeignKey("verification.Enrollment", on_delete=models.CASCADE, related_name="duplicates")
    other_customer = models.ForeignKey("verification.Customer", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    threshold = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "id"]
