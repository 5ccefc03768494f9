"""The one audit service: every state change is recorded here (who, what, before/after, when).

Call ``audit_record`` inside the transaction that makes the change, so the change and its
audit row commit or roll back together. Rows are append-only (see ``AuditEvent``).
"""

from __future__ import annotations

from verification.models import AuditEvent, Customer


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def audit_record(
    *,
    action: str,
    actor=None,
    customer: Customer | None = None,
    before: dict | None = None,
    after: dict | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Append one audit row. ``action`` is ``<entity>.<verb>``, e.g. ``enrollment.revoke``.

    ``actor`` is the back-office user who acted (None: the system, or a customer's signing
    link, which callers name in ``details``); ``before``/``after`` hold the changed fields.
    """
    user = actor if getattr(actor, "is_authenticated", False) and getattr(actor, "pk", None) else None
    return AuditEvent.objects.create(
        action=action,
        actor=user,
        actor_username=user.get_username() if user is not None else "",
        customer_id_ref=customer.id if customer is not None else None,
        customer_external_ref=customer.external_ref if customer is not None else "",
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        details=_jsonable(details or {}),
    )


def audit_token_details(signing_token) -> dict:
    """How an audit row names a signing link that acted (never the token itself)."""
    if signing_token is None:
        return {}
    return {"signing_token": {"id": signing_token.id, "prefix": signing_token.prefix, "purpose": signing_token.purpose}}
