"""The one audit service: every state change is recorded here (who, what, before/after, when).

Call ``audit_record`` inside the transaction that makes the change, so the change and its
audit row commit or roll back together.
"""

from __future__ import annotations

from verification.models import AuditEvent, Customer


def audit_record(
    *,
    action: str,
    actor=None,
    customer: Customer | None = None,
    before: dict | None = None,
    after: dict | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Append one audit row. ``action`` is ``<entity>.<verb>``, e.g. ``enrollment.revoke``."""
    payload = dict(details or {})
    if before is not None:
        payload["before"] = before
    if after is not None:
        payload["after"] = after
    return AuditEvent.objects.create(
        action=action,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        customer_id_ref=customer.id if customer is not None else None,
        customer_external_ref=customer.external_ref if customer is not None else "",
        details=payload,
    )
