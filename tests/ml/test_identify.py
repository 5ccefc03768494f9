"""1:N identification: vectorised re-scoring of a short list, the outcome rule, the margin,
and ``python -m ml identify`` on writers the test generates."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml import decision as dv2
from ml import decision_fit as fit
from ml import identify, identify_eval
from ml.cli import main as cli_main
from ml.engine import Engine

from ml_testkit import clustered_embeddings, tiny_checkpoint

DIM = 64


@pytest.fixture(scope="module")
def engine_v1():
    return Engine(tiny_checkpoint(seed=0))


@pytest.fixture(scope="module")
def engine_v2():
    train = clustered_embeddings(20, 6, DIM, noise=0.5, seed=1, forged=4)
    val = clustered_embeddings(16, 12, DIM, noise=0.5, seed=2, forged=4)
    negatives = np.concatenate([d["genuine"] for d in train.values()])
    skilled = np.concatenate([d["forged"] for d in train.values()])
    decision, _ = fit.fit_decision(fit.base_decision(negatives, skilled, dv2.fit_wi(train, seed=0)), val, seeds=(0,))
    ck = tiny_checkpoint(seed=0)
    ck["decision"] = decision
    return Engine(ck)


@pytest.fixture(scope="module")
def writers():
    return clustered_embeddings(16, 12, DIM, noise=0.4, seed=5, forged=3)


@pytest.mark.parametrize("which", ["engine_v1", "engine_v2"])
def test_short_list_scores_equal_one_by_one_verification(which, writers, request):
    engine = request.getfixturevalue(which)
    wds = [engine.fit_writer(d["genuine"][: (1, 2, 5, 10)[i % 4]]) for i, d in enumerate(writers.values())]
    query = writers["syn/writer_003"]["genuine"][11]
    scores, thresholds = identify.score_candidates(engine, query, wds)
    expected = [float(engine.score(wd, query[None])[0][0]) for wd in wds]
    np.testing.assert_allclose(scores, expected, atol=1e-6)
    assert thresholds.tolist() == [engine.threshold_for(wd["n_refs"]) for wd in wds]


@pytest.mark.parametrize(
    "scores, thresholds, margin, outcome",
    [
        ([0.2, 0.1, 0.3], [0.5] * 3, 0.1, "none"),
        ([0.9, 0.2, 0.3], [0.5] * 3, 0.1, "match"),
        ([0.9, 0.6, 0.3], [0.5] * 3, 0.1, "match"),  # two pass, the best leads by 0.3
        ([0.9], [0.5], 0.5, "match"),  # a lone candidate leads by definition
        ([0.55, 0.48, 0.3], [0.5] * 3, 0.1, "ambiguous"),  # one passes, but the runner-up is close
        ([0.9, 0.85, 0.3], [0.5] * 3, 0.1, "ambiguous"),  # two pass within the margin
        ([0.9, 0.85, 0.3], [0.5] * 3, 0.0, "match"),
        ([0.6, 0.4, 0.3], [0.7, 0.3, 0.9], 0.1, "ambiguous"),  # only one ranked below a failing one passes
    ],
)
def test_outcome_rule(scores, thresholds, margin, outcome):
    got, order = identify.decide(np.array(scores), np.array(thresholds), margin)
    assert got == outcome
    assert order.tolist() == np.argsort(-np.array(scores)).tolist()


def test_engine_identify_names_the_writer_and_refuses_a_stranger(engine_v1, writers):
    names = sorted(writers)
    enrolled = {w: engine_v1.fit_writer(writers[w]["genuine"][:5]) for w in names[:-1]}
    res = engine_v1.identify(writers[names[2]]["genuine"][9], enrolled, top_k=3, margin=0.05)
    assert res["outcome"] == "match" and res["margin"] == 0.05 and len(res["candidates"]) == 3
    top = res["candidates"][0]
    assert top["key"] == names[2] and top["passes"] and top["score"] >= top["threshold"]
    assert [c["score"] for c in res["candidates"]] == sorted((c["score"] for c in res["candidates"]), reverse=True)
    stranger = engine_v1.identify(writers[names[-1]]["genuine"][0], enrolled)
    assert stranger["outcome"] == "none" and not any(c["passes"] for c in stranger["candidates"])
    assert engine_v1.identify(writers[names[0]]["genuine"][0], {})["outcome"] == "none"


def test_margin_comes_from_the_models_entry(tmp_path):
    path = tmp_path / "margins.json"
    path.write_text(json.dumps({"models": {"sigfast-abc": {"margin": 0.07}}}))
    assert identify.margin_for("sigfast-abc", path) == 0.07
    assert identify.margin_for("sigfast-other", path) == identify.DEFAULT_MARGIN
    assert identify.margin_for("sigfast-abc", tmp_path / "missing.json") == identify.DEFAULT_MARGIN


def test_shipped_model_has_a_fitted_margin():
    entry = json.loads(identify.MARGINS_FILE.read_text())["models"][Engine.load().model_version]
    assert 0.0 <= entry["margin"] <= 0.5 and "validation" in entry["source"]
    pad = entry["pad"]["fused"]  # pad queries decided by the fused score: fitted on validation pad users only
    assert 0.0 <= pad["margin"] <= 0.5 and "svc2004_val" in pad["source"] and "test" not in pad["command"]
    assert pad["at_margin"]["wrong_match"] <= 0.01


def test_protocol_counts_each_kind_of_query_and_the_margin_fit_is_monotone(engine_v1, writers):
    records = identify_eval.run(writers, engine_v1, references=5, seed=0, unenrolled=3, shortlist=5)
    s = identify_eval.summarise(records, 0.05)
    assert s["queries"] == {"enrolled": 13 * 7, "unenrolled": 3 * 12, "forgery": 13 * 3}
    assert s["top1"] >= 0.95 and s["top5"] >= s["top1"] and s["match_rate"] >= 0.8
    assert s["false_match"] <= 0.1 and s["wrong_match"] <= 0.02
    assert all(len(r["keys"]) <= 5 for r in records)
    margin, table = identify_eval.fit_margin(records)
    assert margin in identify_eval.MARGIN_GRID
    rates = [t["match_rate"] for t in table]
    assert rates == sorted(rates, reverse=True)  # a larger margin never adds matches
    with pytest.raises(ValueError, match="no enrolled writer"):
        identify_eval.run(writers, engine_v1, references=5, seed=0, unenrolled=16)


def test_identify_cli_on_generated_writers(tmp_path, capsys):
    from ml import synthetic

    data = synthetic.write_dataset(tmp_path / "writers", writers=6, genuine_per_writer=7, forged_per_writer=2, seed=3)
    out = tmp_path / "report.json"
    args = ["identify", "--data", str(data), "--references", "5", "--seed", "0", "--unenrolled", "2", "--json", str(out)]
    assert cli_main(args) == 0
    report = json.loads(out.read_text())
    assert {"n_writers", "references", "top1", "top5", "match_rate", "false_match", "impostor_accepted"} <= set(report)
    assert report["n_writers"] == 6 and report["references"] == 5 and report["queries"]["unenrolled"] == 14
    assert report["top1"] >= 0.75  # synthetic pad writers are easy to tell apart
    assert cli_main(["identify", "--data", str(tmp_path / "nowhere")]) == 2
    assert cli_main(["identify", "--data", str(data), "--unenrolled", "6"]) == 2
    assert "error:" in capsys.readouterr().err
