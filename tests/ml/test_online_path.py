"""The ``+path`` online columns (Kholmatov-style distances, warping-path bend and shift) on
generated sequences and pad signatures: no data needed."""

import copy
from dataclasses import replace

import numpy as np
import pytest
from pad_strokes import demo_strokes

from ml.online.dtw import dtw_batch, dtw_batch_paths
from ml.online.evaluate import StrokeSample, StrokeScorer
from ml.online.features import extract
from ml.online.pad import app_score, template_pack
from ml.online.verifier import (
    GLOBAL_NAMES,
    PATH_NAMES,
    feature_count,
    fit_online,
    load_params,
    online_features,
    path_columns,
    reference_path_stats,
)

PARAMS = load_params()


def path_params():
    """The shipped parameters when they use the path columns, else the same with neutral weights."""
    if PARAMS.features == "base+tnorm+global+path":
        return PARAMS
    n = 4 + 2 * len(GLOBAL_NAMES) + len(PATH_NAMES)
    w = [-2.0, -1.0, -1.0, -1.0] + [0.0] * (2 * len(GLOBAL_NAMES)) + [-1.0] * len(PATH_NAMES)
    return replace(PARAMS, features="base+tnorm+global+path", globals=list(GLOBAL_NAMES), online_w=w, fused_w=[1.0] + w[:n])


def brute_dtw(a, b, window):
    """Plain O(nm) DTW with the best path, written independently of ml.online.dtw."""
    n, m = len(a), len(b)
    D = np.full((n + 1, m + 1), np.inf)
    D[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if abs((i - 1) / max(n - 1, 1) - (j - 1) / max(m - 1, 1)) > window:
                continue
            D[i, j] = np.linalg.norm(a[i - 1] - b[j - 1]) + min(D[i - 1, j - 1], D[i - 1, j], D[i, j - 1])
    i, j, path = n, m, [(n - 1, m - 1)]
    while (i, j) != (1, 1):
        dg, up, lf = D[i - 1, j - 1], D[i - 1, j], D[i, j - 1]
        if dg <= up and dg <= lf:
            i, j = i - 1, j - 1
        elif up <= lf:
            i -= 1
        else:
            j -= 1
        path.append((i - 1, j - 1))
    steps = np.diff(np.array(path), axis=0)
    diag = int(((steps[:, 0] != 0) & (steps[:, 1] != 0)).sum())
    shift = max(abs(p / max(n - 1, 1) - q / max(m - 1, 1)) for p, q in path)
    return D[n, m] / (n + m), 1 - diag / (len(path) - 1), shift


def test_paths_match_a_plain_dtw_and_the_distances_of_dtw_batch():
    rng = np.random.default_rng(3)
    qs = [np.cumsum(rng.normal(size=(int(rng.integers(12, 30)), 3)), 0).astype(np.float32) for _ in range(6)]
    rs = [np.cumsum(rng.normal(size=(int(rng.integers(12, 30)), 3)), 0).astype(np.float32) for _ in range(6)]
    d, bend, shift = dtw_batch_paths(qs, rs, 0.3)
    assert np.allclose(d, dtw_batch(qs, rs, 0.3))
    for k in range(6):
        ref = brute_dtw(qs[k].astype(np.float64), rs[k].astype(np.float64), 0.3)
        assert d[k] == pytest.approx(ref[0], rel=1e-5)
        assert bend[k] == pytest.approx(ref[1]) and shift[k] == pytest.approx(ref[2])


def test_a_sequence_against_itself_has_a_straight_path_and_a_time_warped_copy_bends():
    t = np.linspace(0, 1, 60)
    a = np.column_stack([np.sin(6 * t), np.cos(4 * t)]).astype(np.float32)
    warped_t = t**1.6  # the same path, slow at first and fast at the end, as long
    b = np.column_stack([np.sin(6 * warped_t), np.cos(4 * warped_t)]).astype(np.float32)
    d, bend, shift = dtw_batch_paths([a, a], [a, b], 0.3)
    assert d[0] == 0 and bend[0] == 0 and shift[0] == 0
    assert bend[1] > 0.1 and shift[1] > 0.1


def test_reference_stats_and_columns_of_known_distances():
    d = np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0]], float)  # reference 0 is closest to the others
    bend = np.full((3, 3), 0.2)
    shift = np.full((3, 3), 0.1)
    st = reference_path_stats(d, bend, shift)
    assert st["tmpl"] == 0 and st["ref_tmpl"] == pytest.approx(1.5)
    assert st["ref_min"] == pytest.approx((1 + 1 + 2) / 3) and st["ref_max"] == pytest.approx((2 + 3 + 3) / 3)
    assert st["ref_bend"] == pytest.approx(0.2) and st["ref_shift"] == pytest.approx(0.1)
    q = np.array([[1.0, 2.0, 4.0]])
    cols = path_columns(q, np.full((1, 3), 0.4), np.full((1, 3), 0.3), 2.0, st)
    expect = [4 / 2, 1 / 2, 1 / (4 / 3), 4 / (8 / 3), 1 / 1.5, 0.4, 2.0, 0.3, 3.0]
    assert cols.shape == (1, len(PATH_NAMES)) and np.allclose(cols[0], expect)


