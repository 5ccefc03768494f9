"""Verification metrics in sigver's vocabulary.

A signature is accepted when its score is ``>= threshold``.
FRR: genuine signatures rejected; FAR: forgeries (skilled or random) accepted.
EER: the error where FAR and FRR meet. Among all candidate thresholds (every observed
score, plus one above the largest) we take the one minimising |FAR - FRR| and report
(FAR + FRR) / 2 there; ties go to the lower threshold.
"""

from __future__ import annotations

import numpy as np


def far_frr(genuine, negative, threshold: float) -> tuple[float, float]:
    g = np.asarray(genuine, float)
    n = np.asarray(negative, float)
    frr = float((g < threshold).mean()) if g.size else 0.0
    far = float((n >= threshold).mean()) if n.size else 0.0
    return far, frr


def eer(genuine, negative) -> tuple[float, float]:
    """(EER, threshold) for one set of genuine and negative scores."""
    g = np.sort(np.asarray(genuine, float))
    n = np.sort(np.asarray(negative, float))
    if g.size == 0 or n.size == 0:
        raise ValueError("EER needs at least one genuine and one negative score")
    cands = np.unique(np.concatenate([g, n, [max(g[-1], n[-1]) + 1e-6]]))
    frr = np.searchsorted(g, cands, side="left") / g.size  # genuine strictly below t
    far = 1.0 - np.searchsorted(n, cands, side="left") / n.size  # negatives at or above t
    i = int(np.argmin(np.abs(far - frr)))
    return float((far[i] + frr[i]) / 2), float(cands[i])


def auc(genuine, negative) -> float:
    """Probability that a genuine score exceeds a negative one (ties count half)."""
    g = np.asarray(genuine, float)
    n = np.asarray(negative, float)
    if g.size == 0 or n.size == 0:
        raise ValueError("AUC needs at least one genuine and one negative score")
    allv = np.concatenate([g, n])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv))
    sv = allv[order]
    # average ranks for ties
    i = 0
    while i < len(sv):
        j = i
        while j + 1 < len(sv) and sv[j + 1] == sv[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    rg = ranks[: g.size].sum()
    return float((rg - g.size * (g.size + 1) / 2) / (g.size * n.size))


def eer_user(per_writer: dict) -> float:
    """Mean over writers of each writer's own EER (per-user thresholds).

    ``per_writer`` maps writer to (genuine scores, negative scores); writers lacking
    either are skipped.
    """
    vals = [eer(g, n)[0] for g, n in per_writer.values() if len(g) and len(n)]
    if not vals:
        raise ValueError("no writer has both genuine and negative scores")
    return float(np.mean(vals))


def summarize(genuine, skilled, random, per_writer_g: dict, per_writer_s: dict, per_writer_r: dict,
              shipped_threshold: float | None = None) -> dict:
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
