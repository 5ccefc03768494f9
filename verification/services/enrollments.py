"""Enrollment: fit the writer from embedded references, go active, revoke, re-enroll.

Enrollment is an admin-controlled act. A customer's signing link (``signing_token``)
may send references and start an enrollment only if it is an unused ``enroll`` link and
``enrollment_open_to_links`` says so (first enrollment, or a re-enrollment an admin
opened); starting the enrollment consumes the link. References a link sends while the
customer has an active enrollment wait for an admin's approval, and an admin's enrollment
("Retrain") uses approved references only. Every state change here is audited.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from verification import embeddings, ml_engine, vector_store, writer_store
from verification.errors import DomainError
from verification.models import Customer, Enrollment, Job, ReferenceSignature, SigningToken
from verification.selectors.enrollments import link_enrollment_ready
from verification.services.audit import audit_record, audit_token_details
from verification.services.identifications import enrollment_duplicates_find, enrollment_duplicates_record
from verification.services.jobs import job_create, job_finishing, job_progress, job_succeed
from verification.services.model_versions import active_engine
from verification.services.pad_dynamics import enrollment_online_warm
from verification.services.references import customer_require_active, reference_source, signing_token_check_may_enroll


def reenrollment_open(*, customer: Customer, opened_by, note: str = "") -> Customer:
    """An admin allows one more enrollment through an enroll link (closed when it starts)."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(id=customer.id)
        customer_require_active(customer)
        if customer.reenrollment_opened_at is not None:
            raise DomainError("a re-enrollment is already open for this customer", code="already_open", status=409)
        customer.reenrollment_opened_at = timezone.now()
        customer.save(update_fields=["reenrollment_opened_at", "updated_at"])
        audit_record(
            action="enrollment.reenrollment_open",
            actor=opened_by,
            customer=customer,
            before={"reenrollment_opened_at": None},
            after={"reenrollment_opened_at": customer.reenrollment_opened_at},
            details={"note": note} if note else None,
        )
    return customer


def _history(enrollment: Enrollment, status: str, note: str = "") -> list:
    return [*enrollment.history, {"at": timezone.now().isoformat(), "status": status, "note": note}]


def _consistency_or_refuse(
    *, engine, refs: list[ReferenceSignature], vectors: list[bytes], when: str, via_link: bool = False
) -> dict:
    """Ask the engine whether the references come from one writer; refuse (422) if not.

    The refusal names the references that differ from the others, not the engine's score
    (a customer's link must not learn how close a set came to passing).
    """
    result = ml_engine.reference_consistency(engine, embeddings.stack(vectors))
    if not result["consistent"]:
        outliers = [refs[i].id for i in result["outliers"] if 0 <= i < len(refs)]
        raise DomainError(
            f"these {len(refs)} reference signatures do not look like one person's signature"
            + (f"; {len(outliers)} of them differ from the others" if outliers else "")
            + (". Please ask your bank for a new enrollment link." if via_link else ". Choose other references (reference_ids)."),
            code="inconsistent_references",
            status=422,
            extra={"outlier_references": outliers, "when": when},
        )
    return result


