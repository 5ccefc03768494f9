"""What the review page shows of a pad verification's pen dynamics (staff only): the query's
timed strokes for the replay, and speed and pressure profiles of the query and of each
pad reference (``ml_engine.pad_dynamics_profile``), with the path that decided."""

from __future__ import annotations

from verification import ml_engine
from verification.models import ReferenceSignature, Verification

MAX_REPLAY_POINTS = 4000  # enough for any real signature; the animation stays light


def _timed(strokes) -> list[list[list[float]]] | None:
    """[[x, y, t_ms from the first point], ...] per stroke, or None without real times."""
    try:
        parsed = ml_engine.strokes_parse(strokes)
    except ml_engine.SignatureInputError:
        return None
    times = [float(t) for a in parsed for t in a[:, 2] if t == t]
    if len(times) < 2 or max(times) <= min(times):
        return None
    t0 = min(times)
    out, n = [], 0
    for a in parsed:
        pts = [[round(float(x), 2), round(float(y), 2), round(float(t) - t0, 1)] for x, y, t, _ in a if t == t]
        n += len(pts)
        if n > MAX_REPLAY_POINTS:
            break
        out.append(pts)
    return out


def verification_dynamics_view(*, verification: Verification, references: list[ReferenceSignature]) -> dict | None:
    """None for a query that is not a timed pad signature."""
    if verification.erased_at or verification.query_strokes is None:
        return None
    strokes = _timed(verification.query_strokes)
    if strokes is None:
        return None
    row = getattr(verification, "dynamics", None)  # a missing row reads as None (AttributeError)
    refs = []
    pad_ids = [
        r.id for r in references if r.source == ReferenceSignature.Source.PAD and r.status != ReferenceSignature.Status.ERASED
    ]
    for ref_id, ref_strokes in ReferenceSignature.objects.filter(id__in=pad_ids).order_by("id").values_list("id", "strokes"):
        prof = ml_engine.pad_dynamics_profile(ref_strokes) if ref_strokes is not None else None
        if prof is not None:
            refs.append({"id": ref_id, "profile": prof})
    return {
        "strokes": strokes,
        "profile": ml_engine.pad_dynamics_profile(verification.query_strokes),
        "references": refs,
        "decision_path": row.decision_path if row else None,
        "replay": bool(row.replay) if row else False,
        "replay_reference": row.replay_reference_id if row else None,
    }
