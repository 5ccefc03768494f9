"""DTW warping-path columns of the online features (``base+tnorm+global+path``).

``reference_path_stats`` summarises an enrollment's pairwise reference distances, path bends
and time shifts; ``path_columns`` turns a query's distances, bends and shifts to the references
into the 9 ``PATH_NAMES`` columns relative to them. Re-exported by ``ml.online.verifier``.
"""

from __future__ import annotations

import numpy as np

PATH_NAMES = (
    "max_over_scale",  # largest distance to a reference / the writer's scale
    "tmpl_over_scale",  # distance to the template reference (smallest mean distance to the others) / scale
    "min_over_ref_min",  # smallest distance / the references' mean smallest distance to the others
    "max_over_ref_max",  # largest distance / the references' mean largest distance to the others
    "tmpl_over_ref_tmpl",  # distance to the template / the template's mean distance to the others
    "bend",  # mean share of non-diagonal steps of the best paths to the references
    "bend_over_ref",  # the same / the references' mean between themselves
    "shift",  # mean largest time deviation of the paths, max |i / (n - 1) - j / (m - 1)|
    "shift_over_ref",  # the same / the references' mean between themselves
)


def uses_paths(features: str) -> bool:
    return features.endswith("+path")


def reference_path_stats(dist, bend, shift) -> dict:
    """(R, R) pairwise reference distances, path bends and time shifts (diagonals ignored) ->
    what ``path_columns`` divides by: the template reference, the references' mean smallest,
    largest and template distance to the others, and their mean bend and shift."""
    d = np.asarray(dist, float)
    n = len(d)
    if n < 2:
        nan = float("nan")
        return {"tmpl": 0, "ref_min": nan, "ref_max": nan, "ref_tmpl": nan, "ref_bend": nan, "ref_shift": nan}
    off = ~np.eye(n, dtype=bool)
    per_ref = np.array(per_reference_scale(d))
    tmpl = int(np.argmin(per_ref))
    iu = np.triu_indices(n, 1)
    return {
        "tmpl": tmpl,
        "ref_min": float(np.where(off, d, np.inf).min(1).mean()),
        "ref_max": float(np.where(off, d, -np.inf).max(1).mean()),
        "ref_tmpl": float(per_ref[tmpl]),
        "ref_bend": float(np.asarray(bend, float)[iu].mean()),
        "ref_shift": float(np.asarray(shift, float)[iu].mean()),
    }


def _ratio(a, b):
    b = float(b)
    return np.asarray(a, float) / b if np.isfinite(b) and b > 1e-9 else np.ones_like(np.asarray(a, float))


def path_columns(dist, bend, shift, scale: float, stats: dict) -> np.ndarray:
    """(Q, R) query-to-reference distances, path bends and shifts -> (Q, 9) ``PATH_NAMES``."""
    dist = np.asarray(dist, float).reshape(len(dist), -1)
    bend = np.asarray(bend, float).reshape(dist.shape)
    shift = np.asarray(shift, float).reshape(dist.shape)
    s = scale if np.isfinite(scale) and scale > 1e-9 else 1.0
    dt = dist[:, int(stats["tmpl"])]
    b, sh = bend.mean(1), shift.mean(1)
    cols = [dist.max(1) / s, dt / s, _ratio(dist.min(1), stats["ref_min"]), _ratio(dist.max(1), stats["ref_max"]),
            _ratio(dt, stats["ref_tmpl"]), b, _ratio(b, stats["ref_bend"]), sh, _ratio(sh, stats["ref_shift"])]  # fmt: skip
    return np.column_stack(cols)


def per_reference_scale(d: np.ndarray) -> list[float]:
    """(R, R) pairwise reference distances -> each reference's mean distance to the others."""
    d = np.asarray(d, float)
    n = len(d)
    return [float((d[k].sum() - d[k, k]) / (n - 1)) for k in range(n)] if n > 1 else [float("nan")] * n
