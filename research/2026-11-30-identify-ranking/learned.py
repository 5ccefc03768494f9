"""Top-1 of a learned identification ranker against single features, with the ranker's
weights fitted on some validation writers and scored on others (writer folds).

    python research/2026-11-30-identify-ranking/learned.py [--cache runs/identify_val_emb.pkl]
"""

from __future__ import annotations

import argparse
import pickle

import numpy as np
from sklearn.linear_model import LogisticRegression

from ml.engine import Engine
from ml.identify import candidate_features
from ml.index import VectorIndex
from ml.writer import writer_rng


def records(engine, emb, seed, references=5, shortlist=20):
    writers = sorted(w for w, d in emb.items() if len(d["genuine"]) >= 2)
    enrolled, queries = {}, []
    for w in writers:
        g = emb[w]["genuine"]
        order = writer_rng(seed, w).permutation(len(g))
        r = min(references, len(g) - 1)
        enrolled[w] = g[order[:r]]
        queries += [(w, q) for q in g[order[r:]]]
    keys = list(enrolled)
    wds = [engine.fit_writer(enrolled[w]) for w in keys]
    owner = np.concatenate([np.full(len(enrolled[w]), i) for i, w in enumerate(keys)])
    index = VectorIndex(engine.embedding_dim)
    index.add(np.arange(len(owner)), np.concatenate([enrolled[w] for w in keys]))
    out = []
    for w, q in queries:
        ids, _ = index.search(q, min(len(owner), shortlist * references))
        cand = list(dict.fromkeys(int(owner[i]) for i in ids[0] if i >= 0))[:shortlist]
        feats, _ = candidate_features(engine, q, [wds[c] for c in cand])
        out.append((w, [keys[c] for c in cand], feats))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default="runs/identify_val_emb.pkl")
    ap.add_argument("--folds", type=int, default=5)
    a = ap.parse_args()
    engine = Engine.load()
    emb = pickle.load(open(a.cache, "rb"))
    writers = sorted(emb)
    fold_of = {w: i % a.folds for i, w in enumerate(np.random.default_rng(0).permutation(writers))}
    res = {}
    for seed in range(5):
        recs = records(engine, emb, seed)
        top = {"svm": [], "cos_mean": [], "lr": [], "lr_nocal": []}
        for f in range(a.folds):
            train = [r for r in recs if fold_of[r[0]] != f]
            test = [r for r in recs if fold_of[r[0]] == f]
            X = np.concatenate([r[2] for r in train])
            y = np.concatenate([[k == r[0] for k in r[1]] for r in train]).astype(int)
            lr = LogisticRegression(C=1.0, max_iter=2000).fit(X, y)
            for w, keys, feats in test:
                # candidates whose writer is in the training folds are fine: the ranker sees features only
                top["svm"].append(keys[int(np.argmax(feats[:, 2]))] == w)
                top["cos_mean"].append(keys[int(np.argmax(feats[:, 0]))] == w)
                top["lr"].append(keys[int(np.argmax(lr.decision_function(feats)))] == w)
        for k, v in top.items():
            if v:
                res.setdefault(k, []).append(float(np.mean(v)))
        print(seed, {k: round(v[-1], 4) for k, v in res.items()}, flush=True)
    print({k: round(float(np.mean(v)), 4) for k, v in res.items()})


if __name__ == "__main__":
    main()
