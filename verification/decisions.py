"""The decision rule, owned here: which threshold applies and the review band below it.

* The threshold is the enrollment's own (an admin set it for this customer), else the
  model version's operating point for the enrollment's number of references
  (``engine.threshold_for(n_refs)``: one per reference-count bucket where the checkpoint
  has them, fixed on validation writers; ``engine.threshold`` otherwise).
* ``score >= threshold``: accept; ``score < threshold - margin``: reject; in between:
  review. The margin is ``SIGWEB_REVIEW_MARGIN`` (settings; its default is defined there).

* Pad signatures (pen dynamics): which path decides (``decision_path_resolve``: fused
  when the query is a pad signature with usable times and the enrollment has at least
  ``ml_engine.ONLINE_MIN_PAD_REFERENCES`` pad references with templates; image otherwise),
  that path's operating point for the enrollment's pad references (``path_threshold_resolve``), the replay tolerance
  (``replay_tolerance``) and the pace bounds of the enrollment check (``pace_bounds``), all
  fixed on validation users and stored in ``ml/online/params.json``.

Services, selectors and the front end (through ``front_end_rules``) all ask this module.
"""

from __future__ import annotations

from django.conf import settings

from verification.ml_engine import (
    ONLINE_MIN_PAD_REFERENCES,
    SignatureEngine,
    identification_decide,
    identification_margin,
    online_params,
    online_params_for,
)
from verification.models import Job, Verification


def review_margin() -> float:
    """How far below the threshold a score still goes to review instead of reject."""
    return float(settings.SIGWEB_REVIEW_MARGIN)


def threshold_resolve(*, enrollment_threshold: float | None, engine: SignatureEngine, n_refs: int) -> float:
    """The threshold that applies: the enrollment's own, else the model's for ``n_refs`` references."""
    return float(engine.threshold_for(int(n_refs))) if enrollment_threshold is None else float(enrollment_threshold)


def decision_path_resolve(*, query_is_pad: bool, pad_references: int, engine: SignatureEngine) -> str:
    """image, online or fused: which score decides a verification."""
    if not query_is_pad or pad_references < ONLINE_MIN_PAD_REFERENCES:
        return "image"
    return "fused" if online_params(engine).fused_w is not None else "online"


def path_threshold_resolve(
    *, path: str, enrollment_threshold: float | None, engine: SignatureEngine, n_refs: int, pressure: bool = True
) -> float:
    """The threshold of the deciding path: the enrollment's own (an admin's) applies to every
    path; else the image model's for ``n_refs``, or the online/fused operating point for ``n_refs``
    pad references (one per reference-count bucket where ``ml/online/params.json`` has them), those
    for a comparison without pressure (a mouse, a finger: ``pressure`` False) where it has them."""
    if enrollment_threshold is not None or path == "image":
        return threshold_resolve(enrollment_threshold=enrollment_threshold, engine=engine, n_refs=n_refs)
    return online_params(engine).threshold_for(path, int(n_refs), bool(pressure))


def pad_operating_points(*, model_version: str) -> dict[str, dict[str, float]]:
    """The model version's pad operating points, per reference-count bucket a pad enrollment
    can fall in: ``{"fused": {"2-4": .., "5-9": .., "10+": ..}, "online": {...}}``, and the same
    for comparisons without pressure under ``"fused_no_pressure"`` and ``"online_no_pressure"``."""
    params = online_params_for(model_version)
    out = {path: params.operating_points(path) for path in ("fused", "online")}
    out.update({f"{path}_no_pressure": params.operating_points(path, pressure=False) for path in ("fused", "online")})
    return out


def replay_tolerance(*, engine: SignatureEngine) -> float:
    """A pad query this close to a reference (``ml.online.replay.replay_distance``) is a replay."""
    return float(online_params(engine).replay_tolerance)


def pace_bounds(*, engine: SignatureEngine) -> dict:
    """Consistent pad samples: duration and speed within these ratios of the others' median."""
    params = online_params(engine)
    return {"duration": [float(v) for v in params.pace_duration], "speed": [float(v) for v in params.pace_speed]}


def detection_min_score() -> float:
    """The lowest detector score a box needs to be offered as a signature candidate."""
    return float(settings.SIGWEB_DETECTION_MIN_SCORE)


def decision_for(*, score: float, threshold: float, margin: float | None = None) -> str:
    """accept at or above the threshold; reject below threshold - margin; review in between."""
    margin = review_margin() if margin is None else margin
    if score >= threshold:
        return Verification.Decision.ACCEPT
    if score < threshold - margin:
        return Verification.Decision.REJECT
    return Verification.Decision.REVIEW


def identification_outcome(*, ranked: list[tuple[float, float]], margin: float) -> str:
    """``match`` / ``ambiguous`` / ``none`` from every short-listed candidate's (score, threshold),
    the threshold being the one that applies to it (``threshold_resolve``: an admin's
    per-customer threshold counts here too) and ``margin`` the model's, fixed on validation
    writers. The rule is ml's (``ml_engine.identification_decide``): ``match`` when the best
    passes and leads the runner-up by the margin; ``none`` when no candidate passes."""
    return identification_decide([s for s, _ in ranked], [t for _, t in ranked], margin)


def identification_margin_resolve(*, engine: SignatureEngine, decision_path: str = "image") -> float:
    """The margin by which the best candidate must lead the runner-up for a ``match``: the
    model's, fixed on validation writers, or on validation pad users when the best candidate
    was decided by pen dynamics (``decision_path`` ``fused`` or ``online``)."""
    return identification_margin(engine, decision_path)


def front_end_rules() -> dict:
    """What the pages' scripts need to know of the server's rules (rendered as JSON data)."""
    return {
        "review_margin": review_margin(),
        "job_kinds": {kind.value: str(kind.label) for kind in Job.Kind},
    }
