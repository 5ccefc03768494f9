"""SigWeb's domain model. Behaviour lives in services/ and selectors/, not here.

Signature images are kept in the database (they are small and bounded by
``SIGWEB_MAX_UPLOAD_BYTES``), so that web and GPU workers share nothing but PostgreSQL.
Embeddings are float32 little-endian bytes (see ``verification.embeddings``).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Customer(TimeStamped):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        ERASED = "erased", "Biometric data erased"

    external_ref = models.CharField(max_length=128, unique=True, help_text="The customer's id in the bank's own systems")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    consent_at = models.DateTimeField(null=True, blank=True, help_text="When the customer consented to biometric processing")
    erased_at = models.DateTimeField(null=True, blank=True)
    reenrollment_opened_at = models.DateTimeField(
        null=True, blank=True, help_text="Set while an admin allows one more enrollment through an enroll link"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_ref})"


class ReferenceSignature(TimeStamped):
    class Source(models.TextChoices):
        PAD = "pad", "Drawn on a signature pad"
        UPLOAD = "upload", "Uploaded image"
        DOCUMENT = "document", "Cut from a scanned document"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for its embedding"
        EMBEDDED = "embedded", "Embedded"
        FAILED = "failed", "Failed"
        ERASED = "erased", "Erased"

    class Approval(models.TextChoices):
        APPROVED = "approved", "Approved"
        PENDING = "pending", "Waiting for an admin's approval"
        REJECTED = "rejected", "Rejected by an admin"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="references")
    source = models.CharField(max_length=16, choices=Source.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    approval = models.CharField(
        max_length=16,
        choices=Approval.choices,
        default=Approval.APPROVED,
        db_index=True,
        help_text="References sent through a signing link after the customer is enrolled wait for an admin",
    )
    signing_token = models.ForeignKey(
        "SigningToken",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="references",
        help_text="The signing link that sent this reference (empty: the back office)",
    )
    image = models.BinaryField(null=True, blank=True, help_text="The uploaded image bytes, as received")
    image_content_type = models.CharField(max_length=64, blank=True)
    strokes = models.JSONField(null=True, blank=True, help_text="Raw pad strokes (signature_pad toData()) when drawn")
    preview_png = models.BinaryField(null=True, blank=True, help_text="The signature as the model sees it")
    quality = models.JSONField(default=dict, blank=True)
    model_version = models.CharField(
        max_length=64, blank=True, help_text="The model version of its live embedding (a ReferenceEmbedding row)"
    )
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]


class ModelVersion(TimeStamped):
    name = models.CharField(max_length=64, unique=True, help_text="Engine.model_version: architecture + checkpoint hash")
    checkpoint_path = models.CharField(max_length=500, blank=True, help_text="Empty: the shipped default checkpoint")
    preprocess_version = models.CharField(max_length=64, blank=True)
    embedding_dim = models.PositiveIntegerField(default=0)
    threshold = models.FloatField(null=True, blank=True)
    thresholds = models.JSONField(
        default=dict, blank=True, help_text="Operating point per reference-count bucket ('1', '2-4', '5-9', '10+')"
    )
    metrics = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)

    @property
    def ordered_thresholds(self) -> dict[str, float]:
        """``thresholds`` from the fewest references up ("1", "2-4", "5-9", "10+"): PostgreSQL's
        jsonb keeps keys in its own order (shortest first)."""
        return dict(sorted(self.thresholds.items(), key=lambda kv: int(kv[0].split("-")[0].rstrip("+"))))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="one_active_model_version")
        ]

    def __str__(self) -> str:
        return self.name


class Enrollment(TimeStamped):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        TRAINING = "training", "Training"
        ACTIVE = "active", "Active"
        FAILED = "failed", "Failed"
        REVOKED = "revoked", "Revoked"
        SUPERSEDED = "superseded", "Superseded"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="enrollments")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    references = models.ManyToManyField(ReferenceSignature, related_name="enrollments", blank=True)
    model_version = models.CharField(max_length=64, blank=True)
    threshold = models.FloatField(null=True, blank=True, help_text="Overrides the model's threshold when set")
    history = models.JSONField(default=list, blank=True, help_text="[{at, status, note}] in order")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    activated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=Q(status="active"), name="one_active_enrollment_per_customer")
        ]


class Job(models.Model):
    class Kind(models.TextChoices):
        EMBED_REFERENCE = "embed_reference", "Embed a reference signature"
        ENROLL = "enroll", "Enroll a customer (fit writer-dependent parameters)"
        VERIFY = "verify", "Verify a signature"
        REEMBED = "reembed", "Re-embed references for a model version"
        TRAIN = "train", "Train a writer-independent model"
        REEMBED_CHUNK = "reembed_chunk", "Re-embed one range of references"

        DETECT_PAGE = "detect_page", "Find the signatures on one page"
        DETECT_BATCH = "detect_batch", "Find the signatures on a batch of pages"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    queue = models.CharField(max_length=32, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)  # starts by a worker
    dispatches = models.PositiveIntegerField(default=0)  # messages sent (the sweeper resends lost ones)
    # Last sign of life: sent, started, progress. The job sweeper works from it.
    heartbeat_at = models.DateTimeField(null=True, blank=True, db_index=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def is_done(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class Verification(TimeStamped):
    class Decision(models.TextChoices):
        ACCEPT = "accept", "Accept"
        REJECT = "reject", "Reject"
        REVIEW = "review", "Review"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Channel(models.TextChoices):
        API = "api", "API"
        CUSTOMER = "customer", "Customer signing page"
        BRANCH = "branch", "Branch / back office"
        DEMO = "demo", "Demo"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="verifications")
    enrollment = models.ForeignKey(Enrollment, null=True, on_delete=models.SET_NULL, related_name="verifications")
    job = models.OneToOneField(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="verification")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    source = models.CharField(max_length=16, choices=ReferenceSignature.Source.choices)
    query_image = models.BinaryField(null=True, blank=True)
    query_image_content_type = models.CharField(max_length=64, blank=True)
    query_strokes = models.JSONField(null=True, blank=True)
    preview_png = models.BinaryField(null=True, blank=True)
    quality = models.JSONField(default=dict, blank=True)
    score = models.FloatField(null=True, blank=True)
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True, db_index=True)
    threshold = models.FloatField(null=True, blank=True)
    similarities = models.JSONField(default=list, blank=True)
    model_version = models.CharField(max_length=64, blank=True)
    timings = models.JSONField(default=dict, blank=True, help_text="Milliseconds: preprocess, embed, score, queue, total")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.API)
    error = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def flagged(self) -> bool:
        return self.decision in (self.Decision.REJECT, self.Decision.REVIEW)


class Review(models.Model):
    class Verdict(models.TextChoices):
        GENUINE = "genuine", "Genuine"
        FORGERY = "forgery", "Forgery"

    verification = models.ForeignKey(Verification, on_delete=models.CASCADE, related_name="reviews")
    analyst = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="reviews")
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    corrected_at = models.DateTimeField(
        null=True, blank=True, help_text="When a later verdict replaced the first one (see the audit trail)"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["verification"], name="one_verdict_per_verification")]


# Models kept in modules of their own; imported here so Django sees them.
from verification.models.audit import AppendOnlyError, AuditEvent, AuditEventQuerySet  # noqa: E402
from verification.models.documents import Document, DocumentPage, SignatureCandidate, VerificationDocument  # noqa: E402
from verification.models.dynamics import ReferenceDynamics, VerificationDynamics  # noqa: E402
from verification.models.identification import *  # noqa: E402, F403  (identification and the vector store)
from verification.models.identification import __all__ as _identification_all  # noqa: E402
from verification.models.tokens import SigningToken  # noqa: E402

__all__ = [
    "AppendOnlyError",
    "AuditEvent",
    "AuditEventQuerySet",
    "Customer",
    "Enrollment",
    "Job",
    "ModelVersion",
    "ReferenceDynamics",
    "ReferenceSignature",
    "Review",
    "SigningToken",
    "TimeStamped",
    "Verification",
    "VerificationDynamics",
    *_identification_all,
]
__all__ += ["Document", "DocumentPage", "SignatureCandidate", "VerificationDocument"]  # models/documents.py
