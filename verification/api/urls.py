from django.urls import path, re_path

from verification.api import views

urlpatterns = [
    path("auth/token/", views.TokenObtainApi.as_view(), name="api-token"),
    path("me/", views.MeApi.as_view(), name="me"),
    path("customers/", views.CustomerListApi.as_view(), name="customer-list"),
    path("customers/<int:customer_id>/", views.CustomerDetailApi.as_view(), name="customer-detail"),
    path("customers/<int:customer_id>/erase/", views.CustomerEraseApi.as_view(), name="customer-erase"),
    path("customers/<int:customer_id>/signing-tokens/", views.SigningTokenApi.as_view(), name="customer-signing-tokens"),
    path("customers/<int:customer_id>/references/", views.ReferenceListApi.as_view(), name="customer-references"),
    path("customers/<int:customer_id>/enrollment/", views.EnrollmentApi.as_view(), name="customer-enrollment"),
    path("customers/<int:customer_id>/enrollment/reenrollment/", views.ReenrollmentApi.as_view(), name="customer-reenrollment"),
    path(
        "customers/<int:customer_id>/enrollment/revoke/", views.EnrollmentRevokeApi.as_view(), name="customer-enrollment-revoke"
    ),
    path(
        "references/<int:reference_id>/approve/", views.ReferenceApprovalApi.as_view(decision="approve"), name="reference-approve"
    ),
    path("references/<int:reference_id>/reject/", views.ReferenceApprovalApi.as_view(decision="reject"), name="reference-reject"),
    path("references/<int:reference_id>/preview.png", views.ReferencePreviewApi.as_view(), name="reference-preview"),
    path("enrollments/", views.EnrollmentListApi.as_view(), name="enrollment-list"),
    path("verifications/", views.VerificationListApi.as_view(), name="verification-list"),
    path("verifications/flagged/", views.VerificationFlaggedApi.as_view(), name="verification-flagged"),
    path("verifications/<int:verification_id>/", views.VerificationDetailApi.as_view(), name="verification-detail"),
    path("verifications/<int:verification_id>/preview.png", views.VerificationPreviewApi.as_view(), name="verification-preview"),
    path("verifications/<int:verification_id>/reviews/", views.VerificationReviewApi.as_view(), name="verification-reviews"),
    path("identifications/", views.IdentificationListApi.as_view(), name="identification-list"),
    path("identifications/<int:identification_id>/", views.IdentificationDetailApi.as_view(), name="identification-detail"),
    path(
        "identifications/<int:identification_id>/preview.png",
        views.IdentificationPreviewApi.as_view(),
        name="identification-preview",
    ),
    path("documents/", views.DocumentListApi.as_view(), name="document-list"),
    path("documents/<int:document_id>/", views.DocumentDetailApi.as_view(), name="document-detail"),
    path(
        "documents/<int:document_id>/pages/<int:number>/image.jpg",
        views.DocumentPageImageApi.as_view(),
        name="document-page-image",
    ),
    path("documents/candidates/<int:candidate_id>/crop.png", views.CandidateCropApi.as_view(), name="candidate-crop"),
    path("reviews/", views.ReviewListApi.as_view(), name="review-list"),
    path("jobs/", views.JobListApi.as_view(), name="job-list"),
    path("jobs/<str:job_id>/", views.JobDetailApi.as_view(), name="job-detail"),
    path("model-versions/", views.ModelVersionListApi.as_view(), name="model-version-list"),
    path("model-versions/train/", views.ModelTrainApi.as_view(), name="model-version-train"),
    path(
        "model-versions/<int:model_version_id>/activate/", views.ModelVersionActivateApi.as_view(), name="model-version-activate"
    ),
    path("audit-events/", views.AuditEventListApi.as_view(), name="audit-event-list"),
    path("audit-events/export.csv", views.AuditEventExportApi.as_view(), name="audit-event-export"),
    # last: any other /api/ path is a JSON 404 (never Django's HTML page, even with DEBUG on)
    re_path(r"^.*$", views.api_not_found, name="api-not-found"),
]
