"""How should the writer-dependent features be calibrated? Measured on validation writers only.

    python benchmarks/calibration_study.py [--model ml/weights/sigweb.pt] [--folds 4] [--json OUT]

Rebuilds the checkpoint's validation writers (its own config: data, datasets, split seed),
embeds them, computes the decision features of ``ml.writer`` with the shipped
random-forgery negatives, and compares calibrator weightings (``ml.writer.CALIBRATION_MODES``)
by writer-disjoint cross-validation: each variant is fitted on the other folds' writers and
scores the held-out fold, so no score comes from a calibrator that saw its writer. Reports
global EER (skilled and random), FRR / skilled FAR / random FAR at the threshold picked on
the fitting folds, and how many genuine and skilled scores saturate above 0.99.
Test writers are never read: ``ml.data.training_writers`` drops them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ml.data import group_by_writer, training_writers  # noqa: E402
from ml.engine import Engine  # noqa: E402
from ml.metrics import eer  # noqa: E402
from ml.train import _split_images  # noqa: E402
from ml.writer import CALIBRATION_MODES, Calibrator, bucket_name, protocol_features  # noqa: E402


def validation_images(engine: Engine) -> tuple:
    """(images, samples) of the checkpoint's validation writers, split exactly as its
    training run split them."""
    cfg = engine.checkpoint["config"]
    samples = training_writers(cfg["data"]["root"], cfg["data"]["datasets"])
    _, (val_x, val_s) = _split_images(samples, cfg)
    return val_x, val_s


def validation_embeddings(engine: Engine) -> dict:
    """The checkpoint's validation writers, embedded and grouped by identity."""
    val_x, val_s = validation_images(engine)
    return group_by_writer(val_s, engine.embed_images(val_x))


PROTOCOL_REFS = [1, 5, 10]  # every study fits its calibrators on all three reference counts
PROTOCOL_SEEDS = [0, 1]


def collect(val_emb: dict, refs: list[int], seeds: list[int], run) -> list[dict]:
    """One row per writer, reference count and seed; ``run(emb, n_refs, seed)`` is a
    protocol iterator such as ``ml.writer.protocol_features`` with its decision bound."""
    rows = []
    for n_refs in refs:
        for seed in seeds:
            for w, r, f in run(val_emb, n_refs, seed):
                rows.append({"writer": w, "refs": r, "protocol": n_refs, "seed": seed, **f})
    return rows


def shipped_rows(engine: Engine, val_emb: dict | None = None) -> tuple[dict, list[dict]]:
    """The validation embeddings (``val_emb`` if given, else the checkpoint's validation
    writers), and the shipped decision features of every protocol row."""
    val_emb = validation_embeddings(engine) if val_emb is None else val_emb
    rows = collect(val_emb, PROTOCOL_REFS, PROTOCOL_SEEDS,
                   lambda emb, n_refs, seed: protocol_features(emb, n_refs, seed, engine.negatives, C=engine.svm_c))
    return val_emb, rows


def write_json(res: dict, path: str | None) -> str:
    """The indented JSON text of a study, also written to ``path`` when one is given."""
    text = json.dumps(res, indent=2)
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text + "\n")
    return text


def person(identity: str) -> str:
    """The physical writer of an identity "<dataset>/<writer>[/<name>]" (ml.data.Sample)."""
    return "/".join(identity.split("/")[:2])


def cv_scores(rows: list[dict], folds: int, eval_refs: int, mode: str) -> list[dict]:
    """Writer-disjoint cross-validated scores: one dict per held-out identity (protocol
    ``eval_refs``, seed 0) with its ``genuine``, ``skilled`` and ``random`` scores from a
    calibrator fitted on the other folds, and the ``threshold`` those folds chose."""
    persons = sorted({person(r["writer"]) for r in rows})
    fold_of = {p: i % folds for i, p in enumerate(np.random.default_rng(0).permutation(persons))}
    out = []
    for k in range(folds):
        fit_rows = [r for r in rows if fold_of[person(r["writer"])] != k]
        test_rows = [r for r in rows if fold_of[person(r["writer"])] == k and r["protocol"] == eval_refs and r["seed"] == 0]
        if not test_rows:
            continue
        data = {}
        for r in fit_rows:
            d = data.setdefault(bucket_name(r["refs"]), {"genuine": [], "skilled": [], "random": []})
            for kind in d:
                d[kind].append(r[kind])
        cal = Calibrator().fit({b: {kk: np.concatenate(v) for kk, v in d.items()} for b, d in data.items()}, mode=mode)
        # threshold from the fitting folds, at the operating reference count
        at = [r for r in fit_rows if r["protocol"] == eval_refs and r["seed"] == 0]
        fg = np.concatenate([cal.score(r["genuine"], r["refs"]) for r in at])
        fs = np.concatenate([cal.score(r["skilled"], r["refs"]) for r in at])
        t = eer(fg, fs)[1]
        for r in test_rows:
            out.append({"writer": r["writer"], "threshold": t,
                        **{kind: cal.score(r[kind], r["refs"]) for kind in ("genuine", "skilled", "random")}})
    return out


def study(rows: list[dict], folds: int, eval_refs: int, modes=CALIBRATION_MODES) -> dict:
    out = {}
    for mode in modes:
        scored = cv_scores(rows, folds, eval_refs, mode)
        g, s, rnd = (np.concatenate([r[kind] for r in scored]) for kind in ("genuine", "skilled", "random"))
        frr = np.mean(np.concatenate([r["genuine"] < r["threshold"] for r in scored]))
        far_s = np.mean(np.concatenate([r["skilled"] >= r["threshold"] for r in scored]))
        far_r = np.mean(np.concatenate([r["random"] >= r["threshold"] for r in scored]))
        out[mode] = {
            "eer_skilled": eer(g, s)[0], "eer_random": eer(g, rnd)[0],
            "frr_at_fold_threshold": float(frr), "far_skilled_at_fold_threshold": float(far_s),
            "far_random_at_fold_threshold": float(far_r),
            "genuine_above_0.99": float((g > 0.99).mean()), "skilled_above_0.99": float((s > 0.99).mean()),
            "n_genuine": int(g.size), "n_skilled": int(s.size),
        }
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--refs", type=int, default=5, help="reference count the comparison is made at")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    engine = Engine.load(a.model)
    val_emb, rows = shipped_rows(engine)
    res = {"model": engine.model_version, "validation_identities": len(val_emb), "folds": a.folds,
           "refs": a.refs, "modes": study(rows, a.folds, a.refs)}
    print(write_json(res, a.json))


if __name__ == "__main__":
    main()
