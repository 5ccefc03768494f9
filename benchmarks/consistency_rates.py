"""How often does the reference-consistency check refuse mixed and genuine reference sets?

    python benchmarks/consistency_rates.py [--model ml/weights/sigweb.pt] [--data-root DIR]
        [--json docs/results/consistency/<model>.json] [--write-thresholds]

Measured on the checkpoint's validation writers only (its own config: datasets, split
seed, validation fraction; test writers are dropped by ``ml.data.training_writers``),
embedded once and cached under ``cache/``. For each reference count R from 2 to 10 it
samples genuine single-writer sets and mixed sets (``ml.consistency.sample_sets``: (R-1)+1,
(R-2)+2 and R different writers, intruders from the same dataset; at R = 5 the 4+1, 3+2 and
5-writer sets), fits the threshold that
refuses at most 1% of genuine sets on the fitting datasets (``ml.consistency.fit_threshold``),
and reports, per dataset and overall, the share of each kind refused, with set counts, how
often the intruder of a refused (R-1)+1 set is the one reported as outlier, and a
writer-disjoint cross-validated estimate at 5 references (threshold fitted on the other
folds' people). ``--write-thresholds`` stores the fitted rule in
``ml/consistency_thresholds.json`` under the model version.

``--transform wccn --shrinkage S``: the statistic is computed on embeddings normalised by the
within-identity covariance of training identities (``ml.consistency.transform``; up to
``--training-identities`` per dataset, cross-media names included, never validation writers);
``--write-thresholds`` then also writes ``ml/weights/consistency-<model version>.npz``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from ml import consistency as cons
from ml.data import preprocess_all, split_validation, training_writers
from ml.engine import Engine
from ml.train import split_seed

REPO = Path(__file__).resolve().parent.parent
FIT_DATASETS = ("cedar", "bhsig_bengali", "sigcomp2011_dutch")
REFS = list(range(2, cons.MAX_FITTED_REFS + 1))
HEADLINE_REFS = 5


def data_root(engine: Engine, given: str | None) -> Path:
    """``--data-root``, else the config's root relative to the repository, else the shared
    data beside the main checkout (``<repo>/../../shared/...`` for a worktree)."""
    if given:
        return Path(given)
    root = Path(engine.checkpoint["config"]["data"]["root"])
    for cand in (REPO / root, REPO.parent.parent / "shared" / "data" / "signatures"):
        if cand.is_dir():
            return cand
    raise SystemExit(f"error: data folder not found ({REPO / root}); pass --data-root")


def validation_writers(engine: Engine, root: Path, cache_dir: Path) -> dict[str, dict]:
    """``{identity: {"person", "dataset", "genuine": (G, D)}}`` of the checkpoint's
    validation writers, split exactly as its training run split them; embeddings cached."""
    cfg = engine.checkpoint["config"]
    samples = training_writers(root, cfg["data"]["datasets"])
    _, val = split_validation(samples, cfg["data"]["val_fraction"], split_seed(cfg))
    val = [s for s in val if s.label == "genuine"]
    expected = engine.checkpoint.get("validation_writers")
    if expected is not None and sorted({s.writer for s in val}) != sorted(expected):
        raise SystemExit("error: the validation split differs from the one recorded in the checkpoint")
    key = hashlib.sha1("\n".join(s.path for s in val).encode()).hexdigest()[:12]
    cache = cache_dir / f"consistency-{engine.model_version}-{key}.npz"
    if cache.is_file():
        emb = np.load(cache)["emb"]
    else:
        images, ok = preprocess_all([s.path for s in val], cache_dir, workers=1)
        if not ok.all():
            raise SystemExit(f"error: {int((~ok).sum())} validation images could not be read")
        emb = engine.embed_images(images)
        cache_dir.mkdir(parents=True, exist_ok=True)
        np.savez(cache, emb=emb)
    out: dict[str, dict] = {}
    for s, e in zip(val, emb):
        d = out.setdefault(s.writer, {"person": s.person, "dataset": s.dataset, "genuine": []})
        d["genuine"].append(e)
    for d in out.values():
        d["genuine"] = np.stack(d["genuine"]).astype(np.float32)
    return out


def training_identities(engine: Engine, root: Path, cache_dir: Path, per_dataset: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``{identity: (G, D)}`` genuine embeddings of up to ``per_dataset`` training identities per
    dataset (the checkpoint's own training split: never a validation or test writer)."""
    cfg = engine.checkpoint["config"]
    train, _ = split_validation(training_writers(root, cfg["data"]["datasets"]), cfg["data"]["val_fraction"], split_seed(cfg))
    train = [s for s in train if s.label == "genuine"]
    rng = np.random.default_rng(seed)
    keep = set()
    for ds in sorted({s.dataset for s in train}):
        ids = sorted({s.writer for s in train if s.dataset == ds})
        keep |= set(rng.choice(ids, min(per_dataset, len(ids)), replace=False).tolist())
    chosen = [s for s in train if s.writer in keep]
    images, ok = preprocess_all([s.path for s in chosen], cache_dir, workers=2)
    emb = engine.embed_images(images[ok])
    out: dict[str, list] = {}
    for s, e in zip([s for s, k in zip(chosen, ok) if k], emb):
        out.setdefault(s.writer, []).append(e)
    return {w: np.stack(v) for w, v in out.items() if len(v) >= 2}


