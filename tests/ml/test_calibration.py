"""The calibrator that maps writer-dependent features to a score in [0, 1].

Hand-made features, one per column of ``ml.writer.FEATURES``: genuine queries are high,
random forgeries far below, skilled forgeries just under the genuine ones. That is the
situation that made the old, pooled fit saturate: almost every genuine signature and most
skilled forgeries scored near 1, so the threshold sat where forgeries cluster.
"""

from __future__ import annotations

import numpy as np
import pytest

from ml.metrics import eer
from ml.writer import CALIBRATION_MODES, FEATURES, Calibrator


def _features(seed=0, n_gen=200, n_skilled=60, n_random=3000):
    rng = np.random.default_rng(seed)
    d = len(FEATURES)
    # column 0 separates random forgeries easily; column 3 is what tells skilled ones apart
    gen = rng.normal(0, 0.05, (n_gen, d)) + [0.8, 0.9, 1.0, 0.0]
    sk = rng.normal(0, 0.05, (n_skilled, d)) + [0.75, 0.85, 0.8, -0.08]
    rnd = rng.normal(0, 0.05, (n_random, d)) + [0.2, 0.3, -1.0, -0.6]
    return {"genuine": gen, "skilled": sk, "random": rnd}


def test_modes_are_known_and_checked():
    assert "skilled_half" in CALIBRATION_MODES and "balanced" in CALIBRATION_MODES
    with pytest.raises(ValueError, match="unknown calibration mode"):
        Calibrator().fit({"5+": _features()}, mode="nonsense")


def test_weighting_skilled_forgeries_spreads_genuine_and_skilled_scores():
    fit = _features(0)
    test = _features(1)
    res = {}
    for mode in ("balanced", "skilled_half"):
        cal = Calibrator().fit({"5+": fit}, mode=mode)
        assert cal.params["5+"]["mode"] == mode
        s = {k: cal.score(v, 7) for k, v in test.items()}
        assert all(((v >= 0) & (v <= 1)).all() for v in s.values())
        res[mode] = {
            "skilled_eer": eer(s["genuine"], s["skilled"])[0],
            "random_eer": eer(s["genuine"], s["random"])[0],
            "skilled_median": float(np.median(s["skilled"])),
            "genuine_median": float(np.median(s["genuine"])),
        }
    # pooled and balanced, skilled forgeries score near 1 like the genuine ones, so no
    # threshold in the middle of the scale tells them apart
    assert res["balanced"]["skilled_median"] > 0.9 and res["balanced"]["genuine_median"] > 0.9
    # weighted, genuine signatures stay above 0.5 and skilled forgeries fall below it
    assert res["skilled_half"]["genuine_median"] > 0.5 > res["skilled_half"]["skilled_median"]
    assert res["skilled_half"]["skilled_eer"] <= res["balanced"]["skilled_eer"] + 1e-9
    assert res["skilled_half"]["random_eer"] < 0.02  # random forgeries stay far apart


def test_without_skilled_forgeries_random_ones_take_their_weight():
    f = _features(2)
    del f["skilled"]
    cal = Calibrator().fit({"1-1": f})
    s = {k: cal.score(v, 1) for k, v in f.items()}
    assert eer(s["genuine"], s["random"])[0] < 0.02
    assert s["genuine"].mean() > 0.5 > s["random"].mean()


def test_a_bucket_without_genuine_scores_is_left_out_and_scoring_falls_back():
    f = _features(3)
    cal = Calibrator().fit({"5+": f, "2-4": {"genuine": np.zeros((0, len(FEATURES))), "random": f["random"]}})
    assert set(cal.params) == {"5+"}
    # a 3-reference query uses the nearest fitted bucket rather than failing
    assert np.allclose(cal.score(f["genuine"][:5], 3), cal.score(f["genuine"][:5], 7))
