"""Documents: uploaded pages (cheques, mandates, letters), their pages and the signature
candidates the detector found on them (``services/documents.py`` writes them).

Pages carry personal data: they are erased with the biometric data of any customer one of
their candidates was verified against, and pages attached to no verification are deleted
after ``SIGWEB_DOCUMENT_RETENTION_DAYS`` (``services/document_retention.py``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Document(models.Model):
    class Kind(models.TextChoices):
        PAGE = "page", "One page image"
        PDF = "pdf", "A PDF"
        BATCH = "batch", "A batch of files (several files or a zip)"

    class Status(models.TextChoices):
        PENDING = "pending", "Detecting signatures"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        ERASED = "erased", "Pages erased"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    name = models.CharField(max_length=255, blank=True, help_text="The uploaded file name (or the first one of a batch)")
    file_count = models.PositiveIntegerField(default=1)
    page_count = models.PositiveIntegerField(default=0)
    candidate_count = models.PositiveIntegerField(default=0)
    detector_version = models.CharField(max_length=64, blank=True)
    job = models.OneToOneField("Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="document")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class DocumentPage(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="pages")
    number = models.PositiveIntegerField(help_text="1-based position of the page in the document")
    file_name = models.CharField(max_length=255, blank=True)
    file_page = models.PositiveIntegerField(default=1, help_text="1-based page number inside its file")
    image = models.BinaryField(help_text="The page as JPEG")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    dpi = models.FloatField(null=True, blank=True)
    detected = models.BooleanField(default=False, help_text="Detection ran on this page")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["document_id", "number"]
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="one_page_number_per_document")]


class SignatureCandidate(models.Model):
    page = models.ForeignKey(DocumentPage, on_delete=models.CASCADE, related_name="candidates")
    rank = models.PositiveIntegerField(help_text="1: the detector's best box on the page")
    box = models.JSONField(help_text="[x0, y0, x1, y1] in page pixels")
    score = models.FloatField()
    crop_png = models.BinaryField(help_text="The cropped signature as PNG (what a verification scores)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["page_id", "rank"]


class VerificationDocument(models.Model):
    """Where a verified signature came from: its page and box (kept when the page is deleted)."""

    verification = models.OneToOneField("Verification", on_delete=models.CASCADE, related_name="document_source")
    candidate = models.ForeignKey(
        SignatureCandidate, null=True, blank=True, on_delete=models.SET_NULL, related_name="verification_links"
    )
    page = models.ForeignKey(DocumentPage, null=True, blank=True, on_delete=models.SET_NULL, related_name="verification_links")
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.SET_NULL, related_name="verification_links")
    box = models.JSONField()
    page_number = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
