"""1:N identification: who, among the enrolled customers, wrote this signature?

The vector index (``verification.vector_store``) short-lists the writers whose references
lie nearest the query; each short-listed writer's own decision (``engine.identify``, the
writer-dependent score the verifications use) re-scores it. A pad query is re-scored as a
verification against that customer would be (``candidates_pad_rescore``: fused with pen
dynamics where the enrollment has enough pad references). ``decisions`` says ``match``,
``ambiguous`` or ``none``. Only active enrollments of customers who are not erased take
part. Every identification is stored and audited. The same search warns an admin when a
new enrollment's references match another customer (``enrollment_duplicates_check``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction

from verification import decisions, embeddings, ml_engine, vector_store
from verification.errors import DomainError
from verification.models import (
    Customer,
    Enrollment,
    EnrollmentDuplicate,
    Identification,
    ModelVersion,
    ReferenceSignature,
    SignatureCandidate,
    WriterParams,
)
from verification.selectors.dashboard import enrollment_references
from verification.services.audit import audit_record
from verification.services.documents import query_signature
from verification.services.model_versions import active_engine
from verification.services.pad_dynamics import pad_decide
from verification.services.signatures import signature_check
from verification.writer_store import writer_params_read


def writer_params_for(enrollments: list[Enrollment], model_version: str) -> dict[int, dict]:
    """Each enrollment's writer parameters for ``model_version`` (missing: not fitted for it)."""
    return writer_params_read(WriterParams.objects.filter(enrollment__in=enrollments, model_version=model_version))


def candidates_rank(
    *, mv: ModelVersion, engine, query: np.ndarray, top_k: int, exclude_customer_id: int | None = None
) -> tuple[list[dict[str, Any]], float]:
    """(every short-listed writer for ``query`` re-scored by its own decision, best first; the
    model's identification margin). The index short-lists at least ``top_k`` writers."""
    shortlist = max(int(top_k), settings.SIGWEB_IDENTIFICATION_SHORTLIST)
    hits = vector_store.vectors_search(model_version=mv.name, dim=engine.embedding_dim, query=query, k=shortlist * 10)
    customer_ids = list(dict.fromkeys(c for _, c, _ in hits if c != exclude_customer_id))[:shortlist]
    enrollments = list(
        Enrollment.objects.filter(customer_id__in=customer_ids, status=Enrollment.Status.ACTIVE)
        .exclude(customer__status=Customer.Status.ERASED)
        .select_related("customer")
    )
    params = writer_params_for(enrollments, mv.name)
    by_id = {e.id: e for e in enrollments if e.id in params}
    if not by_id:
        return [], 0.0
    scored = ml_engine.writer_identify(engine, query, {k: params[k] for k in by_id})
    out = []
    for enrollment_id, score in scored["ranked"]:
        e = by_id[enrollment_id]
        n_refs = int(params[e.id].get("n_refs", 0)) if isinstance(params[e.id], dict) else 0
        threshold = decisions.threshold_resolve(enrollment_threshold=e.threshold, engine=engine, n_refs=n_refs)
        out.append(
            {
                "customer": e.customer_id,
                "external_ref": e.customer.external_ref,
                "name": e.customer.name,
                "enrollment": e.id,
                "score": round(float(score), 6),
                "threshold": round(float(threshold), 6),
                "decision_path": "image",
            }
        )
    return out, scored["margin"]


def candidates_pad_rescore(*, candidates: list[dict[str, Any]], engine, strokes: Any) -> list[dict[str, Any]]:
    """A pad query's short list re-scored as a verification against each customer would be
    decided (``pad_decide``: fused with at least 3 pad references, the image score otherwise),
    best first. A candidate whose stored reference the query replays scores 0 and is flagged."""
    enrollments = Enrollment.objects.in_bulk([c["enrollment"] for c in candidates])
    out = []
    for c in candidates:
        e = enrollments[c["enrollment"]]
        d = pad_decide(
            query_strokes=strokes,
            references=enrollment_references(enrollment=e),
            engine=engine,
            image_score=c["score"],
            image_threshold=c["threshold"],
            enrollment_threshold=e.threshold,
        )
        row = {**c, "decision_path": str(d["path"]), "score": round(float(d["score"]), 6)}
        row["threshold"] = round(float(d["threshold"]), 6)
        if d["replay"]:
            row.update(score=0.0, replay=True)
        out.append(row)
    return sorted(out, key=lambda c: -c["score"])


def _top_k_check(top_k) -> int:
    try:
        value = int(top_k)
    except (TypeError, ValueError):
        value = 0
    if isinstance(top_k, bool) or not 1 <= value <= settings.SIGWEB_IDENTIFICATION_MAX_TOP_K:
        raise DomainError(f"top_k must be a whole number from 1 to {settings.SIGWEB_IDENTIFICATION_MAX_TOP_K}", code="invalid")
    return value


