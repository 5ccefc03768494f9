"""API input and output for documents: pages, signature candidates (box, score, crop URL)."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from verification.api.serializers import JobOutput
from verification.models import Document, DocumentPage, SignatureCandidate, VerificationDocument


class DocumentInput(serializers.Serializer):
    file = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        help_text="One page (PNG, JPEG, TIFF), a PDF, several files, or a zip of them",
    )


class CandidateOutput(serializers.ModelSerializer):
    crop_url = serializers.SerializerMethodField()

    class Meta:
        model = SignatureCandidate
        fields = ["id", "rank", "box", "score", "crop_url"]

    def get_crop_url(self, obj) -> str:
        return reverse("candidate-crop", args=[obj.id])


class PageOutput(serializers.ModelSerializer):
    image_url = serializers.SerializerMethodField()
    candidates = CandidateOutput(many=True, read_only=True)
    result = serializers.SerializerMethodField(help_text="'no signature found' on a detected page without candidates")

    class Meta:
        model = DocumentPage
        fields = ["number", "file_name", "file_page", "width", "height", "dpi", "detected", "result", "image_url", "candidates"]

    def get_image_url(self, obj) -> str:
        return reverse("document-page-image", args=[obj.document_id, obj.number])

    def get_result(self, obj) -> str:
        if not obj.detected:
            return "pending"
        n = len(obj.candidates.all())
        return f"{n} signature(s) found" if n else "no signature found"


class DocumentOutput(serializers.ModelSerializer):
    job = JobOutput(read_only=True)

    class Meta:
        model = Document
        fields = [
            "id",
            "kind",
            "status",
            "name",
            "file_count",
            "page_count",
            "candidate_count",
            "detector_version",
            "error",
            "job",
            "created_at",
            "erased_at",
        ]


class DocumentDetailOutput(DocumentOutput):
    pages = PageOutput(many=True, read_only=True)

    class Meta(DocumentOutput.Meta):
        fields = [*DocumentOutput.Meta.fields, "pages"]


class VerificationDocumentOutput(serializers.ModelSerializer):
    page_image_url = serializers.SerializerMethodField()

    class Meta:
        model = VerificationDocument
        fields = ["document", "page_number", "candidate", "box", "page_image_url"]

    def get_page_image_url(self, obj) -> str | None:
        if obj.page_id is None or obj.document_id is None:
            return None
        return reverse("document-page-image", args=[obj.document_id, obj.page_number])
