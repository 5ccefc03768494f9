from __future__ import annotations

from verification.models import Customer, Enrollment


def enrollment_get_active(*, customer: Customer) -> Enrollment | None:
    return Enrollment.objects.filter(customer=customer, status=Enrollment.Status.ACTIVE).first()


def enrollment_get_latest(*, customer: Customer) -> Enrollment | None:
    return Enrollment.objects.filter(customer=customer).order_by("-created_at", "-id").first()


def enrollment_list(*, filters: dict | None = None):
    from verification.filters import EnrollmentFilter

    qs = Enrollment.objects.select_related("customer").prefetch_related("references")
    from verification.selectors.queries import _validated

    return _validated(EnrollmentFilter(filters or {}, qs))
