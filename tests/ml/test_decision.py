"""The v2 writer-dependent decision (ml.decision) and the engine's per-bucket operating points.

Handmade embeddings (``ml_testkit.clustered_embeddings``): tight writer clusters, skilled
forgeries halfway between a writer's centre and another direction.
"""

from __future__ import annotations

import numpy as np
import pytest

from ml import decision as dv2
from ml import decision_fit as fit
from ml.calibration import calibrate_decision
from ml.engine import Engine
from ml.metrics import eer

from ml_testkit import clustered_embeddings, tiny_checkpoint

DIM = 64


@pytest.fixture(scope="module")
def parts():
    train = clustered_embeddings(20, 6, DIM, noise=0.5, seed=1, forged=4)
    val = clustered_embeddings(16, 12, DIM, noise=0.5, seed=2, forged=4)
    val = {k.replace("syn/", "val/"): v for k, v in val.items()}
    negatives = np.concatenate([d["genuine"] for d in train.values()])
    skilled = np.concatenate([d["forged"] for d in train.values()])
    wi = dv2.fit_wi(train, seed=0)
    base = fit.base_decision(negatives, skilled, wi)
    decision, report = fit.fit_decision(base, val, seeds=(0,))
    return train, val, base, decision, report


def test_bucket_names():
    assert [dv2.bucket_name(n) for n in (1, 2, 4, 5, 9, 10, 40)] == ["1", "2-4", "2-4", "5-9", "5-9", "10+", "10+"]
    with pytest.raises(ValueError):
        dv2.bucket_name(0)


def test_wi_model_separates_same_writer_pairs(parts):
    train, val, *_ = parts
    wi = dv2.fit_wi(train, seed=0)
    w, b = np.asarray(wi["w"]), wi["b"]
    g = val["val/writer_000"]["genuine"]
    same = np.abs(g[0] - g[1:]) @ w + b
    other = np.abs(g[0] - val["val/writer_001"]["genuine"]) @ w + b
    forged = np.abs(g[0] - val["val/writer_000"]["forged"]) @ w + b
    assert same.min() > other.max()
    assert same.mean() > forged.mean()


def test_each_bucket_gets_its_own_threshold_from_validation(parts):
    *_, decision, report = parts
    assert set(decision["thresholds"]) == {"1", "2-4", "5-9", "10+"}
    assert set(decision["calibrator"]) == {"1", "2-4", "5-9", "10+"}
    assert decision["threshold"] == decision["thresholds"]["5-9"]
    assert len(set(decision["thresholds"].values())) == 4  # fitted separately, not one copied value
    for b, r in report.items():
        assert r["threshold"] == decision["thresholds"][b]
        assert r["eer"] < 0.25


def test_skilled_negatives_enter_the_writer_svm(parts):
    _, val, base, *_ = parts
    with_sk = dv2.Decision(base)
    without = dv2.Decision({**base, "skilled_negatives": base["skilled_negatives"][:0]})
    refs = val["val/writer_003"]["genuine"][:5]
    forged = val["val/writer_003"]["forged"]
    a, b = with_sk.fit_writer(refs), without.fit_writer(refs)
    assert a["svm_w"] != b["svm_w"]
    margin = lambda wd: with_sk.features(wd, forged)[0][:, dv2.FEATURES.index("svm")]
    assert margin(a).mean() < margin(b).mean()  # forgeries pushed further to the negative side


def test_cv_scores_are_writer_disjoint_and_summarised(parts):
    _, val, base, *_ = parts
    rows = fit.protocol_rows(dv2.Decision(base), val, refs=(1, 5), seeds=(0,))
    scored = fit.cv_scores(rows, folds=4)
    assert {r["writer"] for r in scored} == set(val)
    summary = fit.summarize_cv(scored)
    assert set(summary["val"]) == {"r1", "r5"}
    assert summary["val"]["r5"]["eer_skilled"] <= summary["val"]["r1"]["eer_skilled"] + 0.05


@pytest.fixture(scope="module")
def engine_v2(parts):
    _, _, _, decision, _ = parts
    ck = tiny_checkpoint(seed=0)
    ck["decision"] = decision
    return Engine(ck)


def test_engine_uses_bucket_threshold_by_reference_count(engine_v2, parts):
    _, val, _, decision, _ = parts
    eng = engine_v2
    assert eng.threshold == decision["threshold"]
    for n, b in ((1, "1"), (3, "2-4"), (7, "5-9"), (12, "10+")):
        assert eng.threshold_for(n) == decision["thresholds"][b]
        g = val["val/writer_005"]["genuine"]
        wd = eng.fit_writer(g[:n] if n <= len(g) - 1 else np.concatenate([g[:-1]] * 2)[:n])
        r = eng.verify(wd, g[-1])
        assert r["threshold"] == decision["thresholds"][b]
    # a customer's own threshold still overrides the bucket's
    assert eng.verify(wd, g[-1], threshold=0.123)["threshold"] == 0.123


