"""Evaluation of 1:N identification (``python -m ml identify``) and the margin fit.

Protocol on a folder of writers (``<writer>/genuine|forged``): ``unenrolled`` writers,
drawn with the seed, stay out; every other writer is enrolled with its first R shuffled
genuine signatures (the shuffle of ``ml.writer.protocol``), whose embeddings go in one
``ml.index.VectorIndex``. Queries:

- the remaining genuine signatures of enrolled writers: ``top1``/``top5`` (the true writer
  ranked first / in the first five after re-scoring) and ``match_rate`` (outcome ``match``
  on the true writer); ``wrong_match`` is a ``match`` on someone else;
- all genuine signatures of unenrolled writers: ``false_match`` (outcome ``match``);
- the skilled forgeries of enrolled writers: ``impostor_accepted`` (``match`` on the forged
  writer).

For each query the index's nearest references give a short list of ``shortlist`` writers,
re-scored by ``ml.identify.candidate_scores``; the ranking and the outcome rule are
``ml.identify.decide``'s, with the model's ranker (``ml.identify.ranking_for``).
``--fit-margin`` picks the ranker with the better top-1 on validation writers and the
margin on its scale.
"""

from __future__ import annotations

import numpy as np

from ml.identify import RANKERS, candidate_scores, decide
from ml.index import VectorIndex
from ml.writer import writer_rng

MARGIN_GRID = tuple(round(0.01 * i, 2) for i in range(51))  # calibrated scores
MARGIN_GRIDS = {"score": MARGIN_GRID, "svm": tuple(round(0.02 * i, 2) for i in range(101))}  # SVM margins
WRONG_MATCH_TARGET = 0.01  # at most 1% of enrolled writers' genuine queries matched to another writer


def folder_embeddings(data: str, engine) -> dict:
    """``{writer: {"genuine": (G, D), "forged": (F, D)}}`` of a folder, embedded by ``engine``."""
    from ml.data import group_by_writer
    from ml.evaluate import _load

    samples, emb, _ = _load(data, engine)
    return group_by_writer(samples, emb)


def validation_embeddings(engine) -> dict:
    """The checkpoint's validation writers (split as its training split them; never test
    writers), embedded; only their images are read."""
    from ml.config import split_seed
    from ml.data import group_by_writer, preprocess_all, split_validation, training_writers

    cfg = engine.checkpoint["config"]
    samples = training_writers(cfg["data"]["root"], cfg["data"]["datasets"])
    _, val = split_validation(samples, cfg["data"]["val_fraction"], split_seed(cfg))
    imgs, ok = preprocess_all([s.path for s in val], None, 2, canvas=engine.canvas)
    keep = np.nonzero(ok)[0]
    return group_by_writer([val[i] for i in keep], engine.embed_images(imgs[keep]))


def run(emb: dict, engine, references: int, seed: int, unenrolled: int = 0, shortlist: int = 20) -> list[dict]:
    """One record per query: its kind, true writer and the re-scored short list (``keys``,
    ``scores``, ``thresholds``, ``svm``, in short-list order)."""
    writers = sorted(w for w, d in emb.items() if len(d["genuine"]) >= 1)
    if unenrolled >= len(writers):
        raise ValueError(f"--unenrolled {unenrolled} leaves no enrolled writer among {len(writers)}")
    out_set = set(np.random.default_rng(seed).choice(writers, unenrolled, replace=False).tolist()) if unenrolled else set()
    enrolled, queries = {}, []
    for w in writers:
        g = emb[w]["genuine"]
        if w in out_set:
            queries += [("unenrolled", w, q) for q in g]
            continue
        if len(g) < 2:
            continue
        order = writer_rng(seed, w).permutation(len(g))
        r = min(references, len(g) - 1)
        enrolled[w] = g[order[:r]]
        queries += [("enrolled", w, q) for q in g[order[r:]]]
        queries += [("forgery", w, q) for q in emb[w].get("forged", g[:0])]
    keys = list(enrolled)
    wds = {w: engine.fit_writer(enrolled[w]) for w in keys}
    owner = np.concatenate([np.full(len(enrolled[w]), i) for i, w in enumerate(keys)])
    index = VectorIndex(engine.embedding_dim)
    index.add(np.arange(len(owner)), np.concatenate([enrolled[w] for w in keys]))
    k_refs = min(len(owner), shortlist * max(len(v) for v in enrolled.values()))
    records = []
    for kind, w, q in queries:
        ids, _ = index.search(q, k_refs)
        cand = list(dict.fromkeys(int(owner[i]) for i in ids[0] if i >= 0))[:shortlist]
        scores, thresholds, svm = candidate_scores(engine, q, [wds[keys[c]] for c in cand])
        records.append(
            {"kind": kind, "writer": w, "keys": [keys[c] for c in cand], "scores": scores, "thresholds": thresholds, "svm": svm}
        )
    return records


