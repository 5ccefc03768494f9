"""Read-only figures for the analyst dashboard and the enrollment pages.

Counters, the score series behind the dashboard chart, FAR/FRR estimated from analyst
reviews, a customer's history, and the enrollment trade-off: each reference scored
against the others (leave-one-out, the customer's genuine range) and other customers'
references scored against this customer (random forgeries).
"""

from __future__ import annotations

from datetime import datetime
from datetime import time as dtime

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from verification import embeddings, vector_store
from verification.models import Enrollment, Job, ReferenceEmbedding, ReferenceSignature, Review, Verification
from verification.selectors.enrollments import enrollment_has_writer_params, enrollment_writer_params

FLAGGED = (Verification.Decision.REJECT, Verification.Decision.REVIEW)


def _today_start():
    now = timezone.localtime()
    return timezone.make_aware(datetime.combine(now.date(), dtime.min), now.tzinfo)


def review_error_rates(*, limit: int = 2000) -> dict:
    """FAR and FRR of the automatic decision, estimated from the latest verdict per reviewed verification.

    FRR: genuine (by review) signatures the system did not accept; FAR: forgeries (by
    review) it accepted. Only reviewed verifications count, so these are estimates.
    """
    latest: dict[int, str] = {}
    for verification_id, verdict in Review.objects.order_by("-created_at", "-id").values_list("verification_id", "verdict")[
        :limit
    ]:
        latest.setdefault(verification_id, verdict)
    decisions = dict(Verification.objects.filter(id__in=latest.keys()).values_list("id", "decision"))
    genuine = [decisions.get(v) for v, verdict in latest.items() if verdict == Review.Verdict.GENUINE]
    forged = [decisions.get(v) for v, verdict in latest.items() if verdict == Review.Verdict.FORGERY]
    frr = sum(d != Verification.Decision.ACCEPT for d in genuine) / len(genuine) if genuine else None
    far = sum(d == Verification.Decision.ACCEPT for d in forged) / len(forged) if forged else None
    return {"far": far, "frr": frr, "reviewed_genuine": len(genuine), "reviewed_forgery": len(forged)}


def dashboard_counters() -> dict:
    start = _today_start()
    today = Verification.objects.filter(created_at__gte=start)
    open_reviews = Verification.objects.filter(decision__in=FLAGGED, reviews__isnull=True).count()
    return {
        "verifications_today": today.count(),
        "flagged_today": today.filter(decision__in=FLAGGED).count(),
        "open_reviews": open_reviews,
        "active_jobs": Job.objects.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).count(),
        **review_error_rates(),
    }


def verification_score_series(*, limit: int = 200, customer_id: int | None = None) -> list[dict]:
    """The latest finished verifications, oldest first: what the score chart plots."""
    qs = Verification.objects.filter(status=Verification.Status.DONE, score__isnull=False)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    rows = list(
        qs.order_by("-created_at", "-id").values("id", "created_at", "score", "threshold", "decision", "customer_id")[:limit]
    )
    rows.reverse()
    return [
        {
            "id": r["id"],
            "t": r["created_at"].isoformat(),
            "score": r["score"],
            "threshold": r["threshold"],
            "decision": r["decision"],
            "customer": r["customer_id"],
        }
        for r in rows
    ]


def customer_verification_history(*, customer_id: int, limit: int = 20) -> QuerySet:
    return (
        Verification.objects.filter(customer_id=customer_id)
        .defer("query_image", "preview_png", "query_strokes")
        .prefetch_related("reviews")
        .order_by("-created_at", "-id")[:limit]
    )


def enrollment_references(*, enrollment: Enrollment) -> list[ReferenceSignature]:
    return list(enrollment.references.defer("image", "preview_png", "strokes").order_by("id"))


def enrollment_score_profile(*, enrollment: Enrollment, impostors: int = 24) -> dict | None:
    """Scores that show how this enrollment separates its writer from others.

    ``genuine``: each reference scored against a writer fitted on the other references.
    ``impostor``: other customers' references scored against this enrollment.
    None when the enrollment has no embedded references or its model is unavailable.
    """
    if enrollment.status != Enrollment.Status.ACTIVE or not enrollment_has_writer_params(enrollment=enrollment):
        return None
    key = f"sigweb:profile:{enrollment.id}:{enrollment.model_version}:{enrollment.updated_at.timestamp()}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    from verification.decisions import threshold_resolve
    from verification.errors import DomainError
    from verification.services.model_versions import engine_for_version

    try:
        engine = engine_for_version(enrollment.model_version)
    except DomainError:
        return None
    ref_ids = enrollment.references.filter(status=ReferenceSignature.Status.EMBEDDED).values_list("id", flat=True)
    stored = vector_store.reference_vectors(reference_ids=ref_ids, model_version=enrollment.model_version)
    refs = sorted(stored)
    if not refs:
        return None
    vectors = embeddings.stack([stored[r] for r in refs])
    genuine = []
    if len(refs) >= 2:
        for i in range(len(refs)):
            others = [j for j in range(len(refs)) if j != i]
            wd = engine.fit_writer(vectors[others])
            genuine.append(float(engine.verify(wd, vectors[i])["score"]))
    others = (
        ReferenceEmbedding.objects.filter(
            model_version=enrollment.model_version, reference__status=ReferenceSignature.Status.EMBEDDED
        )
        .exclude(reference__customer_id=enrollment.customer_id)
        .order_by("-reference_id")
        .values_list("vector", flat=True)[:impostors]
    )
    _, params = enrollment_writer_params(enrollment=enrollment, model_version=enrollment.model_version)
    if params is None:
        return None
    impostor = [float(engine.verify(params, embeddings.from_bytes(v))["score"]) for v in others]
    profile = {
        "genuine": genuine,
        "impostor": impostor,
        "model_threshold": float(engine.threshold_for(len(refs))),
        "threshold": threshold_resolve(enrollment_threshold=enrollment.threshold, engine=engine, n_refs=len(refs)),
    }
    cache.set(key, profile, 600)
    return profile


def enrollment_pad_point(*, enrollment: Enrollment) -> dict | None:
    """How a pad query of this enrollment is decided: ``{"pad_references", "path", "threshold",
    "threshold_no_pressure"}`` (a pen with pressure; a mouse or a finger)
    (``decisions.decision_path_resolve`` and ``path_threshold_resolve``); None when too few of its
    references carry pen timing, so that pad queries go the image path, or the model is unavailable."""
    from verification.decisions import decision_path_resolve, path_threshold_resolve
    from verification.errors import DomainError
    from verification.services.model_versions import engine_for_version

    if enrollment.status != Enrollment.Status.ACTIVE:
        return None
    n_pad = enrollment.references.filter(status=ReferenceSignature.Status.EMBEDDED, dynamics__isnull=False).count()
    try:
        engine = engine_for_version(enrollment.model_version)
    except DomainError:
        return None
    path = decision_path_resolve(query_is_pad=True, pad_references=n_pad, engine=engine)
    if path == "image":
        return None
    point = {"pad_references": n_pad, "path": path}
    for key, pressure in (("threshold", True), ("threshold_no_pressure", False)):
        point[key] = path_threshold_resolve(
            path=path, enrollment_threshold=enrollment.threshold, engine=engine, n_refs=n_pad, pressure=pressure
        )
    return point
