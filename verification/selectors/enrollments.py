from __future__ import annotations

from verification.models import Customer, Enrollment, ModelVersion, WriterParams
from verification.writer_store import writer_params_read


def enrollment_get_active(*, customer: Customer) -> Enrollment | None:
    return Enrollment.objects.filter(customer=customer, status=Enrollment.Status.ACTIVE).first()


def enrollment_get_latest(*, customer: Customer) -> Enrollment | None:
    return Enrollment.objects.filter(customer=customer).order_by("-created_at", "-id").first()


def enrollment_list(*, filters: dict | None = None):
    from verification.filters import EnrollmentFilter

    qs = Enrollment.objects.select_related("customer").prefetch_related("references")
    from verification.selectors.queries import filterset_validated

    return filterset_validated(EnrollmentFilter(filters or {}, qs))


def enrollment_open_to_links(*, customer: Customer) -> bool:
    """Who may enroll, in one place: an enroll link may start an enrollment only for a
    customer's first enrollment (none was ever active), or while an admin has opened a
    re-enrollment. Admins acting directly are not limited by this."""
    if Customer.objects.filter(id=customer.id, reenrollment_opened_at__isnull=False).exists():
        return True  # read from the database: the caller's customer object may be older
    return not Enrollment.objects.filter(customer=customer, activated_at__isnull=False).exists()


def reference_list_pending_approval(*, customer: Customer):
    from verification.models import ReferenceSignature

    return ReferenceSignature.objects.filter(customer=customer, approval=ReferenceSignature.Approval.PENDING).exclude(
        status=ReferenceSignature.Status.ERASED
    )


# Samples the signing page collects for an enrollment (never fewer than the service needs).
ENROLL_SAMPLES = 5


def enrollment_samples_needed() -> int:
    """How many references a signing link sends before its enrollment starts."""
    from django.conf import settings

    return max(ENROLL_SAMPLES, settings.SIGWEB_MIN_REFERENCES)


def link_reference_count(*, signing_token) -> int:
    """Samples this link has sent that an enrollment through it would use."""
    from verification.models import ReferenceSignature

    return (
        ReferenceSignature.objects.filter(customer_id=signing_token.customer_id, signing_token=signing_token)
        .exclude(status__in=[ReferenceSignature.Status.ERASED, ReferenceSignature.Status.FAILED])
        .exclude(approval=ReferenceSignature.Approval.REJECTED)
        .count()
    )


def link_may_enroll(*, signing_token) -> bool:
    """An unused enroll link, for a customer who may enroll through a link now."""
    from verification.models import SigningToken

    return (
        signing_token.purpose == SigningToken.Purpose.ENROLL
        and signing_token.consumed_at is None
        and enrollment_open_to_links(customer=signing_token.customer)
    )


def link_enrollment_ready(*, signing_token) -> bool:
    """Whether a signing link has sent all its samples and its enrollment should start now:
    the one rule behind the signing page's automatic enrollment (server and script alike)."""
    if signing_token is None or not link_may_enroll(signing_token=signing_token):
        return False
    return link_reference_count(signing_token=signing_token) >= enrollment_samples_needed()


def enrollment_writer_params(*, enrollment: Enrollment, model_version: str | None = None) -> tuple[str, dict | None]:
    """The model version a verification against ``enrollment`` uses, and its writer parameters.

    ``model_version`` None: the active version's parameters when the enrollment has them
    (a model switch fitted them), else the version it was fitted with. None parameters:
    erased, never fitted, or not fitted for the ``model_version`` asked for.
    """
    name = model_version or ModelVersion.objects.filter(is_active=True).values_list("name", flat=True).first()
    if name and name != enrollment.model_version:
        params = _writer_params_of(enrollment, name)
        if params is not None or model_version is not None:
            return name, params
    return enrollment.model_version, _writer_params_of(enrollment, enrollment.model_version)


def _writer_params_of(enrollment: Enrollment, model_version: str) -> dict | None:
    rows = WriterParams.objects.filter(enrollment=enrollment, model_version=model_version)
    return writer_params_read(rows).get(enrollment.id)


def enrollment_has_writer_params(*, enrollment: Enrollment) -> bool:
    """Whether the enrollment was fitted with the version it records (and not erased since)."""
    return WriterParams.objects.filter(enrollment=enrollment, model_version=enrollment.model_version).exists()
