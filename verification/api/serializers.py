"""Output serializers (small, logic-free); the shared signature input is in ``api/inputs.py``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from verification.decisions import pad_operating_points
from verification.models import AuditEvent, Customer, Enrollment, Job, ModelVersion, ReferenceSignature, Review, Verification
from verification.payloads import (
    CUSTOMER_ENROLLMENT_FIELDS,
    CUSTOMER_JOB_FIELDS,
    CUSTOMER_VERIFICATION_FIELDS,
    customer_job_result,
)


class CustomerOutput(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = [
            "id",
            "external_ref",
            "name",
            "status",
            "consent_at",
            "erased_at",
            "reenrollment_opened_at",
            "created_at",
            "updated_at",
        ]


class ReferenceOutput(serializers.ModelSerializer):
    has_image = serializers.SerializerMethodField()
    has_strokes = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()

    class Meta:
        model = ReferenceSignature
        fields = [
            "id",
            "customer",
            "source",
            "status",
            "approval",
            "quality",
            "model_version",
            "has_image",
            "has_strokes",
            "preview_url",
            "created_at",
            "erased_at",
        ]

    def get_has_image(self, obj) -> bool:
        return obj.image_content_type != "" and obj.status != ReferenceSignature.Status.ERASED

    def get_has_strokes(self, obj) -> bool:
        return obj.strokes is not None

    def get_preview_url(self, obj) -> str | None:
        return None if obj.status == ReferenceSignature.Status.ERASED else f"/api/references/{obj.id}/preview.png"


class JobOutput(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "progress",
            "message",
            "params",
            "result",
            "error",
            "queue",
            "attempts",
            "customer",
            "created_at",
            "started_at",
            "finished_at",
        ]


class EnrollmentOutput(serializers.ModelSerializer):
    references = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    duplicates = serializers.ListField(source="duplicates.values", read_only=True, help_text="Other customers it matches")

    class Meta:
        model = Enrollment
        fields = [
            "id",
            "customer",
            "status",
            "model_version",
            "threshold",
            "references",
            "history",
            "error",
            "created_at",
            "activated_at",
            "revoked_at",
            "duplicates",
        ]


class ReviewOutput(serializers.ModelSerializer):
    analyst = serializers.CharField(source="analyst.username", default=None, read_only=True)

    class Meta:
        model = Review
        fields = ["id", "verification", "analyst", "verdict", "note", "created_at", "corrected_at"]


class VerificationOutput(serializers.ModelSerializer):
    flagged = serializers.BooleanField(read_only=True)
    decision_path = serializers.CharField(source="dynamics.decision_path", default=None, read_only=True)
    replay = serializers.BooleanField(source="dynamics.replay", default=False, read_only=True)
    reviewed = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()

    class Meta:
        model = Verification
        fields = [
            "id",
            "customer",
            "enrollment",
            "job",
            "status",
            "decision",
            "flagged",
            "reviewed",
            "decision_path",
            "replay",
            "score",
            "threshold",
            "similarities",
            "model_version",
            "timings",
            "quality",
            "source",
            "channel",
            "error",
            "preview_url",
            "created_at",
            "completed_at",
            "erased_at",
        ]

    def get_reviewed(self, obj) -> bool:
        count = getattr(obj, "_review_count", None)
        return bool(count) if count is not None else obj.reviews.exists()

    def get_preview_url(self, obj) -> str | None:
        return None if obj.erased_at else f"/api/verifications/{obj.id}/preview.png"


class VerificationCreatedOutput(serializers.Serializer):
    verification = VerificationOutput()
    job = JobOutput()


# What a customer (signing token) is shown: its decision and nothing else (verification.payloads).


class CustomerVerificationOutput(VerificationOutput):
    class Meta(VerificationOutput.Meta):
        fields = [*CUSTOMER_VERIFICATION_FIELDS, "preview_url"]


class CustomerJobOutput(JobOutput):
    result = serializers.SerializerMethodField()

    class Meta(JobOutput.Meta):
        fields = [*CUSTOMER_JOB_FIELDS, "result"]

    def get_result(self, obj) -> dict | None:
        return customer_job_result(obj.result)


class CustomerEnrollmentOutput(EnrollmentOutput):
    class Meta(EnrollmentOutput.Meta):
        fields = list(CUSTOMER_ENROLLMENT_FIELDS)


class ModelVersionOutput(serializers.ModelSerializer):
    thresholds = serializers.DictField(
        source="ordered_thresholds",
        child=serializers.FloatField(),
        read_only=True,
        help_text="The operating point per reference-count bucket ('1', '2-4', '5-9', '10+'): an enrollment "
        "with that many references is decided at it, unless an admin set the customer's own threshold",
    )

    pad_thresholds = serializers.SerializerMethodField(
        help_text="The pad decision's operating points per reference-count bucket ('2-4', '5-9', '10+') for the "
        "fused and online scores (verification.decisions.pad_operating_points)"
    )

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "name",
            "checkpoint_path",
            "preprocess_version",
            "embedding_dim",
            "threshold",
            "thresholds",
            "pad_thresholds",
            "metrics",
            "is_active",
            "activated_at",
            "created_at",
        ]

    @extend_schema_field(serializers.DictField(child=serializers.DictField(child=serializers.FloatField())))
    def get_pad_thresholds(self, obj) -> dict:
        return pad_operating_points(model_version=obj.name)


class AuditEventOutput(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "action",
            "actor",
            "actor_username",
            "customer_id_ref",
            "customer_external_ref",
            "before",
            "after",
            "details",
            "created_at",
        ]


class ReferenceCreatedOutput(serializers.Serializer):
    """``POST .../references/``: the reference, its embedding job, and whether the caller's
    signing link has now sent all its samples (the signing page then starts the enrollment)."""

    reference = ReferenceOutput()
    job = JobOutput()
    enrollment_ready = serializers.BooleanField()
    warning = serializers.CharField(allow_null=True, help_text="A pace warning for the signing page, or null")

    class Meta:
        ref_name = "ReferenceCreated"


class MeOutput(serializers.Serializer):
    """``GET /api/me/``: who is asking."""

    role = serializers.CharField()
    username = serializers.CharField(allow_null=True)
    customer = serializers.IntegerField(allow_null=True)

    class Meta:
        ref_name = "Me"


class SigningTokenCreatedOutput(serializers.Serializer):
    """A new signing link; ``token`` is shown once."""

    token = serializers.CharField()
    prefix = serializers.CharField()
    purpose = serializers.CharField()
    expires_at = serializers.DateTimeField()
    customer = serializers.IntegerField()

    class Meta:
        ref_name = "SigningTokenCreated"


class ReenrollmentOpenedOutput(serializers.Serializer):
    customer = CustomerOutput()
    reenrollment_opened_at = serializers.DateTimeField()

    class Meta:
        ref_name = "ReenrollmentOpened"
