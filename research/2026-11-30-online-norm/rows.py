"""Validation rows with leave-one-out (LOO) reference scores, for per-writer score normalisation.

    python research/2026-11-30-online-norm/rows.py --svc cache/splits/svc2004_val \\
        --susig cache/splits/susig_visual_val --random 60 --out cache/norm_rows.npz

As research/2026-11-30-online-encoder/rows.py (5 references, seeds 0-4; genuine queries,
skilled forgeries and 60 random forgeries per writer and seed from its own fold; image score
and the shipped online columns, ``base+tnorm+global+path``), plus, per row and for each k of
the 5 references, what the same scorer gives when the enrollment is fitted on the other 4:

* ``loo_image`` / ``loo_feats`` (R, ...): reference k scored as a query against the other 4
  (the enrollment's own LOO scores; the same for every row of that enrollment);
* ``sub_image`` / ``sub_feats`` (R, ...): the row's query scored against those same 4 (so that
  a query can be compared with the held-out reference on equal footing, 4 against 4).

DTW distances are cached per pair, so the LOO columns cost only the feature arithmetic and the
4-reference image fits. Test users are refused.
"""

import argparse

import numpy as np
import torch

from ml.engine import Engine
from ml.online.convert import test_user_folders
from ml.online.evaluate import StrokeScorer, scan_stroke_writers
from ml.online.fitting import validation_rows
from ml.online.verifier import load_params


def folds_of(writers) -> dict:
    return {w: i % 5 for i, w in enumerate(sorted(set(writers)))}


class LOOScorer(StrokeScorer):
    """Features followed by the query index, the reference indices, the LOO reference scores
    (R x (1 + F)) and the query's scores against each 4-reference subset (R x (1 + F))."""

    def _subsets(self, wd):
        if "subsets" not in wd:
            r = np.asarray(wd["refs"], int)
            wd["subsets"] = [StrokeScorer.fit(self, np.delete(r, k)) for k in range(len(r))]
            loo = []
            for k, w4 in enumerate(wd["subsets"]):
                q = r[k : k + 1]
                loo.append(np.r_[self.image_scores(w4, q), StrokeScorer.features(self, w4, q)[0]])
            wd["loo"] = np.concatenate(loo)
        return wd["subsets"], wd["loo"]

    def features(self, wd, queries):
        q = np.asarray(queries, int)
        f = StrokeScorer.features(self, wd, q)
        subsets, loo = self._subsets(wd)
        sub = [np.column_stack([self.image_scores(w4, q), StrokeScorer.features(self, w4, q)]) for w4 in subsets]
        refs = np.broadcast_to(np.asarray(wd["refs"], float), (len(q), len(wd["refs"])))
        return np.column_stack([f, q.astype(float), refs, np.broadcast_to(loo, (len(q), len(loo))), np.hstack(sub)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--svc", required=True)
    ap.add_argument("--susig", required=True)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--random", type=int, default=60)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)
    for f in (a.svc, a.susig):
        if test_user_folders(f):
            raise SystemExit(f"{test_user_folders(f)[0]}: a test user")
    engine = Engine.load()
    params = load_params(engine.model_version)
    out = {}
    for name, folder in (("svc", a.svc), ("susig", a.susig)):
        samples, _ = scan_stroke_writers(folder)
        scorer = LOOScorer(samples, params, engine)
        print(name, "embedded", len(scorer.samples), flush=True)
        groups = folds_of(s.writer for s in scorer.samples)
        r = validation_rows(scorer, 5, range(a.seeds), random=a.random, groups=groups)
        feats = r.pop("feats")
        nf = (feats.shape[1] - 6) // 11  # F + 1 + 5 + 5 (1 + F) + 5 (1 + F) = 11 F + 16
        assert feats.shape[1] == 11 * nf + 16, feats.shape
        out[f"{name}_feats"] = feats[:, :nf]
        out[f"{name}_query"] = feats[:, nf].astype(int)
        out[f"{name}_refs"] = feats[:, nf + 1 : nf + 6].astype(int)
        loo = feats[:, nf + 6 : nf + 6 + 5 * (nf + 1)].reshape(len(feats), 5, nf + 1)
        sub = feats[:, nf + 6 + 5 * (nf + 1) :].reshape(len(feats), 5, nf + 1)
        out[f"{name}_loo_image"], out[f"{name}_loo_feats"] = loo[:, :, 0], loo[:, :, 1:].astype(np.float32)
        out[f"{name}_sub_image"], out[f"{name}_sub_feats"] = sub[:, :, 0], sub[:, :, 1:].astype(np.float32)
        for k, v in r.items():
            out[f"{name}_{k}"] = v
        out[f"{name}_fold"] = np.array([groups[w] for w in r["writer"]])
        out[f"{name}_paths"] = np.array([s.path for s in scorer.samples])
        print(name, len(r["label"]), {k: int((r["kind"] == k).sum()) for k in ("genuine", "skilled", "random")}, flush=True)
    np.savez(a.out, **out)


if __name__ == "__main__":
    main()