def test_engine_v2_scores_separate_genuine_from_forgeries(engine_v2, parts):
    _, val, *_ = parts
    g, s = [], []
    for d in val.values():
        wd = engine_v2.fit_writer(d["genuine"][:5])
        g.append(engine_v2.score(wd, d["genuine"][5:])[0])
        s.append(engine_v2.score(wd, d["forged"])[0])
    assert eer(np.concatenate(g), np.concatenate(s))[0] < 0.15


def test_v1_checkpoint_without_bucket_thresholds_keeps_one_threshold():
    ck = tiny_checkpoint(seed=0)
    del ck["decision"]["thresholds"]  # calibrated before per-bucket operating points existed
    eng = Engine(ck)
    assert eng.decision is None
    assert eng.threshold_for(1) == eng.threshold_for(3) == eng.threshold_for(10) == eng.threshold


def test_v1_calibration_fits_every_bucket_it_sets_an_operating_point_for(parts):
    """Calibrated at 1, 5 and 10 references only (the shipped config), the 2-4 calibrator used to
    be fitted on the few writers too short for 5 references, or not at all, and one threshold
    fitted at 5 references applied to every count: the shipped model accepted 72% of the
    validation writers' skilled forgeries at 3 references. Now each bucket of the decision has
    a calibrator fitted at its count and its own operating point there."""
    _, val, *_ = parts
    negatives = np.concatenate([d["genuine"] for d in clustered_embeddings(20, 3, DIM, noise=0.5, seed=7).values()])
    cal = {"refs": [1, 5, 10], "seeds": [0, 1], "svm_c": 1.0, "threshold_refs": 5, "mode": "skilled_half"}
    decision, report = calibrate_decision(val, negatives, cal)
    assert set(decision["calibrator"]) == {"1-1", "2-4", "5+"}
    assert set(decision["thresholds"]) == {"1", "2-4", "5-9", "10+"}
    assert decision["threshold"] == report["threshold"] == decision["thresholds"]["5-9"]
    eng = Engine({**tiny_checkpoint(seed=0), "decision": decision})
    for n, bucket in ((1, "1"), (3, "2-4"), (4, "2-4"), (5, "5-9"), (10, "10+"), (30, "10+")):
        assert eng.threshold_for(n) == decision["thresholds"][bucket]
    # at 3 references the bucket's operating point balances the two errors on these writers
    frr, far = [], []
    for seed in cal["seeds"]:
        for d in val.values():
            order = np.random.default_rng(seed).permutation(len(d["genuine"]))
            wd = eng.fit_writer(d["genuine"][order[:3]])
            frr.append(eng.score(wd, d["genuine"][order[3:]])[0] < eng.threshold_for(3))
            far.append(eng.score(wd, d["forged"])[0] >= eng.threshold_for(3))
    frr, far = np.concatenate(frr).mean(), np.concatenate(far).mean()
    assert abs(frr - far) < 0.15 and far < 0.3


def test_evaluate_decides_each_writer_at_its_own_bucket(parts, tmp_path):
    """A writer with fewer genuine signatures than R is enrolled with fewer references and
    must be decided at that bucket's operating point, not at R's."""
    from PIL import Image

    from ml import checkpoint as ckpt
    from ml import synthetic
    from ml.evaluate import evaluate
    from ml.preprocess import render_strokes

    from ml_testkit import png_bytes

    *_, decision, _ = parts
    for name, n in (("writer_a", 4), ("writer_b", 12)):  # R=10: a has 3 references (2-4), b has 10 (10+)
        d = tmp_path / "data" / name / "genuine"
        d.mkdir(parents=True)
        for i in range(n):
            strokes = synthetic.genuine(7 if name == "writer_a" else 8, i)
            (d / f"{i:02d}.png").write_bytes(png_bytes(Image.fromarray(render_strokes(strokes, 400))))
    ck = tiny_checkpoint(seed=0)
    ck["decision"] = {**decision, "thresholds": {**decision["thresholds"], "2-4": -1.0, "10+": 2.0}}
    path = tmp_path / "m.pt"
    ckpt.save(ck, path)
    rep = evaluate(str(tmp_path / "data"), references=10, seed=0, model=str(path))
    at = rep["at_threshold"]
    assert at["threshold"] == 2.0 and at["per_writer_thresholds"]
    # writer_a's one query is accepted at its bucket (2-4, threshold -1); writer_b's two are
    # rejected at 10+ (threshold 2): FRR 2/3. One threshold for all would give 1.0.
    assert at["frr"] == pytest.approx(2 / 3)


def test_calibration_restricted_to_chosen_features(parts):
    _, val, base, *_ = parts
    decision, _ = fit.fit_decision(base, val, seeds=(0,), use_features=("svm",))
    svm = dv2.FEATURES.index("svm")
    for p in decision["calibrator"].values():
        assert p["coef"][svm] != 0.0
        assert all(c == 0.0 for i, c in enumerate(p["coef"]) if i != svm)
    assert decision["calibration_features"] == ["svm"]
    with pytest.raises(ValueError):
        fit.fit_decision(base, val, seeds=(0,), use_features=("nonsense",))
