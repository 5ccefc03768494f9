"""``benchmarks/compare_models.py``: the paired writer bootstrap used to tell models apart."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from ml_testkit import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from compare_models import compare  # noqa: E402


def _scored(separation: float, writers: int = 12, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [{"writer": f"set/w{w:02d}", "threshold": 0.5,
             "genuine": rng.normal(separation, 1.0, 8), "skilled": rng.normal(0.0, 1.0, 6),
             "random": rng.normal(-3.0, 1.0, 20)} for w in range(writers)]


def test_identical_models_differ_by_exactly_zero():
    a = _scored(1.0)
    out = compare([("a", {5: a}), ("a again", {5: a})], refs=[5], boot=200)["5"]
    first, second = out["models"]
    assert out["validation_writers"] == 12
    assert second["minus_first"] == 0.0 and second["minus_first_ci95"] == [0.0, 0.0]
    assert second["share_lower_than_first"] == 0.0
    assert first["ci95"][0] <= first["eer_skilled"] <= first["ci95"][1]


def test_a_clearly_better_model_is_lower_in_every_resample():
    weak, strong = _scored(0.5, seed=1), _scored(8.0, seed=2)
    second = compare([("weak", {5: weak}), ("strong", {5: strong})], refs=[5], boot=200)["5"]["models"][1]
    assert second["eer_skilled"] == 0.0 and second["minus_first"] < -0.2
    assert second["minus_first_ci95"][1] < 0 and second["share_lower_than_first"] == 1.0


def test_models_validated_on_other_writers_are_refused():
    a, b = _scored(1.0), _scored(1.0, writers=10)
    with pytest.raises(SystemExit, match="other writers"):
        compare([("a", {5: a}), ("b", {5: b})], refs=[5], boot=10)


def test_data_mode_scores_a_folder_with_each_models_shipped_decision(tiny_model_path, tmp_path):
    """``--data``: writers from an evaluate-layout folder, not the checkpoint's validation split."""
    import json

    from compare_models import main

    from ml import synthetic

    synthetic.write_dataset(tmp_path / "pad", writers=5, genuine_per_writer=4, forged_per_writer=2, seed=3)
    out = tmp_path / "cmp.json"
    main(["--models", str(tiny_model_path), str(tiny_model_path), "--data", str(tmp_path / "pad"),
          "--refs", "2", "1", "--boot", "50", "--json", str(out)])
    res = json.loads(out.read_text())
    assert res["data"] == str(tmp_path / "pad") and res["mode"] == "shipped decision"
    for refs in ("2", "1"):
        first, again = res["by_refs"][refs]["models"]
        assert res["by_refs"][refs]["validation_writers"] == 5
        assert 0.0 <= first["eer_skilled"] <= 1.0
        assert again["minus_first"] == 0.0 and again["minus_first_ci95"] == [0.0, 0.0]


def test_validation_mode_compares_models_on_the_writers_they_all_share(tmp_path):
    """A model trained with one more dataset has more validation writers (run H: SUSIG
    visual); both models are scored on the shared ones only, and the rest are listed."""
    from compare_models import scored_validation
    from ml_testkit import tiny_checkpoint

    from ml import checkpoint as ckpt
    from ml import synthetic

    for i, name in enumerate(("alpha", "beta", "gamma")):
        synthetic.write_dataset(tmp_path / "sigs" / name, writers=6, genuine_per_writer=6, forged_per_writer=2, seed=i)
    paths = []
    for datasets in (["alpha", "beta"], ["alpha", "beta", "gamma"]):
        ck = tiny_checkpoint()
        ck["config"]["data"].update(root=str(tmp_path / "sigs"), datasets=datasets, cache_dir=str(tmp_path / "cache"))
        ck["config"]["workers"] = 1
        paths.append(tmp_path / f"{len(datasets)}.pt")
        ckpt.save(ck, paths[-1])
    models, dropped = scored_validation([str(p) for p in paths], refs=[5], folds=2)
    assert dropped and all(p.startswith("gamma/") for p in dropped)
    writers = [sorted(r["writer"] for r in scored[5]) for _, scored in models]
    assert writers[0] == writers[1] and len(writers[0]) == 6  # 3 validation writers each of alpha and beta
    assert not any(w.startswith("gamma/") for w in writers[1])