def identification_run(
    *,
    image: bytes | None = None,
    strokes: Any = None,
    source: str = "upload",
    top_k: Any = 5,
    case_reference: str = "",
    requested_by=None,
    candidate: SignatureCandidate | None = None,
) -> Identification:
    """Identify the writer of one signature among every enrolled customer; stored and audited.

    A signature found on a document is identified as its ``candidate`` (the crop); a whole page
    sent as ``source=document`` is refused, as for verifications."""
    image, strokes, source = query_signature(candidate=candidate, image=image, strokes=strokes, source=source, action="identify")
    top_k = _top_k_check(top_k)
    case_reference = str(case_reference or "")
    if len(case_reference) > 128:
        raise DomainError("case_reference is at most 128 characters", code="invalid")
    if source not in ("pad", "upload", "document"):
        raise DomainError("source must be one of pad, upload, document", code="invalid")
    mv, engine = active_engine()
    t0 = time.perf_counter()
    checked = signature_check(engine=engine, image=image, strokes=strokes)
    query = engine.embed([checked.prepared])[0]
    t1 = time.perf_counter()
    scored, margin = candidates_rank(mv=mv, engine=engine, query=query, top_k=top_k)
    t2 = time.perf_counter()
    if checked.strokes is not None and scored:  # pen dynamics decide where a verification would use them
        scored = candidates_pad_rescore(candidates=scored, engine=engine, strokes=checked.strokes)
        margin = decisions.identification_margin_resolve(engine=engine, decision_path=scored[0]["decision_path"])
    t3 = time.perf_counter()
    outcome = decisions.identification_outcome(ranked=[(c["score"], c["threshold"]) for c in scored], margin=margin)
    candidates = scored[:top_k]
    with transaction.atomic():
        identification = Identification.objects.create(
            source="pad" if strokes is not None else source,
            query_image=checked.image,
            query_image_content_type=checked.content_type,
            query_strokes=checked.strokes,
            preview_png=checked.preview_png,
            top_k=top_k,
            case_reference=case_reference,
            outcome=outcome,
            candidates=candidates,
            model_version=mv.name,
            timings={
                "embed_ms": round((t1 - t0) * 1000, 2),
                "search_ms": round((t2 - t1) * 1000, 2),
                "online_ms": round((t3 - t2) * 1000, 2),
            },
            requested_by=requested_by,
        )
        audit_record(
            action="identification.run",
            actor=requested_by,
            after={"identification": identification.id, "outcome": outcome, "model_version": mv.name},
            details={
                "case_reference": case_reference,
                "top_k": top_k,
                "candidates": [c["customer"] for c in candidates],
                "document_candidate": candidate.id if candidate is not None else None,
                "replays": [c["customer"] for c in scored if c.get("replay")],
            },
        )
        for c in scored:
            if c.get("replay"):  # a copy of this customer's stored reference: an attack, as for verifications
                audit_record(
                    action="identification.replay",
                    actor=requested_by,
                    customer=Customer.objects.get(id=c["customer"]),
                    after={"identification": identification.id, "flag": "replay"},
                    details={"case_reference": case_reference, "enrollment": c["enrollment"]},
                )
    return identification


def enrollment_duplicates_find(
    *, enrollment: Enrollment, mv: ModelVersion, engine, vectors: list[bytes], references: list | None = None
) -> list[dict]:
    """Other customers whose enrollment accepts the new references: the median over the new
    references of (score - threshold) is at least 0, a reference another customer's search
    did not return counting as score 0. Each reference is scored as a verification of it
    against that customer would be: a pad reference (``references``, in the order of
    ``vectors``) with pen dynamics where that customer has enough pad references, and one that
    replays that customer's stored reference counts as accepted. The stored score is the
    customer's median threshold plus the median difference. Reads only: run it before the
    enrollment's transaction."""
    margins: dict[int, list[float]] = {}
    thresholds: dict[int, list[float]] = {}
    found: dict[int, dict] = {}
    for query, ref in zip(embeddings.stack(vectors), references or [None] * len(vectors)):
        scored, _ = candidates_rank(mv=mv, engine=engine, query=query, top_k=5, exclude_customer_id=enrollment.customer_id)
        scored = scored[:5]
        if scored and ref is not None and ref.source == ReferenceSignature.Source.PAD and ref.strokes is not None:
            scored = candidates_pad_rescore(candidates=scored, engine=engine, strokes=ref.strokes)
        for c in scored:
            margins.setdefault(c["customer"], []).append(1.0 if c.get("replay") else c["score"] - c["threshold"])
            thresholds.setdefault(c["customer"], []).append(c["threshold"])
            found[c["customer"]] = c
    duplicates = []
    for customer_id, values in margins.items():
        t = float(np.median(thresholds[customer_id]))
        median = float(np.median(values + [-t] * (len(vectors) - len(values))))
        if median >= 0:
            duplicates.append({**found[customer_id], "score": round(t + median, 6), "threshold": round(t, 6)})
    return duplicates


def enrollment_duplicates_record(*, enrollment: Enrollment, duplicates: list[dict], model_version: str) -> None:
    """Store and audit what ``enrollment_duplicates_find`` found, for an admin to look at."""
    if duplicates:
        EnrollmentDuplicate.objects.bulk_create(
            EnrollmentDuplicate(
                enrollment=enrollment, other_customer_id=d["customer"], score=d["score"], threshold=d["threshold"]
            )
            for d in duplicates
        )
        audit_record(
            action="enrollment.duplicate_warning",
            customer=enrollment.customer,
            after={"enrollment": enrollment.id, "matches": [d["customer"] for d in duplicates]},
            details={"scores": {str(d["customer"]): d["score"] for d in duplicates}, "model_version": model_version},
        )
