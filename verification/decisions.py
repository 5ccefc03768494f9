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


def front_end_rules() -> dict:
    """What the pages' scripts need to know of the server's rules (rendered as JSON data)."""
    return {
        "review_margin": review_margin(),
        "job_kinds": {kind.value: str(kind.label) for kind in Job.Kind},
    }
