"""Random forgeries (other writers' genuine signatures) as negatives of the online and fused fits."""

import json

import numpy as np
from test_online import sample

from ml.metrics import eer
from ml.online.evaluate import StrokeScorer, scan_stroke_writers
from ml.online.fitting import eer_threshold, fit_logistic, negative_weights, random_sample, validation_rows
from ml.online.verifier import OnlineParams


def test_negative_weights_split_the_negative_half_between_skilled_and_random():
    kind = np.array(["genuine"] * 10 + ["skilled"] * 5 + ["random"] * 40)
    w = negative_weights(kind, 0.25)
    assert np.isclose(w[kind == "genuine"].sum(), 0.5)
    assert np.isclose(w[kind == "skilled"].sum(), 0.375) and np.isclose(w[kind == "random"].sum(), 0.125)
    assert len(set(w[kind == "random"].round(12))) == 1
    # without random rows the skilled forgeries take the whole half: the class-balanced fit
    two = kind[:15]
    assert np.isclose(negative_weights(two, 0.25)[two == "skilled"].sum(), 0.5)
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0, 1, (10, 2)), rng.normal(1, 1, (5, 2))]
    y = (two == "genuine").astype(float)
    wa, ba = fit_logistic(x, y)
    wb, bb = fit_logistic(x, y, weights=negative_weights(two, 0.0))
    assert np.allclose(wa, wb) and np.isclose(ba, bb)


def test_random_forgeries_as_negatives_stop_a_feature_from_accepting_other_writers():
    """Columns as the shipped global features: shape distance, |duration difference| and the signed
    difference. Skilled forgers are slower than the writer (difference below 0), so a fit on
    skilled forgeries alone weighs the signed difference above the absolute one and accepts other
    writers who sign faster; with random forgeries among the negatives it does not."""
    rng = np.random.default_rng(1)
    n = 2000

    def rows(dtw_mean, dtw_sd, diff_mean, diff_sd):
        d = rng.normal(diff_mean, diff_sd, n)
        return np.column_stack([rng.normal(dtw_mean, dtw_sd, n), np.abs(d), d])

    x = np.r_[rows(1.0, 0.2, 0.0, 0.15), rows(1.3, 0.25, -0.5, 0.2), rows(2.2, 0.4, 0.8, 0.4)]
    kind = np.array(["genuine"] * n + ["skilled"] * n + ["random"] * n)
    y = (kind == "genuine").astype(float)
    res = {}
    for rw in (0.0, 0.25):
        m = (kind != "random") if rw == 0 else np.ones(len(kind), bool)
        w, b = fit_logistic(x[m], y[m], l2=1.0, weights=negative_weights(kind[m], rw))
        s = x @ np.array(w) + b
        t = eer_threshold(s[kind == "genuine"], s[kind == "skilled"])
        res[rw] = (eer(s[kind == "genuine"], s[kind == "skilled"])[0], float((s[kind == "random"] >= t).mean()))
    assert res[0.0][1] > 0.2  # skilled-only fit: many random forgeries pass its operating point
    assert res[0.25][1] < 0.01 and res[0.25][1] < res[0.0][1] / 10
    assert res[0.25][0] < res[0.0][0] + 0.02  # skilled EER about the same


def test_validation_rows_draw_random_forgeries_from_the_writers_own_group(tmp_path):
    for w in range(1, 5):
        d = tmp_path / f"pad_u{w:03d}" / "genuine"
        d.mkdir(parents=True)
        for s in range(7):
            (d / f"{s:02d}.json").write_text(json.dumps(sample(w, s)))
    samples, _ = scan_stroke_writers(tmp_path)
    scorer = StrokeScorer(samples, OnlineParams(rate_hz=25.0, window=0.2, features="base+tnorm"))
    groups = {"pad_u001": 0, "pad_u002": 0, "pad_u003": 1, "pad_u004": 1}
    rows = validation_rows(scorer, 5, [0, 1], random=4, groups=groups)
    by = scorer.by_writer()
    for w in groups:
        m = (rows["writer"] == w) & (rows["kind"] == "random")
        assert m.sum() == 8  # 4 per seed
        drawn = random_sample(by, w, 4, 0, groups)
        assert {scorer.samples[i].writer for i in drawn} == {o for o in groups if o != w and groups[o] == groups[w]}
        assert np.array_equal(drawn, random_sample(by, w, 4, 0, groups))
    assert (rows["kind"] == "genuine").sum() == 4 * 2 * 2 and rows["feats"].shape[1] == 4
    # random forgeries are other writers: farther than the writer's own genuine queries
    r, g = rows["kind"] == "random", rows["kind"] == "genuine"
    assert np.median(rows["feats"][r, 0]) > np.median(rows["feats"][g, 0])
    # no random rows unless asked
    assert not (validation_rows(scorer, 5, [0], random=False)["kind"] == "random").any()
