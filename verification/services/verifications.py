"""Verification: check the query, queue the scoring job, map the score to a decision."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from verification.broadcast import broadcast_verification
from verification.decisions import decision_for, threshold_resolve
from verification.errors import DomainError
from verification.models import Customer, Job, Review, SignatureCandidate, Verification
from verification.selectors.dashboard import enrollment_references
from verification.selectors.enrollments import enrollment_get_active, enrollment_writer_params
from verification.services.audit import audit_record
from verification.services.documents import query_signature, verification_document_link
from verification.services.jobs import (
    job_create,
    job_dispatch,
    job_finishing,
    job_progress,
    job_succeed,
)
from verification.services.model_versions import engine_for_version
from verification.services.pad_dynamics import verification_dynamics_decide, verification_dynamics_record
from verification.services.signatures import signature_check


def verification_decide(*, score: float, threshold: float, margin: float | None = None) -> str:
    """The decision for a score (``verification.decisions.decision_for``)."""
    return decision_for(score=score, threshold=threshold, margin=margin)


def _require_hourly_allowance(customer: Customer) -> None:
    """At most SIGWEB_CUSTOMER_VERIFICATIONS_PER_HOUR verifications per customer in any rolling
    hour, counted in the database so every web process and channel shares the count. Call it
    with the customer row locked, so concurrent requests cannot both take the last one."""
    limit = settings.SIGWEB_CUSTOMER_VERIFICATIONS_PER_HOUR
    if not limit or limit <= 0:
        return
    since = timezone.now() - timedelta(hours=1)
    recent = Verification.objects.filter(customer=customer, created_at__gte=since)
    if recent.count() >= limit:
        oldest = recent.order_by("created_at").values_list("created_at", flat=True).first()
        retry = max(1, int((oldest + timedelta(hours=1) - timezone.now()).total_seconds()) + 1) if oldest else 3600
        raise DomainError(
            f"this customer has had {limit} verifications in the last hour, the most allowed; try again later",
            code="verification_limit",
            status=429,
            extra={"retry_after": retry},
        )


def verification_create(
    *,
    customer: Customer,
    source: str = "upload",
    image: bytes | None = None,
    strokes: Any = None,
    channel: str = Verification.Channel.API,
    requested_by=None,
    candidate: SignatureCandidate | None = None,
) -> Verification:
    """Check the query signature against the customer's active enrollment and queue scoring.

    A signature found on a document is verified as its ``candidate`` (the crop; the page and
    box are kept with the verification); a whole page sent as ``source=document`` is refused.
    """
    image, strokes, source = query_signature(candidate=candidate, image=image, strokes=strokes, source=source, action="verify")
    if customer.status != Customer.Status.ACTIVE:
        raise DomainError(f"customer {customer.external_ref} is {customer.status}", code="customer_inactive", status=409)
    enrollment = enrollment_get_active(customer=customer)
    if enrollment is None:
        raise DomainError("this customer has no active enrollment", code="no_active_enrollment", status=409)
    if channel not in Verification.Channel.values:
        raise DomainError(f"channel must be one of {', '.join(Verification.Channel.values)}", code="invalid")
    if strokes is not None and source not in ("pad",):
        source = "pad"
    if source not in ("pad", "upload", "document"):
        raise DomainError("source must be one of pad, upload, document", code="invalid")
    _require_hourly_allowance(customer)  # before any image work; again below, under the row lock
    model_version, _ = enrollment_writer_params(enrollment=enrollment)
    engine = engine_for_version(model_version)
    t0 = time.perf_counter()
    checked = signature_check(engine=engine, image=image, strokes=strokes)
    preprocess_ms = (time.perf_counter() - t0) * 1000
    with transaction.atomic():
        Customer.objects.select_for_update().filter(id=customer.id).first()  # serialises the hourly count
        _require_hourly_allowance(customer)
        verification = Verification.objects.create(
            customer=customer,
            enrollment=enrollment,
            source=source,
            query_image=checked.image,
            query_image_content_type=checked.content_type,
            query_strokes=checked.strokes,
            preview_png=checked.preview_png,
            quality=checked.quality,
            channel=channel,
            requested_by=requested_by,
            model_version=model_version,
            timings={"check_ms": round(preprocess_ms, 2)},
        )
        job = job_create(
            kind=Job.Kind.VERIFY,
            params={"verification_id": verification.id},
            customer=customer,
            created_by=requested_by,
            dispatch=False,
        )
        verification.job = job
        verification.save(update_fields=["job"])
        if candidate is not None:
            verification_document_link(verification=verification, candidate=candidate)
        # "pending" goes out before the task is sent: an in-process task broadcasts its
        # result inside the send, and clients must not see the result and then "pending"
        broadcast_verification(verification)
        job_dispatch(job=job)
    return verification


def verification_score(*, job: Job) -> None:
    started = time.perf_counter()
    verification = Verification.objects.select_related("enrollment").get(id=job.params["verification_id"])
    enrollment = verification.enrollment
    if verification.status != Verification.Status.PENDING:  # finished by an earlier delivery
        with job_finishing(job_id=job.id) as locked:
            if locked is not None:
                job_succeed(job=locked, result={"verification_id": verification.id, "decision": verification.decision})
        return
    model_version, writer_params = (
        (None, None)
        if enrollment is None
        else enrollment_writer_params(enrollment=enrollment, model_version=verification.model_version or None)
    )
    if writer_params is None:
        raise DomainError("the enrollment this verification was made against is gone", code="no_active_enrollment", status=409)
    engine = engine_for_version(model_version)
    job_progress(job=job, fraction=0.6, message="embedding")
    source = bytes(verification.query_image) if verification.query_image is not None else verification.query_strokes
    if source is None:
        raise DomainError("the query signature was erased before it was scored", code="erased", status=409)
    t0 = time.perf_counter()
    prepared = engine.prepare(source)
    t1 = time.perf_counter()
    query = engine.embed([prepared])[0]
    t2 = time.perf_counter()
    threshold = threshold_resolve(enrollment_threshold=enrollment.threshold, engine=engine, n_refs=int(writer_params["n_refs"]))
    result = engine.verify(writer_params, query, threshold=threshold)
    t3 = time.perf_counter()
    # pad queries: pen dynamics may decide (fused), and a replay of a reference is rejected
    dynamics = verification_dynamics_decide(
        verification=verification,
        references=enrollment_references(enrollment=enrollment),
        engine=engine,
        image_score=float(result["score"]),
        image_threshold=threshold,
        enrollment_threshold=enrollment.threshold,
    )
    t4 = time.perf_counter()
    score, threshold = dynamics["score"], dynamics["threshold"]
    decision = Verification.Decision.REJECT if dynamics["replay"] else verification_decide(score=score, threshold=threshold)
    with job_finishing(job_id=job.id) as locked:
        if locked is None:
            return
        v = Verification.objects.select_for_update().get(id=verification.id)
        if v.status != Verification.Status.PENDING:
            job_succeed(job=locked, result={"verification_id": v.id, "decision": v.decision})
            return
        queued_ms = (job.started_at - v.created_at).total_seconds() * 1000 if job.started_at else None
        v.score = score
        v.threshold = threshold
        v.decision = decision
        v.similarities = [float(s) for s in result.get("similarities", [])]
        v.status = Verification.Status.DONE
        v.completed_at = timezone.now()
        v.timings = {
            **v.timings,
            "queue_ms": round(queued_ms, 2) if queued_ms is not None else None,
            "preprocess_ms": round((t1 - t0) * 1000, 2),
            "embed_ms": round((t2 - t1) * 1000, 2),
            "score_ms": round((t3 - t2) * 1000, 2),
            "online_ms": round((t4 - t3) * 1000, 2),
            "job_ms": round((time.perf_counter() - started) * 1000, 2),
            "total_ms": round((v.completed_at - v.created_at).total_seconds() * 1000, 2),
        }
        v.save(
            update_fields=["score", "threshold", "decision", "similarities", "status", "completed_at", "timings", "updated_at"]
        )
        verification_dynamics_record(verification=v, outcome=dynamics)
        job_succeed(
            job=locked,
            result={
                "verification_id": v.id,
                "score": score,
                "decision": decision,
                "threshold": threshold,
                "decision_path": dynamics["path"],
                "replay": dynamics["replay"],
            },
        )
        broadcast_verification(v)


def verification_score_failed(job: Job) -> None:
    v = Verification.objects.filter(id=job.params.get("verification_id"), status=Verification.Status.PENDING).first()
    if v is not None:
        v.status = Verification.Status.FAILED
        v.error = job.error[:2000]
        v.completed_at = timezone.now()
        v.save(update_fields=["status", "error", "completed_at", "updated_at"])
        broadcast_verification(v)


def review_create(*, verification: Verification, analyst, verdict: str, note: str = "", correction: bool = False) -> Review:
    """Record the verdict on a verification: one current verdict per verification.

    A first verdict creates the review. A second one is refused (409 ``already_reviewed``)
    unless it is a ``correction`` with a ``note`` saying why: then it replaces the verdict
    in place (the review keeps the analyst and time of the latest verdict), and the audit
    trail keeps the verdict before and after.
    """
    if verdict not in Review.Verdict.values:
        raise DomainError("verdict must be genuine or forgery", code="invalid")
    if verification.status != Verification.Status.DONE:
        raise DomainError("only a finished verification can be reviewed", code="not_finished", status=409)
    note = (note or "").strip()
    with transaction.atomic():
        locked = Verification.objects.select_for_update().select_related("customer").get(id=verification.id)
        current = Review.objects.select_for_update().filter(verification=locked).first()
        if current is None:
            review = Review.objects.create(verification=locked, analyst=analyst, verdict=verdict, note=note)
            audit_record(
                action="review.create",
                actor=analyst,
                customer=locked.customer,
                after={"verdict": verdict, "note": note},
                details={"verification": locked.id, "review": review.id},
            )
        else:
            if not correction:
                raise DomainError(
                    f"this verification already has a verdict ({current.verdict}); send it again as a correction with a note",
                    code="already_reviewed",
                    status=409,
                    extra={"review": current.id, "verdict": current.verdict},
                )
            if not note:
                raise DomainError("a correction needs a note saying why the verdict changes", code="invalid")
            before = {
                "verdict": current.verdict,
                "note": current.note,
                "analyst": current.analyst.get_username() if current.analyst else None,
                "at": current.corrected_at or current.created_at,
            }
            current.verdict = verdict
            current.note = note
            current.analyst = analyst
            current.corrected_at = timezone.now()
            current.save(update_fields=["verdict", "note", "analyst", "corrected_at"])
            review = current
            audit_record(
                action="review.correct",
                actor=analyst,
                customer=locked.customer,
                before=before,
                after={
                    "verdict": verdict,
                    "note": note,
                    "analyst": analyst.get_username() if analyst else None,
                    "at": current.corrected_at,
                },
                details={"verification": locked.id, "review": review.id},
            )
        broadcast_verification(locked)
    return review
