"""FRR and skilled / random FAR per reference count on the shipped model's validation writers,
at the operating points two checkpoints resolve (``Engine.threshold_for``).

    python research/2026-12-01-bucket-operating-points/validation.py --before /tmp/sigweb_before.pt \\
        --after ml/weights/sigweb.pt --json docs/results/bucket_operating_points_val.json

The validation writers of the checkpoint's own split that have skilled forgeries (``ml.validation``;
never test writers; the cross-media Chinese identities, random forgeries only and about 4 genuine
signatures each per medium, are left out so that every writer is enrolled with the count asked),
embedded once; protocol seeds 0..4; the decision scored through the engine
(``fit_writer`` and ``score``), as the app scores it.
"""

import argparse
import json

import numpy as np
import torch

from ml import checkpoint as ckpt
from ml.data import group_by_writer
from ml.engine import Engine, embed_batches
from ml.metrics import eer
from ml.validation import validation_images
from ml.writer import protocol


def rates(engine, val, n_refs, seeds):
    g, s, r, thr = [], [], [], []
    for seed in seeds:
        for _, used, f in protocol(val, n_refs, seed, engine.fit_writer, lambda wd, q: engine.score(wd, q)[0]):
            t = engine.threshold_for(used)
            g.append(f["genuine"] - t)
            s.append(f["skilled"] - t)
            r.append(f["random"] - t)
            thr.append(t)
    g, s, r = map(np.concatenate, (g, s, r))
    return {
        "threshold": float(np.median(thr)),
        "frr": float((g < 0).mean()),
        "far_skilled": float((s >= 0).mean()),
        "far_random": float((r >= 0).mean()),
        "eer_skilled": float(eer(g, s)[0]),  # one global threshold at this count
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--refs", type=int, nargs="+", default=[1, 2, 3, 4, 5, 10])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(2)
    ck = ckpt.load(a.after)
    cfg = ck["config"]
    vx, vs = validation_images(cfg)
    val = group_by_writer(vs, embed_batches(ckpt.build_model(ck), vx, torch.device("cpu"), 128))
    # the writers with skilled forgeries (CEDAR, Bengali, Dutch): each is enrolled with the count asked
    val = {w: d for w, d in val.items() if len(d.get("forged", ()))}
    print(len(val), "validation writers with skilled forgeries", flush=True)
    out = {}
    for name, path in (("before", a.before), ("after", a.after)):
        engine = Engine.load(path)
        for n in a.refs:
            out[f"{name}_r{n}"] = rates(engine, val, n, a.seeds)
            print(name, n, json.dumps(out[f"{name}_r{n}"]), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