def enrollment_start(
    *,
    customer: Customer,
    reference_ids: list[int] | None = None,
    threshold: float | None = None,
    created_by=None,
    signing_token: SigningToken | None = None,
) -> tuple[Enrollment, Job]:
    """Enroll a customer from its references (all usable ones unless ``reference_ids`` is given).

    Back office (``signing_token`` None): approved references only. Through an enroll link:
    the references that link sent, and the link is consumed. The engine's consistency check
    runs here when every reference is already embedded with the active model (422 if the
    set does not look like one writer), otherwise in the enroll job.
    """
    customer_require_active(customer)
    if threshold is not None and not (0.0 <= float(threshold) <= 1.0):
        raise DomainError("threshold must be between 0 and 1", code="invalid")
    refs = ReferenceSignature.objects.filter(customer=customer).exclude(
        status__in=[ReferenceSignature.Status.ERASED, ReferenceSignature.Status.FAILED]
    )
    if signing_token is not None:
        signing_token_check_may_enroll(signing_token=signing_token, customer=customer)
        if threshold is not None:
            raise DomainError("only an admin can set a per-enrollment threshold", code="permission_denied", status=403)
        refs = refs.filter(signing_token=signing_token).exclude(approval=ReferenceSignature.Approval.REJECTED)
    else:
        refs = refs.filter(approval=ReferenceSignature.Approval.APPROVED)
    if reference_ids is not None:
        wanted = set(int(r) for r in reference_ids)
        refs = refs.filter(id__in=wanted)
        if refs.count() != len(wanted):
            raise DomainError(
                "some reference ids are not usable (approved) references of this customer", code="invalid_references"
            )
    refs = list(refs.order_by("id"))
    if len(refs) < settings.SIGWEB_MIN_REFERENCES:
        raise DomainError(
            f"enrollment needs at least {settings.SIGWEB_MIN_REFERENCES} usable reference signatures; there are {len(refs)}",
            code="too_few_references",
            status=409,
        )
    mv, engine = active_engine()
    consistency = None
    stored = vector_store.reference_vectors(reference_ids=[r.id for r in refs], model_version=mv.name)
    if len(stored) == len(refs):
        consistency = _consistency_or_refuse(
            engine=engine, refs=refs, vectors=[stored[r.id] for r in refs], when="start", via_link=signing_token is not None
        )
    with transaction.atomic():
        if signing_token is not None:
            now = timezone.now()
            used = SigningToken.objects.filter(id=signing_token.id, consumed_at__isnull=True).update(consumed_at=now)
            if not used:
                raise DomainError(
                    "this enrollment link was already used; ask your bank for a new one", code="link_used", status=403
                )
            reenrollment_closed = Customer.objects.filter(id=customer.id, reenrollment_opened_at__isnull=False).update(
                reenrollment_opened_at=None
            )
        enrollment = Enrollment.objects.create(customer=customer, threshold=threshold, created_by=created_by, history=[])
        enrollment.history = _history(enrollment, Enrollment.Status.PENDING, f"{len(refs)} references")
        enrollment.save(update_fields=["history"])
        enrollment.references.set(refs)
        audit_record(
            action="enrollment.start",
            actor=created_by,
            customer=customer,
            after={
                "enrollment": enrollment.id,
                "status": enrollment.status,
                "references": [r.id for r in refs],
                "threshold": threshold,
            },
            details={
                **audit_token_details(signing_token),
                **({"consistency": consistency} if consistency is not None else {}),
                **({"reenrollment_closed": True} if signing_token is not None and reenrollment_closed else {}),
            },
        )
        job = job_create(kind=Job.Kind.ENROLL, params={"enrollment_id": enrollment.id}, customer=customer, created_by=created_by)
    return enrollment, job


def enrollment_fit(*, job: Job) -> None:
    enrollment = Enrollment.objects.select_related("customer").get(id=job.params["enrollment_id"])
    if enrollment.status in (Enrollment.Status.REVOKED, Enrollment.Status.SUPERSEDED):
        raise DomainError(f"enrollment was {enrollment.status} before it was fitted", code="enrollment_closed", status=409)
    Enrollment.objects.filter(id=enrollment.id).update(status=Enrollment.Status.TRAINING)
    mv, engine = active_engine()
    refs = list(enrollment.references.exclude(status=ReferenceSignature.Status.ERASED).order_by("id"))
    vectors = vector_store.reference_vectors(reference_ids=[r.id for r in refs], model_version=mv.name)
    for i, ref in enumerate(refs):
        if ref.id not in vectors:
            vectors[ref.id] = embeddings.to_bytes(engine.embed([reference_source(ref)])[0])
        job_progress(job=job, fraction=0.8 * (i + 1) / len(refs), message=f"embedded {i + 1}/{len(refs)} references")
    via_link = any(r.signing_token_id is not None for r in refs)
    consistency = _consistency_or_refuse(
        engine=engine, refs=refs, vectors=[vectors[r.id] for r in refs], when="fit", via_link=via_link
    )
    writer_params = engine.fit_writer(embeddings.stack([vectors[r.id] for r in refs]))
    duplicates = enrollment_duplicates_find(
        enrollment=enrollment, mv=mv, engine=engine, vectors=[vectors[r.id] for r in refs], references=refs
    )
    with job_finishing(job_id=job.id) as locked:
        if locked is None:
            return
        enrollment = Enrollment.objects.select_for_update().get(id=enrollment.id)
        if enrollment.status in (Enrollment.Status.REVOKED, Enrollment.Status.SUPERSEDED):
            raise DomainError(f"enrollment was {enrollment.status} while it was fitted", code="enrollment_closed", status=409)
        for ref in refs:
            ReferenceSignature.objects.filter(id=ref.id).exclude(status=ReferenceSignature.Status.ERASED).update(
                model_version=mv.name, status=ReferenceSignature.Status.EMBEDDED
            )
            vector_store.reference_vector_put(reference_id=ref.id, model_version=mv.name, vector=vectors[ref.id])
        now = timezone.now()
        before_status = enrollment.status
        superseded = []
        for previous in Enrollment.objects.select_for_update().filter(
            customer_id=enrollment.customer_id, status=Enrollment.Status.ACTIVE
        ):
            previous.status = Enrollment.Status.SUPERSEDED
            previous.history = _history(previous, previous.status, f"superseded by enrollment {enrollment.id}")
            previous.save(update_fields=["status", "history", "updated_at"])
            vector_store.enrollment_vectors_remove(enrollment=previous)
            superseded.append(previous.id)
        enrollment.status = Enrollment.Status.ACTIVE
        enrollment.model_version = mv.name
        enrollment.activated_at = now
        enrollment.history = _history(enrollment, enrollment.status, f"fitted on {len(refs)} references with {mv.name}")
        enrollment.save(update_fields=["status", "model_version", "activated_at", "history", "updated_at"])
        enrollment_duplicates_record(enrollment=enrollment, duplicates=duplicates, model_version=mv.name)
        writer_store.writer_params_save(
            enrollment_id=enrollment.id, model_version=mv.name, reference_ids=[r.id for r in refs], params=writer_params
        )
        vector_store.enrollment_vectors_add(enrollment=enrollment, model_version=mv.name)
        audit_record(
            action="enrollment.activate",
            customer=enrollment.customer,
            before={"status": before_status},
            after={"status": enrollment.status, "model_version": mv.name},
            details={"enrollment": enrollment.id, "references": len(refs), "superseded": superseded, "consistency": consistency},
        )
        _threshold_carry(enrollment=enrollment)
        job_succeed(job=locked, result={"enrollment_id": enrollment.id, "references": len(refs), "model_version": mv.name})
    enrollment_online_warm(references=refs, engine=engine)


