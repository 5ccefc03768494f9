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


def run(emb: dict, engine, references: int, seed: int, unenrolled: int = 0, shortlist: int = 20, pad=None) -> list[dict]:
    """One record per query: its kind, true writer and the re-scored short list
    (``keys``, ``scores``, ``thresholds``, best first; with ``pad`` also ``paths``).

    ``pad`` (``ml.online.identify.PadRescorer``) re-scores a short list of pad queries as the
    app's verification decides each candidate (fused, online or image); ``emb`` must then be
    its ``embeddings()``, whose rows it knows by position."""
    writers = sorted(w for w, d in emb.items() if len(d["genuine"]) >= 1)
    if unenrolled >= len(writers):
        raise ValueError(f"--unenrolled {unenrolled} leaves no enrolled writer among {len(writers)}")
    out_set = set(np.random.default_rng(seed).choice(writers, unenrolled, replace=False).tolist()) if unenrolled else set()
    enrolled, queries = {}, []  # enrolled[w] = row positions of its references; queries carry their row
    for w in writers:
        g = emb[w]["genuine"]
        n_forged = len(emb[w].get("forged", g[:0]))
        if w in out_set:
            queries += [("unenrolled", w, "genuine", i) for i in range(len(g))]
            continue
        if len(g) < 2:
            continue
        order = writer_rng(seed, w).permutation(len(g))
        r = min(references, len(g) - 1)
        enrolled[w] = order[:r]
        queries += [("enrolled", w, "genuine", i) for i in order[r:]]
        queries += [("forgery", w, "forged", i) for i in range(n_forged)]
    keys = list(enrolled)
    if pad is None:
        wds = {w: engine.fit_writer(emb[w]["genuine"][enrolled[w]]) for w in keys}
        rescore = lambda w, kind, i, cand: (*score_candidates(engine, emb[w][kind][i], [wds[k] for k in cand]), None)
    else:
        rescore = pad.shortlist_scorer({w: enrolled[w] for w in keys})
    owner = np.concatenate([np.full(len(enrolled[w]), i) for i, w in enumerate(keys)])
    index = VectorIndex(engine.embedding_dim)
    index.add(np.arange(len(owner)), np.concatenate([emb[w]["genuine"][enrolled[w]] for w in keys]))
    k_refs = min(len(owner), shortlist * max(len(v) for v in enrolled.values()))
    records = []
    for kind, w, label, i in queries:
        ids, _ = index.search(emb[w][label][i], k_refs)
        cand = [keys[c] for c in dict.fromkeys(int(owner[j]) for j in ids[0] if j >= 0)][:shortlist]
        scores, thresholds, paths = rescore(w, label, i, cand)
        order = np.argsort(-scores, kind="stable")
        rec = {"kind": kind, "writer": w, "keys": [cand[j] for j in order], "scores": scores[order]}
        rec["thresholds"] = thresholds[order]
        if paths is not None:
            rec["paths"] = [paths[j] for j in order]
        records.append(rec)
    return records


def _margin_of(record: dict, margin) -> float:
    """The record's margin: one number for all, or ``{path: margin}`` read at its top candidate's path."""
    if isinstance(margin, dict):
        return float(margin[record["paths"][0] if record.get("paths") else "image"])
    return float(margin)


def summarise(records: list[dict], margin) -> dict:
    """The report's rates at this margin (a number, or ``{path: margin}``; NaN where a kind of
    query is absent)."""
    by: dict[str, list] = {"enrolled": [], "unenrolled": [], "forgery": []}
    for r in records:
        outcome, order = decide(r["scores"], r["thresholds"], _margin_of(r, margin)) if r["keys"] else ("none", [])
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


def folder_records(data: str, engine, references: int, seed: int, unenrolled: int, shortlist: int, decision: str = "auto"):
    """(records, number of writers, {"kind": "image"|"strokes", "decision", "skipped"}) of one folder.

    A folder of stroke-JSON writers (``ml.online.evaluate``'s layout) is short-listed by the
    rendered strokes' image embeddings and re-scored as the app's verification decides
    (``decision``: ``auto``, ``image``, ``online`` or ``fused``); an image folder by the image
    decision (``decision`` must be ``auto`` or ``image``)."""
    from ml.online.evaluate import DECISIONS, is_stroke_folder

    if decision not in DECISIONS:
        raise ValueError(f"--decision must be one of {', '.join(DECISIONS)}")
    if is_stroke_folder(data):
        from ml.online.identify import PadRescorer, stroke_scorer

        pad = PadRescorer(stroke_scorer(data, engine), decision)
        emb = pad.embeddings()
        info = {"kind": "strokes", "decision": decision, "skipped_files": pad.scorer.skipped}
        return run(emb, engine, references, seed, unenrolled, shortlist, pad=pad), len(emb), info
    if decision not in ("auto", "image"):
        raise ValueError(f"--decision {decision} needs stroke-JSON writers; {data} holds images")
    emb = folder_embeddings(data, engine)
    return run(emb, engine, references, seed, unenrolled, shortlist), len(emb), {"kind": "image", "decision": "image"}


