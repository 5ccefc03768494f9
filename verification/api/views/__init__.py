"""REST API views, one module per resource (``urls.py`` names them through this package)."""

from verification.api.views.audit import AuditEventExportApi, AuditEventListApi
from verification.api.views.auth import MeApi, TokenObtainApi
from verification.api.views.base import api_not_found, paginated
from verification.api.views.customers import (
    CustomerDetailApi,
    CustomerEraseApi,
    CustomerListApi,
    ReenrollmentApi,
    SigningTokenApi,
)
from verification.api.views.documents import CandidateCropApi, DocumentDetailApi, DocumentListApi, DocumentPageImageApi
from verification.api.views.identifications import (
    IdentificationDetailApi,
    IdentificationListApi,
    IdentificationPreviewApi,
)
from verification.api.views.jobs import JobDetailApi, JobListApi
from verification.api.views.model_versions import ModelTrainApi, ModelVersionActivateApi, ModelVersionListApi
from verification.api.views.references import (
    EnrollmentApi,
    EnrollmentListApi,
    EnrollmentRevokeApi,
    ReferenceApprovalApi,
    ReferenceListApi,
    ReferencePreviewApi,
)
from verification.api.views.verifications import (
    ReviewListApi,
    VerificationDetailApi,
    VerificationFlaggedApi,
    VerificationListApi,
    VerificationPreviewApi,
    VerificationReviewApi,
    _wait_seconds,
)

__all__ = [
    "AuditEventExportApi",
    "AuditEventListApi",
    "CandidateCropApi",
    "CustomerDetailApi",
    "CustomerEraseApi",
    "CustomerListApi",
    "DocumentDetailApi",
    "DocumentListApi",
    "DocumentPageImageApi",
    "EnrollmentApi",
    "EnrollmentListApi",
    "EnrollmentRevokeApi",
    "IdentificationDetailApi",
    "IdentificationListApi",
    "IdentificationPreviewApi",
    "JobDetailApi",
    "JobListApi",
    "MeApi",
    "ModelTrainApi",
    "ModelVersionActivateApi",
    "ModelVersionListApi",
    "ReenrollmentApi",
    "ReferenceApprovalApi",
    "ReferenceListApi",
    "ReferencePreviewApi",
    "ReviewListApi",
    "SigningTokenApi",
    "TokenObtainApi",
    "VerificationDetailApi",
    "VerificationFlaggedApi",
    "VerificationListApi",
    "VerificationPreviewApi",
    "VerificationReviewApi",
    "_wait_seconds",
    "api_not_found",
    "paginated",
]
