"""Validation rows for the sequence-encoder study, with the query and reference indices kept.

    python research/2026-11-30-online-encoder/rows.py --svc cache/splits/svc2004_val \\
        --susig cache/splits/susig_visual_val --random 60 --out cache/encoder_rows.npz

As research/2026-11-30-online-random/rows.py (image score and the shipped 26 online features
of genuine queries, skilled forgeries and 60 random forgeries per writer and seed, 5
references, seeds 0-4, random forgeries from the writer's own fold), plus, per row, the index
of the query and of the 5 references in the folder's sample list (``<name>_paths``), so that
any encoder distance can be added as a column later. Test users are refused.
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


class IndexScorer(StrokeScorer):
    """Features followed by the query index and the reference indices."""

    def features(self, wd, queries):
        q = np.asarray(queries, int)
        f = super().features(wd, q)
        refs = np.broadcast_to(np.asarray(wd["refs"], float), (len(q), len(wd["refs"])))
        return np.column_stack([f, q.astype(float), refs])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--svc", required=True)
    ap.add_argument("--susig", required=True)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--random", type=int, default=60)
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", default=None, help="image model for the image score (default: the shipped one); "
                    "the online columns are the shipped model's either way")  # fmt: skip
    a = ap.parse_args()
    torch.set_num_threads(1)
    for f in (a.svc, a.susig):
        if test_user_folders(f):
            raise SystemExit(f"{test_user_folders(f)[0]}: a test user")
    shipped = Engine.load()
    params = load_params(shipped.model_version)
    engine = Engine.load(a.model) if a.model else shipped
    out = {}
    for name, folder in (("svc", a.svc), ("susig", a.susig)):
        samples, _ = scan_stroke_writers(folder)
        scorer = IndexScorer(samples, params, engine)
        groups = folds_of(s.writer for s in scorer.samples)
        r = validation_rows(scorer, 5, range(a.seeds), random=a.random, groups=groups)
        feats = r.pop("feats")
        out[f"{name}_feats"] = feats[:, :-6]
        out[f"{name}_query"] = feats[:, -6].astype(int)
        out[f"{name}_refs"] = feats[:, -5:].astype(int)
        for k, v in r.items():
            out[f"{name}_{k}"] = v
        out[f"{name}_fold"] = np.array([groups[w] for w in r["writer"]])
        out[f"{name}_paths"] = np.array([s.path for s in scorer.samples])
        print(name, len(r["label"]), {k: int((r["kind"] == k).sum()) for k in ("genuine", "skilled", "random")}, flush=True)
    np.savez(a.out, **out)


if __name__ == "__main__":
    main()
