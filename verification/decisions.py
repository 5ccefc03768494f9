"""The decision rule, owned here: which threshold applies and the review band below it.

* The threshold is the enrollment's own (an admin set it for this customer), else the
  model version's operating point for the enrollment's number of references
  (``engine.threshold_for(n_refs)``: one per reference-count bucket where the checkpoint
  has them, fixed on validation writers; ``engine.threshold`` otherwise).
* ``score >= threshold``: accept; ``score < threshold - margin``: reject; in between:
  review. The margin is ``SIGWEB_REVIEW_MARGIN`` (settings; its default is defined there).

Services, selectors and the front end (through ``front_end_rules``) all ask this module.
"""

from __future__ import annotations

from django.conf import settings

from verification.ml_engine import SignatureEngine
from verification.models import Job, Verification


def review_margin() -> float:
    """How far below the threshold a score still goes to review instead of reject."""
    return float(settings.SIGWEB_REVIEW_MARGIN)


def threshold_resolve(*, enrollment_threshold: float | None, engine: SignatureEngine, n_refs: int) -> float:
    """The threshold that applies: the enrollment's own, else the model's for ``n_refs`` references."""
    return float(engine.threshold_for(int(n_refs))) if enrollment_threshold is None else float(enrollment_threshold)


def decision_for(*, score: float, threshold: float, margin: float | None = None) -> str:
    """accept at or above the threshold; reject below threshold - margin; review in between."""
    margin = review_margin() if margin is None else margin
    if score >= threshold:
        return Verification.Decision.ACCEPT
    if score < threshold - margin:
        return Verification.Decision.REJECT
    return Verification.Decision.REVIEW


def identification_margin(engine: SignatureEngine) -> float:
    """How far the best candidate must lead the next for a ``match``: the engine's own
    (``identification_margin``, fixed on validation writers) else ``SIGWEB_IDENTIFICATION_MARGIN``."""
    fixed = getattr(engine, "identification_margin", None)
    return float(settings.SIGWEB_IDENTIFICATION_MARGIN if fixed is None else fixed)


def identification_outcome(*, ranked: list[tuple[float, float]], margin: float) -> str:
    """``ranked``: (score, threshold) best first. ``none`` when the best is below its threshold;
    ``match`` when it leads every other candidate by at least ``margin``; else ``ambiguous``."""
    if not ranked or ranked[0][0] < ranked[0][1]:
        return "none"
    if len(ranked) > 1 and ranked[0][0] - ranked[1][0] < margin:
        return "ambiguous"
    return "match"


def front_end_rules() -> dict:
    """What the pages' scripts need to know of the server's rules (rendered as JSON data)."""
    return {
        "review_margin": review_margin(),
        "job_kinds": {kind.value: str(kind.label) for kind in Job.Kind},
    }
