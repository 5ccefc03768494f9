"""1:N identification of pad signatures: the short list re-scored as a verification decides.

The image index short-lists writers for a pad query (its strokes rendered and embedded, as
for any query). Each short-listed writer is then scored by the decision a verification
against that writer would use (``StrokeScorer.path_for``): fused image and pen dynamics when
it has at least ``MIN_PAD_REFERENCES`` pad references, the image score otherwise, each
against its own operating point. The outcome rule (``ml.identify.decide``) takes the margin
fitted for the top candidate's path (``ml.identify.margin_for``).
"""

from __future__ import annotations

import numpy as np

from ml.online.evaluate import StrokeScorer, scan_stroke_writers
from ml.online.verifier import load_params

_SCORERS: dict[tuple, StrokeScorer] = {}  # one folder's templates, embeddings and DTW cache, reused across seeds


def stroke_scorer(data: str, engine) -> StrokeScorer:
    """The folder's ``StrokeScorer`` for this engine (reused within one process)."""
    from pathlib import Path

    key = (str(Path(data).resolve()), engine.model_version)
    if key not in _SCORERS:
        samples, skipped = scan_stroke_writers(data)
        if not samples:
            raise ValueError(f"no stroke JSON in {data}: expected <writer>/genuine/*.json")
        scorer = StrokeScorer(samples, load_params(engine.model_version), engine)
        scorer.skipped = skipped + scorer.skipped
        _SCORERS.clear()
        _SCORERS[key] = scorer
    return _SCORERS[key]


class PadRescorer:
    """Re-scores identification short lists of a stroke folder's signatures."""

    def __init__(self, scorer: StrokeScorer, decision: str = "auto"):
        self.scorer = scorer
        self.decision = decision
        self.rows = scorer.by_writer()  # {writer: {"genuine": sample indices, "forged": ...}}

    def embeddings(self) -> dict:
        """``{writer: {"genuine": (G, D), "forged": (F, D)}}``, the rows in ``self.rows``' order."""
        return {w: {k: self.scorer.emb[v] for k, v in d.items()} for w, d in self.rows.items()}

    def shortlist_scorer(self, enrolled: dict):
        """``rescore(writer, label, row, candidates) -> (scores, thresholds, paths)`` for writers
        enrolled with the given rows of their genuine signatures."""
        sc = self.scorer
        wds = {}
        for w, pos in enrolled.items():
            wd = sc.fit(self.rows[w]["genuine"][np.asarray(pos, int)])
            wd["path"] = sc.path_for(self.decision, len(wd["refs"]))
            wds[w] = wd

        def rescore(w: str, label: str, row: int, candidates: list) -> tuple[np.ndarray, np.ndarray, list[str]]:
            # one candidate's references per DTW batch, as a verification: a batch is padded to its
            # longest signature, so the whole short list at once could need gigabytes
            q = [int(self.rows[w][label][row])]
            scores = np.array([sc.score(wds[k], q, wds[k]["path"])[0] for k in candidates], np.float64)
            with_p = sc.templates[q[0]].has_pressure
            thresholds = np.array(
                [sc.threshold(wds[k]["path"], len(wds[k]["refs"]), with_p and wds[k]["pressure"]) for k in candidates],
                np.float64,
            )
            return scores, thresholds, [wds[k]["path"] for k in candidates]

        return rescore
