"""Customers: create, update, delete (audited), erase biometric data (audit kept), signing tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from verification import vector_store
from verification.errors import DomainError
from verification.models import (
    AuditEvent,
    Customer,
    Enrollment,
    ReferenceDynamics,
    ReferenceSignature,
    SigningToken,
    Verification,
    WriterParams,
)
from verification.services.audit import audit_record
from verification.services.documents import documents_erase_for_customer


def _audit(*, action: str, customer: Customer, actor=None, details: dict | None = None, before=None, after=None) -> AuditEvent:
    return audit_record(action=action, customer=customer, actor=actor, details=details, before=before, after=after)


def customer_create(*, external_ref: str, name: str, consent_at=None, created_by=None) -> Customer:
    external_ref = (external_ref or "").strip()
    if not external_ref or not (name or "").strip():
        raise DomainError("external_ref and name are required", code="invalid")
    try:
        with transaction.atomic():
            customer = Customer.objects.create(external_ref=external_ref, name=name.strip(), consent_at=consent_at)
            _audit(
                action="customer.create",
                customer=customer,
                actor=created_by,
                after={"external_ref": external_ref, "name": customer.name, "status": customer.status},
            )
    except IntegrityError:
        raise DomainError(f"a customer with external_ref {external_ref!r} exists", code="duplicate", status=409) from None
    return customer


def customer_update(*, customer: Customer, updated_by=None, **fields) -> Customer:
    allowed = {"name", "consent_at", "status"}
    unknown = set(fields) - allowed
    if unknown:
        raise DomainError(f"cannot change {', '.join(sorted(unknown))}", code="invalid")
    if customer.status == Customer.Status.ERASED and fields.get("status") not in (None, Customer.Status.ERASED):
        raise DomainError(
            "an erased customer cannot be reactivated; create a new enrollment for a new customer", code="erased", status=409
        )
    if fields.get("status") == Customer.Status.ERASED:
        raise DomainError("use the erase action to erase biometric data", code="invalid")
    with transaction.atomic():
        before = {key: getattr(customer, key) for key in fields}
        for key, value in fields.items():
            setattr(customer, key, value)
        customer.save()
        _audit(
            action="customer.update",
            customer=customer,
            actor=updated_by,
            details={"fields": sorted(fields)},
            before=before,
            after={key: getattr(customer, key) for key in fields},
        )
    return customer


def customer_delete(*, customer: Customer, deleted_by=None) -> None:
    """Delete a customer and everything of it; an audit event records that it existed."""
    with transaction.atomic():
        _audit(
            action="customer.delete",
            customer=customer,
            actor=deleted_by,
            details={"verifications": customer.verifications.count(), "references": customer.references.count()},
        )
        customer.delete()


def customer_erase_biometrics(*, customer: Customer, erased_by=None, reason: str = "") -> dict:
    """Erase every signature, stroke set, preview and embedding of a customer.

    Kept for the audit trail: the customer row (status ``erased``), verification outcomes
    (score, decision, model version, timings), reviews and an ``AuditEvent``.
    """
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(id=customer.id)
        now = timezone.now()
        vector_store.customer_vectors_erase(customer=customer)
        WriterParams.objects.filter(enrollment__customer=customer).delete()
        refs = ReferenceSignature.objects.filter(customer=customer).exclude(status=ReferenceSignature.Status.ERASED)
        n_refs = refs.update(
            image=None,
            strokes=None,
            preview_png=None,
            quality={},
            status=ReferenceSignature.Status.ERASED,
            erased_at=now,
        )
        ReferenceDynamics.objects.filter(reference__customer=customer).delete()  # pen-dynamics templates too
        n_ver = Verification.objects.filter(customer=customer, erased_at__isnull=True).update(
            query_image=None, query_strokes=None, preview_png=None, quality={}, erased_at=now
        )
        Verification.objects.filter(customer=customer, status=Verification.Status.PENDING).update(
            status=Verification.Status.FAILED, error="erased before scoring"
        )
        n_enr = 0
        for enrollment in Enrollment.objects.filter(customer=customer):
            if enrollment.status not in (Enrollment.Status.REVOKED, Enrollment.Status.SUPERSEDED, Enrollment.Status.FAILED):
                enrollment.status = Enrollment.Status.REVOKED
                enrollment.revoked_at = now
            enrollment.history = [
                *enrollment.history,
                {"at": now.isoformat(), "status": enrollment.status, "note": "biometric data erased"},
            ]
            enrollment.save(update_fields=["status", "revoked_at", "history", "updated_at"])
            n_enr += 1
        SigningToken.objects.filter(customer=customer, revoked_at__isnull=True).update(revoked_at=now)
        customer.status = Customer.Status.ERASED
        customer.erased_at = now
        customer.save(update_fields=["status", "erased_at", "updated_at"])
        n_docs = documents_erase_for_customer(customer=customer, erased_by=erased_by, reason=reason)
        summary = {"references": n_refs, "verifications": n_ver, "enrollments": n_enr, "documents": n_docs, "reason": reason}
        _audit(action="customer.erase_biometrics", customer=customer, actor=erased_by, details=summary)
    return summary


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def signing_token_create(
    *, customer: Customer, created_by=None, ttl_hours: int | None = None, purpose: str | None = None
) -> tuple[SigningToken, str]:
    """A new signing token for ``customer``; the raw token is returned once and never stored.

    ``purpose``: ``enroll`` (single use, ``SIGWEB_ENROLL_TOKEN_TTL_HOURS``) or ``verify``
    (``SIGWEB_SIGNING_TOKEN_TTL_HOURS``). None picks ``enroll`` while an enroll link could
    enroll this customer (first enrollment, or an open re-enrollment), else ``verify``.
    """
    from verification.selectors.enrollments import enrollment_open_to_links

    if customer.status != Customer.Status.ACTIVE:
        raise DomainError(f"customer {customer.external_ref} is {customer.status}", code="customer_inactive", status=409)
    if purpose is None:
        purpose = SigningToken.Purpose.ENROLL if enrollment_open_to_links(customer=customer) else SigningToken.Purpose.VERIFY
    if purpose not in SigningToken.Purpose.values:
        raise DomainError(f"purpose must be one of {', '.join(SigningToken.Purpose.values)}", code="invalid")
    if ttl_hours is None:
        hours = (
            settings.SIGWEB_ENROLL_TOKEN_TTL_HOURS
            if purpose == SigningToken.Purpose.ENROLL
            else settings.SIGWEB_SIGNING_TOKEN_TTL_HOURS
        )
    else:
        hours = int(ttl_hours)
    if not 0 < hours <= 24 * 365:
        raise DomainError("ttl_hours must be between 1 and 8760", code="invalid")
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = SigningToken.objects.create(
            customer=customer,
            digest=_digest(raw),
            prefix=raw[:8],
            created_by=created_by,
            purpose=purpose,
            expires_at=timezone.now() + timedelta(hours=hours),
        )
        audit_record(
            action="signing_token.create",
            actor=created_by,
            customer=customer,
            after={"signing_token": token.id, "prefix": token.prefix, "purpose": purpose, "expires_at": token.expires_at},
        )
    return token, raw


def signing_token_authenticate(*, raw: str) -> SigningToken | None:
    """The live token for ``raw`` (not expired, not revoked, customer active), else None."""
    if not raw or len(raw) > 200:
        return None
    token = SigningToken.objects.select_related("customer").filter(digest=_digest(raw)).first()
    now = timezone.now()
    if (
        token is None
        or token.revoked_at is not None
        or token.expires_at <= now
        or token.customer.status != Customer.Status.ACTIVE
    ):
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        SigningToken.objects.filter(id=token.id).update(last_used_at=now)
    return token


def signing_token_revoke(*, token: SigningToken, revoked_by=None) -> None:
    with transaction.atomic():
        now = timezone.now()
        if SigningToken.objects.filter(id=token.id, revoked_at__isnull=True).update(revoked_at=now):
            audit_record(
                action="signing_token.revoke",
                actor=revoked_by,
                customer=token.customer,
                before={"revoked_at": None},
                after={"revoked_at": now},
                details={"signing_tokens": [token.id]},
            )


def signing_token_revoke_all(*, customer: Customer, revoked_by=None) -> int:
    """Revoke every live signing token of a customer; returns how many were revoked."""
    with transaction.atomic():
        now = timezone.now()
        live = SigningToken.objects.select_for_update().filter(customer=customer, revoked_at__isnull=True)
        ids = list(live.values_list("id", flat=True))
        n = SigningToken.objects.filter(id__in=ids).update(revoked_at=now)
        if n:
            audit_record(
                action="signing_token.revoke",
                actor=revoked_by,
                customer=customer,
                before={"revoked_at": None},
                after={"revoked_at": now},
                details={"signing_tokens": ids},
            )
    return n
