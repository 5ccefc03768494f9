"""Pen dynamics of pad signatures: reference templates, the pace check at enrollment, and
the online part of a verification (decision path, fused score, replay).

* ``reference_dynamics_store``: a pad reference's online template, computed when the
  reference is embedded; a template made for other online parameters (a model switch) is
  recomputed from the stored strokes when a verification needs it.
* ``enrollment_online_warm``: the writer's online data (DTW scale, reference-set distances and
  path bends), fitted and cached when the enrollment is fitted.
* ``pad_sample_check``: the one pace rule at enrollment: a sample signed much slower or
  faster than the customer's other pad samples gets a message for the signing page.
* ``pad_decide``: which path decides a pad query against one enrollment
  (``decisions.decision_path_resolve``), its score and threshold, and whether the query replays
  a stored reference; ``verification_dynamics_decide`` asks it for a verification, and
  identification for each short-listed customer.
* ``verification_dynamics_record``: stores that outcome; a replay is audited.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from django.core.cache import cache

from verification import ml_engine
from verification.decisions import decision_path_resolve, pace_bounds, path_threshold_resolve, replay_tolerance
from verification.models import ReferenceDynamics, ReferenceSignature, Verification, VerificationDynamics
from verification.services.audit import audit_record

logger = logging.getLogger(__name__)

WRITER_CACHE_SECONDS = 30 * 24 * 3600  # the key changes with the templates, so a long life is safe
PACE_MIN_OTHERS = 2  # the pace check needs this many earlier pad samples to compare with


def reference_dynamics_store(*, reference: ReferenceSignature, engine) -> ReferenceDynamics | None:
    """Compute and store a pad reference's online template; None (and no row) without usable times."""
    if reference.source != ReferenceSignature.Source.PAD or reference.strokes is None:
        return None
    packed = ml_engine.online_template(engine, reference.strokes)
    if packed is None:
        ReferenceDynamics.objects.filter(reference=reference).delete()
        return None
    row, _ = ReferenceDynamics.objects.update_or_create(
        reference=reference,
        defaults={
            "params_key": packed.params_key,
            "frames": packed.frames,
            "n_frames": packed.n_frames,
            "n_channels": packed.n_channels,
            "has_pressure": packed.has_pressure,
            "duration_ms": packed.duration_ms,
        },
    )
    return row


def enrollment_pad_templates(*, references, engine) -> list[tuple[ReferenceSignature, Any]]:
    """(reference, stored template row) for each pad reference with usable times, stale ones recomputed."""
    key = ml_engine.online_template_key(engine)
    out = []
    for ref in references:
        if ref.source != ReferenceSignature.Source.PAD or ref.status == ReferenceSignature.Status.ERASED:
            continue
        row = ReferenceDynamics.objects.filter(reference=ref).first()
        if row is None or row.params_key != key:
            row = reference_dynamics_store(reference=ref, engine=engine)
        if row is not None:
            out.append((ref, row))  # the row has the fields of ml.online.pad.PackedTemplate
    return out


def pad_sample_check(*, customer, strokes: Any, engine, exclude_id: int | None = None) -> str | None:
    """A message when this pad sample's pace is unlike the customer's other pad samples, else None."""
    mine = ml_engine.pad_pace(strokes)
    if mine is None:
        return None
    others = (
        ReferenceSignature.objects.filter(customer=customer, source=ReferenceSignature.Source.PAD)
        .exclude(status=ReferenceSignature.Status.ERASED)
        .exclude(approval=ReferenceSignature.Approval.REJECTED)
        .exclude(id=exclude_id)
        .exclude(strokes=None)
        .values_list("strokes", flat=True)
    )
    paces = [p for p in (ml_engine.pad_pace(s) for s in others) if p is not None]
    if len(paces) < PACE_MIN_OTHERS:
        return None
    bounds = pace_bounds(engine=engine)
    dur = mine["duration_ms"] / float(np.median([p["duration_ms"] for p in paces]))
    if dur > bounds["duration"][1]:
        return "This signature was signed much slower than your other samples. Please sign as you usually do."
    if dur < bounds["duration"][0]:
        return "This signature was signed much faster than your other samples. Please sign as you usually do."
    speeds = [p["speed"] for p in paces if p["speed"]]
    if mine["speed"] and speeds:
        ratio = mine["speed"] / float(np.median(speeds))
        if ratio < bounds["speed"][0]:
            return "This signature was drawn much more slowly than your other samples. Please sign as you usually do."
        if ratio > bounds["speed"][1]:
            return "This signature was drawn much more quickly than your other samples. Please sign as you usually do."
    return None


