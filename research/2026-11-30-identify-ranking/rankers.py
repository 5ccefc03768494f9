"""Top-1 of several ways to rank the short list, on the shipped model's validation writers.

    python research/2026-11-30-identify-ranking/rankers.py --seeds 0 1 2 3 4 [--cache emb.npz]

Rankers: the calibrated verification score (the product's), its raw features, and the
calibrated score z-normalised per candidate writer by the scores other enrolled writers'
references get against it (a cohort normalisation, computed at enrollment time).
"""

from __future__ import annotations

import argparse
import json
import pickle
from pathlib import Path

import numpy as np

from ml.engine import Engine
from ml.identify import candidate_features, score_candidates
from ml.identify_eval import validation_embeddings
from ml.index import VectorIndex
from ml.writer import writer_rng


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--references", type=int, default=5)
    ap.add_argument("--cache", default="runs/identify_val_emb.pkl")
    ap.add_argument("--cohort", type=int, default=200, help="other writers' references per candidate for the z-norm")
    a = ap.parse_args()
    engine = Engine.load()
    cache = Path(a.cache)
    if cache.exists():
        emb = pickle.loads(cache.read_bytes())
    else:
        emb = validation_embeddings(engine)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(emb))
    writers = sorted(w for w, d in emb.items() if len(d["genuine"]) >= 2)
    results: dict[str, list] = {}
    for seed in a.seeds:
        enrolled, queries = {}, []
        for w in writers:
            g = emb[w]["genuine"]
            order = writer_rng(seed, w).permutation(len(g))
            r = min(a.references, len(g) - 1)
            enrolled[w] = g[order[:r]]
            queries += [(w, q) for q in g[order[r:]]]
        keys = list(enrolled)
        wds = [engine.fit_writer(enrolled[w]) for w in keys]
        # cohort: every other writer's references scored against each writer
        cohort_mu, cohort_sd = np.zeros(len(keys)), np.ones(len(keys))
        all_refs = np.concatenate([enrolled[w] for w in keys])
        owner = np.concatenate([np.full(len(enrolled[w]), i) for i, w in enumerate(keys)])
        rng = np.random.default_rng(seed)
        for i in range(len(keys)):
            others = np.nonzero(owner != i)[0]
            pick = rng.choice(others, min(a.cohort, len(others)), replace=False)
            s = np.array([score_candidates(engine, all_refs[j], [wds[i]])[0][0] for j in pick])
            cohort_mu[i], cohort_sd[i] = s.mean(), max(s.std(), 1e-3)
        index = VectorIndex(engine.embedding_dim)
        index.add(np.arange(len(owner)), all_refs)
        hits = {k: [] for k in ("calibrated", "cos_mean", "cos_max", "svm", "wi_mean", "znorm", "cos_max_rank_index")}
        for w, q in queries:
            ids, _ = index.search(q, min(len(owner), 20 * a.references))
            cand = list(dict.fromkeys(int(owner[i]) for i in ids[0] if i >= 0))[:20]
            truth = keys.index(w)
            hits["cos_max_rank_index"].append(cand[0] == truth)
            sc, _ = score_candidates(engine, q, [wds[c] for c in cand])
            feats, _ = candidate_features(engine, q, [wds[c] for c in cand])
            cols = {"calibrated": sc, "cos_mean": feats[:, 0], "cos_max": feats[:, 1], "svm": feats[:, 2]}
            if feats.shape[1] > 4:
                cols["wi_mean"] = feats[:, 4]
            cols["znorm"] = (sc - cohort_mu[cand]) / cohort_sd[cand]
            for name, v in cols.items():
                hits[name].append(cand[int(np.argmax(v))] == truth)
        for name, h in hits.items():
            if h:
                results.setdefault(name, []).append(float(np.mean(h)))
        print(seed, {k: round(v[-1], 4) for k, v in results.items()}, flush=True)
    print(json.dumps({k: {"mean": float(np.mean(v)), "per_seed": v} for k, v in results.items()}, indent=1))


if __name__ == "__main__":
    main()