def _threshold_carry(*, enrollment: Enrollment) -> None:
    """A per-customer threshold survives revoke and re-enroll (same model version), audited."""
    if enrollment.threshold is not None:
        return
    previous = (
        Enrollment.objects.filter(customer_id=enrollment.customer_id, activated_at__isnull=False)
        .exclude(id=enrollment.id)
        .order_by("-activated_at", "-id")
        .first()
    )
    if previous is None or previous.threshold is None or previous.model_version != enrollment.model_version:
        return
    enrollment.threshold = previous.threshold
    enrollment.history = _history(
        enrollment, enrollment.status, f"threshold {previous.threshold} kept from enrollment {previous.id}"
    )
    enrollment.save(update_fields=["threshold", "history", "updated_at"])
    audit_record(
        action="enrollment.threshold_carry",
        customer=enrollment.customer,
        before={"threshold": None},
        after={"threshold": previous.threshold},
        details={"enrollment": enrollment.id, "from_enrollment": previous.id, "model_version": enrollment.model_version},
    )


def enrollment_fit_failed(job: Job) -> None:
    enrollment = Enrollment.objects.select_related("customer").filter(id=job.params.get("enrollment_id")).first()
    if enrollment and enrollment.status in (Enrollment.Status.PENDING, Enrollment.Status.TRAINING):
        before = enrollment.status
        enrollment.status = Enrollment.Status.FAILED
        enrollment.error = job.error
        enrollment.history = _history(enrollment, enrollment.status, job.error[:200])
        enrollment.save(update_fields=["status", "error", "history", "updated_at"])
        audit_record(
            action="enrollment.fail",
            customer=enrollment.customer,
            before={"status": before},
            after={"status": enrollment.status},
            details={"enrollment": enrollment.id, "error": job.error[:500]},
        )


def enrollment_revoke(*, enrollment: Enrollment, revoked_by=None, note: str = "") -> Enrollment:
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().select_related("customer").get(id=enrollment.id)
        if enrollment.status in (Enrollment.Status.REVOKED, Enrollment.Status.SUPERSEDED):
            raise DomainError(f"enrollment is already {enrollment.status}", code="enrollment_closed", status=409)
        before = enrollment.status
        enrollment.status = Enrollment.Status.REVOKED
        enrollment.revoked_at = timezone.now()
        enrollment.history = _history(
            enrollment, enrollment.status, note or (f"revoked by {revoked_by}" if revoked_by else "revoked")
        )
        enrollment.save(update_fields=["status", "revoked_at", "history", "updated_at"])
        if before == Enrollment.Status.ACTIVE:
            vector_store.enrollment_vectors_remove(enrollment=enrollment)
        audit_record(
            action="enrollment.revoke",
            actor=revoked_by,
            customer=enrollment.customer,
            before={"status": before},
            after={"status": enrollment.status},
            details={"enrollment": enrollment.id, **({"note": note} if note else {})},
        )
    return enrollment


def enrollment_start_when_ready(*, customer: Customer, signing_token: SigningToken) -> tuple[Enrollment, Job] | None:
    """Start the link's enrollment once it has sent all its samples (``link_enrollment_ready``);
    None while it has not. The one place that decides the signing page's automatic enrollment."""
    if not link_enrollment_ready(signing_token=signing_token):
        return None
    return enrollment_start(customer=customer, signing_token=signing_token)
