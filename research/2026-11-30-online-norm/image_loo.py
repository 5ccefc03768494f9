"""4-reference image scores on the 5-reference calibration, for the rows of rows.py.

    python research/2026-11-30-online-norm/image_loo.py --rows cache/norm_rows.npz \\
        --data svc=cache/splits/svc2004_val [susig=cache/splits/susig_visual_val] --out cache/norm_image5.npz

The shipped image engine calibrates its score per reference-count bucket (``ml.writer.BUCKETS``:
1, 2-4, 5+), so a reference scored against the other 4 (rows.py's ``loo_image``) gets the 2-4
bucket's calibration, not the one the 5-reference queries get. Here each 4-reference writer fit
is scored with the 5+ bucket (``n_refs`` set to 5), so that the LOO image logits sit on the
queries' scale. Same rows, same order; test users are refused.
"""

import argparse

import numpy as np
import torch

from ml.engine import Engine
from ml.online.convert import test_user_folders
from ml.online.evaluate import scan_stroke_writers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", required=True)
    ap.add_argument("--data", nargs="+", required=True, help="name=folder (name: svc or susig, as in the rows)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)
    z = np.load(a.rows)
    engine = Engine.load()
    out = {}
    for item in a.data:
        name, folder = item.split("=", 1)
        if test_user_folders(folder):
            raise SystemExit(f"{test_user_folders(folder)[0]}: a test user")
        samples, _ = scan_stroke_writers(folder)
        by_path = {s.path: s for s in samples}
        paths = z[f"{name}_paths"]
        emb = engine.embed([by_path[p].strokes for p in paths])
        refs, query, writer = z[f"{name}_refs"], z[f"{name}_query"], z[f"{name}_writer"]
        key = np.array([f"{w}:{','.join(map(str, x))}" for w, x in zip(writer, refs)])
        enrol = np.cumsum(np.r_[True, key[1:] != key[:-1]])
        loo = np.zeros((len(refs), 5))
        sub = np.zeros((len(refs), 5))
        for e in np.unique(enrol):
            m = enrol == e
            r = refs[m][0]
            for k in range(5):
                wd = engine.fit_writer(emb[np.delete(r, k)])
                wd["n_refs"] = 5
                loo[m, k] = engine.score(wd, emb[r[k : k + 1]])[0][0]
                sub[m, k] = engine.score(wd, emb[query[m]])[0]
        out[f"{name}_loo_image"], out[f"{name}_sub_image"] = loo, sub
        print(name, int(enrol.max()), "enrollments", flush=True)
    np.savez(a.out, **out)


if __name__ == "__main__":
    main()
