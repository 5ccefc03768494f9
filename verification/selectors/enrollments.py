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
