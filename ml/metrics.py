"""Verification metrics in sigver's vocabulary.

A signature is accepted when its score is ``>= threshold``.
FRR: genuine signatures rejected; FAR: forgeries (skilled or random) accepted.
EER: the error where FAR and FRR meet. Among all candidate thresholds (every observed
score, plus one above the largest) we take the one minimising |FAR - FRR| and report
(FAR + FRR) / 2 there; ties go to the lower threshold.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import det_curve, roc_auc_score, roc_curve


def far_frr(genuine, negative, threshold: float) -> tuple[float, float]:
    g = np.asarray(genuine, float)
    n = np.asarray(negative, float)
    frr = float((g < threshold).mean()) if g.size else 0.0
    far = float((n >= threshold).mean()) if n.size else 0.0
    return far, frr


def _labelled(genuine, negative, what: str) -> tuple[np.ndarray, np.ndarray, int, int]:
    g = np.asarray(genuine, float).ravel()
    n = np.asarray(negative, float).ravel()
    if g.size == 0 or n.size == 0:
        raise ValueError(f"{what} needs at least one genuine and one negative score")
    return np.concatenate([np.ones(g.size), np.zeros(n.size)]), np.concatenate([g, n]), g.size, n.size


def error_curve(genuine, negative) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds ascending, FAR, FRR) at every observed score and one just above the largest.

    scikit-learn's ``roc_curve`` gives the rates; they are turned back into exact counts so
    that FAR and FRR equal ``far_frr`` at every threshold, bit for bit.
    """
    y, s, n_g, n_n = _labelled(genuine, negative, "an error curve")
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)  # thresholds descending, the first above all
    thr = thr.astype(float)
    thr[0] = s.max() + 1e-6
    far = np.rint(fpr * n_n) / n_n  # negatives at or above t
    frr = (n_g - np.rint(tpr * n_g)) / n_g  # genuine strictly below t
    return thr[::-1], far[::-1], frr[::-1]


def eer(genuine, negative) -> tuple[float, float]:
    """(EER, threshold) for one set of genuine and negative scores."""
    if np.size(genuine) == 0 or np.size(negative) == 0:
        raise ValueError("EER needs at least one genuine and one negative score")
    thr, far, frr = error_curve(genuine, negative)
    i = int(np.argmin(np.abs(far - frr)))  # first minimum: the lower threshold on ties
    return float((far[i] + frr[i]) / 2), float(thr[i])


def auc(genuine, negative) -> float:
    """Probability that a genuine score exceeds a negative one (ties count half): ROC AUC."""
    y, s, _, _ = _labelled(genuine, negative, "AUC")
    return float(roc_auc_score(y, s))


def det(genuine, negative) -> tuple[np.ndarray, np.ndarray]:
    """(FAR, FRR) of the DET curve, as scikit-learn's ``det_curve`` computes them."""
    y, s, _, _ = _labelled(genuine, negative, "a DET curve")
    far, frr, _ = det_curve(y, s)
    return far, frr


def eer_user(per_writer: dict) -> float:
    """Mean over writers of each writer's own EER (per-user thresholds).

    ``per_writer`` maps writer to (genuine scores, negative scores); writers lacking
    either are skipped.
    """
    vals = [eer(g, n)[0] for g, n in per_writer.values() if len(g) and len(n)]
    if not vals:
        raise ValueError("no writer has both genuine and negative scores")
    return float(np.mean(vals))


def summarize(
    genuine, skilled, random, per_writer_g: dict, per_writer_s: dict, per_writer_r: dict, shipped_threshold: float | None = None
) -> dict:
    """The evaluation report: EER on skilled forgeries (random when there are none)."""
    genuine, skilled, random = (np.asarray(x, float) for x in (genuine, skilled, random))
    primary = skilled if skilled.size else random
    prim_w = per_writer_s if skilled.size else per_writer_r
    e, t = eer(genuine, primary)
    far_s, frr = far_frr(genuine, skilled, t)
    far_r, _ = far_frr(genuine, random, t)
    out = {
        "eer_against": "skilled" if skilled.size else "random",
        "eer_global": e,
        "eer_user": eer_user({w: (per_writer_g[w], prim_w.get(w, [])) for w in per_writer_g}),
        "auc": auc(genuine, primary),
        "threshold": t,
        "frr": frr,
        "far_skilled": far_s if skilled.size else None,
        "far_random": far_r if random.size else None,
        "eer_global_random": eer(genuine, random)[0] if random.size else None,
        "n_genuine": int(genuine.size),
        "n_skilled": int(skilled.size),
        "n_random": int(random.size),
    }
    if shipped_threshold is not None:
        far_s2, frr2 = far_frr(genuine, skilled, shipped_threshold)
        far_r2, _ = far_frr(genuine, random, shipped_threshold)
        out["at_threshold"] = {
            "threshold": float(shipped_threshold),
            "frr": frr2,
            "far_skilled": far_s2 if skilled.size else None,
            "far_random": far_r2 if random.size else None,
        }
    return out


def rates_at_writer_thresholds(per_writer_g: dict, per_writer_s: dict, per_writer_r: dict, thresholds: dict) -> dict:
    """FRR and skilled/random FAR when each writer is decided at its own threshold
    (``thresholds[writer]``: e.g. the operating point of the references it really had)."""

    def rate(d: dict, accept: bool):
        if not sum(map(len, d.values())):
            return None
        return float(np.mean(np.concatenate([(v >= thresholds[w]) if accept else (v < thresholds[w]) for w, v in d.items()])))

    return {"frr": rate(per_writer_g, False), "far_skilled": rate(per_writer_s, True), "far_random": rate(per_writer_r, True)}
