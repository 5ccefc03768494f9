"""A customer's own decision threshold: set or clear it on the active enrollment (audited)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from verification.errors import DomainError
from verification.models import Enrollment
from verification.services.audit import audit_record


def enrollment_threshold_set(*, enrollment: Enrollment, threshold: float | None, changed_by=None) -> Enrollment:
    """Override the model's threshold for one enrollment; ``None`` goes back to the model's."""
    if threshold is not None:
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise DomainError("threshold must be a number between 0 and 1", code="invalid") from None
        if not 0.0 <= threshold <= 1.0:
            raise DomainError("threshold must be between 0 and 1", code="invalid")
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().select_related("customer").get(id=enrollment.id)
        if enrollment.status != Enrollment.Status.ACTIVE:
            raise DomainError(f"enrollment is {enrollment.status}, not active", code="enrollment_closed", status=409)
        previous = enrollment.threshold
        enrollment.threshold = threshold
        note = f"threshold {previous if previous is not None else 'model'} -> {threshold if threshold is not None else 'model'}"
        enrollment.history = [*enrollment.history, {"at": timezone.now().isoformat(), "status": enrollment.status, "note": note}]
        enrollment.save(update_fields=["threshold", "history", "updated_at"])
        audit_record(
            action="enrollment.threshold",
            actor=changed_by,
            customer=enrollment.customer,
            before={"threshold": previous},
            after={"threshold": threshold},
            details={"enrollment": enrollment.id, "from": previous, "to": threshold},
        )
    return enrollment
