"""Model selection on validation writers: cross-validated calibration and paired comparison.

The rule that decides which checkpoint ships (docs/MODEL_CARD.md, "Selection") is computed
here, on the validation writers of each checkpoint's own config (``ml.validation``), never
on test writers:

1. ``shipped_rows``: the decision features of ``ml.writer`` for every validation identity,
   at 1, 5 and 10 references and two protocol seeds, with the checkpoint's shipped
   random-forgery negatives;
2. ``cv_scores``: writer-disjoint cross-validation: each fold's identities are scored by a
   calibrator fitted on the other folds, at the threshold those folds chose;
3. ``study``: per calibration mode, global EER (skilled, random) and the error rates at
   the fold thresholds;
4. ``compare``: a paired bootstrap over *physical writers* (every model scored on the same
   resampled writers) giving each EER and each difference from the first model a 95%
   interval.

``python -m ml compare`` and ``python -m ml calibration-study`` are the commands.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from ml.data import group_by_writer
from ml.engine import Engine
from ml.evaluate import score_writers
from ml.metrics import eer
from ml.validation import validation_images
from ml.writer import CALIBRATION_MODES, Calibrator, bucket_name, protocol_features

PROTOCOL_REFS = [1, 5, 10]  # calibrators are fitted on all three reference counts
PROTOCOL_SEEDS = [0, 1]
SELECTION_MODE = "skilled_half"  # the shipped calibration mode, which the selection rule scores with


class NotComparableError(ValueError):
    """Models that were not scored on the same writers cannot be compared."""


def person(identity: str) -> str:
    """The physical writer of an identity "<dataset>/<writer>[/<name>]" (``ml.data.Sample``)."""
    return "/".join(identity.split("/")[:2])


def validation_embeddings(engine: Engine) -> dict:
    """The checkpoint's validation writers, split as its training split them, embedded and grouped."""
    val_x, val_s = validation_images(engine.checkpoint["config"])
    return group_by_writer(val_s, engine.embed_images(val_x))


def collect(val_emb: dict, refs: Iterable[int], seeds: Iterable[int], run: Callable) -> list[dict]:
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

    def run(emb, n_refs, seed):
        return protocol_features(emb, n_refs, seed, engine.negatives, C=engine.svm_c)

    return val_emb, collect(val_emb, PROTOCOL_REFS, PROTOCOL_SEEDS, run)


def _fit_calibrator(rows: list[dict], mode: str) -> Calibrator:
    data: dict = {}
    for r in rows:
        d = data.setdefault(bucket_name(r["refs"]), {"genuine": [], "skilled": [], "random": []})
        for kind in d:
            d[kind].append(r[kind])
    return Calibrator().fit({b: {k: np.concatenate(v) for k, v in d.items()} for b, d in data.items()}, mode=mode)


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
        cal = _fit_calibrator(fit_rows, mode)
        # threshold from the fitting folds, at the operating reference count
        at = [r for r in fit_rows if r["protocol"] == eval_refs and r["seed"] == 0]
        fg = np.concatenate([cal.score(r["genuine"], r["refs"]) for r in at])
        fs = np.concatenate([cal.score(r["skilled"], r["refs"]) for r in at])
        t = eer(fg, fs)[1]
        for r in test_rows:
            scores = {kind: cal.score(r[kind], r["refs"]) for kind in ("genuine", "skilled", "random")}
            out.append({"writer": r["writer"], "threshold": t, **scores})
    return out


def study(rows: list[dict], folds: int, eval_refs: int, modes: Iterable[str] = CALIBRATION_MODES) -> dict:
    """Per calibration mode: cross-validated EERs and the error rates at the fold thresholds."""
    out = {}
    for mode in modes:
        scored = cv_scores(rows, folds, eval_refs, mode)
        g, s, rnd = (np.concatenate([r[kind] for r in scored]) for kind in ("genuine", "skilled", "random"))
        frr = np.mean(np.concatenate([r["genuine"] < r["threshold"] for r in scored]))
        far_s = np.mean(np.concatenate([r["skilled"] >= r["threshold"] for r in scored]))
        far_r = np.mean(np.concatenate([r["random"] >= r["threshold"] for r in scored]))
        out[mode] = {
            "eer_skilled": eer(g, s)[0],
            "eer_random": eer(g, rnd)[0],
            "frr_at_fold_threshold": float(frr),
            "far_skilled_at_fold_threshold": float(far_s),
            "far_random_at_fold_threshold": float(far_r),
            "genuine_above_0.99": float((g > 0.99).mean()),
            "skilled_above_0.99": float((s > 0.99).mean()),
            "n_genuine": int(g.size),
            "n_skilled": int(s.size),
        }
    return out


def scored_validation(paths: list[str], refs: list[int], folds: int) -> tuple[list[tuple[str, dict]], list[str]]:
    """Every model scored on the validation writers all of them share.

    A model trained with an extra dataset has that dataset's validation writers too; they
    are left out *before* the protocol and the cross-validation, so every model's
    calibrators are fitted on the same writers with the same random forgeries and the same
    folds. Returns the models and the physical writers left out."""
    engines = [Engine.load(p) for p in paths]
    embs = [validation_embeddings(e) for e in engines]
    persons = [{person(w) for w in emb} for emb in embs]
    common = set.intersection(*persons)
    if not common:
        raise NotComparableError("the models share no validation writer: not comparable")
    dropped = sorted(set.union(*persons) - common)
    models = []
    for engine, emb in zip(engines, embs, strict=True):
        _, rows = shipped_rows(engine, {w: v for w, v in emb.items() if person(w) in common})
        models.append((engine.model_version, {r: cv_scores(rows, folds, r, SELECTION_MODE) for r in refs}))
    return models, dropped


def scored_folder(path: str, refs: list[int], data: str) -> tuple[str, dict]:
    """A model's shipped decision on the writers of an evaluate-layout folder (protocol seed 0)."""
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
    """Paired writer bootstrap of the skilled EER of every model, and of its difference from the first."""
    out = {}
    rng = np.random.default_rng(seed)
    for n_refs in refs:
        persons = sorted({person(r["writer"]) for r in models[0][1][n_refs]})
        for name, per_refs in models[1:]:
            if sorted({person(r["writer"]) for r in per_refs[n_refs]}) != persons:
                raise NotComparableError(f"{name} was validated on other writers than {models[0][0]}: not comparable")
        grouped = [_by_person(m[n_refs]) for _, m in models]  # once, not once per resample
        point = [_eer_of(g, persons) for g in grouped]
        draws = (rng.choice(persons, size=len(persons)) for _ in range(boot))
        samples = np.array([[_eer_of(g, list(draw)) for g in grouped] for draw in draws])
        rows = []
        for i, (name, _) in enumerate(models):
            ci = [float(np.percentile(samples[:, i], 2.5)), float(np.percentile(samples[:, i], 97.5))]
            row = {"model": name, "eer_skilled": point[i], "ci95": ci}
            if i:
                d = samples[:, i] - samples[:, 0]
                row["minus_first"] = point[i] - point[0]
                row["minus_first_ci95"] = [float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))]
                row["share_lower_than_first"] = float((d < 0).mean())
            rows.append(row)
        out[str(n_refs)] = {"validation_writers": len(persons), "models": rows}
    return out


def write_json(res: dict, path: str | None) -> str:
    """The indented JSON text of a result, also written to ``path`` when one is given."""
    text = json.dumps(res, indent=2)
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text + "\n")
    return text
