"""Is one model really better than another on validation writers, or is it noise?

    python benchmarks/compare_models.py --models A.pt B.pt [C.pt ...] [--refs 5 10 1] [--boot 2000] [--json OUT]
    python benchmarks/compare_models.py --models A.pt B.pt --data cache/online_train/svc2004_task2 --refs 10 1

Scores every model exactly as the selection rule does (``calibration_study``: the shipped
decision features, ``skilled_half`` calibration, writer-disjoint 4-fold cross-validation
on the checkpoint's validation writers, global EER against skilled forgeries), then
resamples the *physical writers* with replacement (a paired bootstrap: every model is
scored on the same resampled writers) to give each EER a 95% interval, and each model's
difference from the first one an interval and the share of resamples in which it is
lower. Models are compared on the validation writers they all share (a model trained
with an extra dataset has more; those are left out and listed). Test writers are never read.

With ``--data DIR`` (a ``<writer>/{genuine,forged}/*`` folder, as ``python -m ml evaluate``
takes) the writers are DIR's instead, each scored by every model's own shipped decision
(``ml.evaluate.score_writers``, protocol seed 0): a second, larger validation set such as
the non-test pad users that ``benchmarks/render_online.py --train`` renders. Never point
it at test writers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calibration_study import cv_scores, person, shipped_rows, validation_embeddings, write_json  # noqa: E402
from ml.engine import Engine  # noqa: E402
from ml.evaluate import score_writers  # noqa: E402
from ml.metrics import eer  # noqa: E402

MODE = "skilled_half"


def scored_validation(paths: list[str], refs: list[int], folds: int) -> tuple[list[tuple[str, dict]], list[str]]:
    """Every model scored on the validation writers all of them share.

    A model trained with an extra dataset (run H: SUSIG visual) has that dataset's
    validation writers too; they are left out *before* the protocol and the
    cross-validation, so every model's calibrators are fitted on the same writers with the
    same random forgeries and the same folds. Returns the models and the physical writers
    left out."""
    engines = [Engine.load(p) for p in paths]
    embs = [validation_embeddings(e) for e in engines]
    persons = [{person(w) for w in emb} for emb in embs]
    common = set.intersection(*persons)
    if not common:
        raise SystemExit("error: the models share no validation writer: not comparable")
    dropped = sorted(set.union(*persons) - common)
    models = []
    for engine, emb in zip(engines, embs):
        _, rows = shipped_rows(engine, {w: v for w, v in emb.items() if person(w) in common})
        models.append((engine.model_version, {r: cv_scores(rows, folds, r, MODE) for r in refs}))
    return models, dropped


def scored_folder(path: str, refs: list[int], data: str) -> tuple[str, dict]:
    engine = Engine.load(path)
    scores, _, _ = score_writers(data, refs, 0, engine)
    return engine.model_version, {r: [{"writer": w, **s} for w, s in sorted(scores[r].items())] for r in refs}


def _by_person(scored: list[dict]) -> dict:
    out: dict = {}
    for r in scored:
        out.setdefault(person(r["writer"]), []).append(r)
    return out


def _eer_of(by_person: dict, persons: list[str]) -> float:
    chosen = [r for p in persons for r in by_person.get(p, [])]
    return eer(np.concatenate([r["genuine"] for r in chosen]), np.concatenate([r["skilled"] for r in chosen]))[0]


def compare(models: list[tuple[str, dict]], refs: list[int], boot: int, seed: int = 0) -> dict:
    out = {}
    rng = np.random.default_rng(seed)
    for n_refs in refs:
        persons = sorted({person(r["writer"]) for r in models[0][1][n_refs]})
        for name, per_refs in models[1:]:
            if sorted({person(r["writer"]) for r in per_refs[n_refs]}) != persons:
                raise SystemExit(f"error: {name} was validated on other writers than {models[0][0]}: not comparable")
        grouped = [_by_person(m[n_refs]) for _, m in models]  # once, not once per resample
        point = [_eer_of(g, persons) for g in grouped]
        samples = np.array([[_eer_of(g, list(draw)) for g in grouped]
                            for draw in (rng.choice(persons, size=len(persons)) for _ in range(boot))])
        rows = []
        for i, (name, _) in enumerate(models):
            row = {"model": name, "eer_skilled": point[i],
                   "ci95": [float(np.percentile(samples[:, i], 2.5)), float(np.percentile(samples[:, i], 97.5))]}
            if i:
                d = samples[:, i] - samples[:, 0]
                row["minus_first"] = point[i] - point[0]
                row["minus_first_ci95"] = [float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))]
                row["share_lower_than_first"] = float((d < 0).mean())
            rows.append(row)
        out[str(n_refs)] = {"validation_writers": len(persons), "models": rows}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--refs", nargs="+", type=int, default=[5, 10, 1])
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--boot", type=int, default=2000)
    ap.add_argument("--json", default=None)
    ap.add_argument("--data", default=None, help="score these writers with each model's shipped decision instead")
    a = ap.parse_args(argv)
    if len(a.models) < 2:
        ap.error("give at least two models")
    if a.data:
        models = [scored_folder(p, a.refs, a.data) for p in a.models]
        res = {"paths": a.models, "data": a.data, "mode": "shipped decision", "bootstrap": a.boot}
    else:
        models, dropped = scored_validation(a.models, a.refs, a.folds)
        if dropped:
            print(f"note: {len(dropped)} validation writers not shared by every model left out: "
                  f"{', '.join(dropped[:5])}{' ...' if len(dropped) > 5 else ''}", file=sys.stderr)
        res = {"paths": a.models, "mode": MODE, "folds": a.folds, "bootstrap": a.boot, "left_out_writers": dropped}
    res["by_refs"] = compare(models, a.refs, a.boot)
    print(write_json(res, a.json))


if __name__ == "__main__":
    main()
