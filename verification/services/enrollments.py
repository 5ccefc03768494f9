"""Reference signatures and enrollment: embed each reference, fit the writer, go active."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from verification import embeddings
from verification.errors import DomainError
from verification.models import Customer, Enrollment, Job, ReferenceSignature
from verification.services.jobs import job_create, job_delay_for_tests, job_finishing, job_progress, job_succeed
from verification.services.model_versions import active_engine
from verification.services.signatures import signature_check


def _require_active_customer(customer: Customer) -> None:
    if customer.status != Customer.Status.ACTIVE:
        raise DomainError(f"customer {customer.external_ref} is {customer.status}", code="customer_inactive", status=409)


def reference_create(
    *, customer: Customer, source: str, image: bytes | None = None, strokes: Any = None, created_by=None
) -> tuple[ReferenceSignature, Job]:
    """Check and store one reference signature, and queue its embedding."""
    _require_active_customer(customer)
    if source not in ReferenceSignature.Source.values:
        raise DomainError(f"source must be one of {', '.join(ReferenceSignature.Source.values)}", code="invalid")
    _, engine = active_engine()
    checked = signature_check(engine=engine, image=image, strokes=strokes)
    with transaction.atomic():
        ref = ReferenceSignature.objects.create(
            customer=customer,
            source=source,
            image=checked.image,
            image_content_type=checked.content_type,
            strokes=checked.strokes,
            preview_png=checked.preview_png,
            quality=checked.quality,
        )
        job = job_create(kind=Job.Kind.EMBED_REFERENCE, params={"reference_id": ref.id}, customer=customer, created_by=created_by)
    return ref, job


def _reference_source(ref: ReferenceSignature):
    return bytes(ref.image) if ref.image is not None else ref.strokes


def reference_embed(*, job: Job) -> None:
    ref = ReferenceSignature.objects.get(id=job.params["reference_id"])
    mv, engine = active_engine()
    job_delay_for_tests(job=job)
    if ref.status == ReferenceSignature.Status.ERASED:
        raise DomainError("reference was erased", code="erased", status=409)
    vector = embeddings.to_bytes(engine.embed([_reference_source(ref)])[0])
    with job_finishing(job_id=job.id) as locked:
        if locked is None:
            return
        ReferenceSignature.objects.filter(id=ref.id).exclude(status=ReferenceSignature.Status.ERASED).update(
            embedding=vector, model_version=mv.name, status=ReferenceSignature.Status.EMBEDDED
        )
        job_succeed(job=locked, result={"reference_id": ref.id, "model_version": mv.name})


def reference_embed_failed(job: Job) -> None:
    ReferenceSignature.objects.filter(id=job.params.get("reference_id"), status=ReferenceSignature.Status.PENDING).update(
        status=ReferenceSignature.Status.FAILED
    )


def _history(enrollment: Enrollment, status: str, note: str = "") -> list:
    return [*enrollment.history, {"at": timezone.now().isoformat(), "status": status, "note": note}]


def enrollment_start(
    *, customer: Customer, reference_ids: list[int] | None = None, threshold: float | None = None, created_by=None
) -> tuple[Enrollment, Job]:
    """Enroll a customer from its references (all usable ones unless ``reference_ids`` is given)."""
    _require_active_customer(customer)
    if threshold is not None and not (0.0 <= float(threshold) <= 1.0):
        raise DomainError("threshold must be between 0 and 1", code="invalid")
    refs = ReferenceSignature.objects.filter(customer=customer).exclude(
        status__in=[ReferenceSignature.Status.ERASED, ReferenceSignature.Status.FAILED]
    )
    if reference_ids is not None:
        wanted = set(int(r) for r in reference_ids)
        refs = refs.filter(id__in=wanted)
        if refs.count() != len(wanted):
            raise DomainError("some reference ids are not usable references of this customer", code="invalid_references")
    refs = list(refs)
    if len(refs) < settings.SIGWEB_MIN_REFERENCES:
        raise DomainError(
            f"enrollment needs at least {settings.SIGWEB_MIN_REFERENCES} reference signatures; this customer has {len(refs)}",
            code="too_few_references",
            status=409,
        )
    with transaction.atomic():
        enrollment = Enrollment.objects.create(
            customer=customer, threshold=threshold, created_by=created_by, history=[]
        )
        enrollment.history = _history(enrollment, Enrollment.Status.PENDING, f"{len(refs)} references")
        enrollment.save(update_fields=["history"])
        enrollment.references.set(refs)
        job = job_create(kind=Job.Kind.ENROLL, params={"enrollment_id": enrollment.id}, customer=customer, created_by=created_by)
    return enrollment, job


def enrollment_fit(*, job: Job) -> None:
    enrollment = Enrollment.objects.select_related("customer").get(id=job.params["enrollment_id"])
    if enrollment.status in (Enrollment.Status.REVOKED, Enrollment.Status.SUPERSEDED):
        raise DomainError(f"enrollment was {enrollment.status} before it was fitted", code="enrollment_closed", status=409)
    Enrollment.objects.filter(id=enrollment.id).update(status=Enrollment.Status.TRAINING)
    mv, engine = active_engine()
    job_delay_for_tests(job=job)
    refs = list(enrollment.references.exclude(status=ReferenceSignature.Status.ERASED).order_by("id"))
    vectors = {}
    for i, ref in enumerate(refs):
        if ref.embedding is not None and ref.model_version == mv.name:
            vectors[ref.id] = bytes(ref.embedding)
        else:
            vectors[ref.id] = embeddings.to_bytes(engine.embed([_reference_source(ref)])[0])
        job_progress(job=job, fraction=0.8 * (i + 1) / len(refs), message=f"embedded {i + 1}/{len(refs)} references")
    writer_params = engine.fit_writer(embeddings.stack([vectors[r.id] for r in refs]))
    with job_finishing(job_id=job.id) as locked:
        if locked is None:
            return
        enrollment = Enrollment.objects.select_for_update().get(id=enrollment.id)
        if enrollment.status in (Enrollment.Status.REVOKED, Enrollment.Status.SUPERSEDED):
            raise DomainError(f"enrollment was {enrollment.status} while it was fitted", code="enrollment_closed", status=409)
        for ref in refs:
            ReferenceSignature.objects.filter(id=ref.id).exclude(status=ReferenceSignature.Status.ERASED).update(
                embedding=vectors[ref.id], model_version=mv.name, status=ReferenceSignature.Status.EMBEDDED
            )
        now = timezone.now()
        for previous in Enrollment.objects.select_for_update().filter(customer_id=enrollment.customer_id, status=Enrollment.Status.ACTIVE):
            previous.status = Enrollment.Status.SUPERSEDED
            previous.history = _history(previous, previous.status, f"superseded by enrollment {enrollment.id}")
            previous.save(update_fields=["status", "history", "updated_at"])
        enrollment.status = Enrollment.Status.ACTIVE
        enrollment.writer_params = writer_params
        enrollment.model_version = mv.name
        enrollment.activated_at = now
        enrollment.history = _history(enrollment, enrollment.status, f"fitted on {len(refs)} references with {mv.name}")
        enrollment.save(update_fields=["status", "writer_params", "model_version", "activated_at", "history", "updated_at"])
        job_succeed(job=locked, result={"enrollment_id": enrollment.id, "references": len(refs), "model_version": mv.name})


def enrollment_fit_failed(job: Job) -> None:
    enrollment = Enrollment.objects.filter(id=job.params.get("enrollment_id")).first()
    if enrollment and enrollment.status in (Enrollment.Status.PENDING, Enrollment.Status.TRAINING):
        enrollment.status = Enrollment.Status.FAILED
        enrollment.error = job.error
        enrollment.history = _history(enrollment, enrollment.status, job.error[:200])
        enrollment.save(update_fields=["status", "error", "history", "updated_at"])


def enrollment_revoke(*, enrollment: Enrollment, revoked_by=None, note: str = "") -> Enrollment:
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().get(id=enrollment.id)
        if enrollment.status in (Enrollment.Status.REVOKED, Enrollment.Status.SUPERSEDED):
            raise DomainError(f"enrollment is already {enrollment.status}", code="enrollment_closed", status=409)
        enrollment.status = Enrollment.Status.REVOKED
        enrollment.revoked_at = timezone.now()
        enrollment.history = _history(enrollment, enrollment.status, note or (f"revoked by {revoked_by}" if revoked_by else "revoked"))
        enrollment.save(update_fields=["status", "revoked_at", "history", "updated_at"])
    return enrollment