def summarise(records: list[dict], margin: float, ranker: str = "score") -> dict:
    """The report's rates at this margin, ranking by ``ranker`` (NaN where a kind of query is absent)."""
    if ranker not in RANKERS:
        raise ValueError(f"ranker must be one of {RANKERS}")
    by: dict[str, list] = {"enrolled": [], "unenrolled": [], "forgery": []}
    for r in records:
        outcome, order = decide(r["scores"], r["thresholds"], margin, r["svm"] if ranker == "svm" else None)
        named = r["keys"][order[0]] if outcome == "match" else None
        by[r["kind"]].append(([r["keys"][i] for i in order[:5]], outcome, named, r["writer"]))
    rate = lambda rows, f: float(np.mean([f(*x) for x in rows])) if rows else float("nan")
    g, u, f = by["enrolled"], by["unenrolled"], by["forgery"]
    return {
        "queries": {k: len(v) for k, v in by.items()},
        "top1": rate(g, lambda top, o, n, w: bool(top) and top[0] == w),
        "top5": rate(g, lambda top, o, n, w: w in top),
        "match_rate": rate(g, lambda top, o, n, w: n == w),
        "wrong_match": rate(g, lambda top, o, n, w: n is not None and n != w),
        "ambiguous_rate": rate(g, lambda top, o, n, w: o == "ambiguous"),
        "false_match": rate(u, lambda top, o, n, w: o == "match"),
        "impostor_accepted": rate(f, lambda top, o, n, w: n == w),
        "forgery_any_match": rate(f, lambda top, o, n, w: o == "match"),
    }


def fit_margin(
    records: list[dict], grid=None, target: float = WRONG_MATCH_TARGET, ranker: str = "score"
) -> tuple[float, list[dict]]:
    """The smallest margin at which enrolled writers' genuine queries are matched to another
    writer at most ``target`` of the time (the runner-up is what the margin guards against);
    if none reaches it, the margin with the fewest such matches. Returns (margin, table)."""
    table = []
    for m in MARGIN_GRIDS[ranker] if grid is None else grid:
        s = summarise(records, m, ranker)
        table.append({"margin": m, **{k: s[k] for k in ("match_rate", "wrong_match", "ambiguous_rate", "false_match")}})
    ok = [t for t in table if t["wrong_match"] <= target]
    best = ok[0] if ok else min(table, key=lambda t: (t["wrong_match"], t["margin"]))
    return best["margin"], table


def report(
    data: str, engine, references: int, seed: int, unenrolled: int = 0, shortlist: int = 20, margin: float | None = None
) -> dict:
    """``python -m ml identify``'s report on a folder."""
    from ml.identify import ranking_for

    emb = folder_embeddings(data, engine)
    ranker, fitted = ranking_for(engine.model_version)
    margin = fitted if margin is None else float(margin)
    s = summarise(run(emb, engine, references, seed, unenrolled, shortlist), margin, ranker)
    return {
        "data": str(data),
        "model_version": engine.model_version,
        "n_writers": len(emb),
        "references": references,
        "seed": seed,
        "unenrolled": unenrolled,
        "shortlist": shortlist,
        "ranker": ranker,
        "margin": margin,
        **s,
    }


def write_margin(engine, references: int, seeds, unenrolled: int, shortlist: int, path=None) -> dict:
    """Fit the margin on the model's validation writers and store it under its model version."""
    import json
    from pathlib import Path

    from ml.identify import MARGINS_FILE

    emb = validation_embeddings(engine)
    k = unenrolled or max(1, len(emb) // 10)
    records = [r for s in seeds for r in run(emb, engine, references, s, k, shortlist)]
    top1 = {name: summarise(records, 0.0, name)["top1"] for name in RANKERS}
    ranker = max(RANKERS, key=lambda name: (top1[name], name == "score"))  # a tie keeps the calibrated score
    margin, table = fit_margin(records, ranker=ranker)
    entry = {
        "rank": ranker,
        "top1_by_ranker": top1,
        "margin": margin,
        "command": f"python -m ml identify --fit-margin --references {references} --seeds {' '.join(map(str, seeds))}",
        "source": f"validation writers of {engine.model_version} ({len(emb)} identities), never test writers",
        "references": references,
        "seeds": list(seeds),
        "unenrolled": k,
        "rule": f"smallest margin with enrolled genuine queries matched to another writer <= {WRONG_MATCH_TARGET}",
        "at_margin": {key: v for key, v in summarise(records, margin, ranker).items()},
        "table": [t for t in table if t["margin"] in MARGIN_GRIDS[ranker][::10] or t["margin"] == margin],
    }
    path = Path(path or MARGINS_FILE)
    doc = json.loads(path.read_text()) if path.exists() else {"models": {}}
    doc["models"][engine.model_version] = entry
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return entry
