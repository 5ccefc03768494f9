"""Evaluation with the field's standard protocol, scored by the engine the app uses.

``evaluate(DIR, references=R, seed=S)``: DIR holds ``<writer>/genuine/*`` and optionally
``<writer>/forged/*``. For each writer, its genuine signatures are shuffled with the
seed; the first R are references, the rest genuine queries; its forgeries are skilled
forgeries and the other writers' genuine signatures random forgeries (``ml.writer.protocol``).
Each writer's decision is built by ``Engine.fit_writer`` and scored by ``Engine.score``,
exactly as a customer's enrollment and verification are in the app.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ml.backbones import inference_precision
from ml.data import group_by_writer, preprocess_all, scan_writers
from ml.engine import Engine
from ml.metrics import det as det_points
from ml.metrics import error_curve, rates_at_writer_thresholds, summarize
from ml.writer import protocol

_LOADED: dict = {}  # (folder, model version, precision) -> the last embedded folder, for repeated seeds


def _load(data: str, engine: Engine, workers: int = 2):
    """Embedded samples of a folder. Within one process a saved model's embeddings of the
    same folder are reused (the protocol's seed does not change them)."""
    prec = inference_precision(engine.model, engine.device.type)
    key = (str(Path(data).resolve()), engine.model_version, prec, engine.cleaner_version)
    if not engine.model_version.endswith("-unsaved") and key in _LOADED:
        return _LOADED[key]
    out = _load_uncached(data, engine, workers)
    if not engine.model_version.endswith("-unsaved"):
        _LOADED.clear()
        _LOADED[key] = out
    return out


def _load_uncached(data: str, engine: Engine, workers: int = 2):
    if not Path(data).is_dir():
        raise FileNotFoundError(f"data folder not found: {data}")
    samples = scan_writers(data)
    if not samples:
        raise FileNotFoundError(f"no signatures in {data}: expected <writer>/genuine/* image files")
    imgs, ok = preprocess_all(
        [s.path for s in samples], cache_dir=None, workers=workers, canvas=engine.canvas, cleaner=engine.cleaner_version
    )
    skipped = [samples[i].path for i in np.nonzero(~ok)[0]]
    keep = np.nonzero(ok)[0]
    if len(keep) == 0:
        raise FileNotFoundError(f"no readable signature in {data}")
    samples = [samples[i] for i in keep]
    emb = engine.embed_images(imgs[keep])
    return samples, emb, skipped


def score_writers(
    data: str, references: list[int], seed: int, engine: Engine, refs_by_writer: dict | None = None
) -> tuple[dict, dict, list[str]]:
    """Embed DIR once and run the protocol for each reference count in ``references``.

    Returns ``(scores, refs_used, skipped)``: ``scores[R][writer] = {"genuine", "skilled",
    "random"}`` arrays of the engine's calibrated scores, ``refs_used[R]`` the smallest
    number of references a writer really had, ``skipped`` the unreadable files.
    ``refs_by_writer``, when given, is filled with ``{R: {writer: references used}}``.
    """
    if min(references) < 1:
        raise ValueError("--references must be at least 1")
    samples, emb, skipped = _load(data, engine)
    by = group_by_writer(samples, emb)
    if sum(1 for d in by.values() if len(d["genuine"]) >= 2) < 2:
        raise FileNotFoundError(f"{data}: evaluation needs at least two writers with two genuine signatures each")
    scores, refs_used = {}, {}
    for n_refs in references:
        scores[n_refs], used = {}, []
        for w, r, s in protocol(by, n_refs, seed, engine.fit_writer, lambda wd, q: engine.score(wd, q)[0]):
            scores[n_refs][w] = s
            used.append(r)
            if refs_by_writer is not None:
                refs_by_writer.setdefault(n_refs, {})[w] = r
        refs_used[n_refs] = int(min(used))
    return scores, refs_used, skipped


def evaluate(
    data: str,
    references: int = 5,
    seed: int = 0,
    model: str | None = None,
    plots: str | None = None,
    engine_device: str = "cpu",
    cleaner: str | None = None,
) -> dict:
    """``cleaner``: an ``ml.cleaner`` version or "none" instead of the checkpoint's (``Engine.cleaner_version``)."""
    engine = Engine.load(model, device=engine_device, cleaner=cleaner)
    per_writer_refs: dict = {}
    scores, refs_used, skipped = score_writers(data, [references], seed, engine, per_writer_refs)
    by_writer = scores[references]
    pg, ps, pr = ({w: s[k] for w, s in by_writer.items()} for k in ("genuine", "skilled", "random"))
    cat = lambda d: np.concatenate(list(d.values())) if d else np.zeros(0)
    shipped = engine.threshold_for(references)
    report = summarize(cat(pg), cat(ps), cat(pr), pg, ps, pr, shipped_threshold=shipped)
    # each writer is decided at the operating point of the references it really had (a
    # writer with fewer genuine signatures than R may fall in a lower bucket)
    t_w = {w: engine.threshold_for(r) for w, r in per_writer_refs[references].items()}
    if len(set(t_w.values())) > 1:
        report["at_threshold"].update({**rates_at_writer_thresholds(pg, ps, pr, t_w), "per_writer_thresholds": True})
    report.update(
        {
            "n_writers": len(pg),
            "references": int(references),
            "references_min_used": refs_used[references],
            "seed": int(seed),
            "model": engine.model_version,
            "operating_point": engine.operating_point,
            "cleaner": engine.cleaner_version,
            "skipped_files": skipped,
        }
    )
    if plots:
        write_plots(plots, cat(pg), cat(ps), cat(pr), shipped, report)
    return report


def write_plots(folder: str, genuine, skilled, random, threshold: float, report: dict) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import norm

    Path(folder).mkdir(parents=True, exist_ok=True)
    out = []
    fig, (roc, det, hist) = plt.subplots(1, 3, figsize=(15, 4.5))
    for name, neg in (("skilled", skilled), ("random", random)):
        if not len(neg):
            continue
        _, far, frr = error_curve(genuine, neg)
        roc.plot(far, 1 - frr, label=f"{name} forgeries")
        far, frr = det_points(genuine, neg)
        inside = (far > 0) & (far < 1) & (frr > 0) & (frr < 1)  # the normal-deviate axes end before 0 and 1
        det.plot(norm.ppf(far[inside]), norm.ppf(frr[inside]), label=name)
    roc.set(xlabel="FAR", ylabel="1 - FRR", title=f"ROC (AUC {report['auc']:.3f})")
    ticks = [0.001, 0.01, 0.05, 0.2, 0.5]
    det.set_xticks(norm.ppf(ticks), [f"{t:g}" for t in ticks])
    det.set_yticks(norm.ppf(ticks), [f"{t:g}" for t in ticks])
    det.set(xlabel="FAR", ylabel="FRR", title="DET")
    bins = np.linspace(0, 1, 41)
    hist.hist(genuine, bins, alpha=0.6, density=True, label="genuine")
    if len(skilled):
        hist.hist(skilled, bins, alpha=0.6, density=True, label="skilled")
    if len(random):
        hist.hist(random, bins, alpha=0.4, density=True, label="random")
    hist.axvline(threshold, color="k", ls="--", label="shipped threshold")
    hist.set(xlabel="score", title=f"scores (EER {report['eer_global']:.3f})")
    for ax in (roc, det, hist):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    p = os.path.join(folder, "curves.png")
    fig.savefig(p, dpi=110)
    plt.close(fig)
    out.append(p)
    return out


def embed_folder(data: str, out: str, model: str | None = None, engine_device: str = "cpu") -> int:
    engine = Engine.load(model, device=engine_device)
    samples, emb, _ = _load(data, engine)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        out,
        embeddings=emb.astype(np.float32),
        writer=np.array([s.writer.split("/", 1)[1] for s in samples]),
        label=np.array([s.label for s in samples]),
        path=np.array([s.path for s in samples]),
    )
    return len(samples)
