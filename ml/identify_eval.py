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
re-scored by ``ml.identify.score_candidates``; the outcome rule is ``ml.identify.decide``.
"""

from __future__ import annotations

import numpy as np

from ml.identify import decide, score_candidates
from ml.index import VectorIndex
from ml.writer import writer_rng

MARGIN_GRID = tuple(round(0.01 * i, 2) for i in range(51))
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
    """One record per query: its kind, true writer and the re-scored short list
    (``keys``, ``scores``, ``thresholds``, best first)."""
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
        scores, thresholds = score_candidates(engine, q, [wds[keys[c]] for c in cand])
        order = np.argsort(-scores, kind="stable")
        records.append(
            {
                "kind": kind,
                "writer": w,
                "keys": [keys[cand[i]] for i in order],
                "scores": scores[order],
                "thresholds": thresholds[order],
            }
        )
    return records


def summarise(records: list[dict], margin: float) -> dict:
    """The report's rates at this margin (NaN where a kind of query is absent)."""
    by: dict[str, list] = {"enrolled": [], "unenrolled": [], "forgery": []}
    for r in records:
        outcome, order = decide(r["scores"], r["thresholds"], margin)
        named = r["keys"][order[0]] if outcome == "match" else None
        by[r["kind"]].append((r["keys"][:5], outcome, named, r["writer"]))
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


def fit_margin(records: list[dict], grid=MARGIN_GRID, target: float = WRONG_MATCH_TARGET) -> tuple[float, list[dict]]:
    """The smallest margin at which enrolled writers' genuine queries are matched to another
    writer at most ``target`` of the time (the runner-up is what the margin guards against);
    if none reaches it, the margin with the fewest such matches. Returns (margin, table)."""
    table = []
    for m in grid:
        s = summarise(records, m)
        table.append({"margin": m, **{k: s[k] for k in ("match_rate", "wrong_match", "ambiguous_rate", "false_match")}})
    ok = [t for t in table if t["wrong_match"] <= target]
    best = ok[0] if ok else min(table, key=lambda t: (t["wrong_match"], t["margin"]))
    return best["margin"], table


def report(
    data: str, engine, references: int, seed: int, unenrolled: int = 0, shortlist: int = 20, margin: float | None = None
) -> dict:
    """``python -m ml identify``'s report on a folder."""
    from ml.identify import margin_for

    emb = folder_embeddings(data, engine)
    margin = margin_for(engine.model_version) if margin is None else float(margin)
    s = summarise(run(emb, engine, references, seed, unenrolled, shortlist), margin)
    return {
        "data": str(data),
        "model_version": engine.model_version,
        "n_writers": len(emb),
        "references": references,
        "seed": seed,
        "unenrolled": unenrolled,
        "shortlist": shortlist,
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
    margin, table = fit_margin(records)
    entry = {
        "margin": margin,
        "command": f"python -m ml identify --fit-margin --references {references} --seeds {' '.join(map(str, seeds))}",
        "source": f"validation writers of {engine.model_version} ({len(emb)} identities), never test writers",
        "references": references,
        "seeds": list(seeds),
        "unenrolled": k,
        "rule": f"smallest margin with enrolled genuine queries matched to another writer <= {WRONG_MATCH_TARGET}",
        "at_margin": {key: v for key, v in summarise(records, margin).items()},
        "table": [t for t in table if t["margin"] in (0.0, 0.05, 0.1, 0.2, 0.3, 0.5) or t["margin"] == margin],
    }
    path = Path(path or MARGINS_FILE)
    doc = json.loads(path.read_text()) if path.exists() else {"models": {}}
    doc["models"][engine.model_version] = entry
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return entry
