"""Read-only queries. Every list takes the viewer's customer scope (None for back office)."""

from __future__ import annotations

import time

from django.db.models import Count, QuerySet

from verification.errors import not_found
from verification.filters import CustomerFilter, JobFilter, ReviewFilter, VerificationFilter
from verification.models import Customer, Job, ModelVersion, ReferenceSignature, Review, SigningToken, Verification


def filterset_validated(filterset) -> QuerySet:
    if not filterset.is_valid():
        from verification.errors import DomainError

        raise DomainError("invalid filter", code="invalid_filter", extra={"fields": filterset.errors.get_json_data()})
    return filterset.qs


def customer_list(*, filters: dict | None = None, scope: int | None = None) -> QuerySet:
    qs = Customer.objects.all()
    if scope is not None:
        qs = qs.filter(id=scope)
    return filterset_validated(CustomerFilter(filters or {}, qs))


def customer_get(*, customer_id, scope: int | None = None) -> Customer:
    try:
        customer_id = int(customer_id)
    except (TypeError, ValueError):
        raise not_found("customer") from None
    if scope is not None and scope != customer_id:
        raise not_found("customer")  # a token scoped to another customer sees nothing
    customer = Customer.objects.filter(id=customer_id).first()
    if customer is None:
        raise not_found("customer")
    return customer


def signing_token_list(*, customer: Customer) -> QuerySet:
    return SigningToken.objects.filter(customer=customer).order_by("-created_at")


def reference_list(*, customer: Customer) -> QuerySet:
    return ReferenceSignature.objects.filter(customer=customer).defer("image", "preview_png")


def reference_get(*, reference_id, scope: int | None = None) -> ReferenceSignature:
    qs = ReferenceSignature.objects.all()
    if scope is not None:
        qs = qs.filter(customer_id=scope)
    ref = qs.filter(id=reference_id).first() if str(reference_id).isdigit() else None
    if ref is None:
        raise not_found("reference")
    return ref


def _verifications() -> QuerySet:
    # explicit order: Meta.ordering is not applied to aggregated (GROUP BY) queries
    return (
        Verification.objects.defer("query_image", "preview_png")
        .select_related("dynamics")
        .annotate(_review_count=Count("reviews"))
        .order_by("-created_at", "-id")
    )


def verification_list(*, filters: dict | None = None, scope: int | None = None) -> QuerySet:
    qs = _verifications()
    if scope is not None:
        qs = qs.filter(customer_id=scope)
    return filterset_validated(VerificationFilter(filters or {}, qs))


def verification_list_flagged(*, filters: dict | None = None) -> QuerySet:
    qs = _verifications().filter(decision__in=[Verification.Decision.REJECT, Verification.Decision.REVIEW])
    return filterset_validated(VerificationFilter(filters or {}, qs))


def verification_get(*, verification_id, scope: int | None = None) -> Verification:
    qs = _verifications()
    if scope is not None:
        qs = qs.filter(customer_id=scope)
    v = qs.filter(id=verification_id).first() if str(verification_id).isdigit() else None
    if v is None:
        raise not_found("verification")
    return v


def verification_wait(*, verification: Verification, timeout: float, poll: float = 0.02) -> Verification:
    """Re-read until the verification is no longer pending or ``timeout`` seconds pass."""
    deadline = time.monotonic() + max(0.0, timeout)
    while True:
        current = verification_get(verification_id=verification.id)
        if current.status != Verification.Status.PENDING or time.monotonic() >= deadline:
            return current
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
        poll = min(poll * 1.5, 0.2)


def review_list(*, filters: dict | None = None, verification: Verification | None = None) -> QuerySet:
    qs = Review.objects.select_related("analyst")
    if verification is not None:
        qs = qs.filter(verification=verification)
    return filterset_validated(ReviewFilter(filters or {}, qs))


def job_list(*, filters: dict | None = None, scope: int | None = None) -> QuerySet:
    qs = Job.objects.all()
    if scope is not None:
        qs = qs.filter(customer_id=scope)
    return filterset_validated(JobFilter(filters or {}, qs))


def job_get(*, job_id, scope: int | None = None) -> Job:
    qs = Job.objects.all()
    if scope is not None:
        qs = qs.filter(customer_id=scope)
    try:
        job = qs.filter(id=str(job_id)).first()
    except Exception:  # not a UUID
        job = None
    if job is None:
        raise not_found("job")
    return job


def model_version_list() -> QuerySet:
    return ModelVersion.objects.all()


def model_version_get(*, model_version_id) -> ModelVersion:
    mv = ModelVersion.objects.filter(id=model_version_id).first() if str(model_version_id).isdigit() else None
    if mv is None:
        raise not_found("model version")
    return mv


def dashboard_snapshot(*, scope: int | None = None, limit: int = 20) -> dict:
    from verification.payloads import job_payload, verification_payload

    jobs = job_list(scope=scope)
    active = list(jobs.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING])[:limit])
    recent_jobs = list(jobs.exclude(status__in=[Job.Status.QUEUED, Job.Status.RUNNING])[:limit])
    verifications = list(verification_list(scope=scope)[:limit])
    snapshot = {
        "jobs": [job_payload(j) for j in active + recent_jobs],
        "verifications": [verification_payload(v) for v in verifications],
    }
    if scope is None:
        flagged = verification_list_flagged().filter(reviews__isnull=True)
        snapshot["counts"] = {
            "customers": Customer.objects.count(),
            "verifications": Verification.objects.count(),
            "flagged_unreviewed": flagged.count(),
            "active_jobs": len(active),
        }
    return snapshot
