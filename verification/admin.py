from django.contrib import admin

from verification.models import (
    AuditEvent,
    Customer,
    Enrollment,
    Job,
    ModelVersion,
    ReferenceSignature,
    Review,
    SigningToken,
    Verification,
    VerificationDynamics,
)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["id", "external_ref", "name", "status", "consent_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["external_ref", "name"]


@admin.register(ReferenceSignature)
class ReferenceAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "source", "status", "approval", "model_version", "created_at"]
    list_filter = ["status", "approval", "source"]
    exclude = ["image", "preview_png"]


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "status", "model_version", "threshold", "created_at", "activated_at"]
    list_filter = ["status"]
    filter_horizontal = ["references"]


class VerificationDynamicsInline(admin.StackedInline):
    """Which path decided (image, online, fused) and the replay check."""

    model = VerificationDynamics
    fields = readonly_fields = ["decision_path", "pad_references", "image_score", "online_score", "replay", "replay_distance"]
    can_delete = False
    extra = 0


@admin.register(Verification)
class VerificationAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "status", "decision", "score", "threshold", "channel", "model_version", "created_at"]
    list_filter = ["status", "decision", "channel", "dynamics__decision_path", "dynamics__replay"]
    exclude = ["query_image", "preview_png"]
    inlines = [VerificationDynamicsInline]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["id", "verification", "analyst", "verdict", "created_at"]
    list_filter = ["verdict"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress", "attempts", "queue", "created_at", "finished_at"]
    list_filter = ["kind", "status"]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "is_active", "threshold", "embedding_dim", "created_at"]


@admin.register(SigningToken)
class SigningTokenAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "prefix", "purpose", "expires_at", "consumed_at", "revoked_at", "last_used_at"]
    exclude = ["digest"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: audit rows are append-only everywhere, the admin included."""

    list_display = ["id", "action", "actor_username", "customer_external_ref", "created_at"]
    list_filter = ["action"]
    search_fields = ["action", "actor_username", "customer_external_ref"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