def by_dataset(writers: dict) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for w, d in writers.items():
        out.setdefault(d["dataset"], {})[w] = d
    return out


def rates(scored: dict, rule: cons.ConsistencyRule, n_refs: int, overall_datasets) -> dict:
    """Share refused of each kind per dataset, and pooled over ``overall_datasets``; for
    refused one-intruder sets, how often the outliers are exactly the intruder."""
    threshold = rule.threshold(n_refs)
    per_ds, pooled = {}, {}
    for ds, kinds in scored.items():
        row = {}
        for kind, (s, sets) in kinds.items():
            if not len(s):
                continue
            row[kind] = {"refused": cons.refusal_rate(s, threshold), "sets": int(len(s))}
            if ds in overall_datasets:
                pooled.setdefault(kind, []).append(s)
            if kind == "one_intruder":
                refused = [x for x, v in zip(sets, s) if v < threshold]
                found = [cons.check(x, rule)["outliers"] == [len(x) - 1] for x in refused]
                row[kind]["intruder_is_the_outlier"] = float(np.mean(found)) if found else None
        per_ds[ds] = row
    overall = {
        k: {"refused": cons.refusal_rate(np.concatenate(v), threshold), "sets": int(sum(len(x) for x in v))}
        for k, v in pooled.items()
    }
    return {"threshold": threshold, "overall_fit_datasets": overall, "datasets": per_ds}


