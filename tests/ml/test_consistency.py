"""Reference-set consistency (``ml.consistency`` and ``Engine.reference_consistency``).

Generated data only (handmade clustered embeddings, synthetic pad signatures): these
always run. The rates on real validation writers come from benchmarks/consistency_rates.py.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from ml import consistency as cons
from ml.engine import Engine

from ml_testkit import clustered_embeddings

DIM = 64


def _writers(n_writers=12, per_writer=12, noise=1.0, seed=0) -> dict:
    emb = clustered_embeddings(n_writers, per_writer, DIM, noise=noise, seed=seed)
    return {w: {"person": w, "dataset": "syn", "genuine": d["genuine"]} for w, d in emb.items()}


def _fitted_rule(writers, refs=(2, 3, 4, 5, 6)) -> cons.ConsistencyRule:
    thresholds = {}
    for r in refs:
        sets = cons.sample_sets(writers, r, 30, seed=r)
        thresholds[r] = cons.fit_threshold({"syn": cons.scores_of(sets["genuine"])}, 0.01)
    return cons.ConsistencyRule(thresholds, "test")


def _brute_force_weakest(e: np.ndarray) -> float:
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    sim = e @ e.T
    r = len(e)
    best = np.inf
    for k in range(1, r):
        for a in itertools.combinations(range(r), k):
            b = [i for i in range(r) if i not in a]
            best = min(best, sim[np.ix_(list(a), b)].mean())
    return float(best)


def test_weakest_split_is_the_lowest_mean_cross_similarity_over_all_splits():
    rng = np.random.default_rng(3)
    for r in (2, 3, 5, 7):
        e = rng.normal(size=(r, 8))
        score, side = cons.weakest_split(e)
        assert score == pytest.approx(_brute_force_weakest(e), abs=1e-9)
        assert 0 < side.sum() < r


def test_weakest_split_of_three_plus_two_is_the_split_between_the_writers():
    w = _writers()
    a, b = w["syn/writer_000"]["genuine"], w["syn/writer_001"]["genuine"]
    score, side = cons.weakest_split(np.concatenate([a[:3], b[:2]]))
    assert sorted(np.flatnonzero(side).tolist()) in ([3, 4], [0, 1, 2])
    assert score < cons.weakest_split(a[:5])[0]


def test_large_sets_use_candidate_splits_and_still_find_one_intruder():
    w = _writers(per_writer=20)
    own = w["syn/writer_002"]["genuine"][:15]
    intruder = w["syn/writer_005"]["genuine"][:1]
    refs = np.concatenate([own[:7], intruder, own[7:]])  # 16 references: above EXACT_MAX_REFS
    assert len(refs) > cons.EXACT_MAX_REFS
    rule = cons.ConsistencyRule({2: cons.weakest_split(own)[0] - 0.05}, "test")
    assert cons.check(own, rule)["consistent"]
    res = cons.check(refs, rule)
    assert not res["consistent"] and res["outliers"] == [7]


def test_very_large_sets_stay_fast_and_name_two_intruders():
    import time

    w = _writers(n_writers=3, per_writer=80)
    own = w["syn/writer_000"]["genuine"][:70]  # above PAIR_SPLITS_MAX_REFS: no pair splits
    refs = np.concatenate([own, w["syn/writer_001"]["genuine"][:2]])
    rule = cons.ConsistencyRule({2: cons.weakest_split(own)[0] - 0.05}, "test")
    start = time.perf_counter()
    res = cons.check(refs, rule)
    assert time.perf_counter() - start < 5.0
    assert not res["consistent"] and res["outliers"] == [70, 71]


def test_one_writer_sets_pass_and_mixed_sets_are_refused_with_the_intruder_named():
    train, held = _writers(seed=0), _writers(seed=1)  # the rule is fitted on other writers
    rule = _fitted_rule(train)
    sets = cons.sample_sets(held, 5, 20, seed=7)
    genuine = [cons.check(s, rule) for s in sets["genuine"]]
    assert np.mean([r["consistent"] for r in genuine]) >= 0.95
    assert all(r["outliers"] == [] for r in genuine if r["consistent"])
    one = [cons.check(s, rule) for s in sets["one_intruder"]]
    assert not any(r["consistent"] for r in one)
    # sample_sets puts the intruder last; a remainder that is itself borderline may cost one more
    assert all(4 in r["outliers"] for r in one)
    assert np.mean([r["outliers"] == [4] for r in one]) >= 0.98
    two = [cons.check(s, rule) for s in sets["two_intruders"]]
    assert not any(r["consistent"] for r in two)
    assert all(r["outliers"] == [3, 4] for r in two)
    assert not any(cons.check(s, rule)["consistent"] for s in sets["all_different"])
    assert all(r["threshold"] == rule.threshold(5) for r in genuine + one)


def test_sample_sets_builds_each_kind_from_the_right_people():
    w = _writers(n_writers=6, per_writer=8)
    index = {tuple(np.round(v, 6)): name for name, d in w.items() for v in d["genuine"]}

    def owners(s):
        return [index[tuple(np.round(v, 6))] for v in s]

    sets = cons.sample_sets(w, 5, 3, seed=1)
    assert {k: len(v) for k, v in sets.items()} == {"genuine": 18, "one_intruder": 18, "two_intruders": 18, "all_different": 18}
    for s in sets["genuine"]:
        assert len(set(owners(s))) == 1 and len({tuple(x) for x in s}) == 5
    for s in sets["one_intruder"]:
        o = owners(s)
        assert len(set(o[:4])) == 1 and o[4] != o[0]
    for s in sets["two_intruders"]:
        o = owners(s)
        assert len(set(o[:3])) == 1 and o[3] == o[4] != o[0]
    for s in sets["all_different"]:
        assert len(set(owners(s))) == 5
    again = cons.sample_sets(w, 5, 3, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(sets["genuine"], again["genuine"]))
    only = cons.sample_sets(w, 5, 2, seed=1, anchors={"syn/writer_003"})
    assert all(set(owners(s)) == {"syn/writer_003"} for s in only["genuine"]) and len(only["genuine"]) == 2


def test_fit_threshold_refuses_at_most_the_allowed_share_with_datasets_weighing_the_same():
    big = np.arange(1, 101) / 100.0  # 0.01 .. 1.00
    assert cons.fit_threshold({"a": big}, 0.01) == pytest.approx(0.02)  # refuses 0.01 only
    assert cons.fit_threshold({"a": big}, 0.0) == pytest.approx(0.01)
    small = np.array([0.005, 0.5, 0.6, 0.7, 0.8])  # one of 5 (20%) below everything in "a"
    # pooled by set, 1 of 105 (< 1%) would be refused at 0.01; by dataset it is 10%
    assert cons.fit_threshold({"a": big, "b": small}, 0.01) == pytest.approx(0.005)
    assert cons.fit_threshold({"a": big, "b": small}, 0.11) == pytest.approx(0.03)  # (0.02 + 0.2) / 2 = 0.11
    with pytest.raises(ValueError):
        cons.fit_threshold({"a": np.zeros(0)})


def test_check_edge_cases():
    rule = cons.ConsistencyRule({2: 0.3, 5: 0.4}, "test")
    assert cons.check(np.ones((1, 4)), rule) == {"consistent": True, "score": 1.0, "threshold": 0.3, "outliers": []}
    two = cons.check(np.array([[1.0, 0], [0, 1.0]]), rule)  # orthogonal: refused, nobody to blame
    assert not two["consistent"] and two["outliers"] == [] and two["score"] == pytest.approx(0.0)
    assert rule.threshold(3) == 0.3 and rule.threshold(5) == 0.4 and rule.threshold(40) == 0.4
    for bad in (np.zeros((0, 4)), np.ones(4), np.array([[np.nan, 1.0], [1.0, 0.0]])):
        with pytest.raises(ValueError):
            cons.check(bad, rule)


def test_rules_are_read_by_model_version_with_a_fallback_from_the_negatives(tmp_path):
    path = tmp_path / "thresholds.json"
    fitted = cons.ConsistencyRule({2: 0.25, 5: 0.375}, "fitted on validation writers", {"fit_datasets": ["x"]})
    cons.save_rule("sigfast-0123abcd", fitted, path)
    cons.save_rule("other-ffffffff", cons.ConsistencyRule({3: 0.1}, "y"), path)
    assert set(json.loads(path.read_text())["models"]) == {"sigfast-0123abcd", "other-ffffffff"}
    got = cons.rule_for("sigfast-0123abcd", None, path)
    assert got.thresholds == {2: 0.25, 5: 0.375} and got.details == {"fit_datasets": ["x"]}

    rng = np.random.default_rng(0)
    negatives = rng.normal(size=(50, 16))
    fb = cons.rule_for("sigfast-99999999", negatives, path)
    n = negatives / np.linalg.norm(negatives, axis=1, keepdims=True)
    assert fb.thresholds == {2: pytest.approx(float(np.median((n @ n.T)[np.triu_indices(50, 1)])))}
    assert fb.source.startswith("fallback")
    assert cons.rule_for("x", None, tmp_path / "missing.json").threshold(5) == cons.DEFAULT_THRESHOLD


def test_shipped_thresholds_file_names_its_statistic_and_datasets():
    models = cons.load_rules()
    assert models, "ml/consistency_thresholds.json has no fitted model"
    for entry in models.values():
        assert entry["statistic"] == cons.STATISTIC
        ts = {int(k): v for k, v in entry["thresholds"].items()}
        assert min(ts) == 2 and max(ts) == cons.MAX_FITTED_REFS
        assert all(-1.0 <= v <= 1.0 for v in ts.values())
        assert entry["max_genuine_refusal"] <= 0.01


def test_engine_reference_consistency_on_a_checkpoint_without_fitted_thresholds(tiny_model_path):
    engine = Engine.load(tiny_model_path)
    assert engine.consistency_rule.source.startswith("fallback")
    d = engine.embedding_dim
    w = _writers(n_writers=3, per_writer=6)
    w = {k: {**v, "genuine": np.pad(v["genuine"], ((0, 0), (0, d - DIM)))} for k, v in w.items()}
    own = w["syn/writer_000"]["genuine"]
    assert engine.reference_consistency(own[:5])["consistent"]
    mixed = engine.reference_consistency(np.stack([w[k]["genuine"][0] for k in w] + [own[1]]))
    assert set(mixed) == {"consistent", "score", "threshold", "outliers"}
    assert engine.reference_consistency(own[:1])["consistent"]
    with pytest.raises(ValueError):
        engine.reference_consistency(np.ones((3, d + 1)))


@pytest.mark.real_engine
def test_shipped_engine_refuses_mixed_synthetic_pad_signatures():
    """The shipped model on procedural pad signatures (``ml.synthetic``): each writer's own
    five pass; a 4 + 1 mix of two writers is refused for most pairs, the intruder named
    (procedural writers are all smooth loops of one generator, and many pairs look alike
    to a model trained on scans: this is a smoke test, the rates are measured on real
    validation writers by benchmarks/consistency_rates.py)."""
    import torch

    from ml import checkpoint as ckpt
    from ml import synthetic

    if not ckpt.DEFAULT_PATH.is_file():
        pytest.skip("no shipped checkpoint")
    torch.set_num_threads(1)
    engine = Engine.load()
    assert engine.consistency_rule.source.startswith("fitted"), "the shipped model has no fitted thresholds"
    seeds = [5, 11, 23, 42, 77, 300, 907, 1234]
    own = {s: engine.embed([synthetic.genuine(s, i) for i in range(5)]) for s in seeds}
    assert all(engine.reference_consistency(own[s])["consistent"] for s in seeds)
    one = [engine.reference_consistency(np.concatenate([own[a][:4], own[b][:1]])) for a, b in itertools.permutations(seeds, 2)]
    refused = [r for r in one if not r["consistent"]]
    assert len(refused) > 0.5 * len(one)
    assert np.mean([r["outliers"] == [4] for r in refused]) >= 0.9
    five = engine.reference_consistency(np.stack([own[s][0] for s in seeds[:5]]))
    assert not five["consistent"] and five["threshold"] == engine.consistency_rule.threshold(5)


def _two_datasets(noise_b=1.0) -> dict:
    a = {f"a/{k}": {**v, "person": f"a/{k}", "dataset": "a"} for k, v in _writers(8, 10, 1.0, seed=2).items()}
    b = {f"b/{k}": {**v, "person": f"b/{k}", "dataset": "b"} for k, v in _writers(8, 10, noise_b, seed=3).items()}
    return {**a, **b}


def test_fit_rule_keeps_genuine_refusals_within_budget_on_the_datasets_it_fits():
    writers = _two_datasets()
    rule, scored = cons.fit_rule(writers, ["a", "b"], per_writer=20, seed=0, refs=range(2, 7), source="test")
    assert sorted(rule.thresholds) == [2, 3, 4, 5, 6] and rule.details["fit_datasets"] == ["a", "b"]
    for r, by_ds in scored.items():
        refused = np.mean([cons.refusal_rate(by_ds[ds]["genuine"][0], rule.thresholds[r]) for ds in ("a", "b")])
        assert refused <= 0.01
        assert cons.refusal_rate(by_ds["a"]["all_different"][0], rule.thresholds[r]) > 0.9
    noisy = {**writers, **{f"c/{k}": {**v, "person": f"c/{k}", "dataset": "c"} for k, v in _writers(6, 10, 3.0, seed=4).items()}}
    rule_c, scored_c = cons.fit_rule(noisy, ["a", "b"], per_writer=20, seed=0, refs=range(2, 7))
    assert set(scored_c[5]) == {"a", "b", "c"}  # "c" is measured, not fitted on
    assert cons.refusal_rate(scored_c[5]["c"]["genuine"][0], rule_c.thresholds[5]) > 0.05
    rule_abc, _ = cons.fit_rule(noisy, ["a", "b", "c"], per_writer=20, seed=0, refs=range(2, 7))
    assert all(rule_abc.thresholds[r] < rule_c.thresholds[r] for r in rule_c.thresholds)


def test_consistency_rates_script_measures_and_cross_validates():
    import importlib.util

    from ml_testkit import REPO

    spec = importlib.util.spec_from_file_location("consistency_rates", REPO / "benchmarks" / "consistency_rates.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    cv_at, rates, trade_off = script.cv_at, script.rates, script.trade_off

    writers = _two_datasets()
    rule, scored = cons.fit_rule(writers, ["a", "b"], per_writer=10, seed=0, refs=range(2, 6))
    out = rates(scored[5], rule, 5, ["a", "b"])
    assert out["threshold"] == rule.thresholds[5]
    assert out["overall_fit_datasets"]["genuine"]["sets"] == 160 and out["overall_fit_datasets"]["genuine"]["refused"] <= 0.01
    assert out["overall_fit_datasets"]["all_different"]["refused"] > 0.9
    assert out["datasets"]["a"]["one_intruder"]["intruder_is_the_outlier"] >= 0.9
    rows = trade_off(scored[5], 0.01)
    assert [r["max_genuine_refusal"] for r in rows] == sorted(r["max_genuine_refusal"] for r in rows)
    assert all(x["threshold"] <= y["threshold"] for x, y in zip(rows, rows[1:]))
    cv = cv_at(writers, 5, ["a", "b"], folds=4, per_writer=10, seed=0)
    assert cv["overall_fit_datasets"]["genuine"]["sets"] == 160
    assert cv["overall_fit_datasets"]["all_different"]["refused"] > 0.9


def _media_people(rng, n_people: int, dim: int = 16):
    """People whose signatures differ far more by medium (axis 0: paper -6, tablet +6) than by
    person (the other axes): {identity: (4, dim)}, two on paper and two on a tablet each."""
    out = {}
    for p in range(n_people):
        centre = np.r_[0.0, rng.normal(size=dim - 1)]
        media = np.repeat([-6.0, 6.0], 2)[:, None] * np.eye(dim)[0]
        out[f"p{p}"] = centre + media + 0.2 * rng.normal(size=(4, dim))
    return out


def test_wccn_lets_a_cross_media_set_pass_and_still_refuses_a_mix(tmp_path):
    """Within-identity normalisation, fitted on training people, shrinks the medium's axis: one
    person's paper and tablet signatures hold together again, and two people on one medium
    still do not. The transform is stored per model version and applied by ``check``."""
    rng = np.random.default_rng(0)
    train = _media_people(rng, 40)
    new = _media_people(rng, 2)
    cross_media = new["p0"]  # one person: two on paper, two on a tablet
    mix = np.r_[new["p0"][:2], new["p1"][:2]]  # two people, all on paper
    raw = {name: cons.weakest_split(x)[0] for name, x in (("cross", cross_media), ("mix", mix))}
    assert raw["cross"] < raw["mix"]  # plain cosine: the medium splits a person more than two people differ

    transform = cons.fit_wccn(train, shrinkage=0.01)
    tr = {name: cons.weakest_split(cons.transform.apply(transform, x))[0] for name, x in (("cross", cross_media), ("mix", mix))}
    assert tr["cross"] > tr["mix"]

    path = tmp_path / "thresholds.json"
    threshold = (tr["cross"] + tr["mix"]) / 2
    cons.save_rule("sigfast-0123abcd", cons.ConsistencyRule({2: threshold}, "fitted", {"transform": "wccn"}), path)
    cons.save_transform("sigfast-0123abcd", transform, tmp_path)
    rule = cons.rule_for("sigfast-0123abcd", None, path, transforms_dir=tmp_path)
    assert rule.transform is not None
    assert cons.check(cross_media, rule)["consistent"] and not cons.check(mix, rule)["consistent"]
    # an entry fitted on transformed embeddings whose transform file is missing is not used
    assert cons.rule_for("sigfast-0123abcd", None, path, transforms_dir=tmp_path / "none").source.startswith("default")