def report(
    data: str, engine, seed: int = 0, margin: float | None = None, decision: str = "auto", *, references: int = 5,
    unenrolled: int = 0, shortlist: int = 20,
) -> dict:  # fmt: skip
    """``python -m ml identify``'s report on a folder."""
    from ml.identify import PATHS, margin_for

    records, n_writers, info = folder_records(data, engine, references, seed, unenrolled, shortlist, decision)
    margins = {p: margin_for(engine.model_version, decision=p) for p in PATHS} if margin is None else float(margin)
    used = sorted({r["paths"][0] for r in records if r.get("paths")}) or ["image"]
    out = {
        "data": str(data),
        "model_version": engine.model_version,
        "n_writers": n_writers,
        "references": references,
        "seed": seed,
        "unenrolled": unenrolled,
        "shortlist": shortlist,
        "margin": margins[used[0]] if isinstance(margins, dict) and len(used) == 1 else margins,
        **summarise(records, margins),
        "decision_path": used[0] if len(used) == 1 else "mixed",
    }
    if info["kind"] == "strokes":
        out["skipped_files"] = info["skipped_files"]
    return out


def _margin_entry(records: list[dict], command: str, source: str, **extra) -> dict:
    margin, table = fit_margin(records)
    return {
        "margin": margin,
        "command": command,
        "source": source,
        **extra,
        "rule": f"smallest margin with enrolled genuine queries matched to another writer <= {WRONG_MATCH_TARGET}",
        "at_margin": {key: v for key, v in summarise(records, margin).items()},
        "table": [t for t in table if t["margin"] in (0.0, 0.05, 0.1, 0.2, 0.3, 0.5) or t["margin"] == margin],
    }


def _store(model_version: str, update, path=None) -> None:
    import json
    from pathlib import Path

    from ml.identify import MARGINS_FILE

    path = Path(path or MARGINS_FILE)
    doc = json.loads(path.read_text()) if path.exists() else {"models": {}}
    update(doc["models"].setdefault(model_version, {}))
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")


def write_margin(engine, references: int, seeds, unenrolled: int, shortlist: int, path=None) -> dict:
    """Fit the image margin on the model's validation writers and store it under its model version."""
    emb = validation_embeddings(engine)
    k = unenrolled or max(1, len(emb) // 10)
    records = [r for s in seeds for r in run(emb, engine, references, s, k, shortlist)]
    entry = _margin_entry(
        records,
        f"python -m ml identify --fit-margin --references {references} --seeds {' '.join(map(str, seeds))}",
        f"validation writers of {engine.model_version} ({len(emb)} identities), never test writers",
        references=references, seeds=list(seeds), unenrolled=k,
    )  # fmt: skip
    _store(engine.model_version, lambda e: e.update({k2: v for k2, v in entry.items()}), path)
    return entry


def write_pad_margin(engine, folders: list[str], references: int, seeds, unenrolled: int, shortlist: int, path=None) -> dict:
    """Fit the margin of pad identifications decided by the fused score on validation users'
    stroke folders (pooled over folders and seeds) and store it beside the image margin."""
    from ml.online.evaluate import is_stroke_folder
    from ml.online.identify import stroke_scorer

    records, names = [], []
    for data in folders:
        if not is_stroke_folder(data):
            raise ValueError(f"{data}: the pad margin is fitted on stroke-JSON writers")
        n_writers = len(stroke_scorer(data, engine).by_writer())
        k = unenrolled or max(1, n_writers // 10)
        for s in seeds:
            records += folder_records(data, engine, references, s, k, shortlist)[0]
        names.append(f"{data} ({n_writers} users, {k} unenrolled per seed)")
    paths = sorted({r["paths"][0] for r in records if r.get("paths")})
    if paths != ["fused"]:
        raise ValueError(f"the pad margin is fitted on fused decisions; these folders gave {paths or 'none'}")
    entry = _margin_entry(
        records,
        f"python -m ml identify --fit-margin --data {' '.join(folders)} --references {references} "
        f"--seeds {' '.join(map(str, seeds))}",
        "validation users of the pad datasets, never test users: " + ", ".join(names),
        references=references, seeds=list(seeds),
    )  # fmt: skip
    _store(engine.model_version, lambda e: e.setdefault("pad", {}).update({"fused": entry}), path)
    return entry


def fit_and_store(engine, folders: list[str] | None, references: int, seeds, unenrolled: int, shortlist: int) -> dict:
    """``python -m ml identify --fit-margin``: the pad (fused) margin on validation pad users'
    stroke folders when ``folders`` are given, else the image margin on the model's validation writers."""
    if folders:
        return write_pad_margin(engine, folders, references, seeds, unenrolled, shortlist)
    return write_margin(engine, references, seeds, unenrolled, shortlist)
