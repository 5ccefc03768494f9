"""``ml.selection``: cross-validated scores and the paired writer bootstrap that tell models apart."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml import checkpoint as ckpt
from ml import synthetic
from ml.cli import main as cli_main
from ml.selection import NotComparableError, compare, cv_scores, person, scored_validation, study

from ml_testkit import tiny_checkpoint


def _scored(separation: float, writers: int = 12, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [
        {
            "writer": f"set/w{w:02d}",
            "threshold": 0.5,
            "genuine": rng.normal(separation, 1.0, 8),
            "skilled": rng.normal(0.0, 1.0, 6),
            "random": rng.normal(-3.0, 1.0, 20),
        }
        for w in range(writers)
    ]


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
    with pytest.raises(NotComparableError, match="other writers"):
        compare([("a", {5: a}), ("b", {5: b})], refs=[5], boot=10)


def test_data_mode_scores_a_folder_with_each_models_shipped_decision(tiny_model_path, tmp_path):
    """``python -m ml compare --data``: writers from an evaluate-layout folder, not the validation split."""
    synthetic.write_dataset(tmp_path / "pad", writers=5, genuine_per_writer=4, forged_per_writer=2, seed=3)
    out = tmp_path / "cmp.json"
    assert (
        cli_main(
            [
                "compare",
                "--models",
                str(tiny_model_path),
                str(tiny_model_path),
                "--data",
                str(tmp_path / "pad"),
                "--refs",
                "2",
                "1",
                "--boot",
                "50",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    res = json.loads(out.read_text())
    assert res["data"] == str(tmp_path / "pad") and res["mode"] == "shipped decision"
    for refs in ("2", "1"):
        first, again = res["by_refs"][refs]["models"]
        assert res["by_refs"][refs]["validation_writers"] == 5
        assert 0.0 <= first["eer_skilled"] <= 1.0
        assert again["minus_first"] == 0.0 and again["minus_first_ci95"] == [0.0, 0.0]


def test_validation_mode_compares_models_on_the_writers_they_all_share(tmp_path):
    """A model trained with one more dataset has more validation writers; both models are
    scored on the shared ones only, and the rest are listed."""
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


def test_person_is_dataset_and_writer():
    assert person("cross_media_chinese/w003/name07") == "cross_media_chinese/w003"
    assert person("cedar/001") == "cedar/001"


def _feature_rows(writers: int, gap: float, seed: int = 0) -> list[dict]:
    """Protocol rows with 4 features: genuine around +gap, skilled around 0, random around -gap."""
    rng = np.random.default_rng(seed)
    rows = []
    for w in range(writers):
        for protocol_refs in (1, 5, 10):
            for s in (0, 1):
                rows.append({"writer": f"set/w{w:02d}/name", "refs": protocol_refs, "protocol": protocol_refs, "seed": s,
                             "genuine": rng.normal(gap, 0.3, (6, 4)), "skilled": rng.normal(0.0, 0.3, (4, 4)),
                             "random": rng.normal(-gap, 0.3, (10, 4))})  # fmt: skip
    return rows


def test_cv_scores_hold_out_every_writer_once_at_the_operating_protocol():
    rows = _feature_rows(writers=8, gap=2.0)
    scored = cv_scores(rows, folds=4, eval_refs=5, mode="skilled_half")
    assert sorted(r["writer"] for r in scored) == sorted({r["writer"] for r in rows})
    for r in scored:  # seed-0, 5-reference rows only: 6 genuine, 4 skilled, 10 random scores each
        assert (r["genuine"].shape, r["skilled"].shape, r["random"].shape) == ((6,), (4,), (10,))
        assert 0.0 < r["threshold"] < 1.0


def test_study_separable_features_give_zero_error_and_overlapping_ones_do_not():
    easy = study(_feature_rows(writers=8, gap=3.0), folds=4, eval_refs=5, modes=("skilled_half",))["skilled_half"]
    assert easy["eer_skilled"] == 0.0 and easy["eer_random"] == 0.0
    # the fold threshold sits at the fitting folds' EER point, right at the edge of their genuine scores
    assert easy["frr_at_fold_threshold"] < 0.1 and easy["far_skilled_at_fold_threshold"] < 0.1
    assert (easy["n_genuine"], easy["n_skilled"]) == (8 * 6, 8 * 4)
    hard = study(_feature_rows(writers=8, gap=0.0, seed=1), folds=4, eval_refs=5, modes=("skilled_half",))
    assert hard["skilled_half"]["eer_skilled"] > 0.25  # the same distribution: about chance


def test_compare_cli_refuses_models_on_other_writers_with_one_line(tmp_path, capsys):
    """Checkpoints whose validation writers do not overlap at all: exit status 2, no traceback."""
    paths = []
    for i, name in enumerate(("alpha", "beta")):
        synthetic.write_dataset(tmp_path / "sigs" / name, writers=6, genuine_per_writer=6, forged_per_writer=2, seed=i)
        ck = tiny_checkpoint()
        ck["config"]["data"].update(root=str(tmp_path / "sigs"), datasets=[name], cache_dir=str(tmp_path / "cache"))
        ck["config"]["workers"] = 1
        paths.append(str(tmp_path / f"{name}.pt"))
        ckpt.save(ck, paths[-1])
    assert cli_main(["compare", "--models", *paths, "--refs", "5", "--boot", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "error: the models share no validation writer: not comparable"
