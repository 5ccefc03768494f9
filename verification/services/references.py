"""References: a customer's sample signatures (create, approve or reject, embed).

A signing link may send references only when it may enroll (``signing_token_check_may_enroll``);
references it sends while the customer has an active enrollment wait for an admin's approval.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from verification import embeddings, vector_store
from verification.errors import DomainError
from verification.models import Customer, Job, ReferenceSignature, SigningToken
from verification.selectors.enrollments import enrollment_get_active, enrollment_open_to_links
from verification.services.audit import audit_record, audit_token_details
from verification.services.jobs import job_create, job_finishing, job_succeed
from verification.services.model_versions import active_engine
from verification.services.pad_dynamics import pad_sample_check, reference_dynamics_store
from verification.services.signatures import signature_check


def customer_require_active(customer: Customer) -> None:
    if customer.status != Customer.Status.ACTIVE:
        raise DomainError(f"customer {customer.external_ref} is {customer.status}", code="customer_inactive", status=409)


def signing_token_check_may_enroll(*, signing_token: SigningToken, customer: Customer) -> None:
    """Raise a 403 DomainError unless this signing link may send references and enroll now."""
    if signing_token.customer_id != customer.id:
        raise DomainError("customer not found", code="not_found", status=404)
    if signing_token.purpose != SigningToken.Purpose.ENROLL:
        raise DomainError(
            "this signing link can only verify signatures; enrolling needs an enrollment link from your bank",
            code="verify_only_link",
            status=403,
        )
    if signing_token.consumed_at is not None:
        raise DomainError("this enrollment link was already used; ask your bank for a new one", code="link_used", status=403)
    if not enrollment_open_to_links(customer=customer):
        raise DomainError(
            "this customer is already enrolled; only an admin can open a re-enrollment", code="enrollment_not_open", status=403
        )


def reference_create(
    *,
    customer: Customer,
    source: str,
    image: bytes | None = None,
    strokes: Any = None,
    created_by=None,
    signing_token: SigningToken | None = None,
) -> tuple[ReferenceSignature, Job]:
    """Check and store one reference signature, and queue its embedding.

    ``signing_token``: the customer's link that sent it (None: the back office or the
    system). A link's reference waits for approval when the customer is already enrolled.
    """
    customer_require_active(customer)
    if signing_token is not None:
        signing_token_check_may_enroll(signing_token=signing_token, customer=customer)
    if source not in ReferenceSignature.Source.values:
        raise DomainError(f"source must be one of {', '.join(ReferenceSignature.Source.values)}", code="invalid")
    _, engine = active_engine()
    checked = signature_check(engine=engine, image=image, strokes=strokes)
    warning = pad_sample_check(customer=customer, strokes=strokes, engine=engine) if strokes is not None else None
    quality = {**checked.quality, **({"pace_warning": warning} if warning else {})}
    needs_approval = signing_token is not None and enrollment_get_active(customer=customer) is not None
    approval = ReferenceSignature.Approval.PENDING if needs_approval else ReferenceSignature.Approval.APPROVED
    with transaction.atomic():
        ref = ReferenceSignature.objects.create(
            customer=customer,
            source=source,
            image=checked.image,
            image_content_type=checked.content_type,
            strokes=checked.strokes,
            preview_png=checked.preview_png,
            quality=quality,
            approval=approval,
            signing_token=signing_token,
        )
        audit_record(
            action="reference.create",
            actor=created_by,
            customer=customer,
            after={"reference": ref.id, "source": source, "approval": approval},
            details=audit_token_details(signing_token),
        )
        job = job_create(kind=Job.Kind.EMBED_REFERENCE, params={"reference_id": ref.id}, customer=customer, created_by=created_by)
    return ref, job


def _reference_decide(*, reference: ReferenceSignature, approval: str, decided_by, note: str = "") -> ReferenceSignature:
    with transaction.atomic():
        ref = ReferenceSignature.objects.select_for_update().select_related("customer").get(id=reference.id)
        if ref.approval != ReferenceSignature.Approval.PENDING:
            raise DomainError(f"reference {ref.id} is {ref.approval}, not waiting for approval", code="not_pending", status=409)
        if ref.status == ReferenceSignature.Status.ERASED:
            raise DomainError("reference was erased", code="erased", status=409)
        ref.approval = approval
        ref.save(update_fields=["approval", "updated_at"])
        verb = "approve" if approval == ReferenceSignature.Approval.APPROVED else "reject"
        audit_record(
            action=f"reference.{verb}",
            actor=decided_by,
            customer=ref.customer,
            before={"approval": ReferenceSignature.Approval.PENDING},
            after={"approval": approval},
            details={"reference": ref.id, **({"note": note} if note else {})},
        )
    return ref


def reference_approve(*, reference: ReferenceSignature, approved_by, note: str = "") -> ReferenceSignature:
    """An admin lets a reference that arrived after enrollment join later enrollments."""
    return _reference_decide(
        reference=reference, approval=ReferenceSignature.Approval.APPROVED, decided_by=approved_by, note=note
    )


def reference_reject(*, reference: ReferenceSignature, rejected_by, note: str = "") -> ReferenceSignature:
    """An admin keeps a reference that arrived after enrollment out of every enrollment."""
    return _reference_decide(
        reference=reference, approval=ReferenceSignature.Approval.REJECTED, decided_by=rejected_by, note=note
    )


def reference_source(ref: ReferenceSignature):
    return bytes(ref.image) if ref.image is not None else ref.strokes


def reference_embed(*, job: Job) -> None:
    ref = ReferenceSignature.objects.get(id=job.params["reference_id"])
    mv, engine = active_engine()
    if ref.status == ReferenceSignature.Status.ERASED:
        raise DomainError("reference was erased", code="erased", status=409)
    vector = embeddings.to_bytes(engine.embed([reference_source(ref)])[0])
    with job_finishing(job_id=job.id) as locked:
        if locked is None:
            return
        if (
            ReferenceSignature.objects.filter(id=ref.id)
            .exclude(status=ReferenceSignature.Status.ERASED)
            .update(model_version=mv.name, status=ReferenceSignature.Status.EMBEDDED)
        ):
            vector_store.reference_vector_put(reference_id=ref.id, model_version=mv.name, vector=vector)
            reference_dynamics_store(reference=ref, engine=engine)  # pad references: their online template
        job_succeed(job=locked, result={"reference_id": ref.id, "model_version": mv.name})


def reference_embed_failed(job: Job) -> None:
    ReferenceSignature.objects.filter(id=job.params.get("reference_id"), status=ReferenceSignature.Status.PENDING).update(
        status=ReferenceSignature.Status.FAILED
    )