def rhythm(strokes, power):
    """The same drawing with its time re-mapped (t ** power over the duration): another rhythm."""
    out = copy.deepcopy(strokes)
    ts = [p["time"] for s in out for p in s["points"]]
    t0, t1 = min(ts), max(ts)
    for s in out:
        for p in s["points"]:
            p["time"] = t0 + (t1 - t0) * ((p["time"] - t0) / (t1 - t0)) ** power
    return out


def test_app_path_columns_see_a_changed_rhythm_and_a_writer_without_them_is_refitted():
    params = path_params()
    stored = [template_pack(demo_strokes("ada", i), params) for i in range(5)]
    own = app_score(params, stored, demo_strokes("ada", 9), 0.6)
    odd = app_score(params, stored, rhythm(demo_strokes("ada", 9), 1.7), 0.6)
    n = feature_count(params)
    assert len(own["features"]) == n and set(own["writer"]["path_stats"]) >= {"tmpl", "ref_bend", "ref_shift"}
    k = n - len(PATH_NAMES)
    bend, shift = PATH_NAMES.index("bend"), PATH_NAMES.index("shift")
    assert odd["features"][k + bend] > own["features"][k + bend]
    assert odd["features"][k + shift] > own["features"][k + shift]
    assert own["online"] > odd["online"]
    old = {key: v for key, v in own["writer"].items() if key != "path_stats"}  # cached before the path columns
    assert app_score(params, stored, demo_strokes("ada", 9), 0.6, writer=old)["features"] == own["features"]


def test_evaluation_scorer_gives_the_app_features():
    params = path_params()
    strokes = [demo_strokes("bea", i) for i in range(7)]
    samples = [StrokeSample("bea", "genuine", f"bea/{i}.json", s) for i, s in enumerate(strokes)]
    scorer = StrokeScorer(samples, params)
    wd = scorer.fit(np.arange(5))
    got = scorer.features(wd, np.array([5, 6]))
    refs = [extract(s, params.rate_hz) for s in strokes[:5]]
    app_wd = fit_online(refs, params.window, params.channels, params.rate_hz, paths=True)
    queries = [extract(s, params.rate_hz) for s in strokes[5:]]
    want = online_features(app_wd, refs, queries, params.window, params.channels, params.features, params.globals, params.rate_hz)
    assert got.shape == (2, feature_count(params))
    assert np.allclose(got, want, atol=1e-6)


def test_a_pair_with_no_path_in_the_band_counts_as_fully_bent():
    """A one-frame sequence against a long one has no path within the band: infinite distance,
    bend and shift 1 (not an index error or a NaN)."""
    long = np.cumsum(np.random.default_rng(3).normal(size=(40, 3)), 0)
    d, bend, shift = dtw_batch_paths([np.zeros((1, 3)), long], [long, long], 0.3)
    assert np.isinf(d[0]) and bend[0] == 1.0 and shift[0] == 1.0
    assert d[1] == 0.0 and bend[1] == 0.0 and shift[1] == 0.0


def test_a_scribble_too_short_for_any_path_scores_low_and_finite():
    """40 ms of pen: one or two frames at the shipped rate, no path to any reference within the band."""
    params = path_params()
    stored = [template_pack(demo_strokes("ada", i), params) for i in range(5)]
    tap = [{"points": [{"x": 10.0 + k, "y": 10.0 + k % 3, "time": 40.0 * k / 9} for k in range(10)]}]
    got = app_score(params, stored, tap, 0.6)
    assert got is not None and np.isfinite(got["online"]) and np.isfinite(got["fused"])
    assert got["online"] < app_score(params, stored, demo_strokes("ada", 9), 0.6)["online"]