def trade_off(scored: dict, chosen: float) -> list[dict]:
    """What other genuine-refusal budgets would buy: the threshold each allows and the
    share of each mixed kind it refuses (datasets weighing the same, as in the fit)."""
    rows = []
    for budget in sorted({chosen, 0.0, 0.005, 0.01, 0.02, 0.05, 0.10}):
        t = cons.fit_threshold({ds: k["genuine"][0] for ds, k in scored.items()}, budget)
        row = {"max_genuine_refusal": budget, "threshold": t}
        for kind in ("genuine", *cons.MIX_KINDS):
            row[kind] = float(np.mean([cons.refusal_rate(k[kind][0], t) for k in scored.values() if len(k[kind][0])]))
        rows.append(row)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--data-root", default=None, help="folder of the datasets (default: the checkpoint config's root)")
    ap.add_argument("--cache", default=str(REPO / "cache"))
    ap.add_argument("--per-writer", type=int, default=100, help="sets of each kind per identity (default 100)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-refusal", type=float, default=0.01)
    ap.add_argument("--fit-datasets", default=",".join(FIT_DATASETS))
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--json", default=None, help="default: docs/results/consistency/<model version>.json")
    ap.add_argument("--write-thresholds", action="store_true", help="store the fitted rule in ml/consistency_thresholds.json")
    ap.add_argument("--transform", choices=["none", "wccn"], default="none", help="normalise embeddings first")
    ap.add_argument("--shrinkage", type=float, default=0.01, help="wccn: shrinkage (times the mean eigenvalue)")
    ap.add_argument("--training-identities", type=int, default=80, help="wccn: training identities per dataset")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    engine = Engine.load(a.model)
    writers = validation_writers(engine, data_root(engine, a.data_root), Path(a.cache))
    transform, transform_details = None, {}
    if a.transform == "wccn":
        train = training_identities(engine, data_root(engine, a.data_root), Path(a.cache), a.training_identities)
        transform = cons.fit_wccn(train, a.shrinkage)
        transform_details = {"transform": "wccn", "shrinkage": a.shrinkage, "training_identities": len(train)}
        writers = {
            w: {**d, "genuine": cons.transform.apply(transform, d["genuine"]).astype(np.float32)} for w, d in writers.items()
        }
    fit_ds = [d for d in a.fit_datasets.split(",") if d]
    res = {
        "model": engine.model_version,
        "statistic": cons.STATISTIC,
        **transform_details,
        "max_genuine_refusal": a.max_refusal,
        "fit_datasets": fit_ds,
        "per_writer": a.per_writer,
        "seed": a.seed,
        "validation_identities": {ds: len(v) for ds, v in by_dataset(writers).items()},
        "validation_people": {ds: len({d["person"] for d in v.values()}) for ds, v in by_dataset(writers).items()},
        "by_refs": {},
    }
    rule, scored_by_refs = cons.fit_rule(
        writers, fit_ds, a.per_writer, a.seed, a.max_refusal, REFS, f"fitted on validation writers of {engine.model_version}"
    )
    rule.details.update(transform_details)
    rule.details["command"] = "python benchmarks/consistency_rates.py --write-thresholds" + (
        f" --transform wccn --shrinkage {a.shrinkage} --training-identities {a.training_identities}"
        if transform is not None
        else ""
    )
    for r, scored in scored_by_refs.items():
        res["by_refs"][str(r)] = rates(
            scored, cons.ConsistencyRule({k: v for k, v in rule.thresholds.items() if k <= r}, ""), r, fit_ds
        )
        if r == HEADLINE_REFS:
            res["trade_off_5_refs"] = trade_off({ds: scored[ds] for ds in fit_ds if ds in scored}, a.max_refusal)
        print(
            f"R={r}: threshold {rule.thresholds[r]:.4f}", json.dumps(res["by_refs"][str(r)]["overall_fit_datasets"]), flush=True
        )
    res["thresholds"] = rule.to_json()["thresholds"]
    res["cross_validated_5_refs"] = cv_at(writers, HEADLINE_REFS, fit_ds, a.folds, a.per_writer, a.seed, a.max_refusal)
    out = Path(a.json) if a.json else REPO / "docs" / "results" / "consistency" / f"{engine.model_version}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    if a.write_thresholds:
        cons.save_rule(engine.model_version, rule)
        if transform is not None:
            cons.save_transform(engine.model_version, transform)
    print(
        json.dumps(
            {
                "json": str(out),
                "thresholds": res["thresholds"],
                "5_refs": res["by_refs"].get("5", {}).get("overall_fit_datasets"),
                "cross_validated_5_refs": res["cross_validated_5_refs"],
            },
            indent=2,
        )
    )


def cv_at(
    writers: dict, n_refs: int, fit_ds, folds: int = 4, per_writer: int = 100, seed: int = 0, max_refusal: float = 0.01
) -> dict:
    """Writer-disjoint estimate at ``n_refs``: people split into folds; each fold's sets are
    judged with the threshold fitted on the other folds' genuine sets (anchors' people)."""
    people = sorted({d["person"] for d in writers.values()})
    fold_of = {p: i % folds for i, p in enumerate(np.random.default_rng(seed).permutation(people))}
    counts: dict[str, dict[str, list]] = {}
    for ds in sorted(by_dataset(writers)):
        for w in sorted(w for w, d in writers.items() if d["dataset"] == ds):
            sets = cons.sample_sets(writers, n_refs, per_writer, seed + n_refs, anchor_datasets={ds}, anchors={w})
            for kind, v in sets.items():
                counts.setdefault(ds, {}).setdefault(kind, []).extend(
                    (fold_of[writers[w]["person"]], s) for s in cons.scores_of(v)
                )
    out: dict[str, dict] = {}
    for k in range(folds):
        fit = {ds: np.array([s for f, s in counts[ds].get("genuine", []) if f != k]) for ds in fit_ds if ds in counts}
        fit = {ds: v for ds, v in fit.items() if len(v)}
        t = cons.fit_threshold(fit, max_refusal)
        for ds, kinds in counts.items():
            for kind, pairs in kinds.items():
                held = [s for f, s in pairs if f == k]
                c = out.setdefault(ds, {}).setdefault(kind, [0, 0])
                c[0] += int(np.sum(np.array(held) < t)) if held else 0
                c[1] += len(held)
    table = {
        ds: {kind: {"refused": c[0] / c[1] if c[1] else None, "sets": c[1]} for kind, c in kinds.items()}
        for ds, kinds in out.items()
    }
    overall: dict[str, list] = {}
    for ds in fit_ds:
        for kind, c in out.get(ds, {}).items():
            o = overall.setdefault(kind, [0, 0])
            o[0] += c[0]
            o[1] += c[1]
    return {
        "folds": folds,
        "datasets": table,
        "overall_fit_datasets": {kind: {"refused": c[0] / c[1] if c[1] else None, "sets": c[1]} for kind, c in overall.items()},
    }


if __name__ == "__main__":
    main()