def _writer_cache_key(pairs) -> str:
    """The writer's online data depends only on these templates: fitted once, then cached under this key."""
    return "sigweb:online-writer:" + ",".join(f"{r.id}.{row.params_key}.{row.updated_at.timestamp()}" for r, row in pairs)


def enrollment_online_warm(*, references, engine) -> bool:
    """Fit and cache the writer's online data when its enrollment is fitted, so that its first
    pad verification only scores the query; False when it has no pad reference with times, or
    when this fails (an optimisation only: the first verification fits the same data)."""
    try:
        pairs = enrollment_pad_templates(references=references, engine=engine)
        writer = ml_engine.online_writer(engine, references=[p for _, p in pairs]) if pairs else None
        if writer is not None:
            cache.set(_writer_cache_key(pairs), writer, WRITER_CACHE_SECONDS)
    except Exception:
        logger.exception("online data not cached ahead of the first verification")
        return False
    return writer is not None


def pad_decide(
    *, query_strokes: Any, references, engine, image_score: float, image_threshold: float, enrollment_threshold
) -> dict:
    """How a pad query is decided against one enrollment's references: ``{"path", "score",
    "threshold", "pad_references", "image_score", "online_score", "replay", "replay_distance",
    "replay_reference"}``. Verifications and identifications both ask this."""
    out = {
        "path": VerificationDynamics.Path.IMAGE,
        "score": float(image_score),
        "threshold": float(image_threshold),
        "pad_references": 0,
        "image_score": float(image_score),
        "online_score": None,
        "replay": False,
        "replay_distance": None,
        "replay_reference": None,
    }
    if query_strokes is None:
        return out
    pairs = enrollment_pad_templates(references=references, engine=engine)
    out["pad_references"] = len(pairs)
    if not pairs:
        return out
    key = _writer_cache_key(pairs)
    writer = cache.get(key)
    scored = ml_engine.online_score(
        engine, references=[p for _, p in pairs], query_strokes=query_strokes, image_score=image_score, writer=writer
    )
    if scored is not None and writer is None:
        cache.set(key, scored["writer"], WRITER_CACHE_SECONDS)
    if scored is None:  # the query has no usable times (e.g. a device that sends none): image path
        return out
    out["online_score"] = scored["online"]
    out["replay_distance"] = scored["replay_distance"]
    if scored["replay_distance"] is not None and scored["replay_distance"] <= replay_tolerance(engine=engine):
        out["replay"] = True
        out["replay_reference"] = pairs[scored["replay_index"]][0]
    path = decision_path_resolve(query_is_pad=True, pad_references=len(pairs), engine=engine)
    if path != VerificationDynamics.Path.IMAGE:
        out["path"] = path
        out["score"] = float(scored["fused"] if path == VerificationDynamics.Path.FUSED else scored["online"])
        out["threshold"] = path_threshold_resolve(  # the online features come from the pad references alone
            path=path, enrollment_threshold=enrollment_threshold, engine=engine, n_refs=len(pairs), pressure=scored["pressure"]
        )
    return out


def verification_dynamics_decide(
    *, verification: Verification, references, engine, image_score: float, image_threshold: float, enrollment_threshold
) -> dict:
    """``pad_decide`` for one scored verification (the image path for a scanned query)."""
    is_pad = verification.source == ReferenceSignature.Source.PAD
    return pad_decide(
        query_strokes=verification.query_strokes if is_pad else None,
        references=references,
        engine=engine,
        image_score=image_score,
        image_threshold=image_threshold,
        enrollment_threshold=enrollment_threshold,
    )


def verification_dynamics_record(*, verification: Verification, outcome: dict) -> VerificationDynamics:
    """Store how the verification was decided (call inside its transaction); audit a replay."""
    row, _ = VerificationDynamics.objects.update_or_create(
        verification=verification,
        defaults={
            "decision_path": outcome["path"],
            "pad_references": outcome["pad_references"],
            "image_score": outcome["image_score"],
            "online_score": outcome["online_score"],
            "replay": outcome["replay"],
            "replay_distance": outcome["replay_distance"],
            "replay_reference": outcome["replay_reference"],
        },
    )
    if outcome["replay"]:
        ref = outcome["replay_reference"]
        audit_record(
            action="verification.replay",
            actor=None,
            customer=verification.customer,
            after={"decision": Verification.Decision.REJECT, "flag": "replay"},
            details={
                "verification": verification.id,
                "reference": ref.id if ref is not None else None,
                "replay_distance": outcome["replay_distance"],
            },
        )
    return row
