"""What judging specks at working size changes (preprocessing sigweb-pp-1 -> sigweb-pp-2).

    python research/2026-12-01-speck-size/compare.py --json docs/results/speck_size_val.json

sigweb-pp-1 set ``clean_gray``'s smallest kept ink component from the image's size before it was
reduced to 800 px: 4 px at up to 999 px, 80 px for a 4,000-px photo, enough to drop i-dots.
sigweb-pp-2 sets it from the working image (4 px). This script preprocesses the shipped model's
26 validation writers' signatures (genuine and forged; ``ml.validation``'s split, no test
writer) with both rules (pp-1's ``clean_gray`` is taken from git at ``--old``), embeds both
with the shipped network and reports, per dataset, how many images change at all, and the
cosine between the two embeddings of those that do. Then the same for the validation images
enlarged 4x (a phone photo of the same sheet), against each image's own original-size embedding.
"""

import argparse
import json
import subprocess
import sys
import types

import cv2
import numpy as np
import torch
import yaml

from ml import checkpoint as ckpt
from ml import preprocess as pp
from ml.config import split_seed
from ml.data import split_validation, training_writers
from ml.preprocess import load_gray


def old_clean_gray(rev: str):
    src = subprocess.run(["git", "show", f"{rev}:ml/preprocess.py"], capture_output=True, text=True, check=True).stdout
    mod = types.ModuleType("preprocess_old")
    sys.modules["preprocess_old"] = mod  # its dataclasses look their module up
    exec(compile(src, "preprocess_old.py", "exec"), mod.__dict__)
    return mod.clean_gray


def prepared(gray, clean):
    ink, mask = clean(gray)
    return pp._fit_canvas(ink, mask, pp.CANVAS).astype(np.float32) / 255.0


def embed(model, imgs):
    with torch.no_grad():
        x = torch.from_numpy(np.stack(imgs))[:, None]
        e = torch.cat([model(x[i : i + 64]) for i in range(0, len(x), 64)])
    return torch.nn.functional.normalize(e, dim=1).numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="configs/sigfast_d512_lightaug_f4_seed2.yaml")
    ap.add_argument("--old", default="13c32ab", help="a git revision holding sigweb-pp-1")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg = yaml.safe_load(open(a.config))
    samples = training_writers(cfg["data"]["root"], cfg["data"]["datasets"])
    _, val = split_validation(samples, cfg["data"]["val_fraction"], split_seed(cfg))
    old = old_clean_gray(a.old)
    model = ckpt.build_model(torch.load(ckpt.DEFAULT_PATH, map_location="cpu", weights_only=True))
    rows = {}
    for s in val:
        ds = s.person.split("/")[0]
        g, _ = load_gray(s.path)
        big = cv2.resize(g, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
        r = rows.setdefault(ds, {"old": [], "new": [], "big_old": [], "big_new": [], "side": []})
        r["old"].append(prepared(g, old))
        r["new"].append(prepared(g, pp.clean_gray))
        r["big_old"].append(prepared(big, old))
        r["big_new"].append(prepared(big, pp.clean_gray))
        r["side"].append(max(g.shape))
    out = {}
    for ds, r in sorted(rows.items()):
        e = {k: embed(model, r[k]) for k in ("old", "new", "big_old", "big_new")}
        changed = np.array([not np.array_equal(x, y) for x, y in zip(r["old"], r["new"])])
        cos = (e["old"] * e["new"]).sum(1)
        out[ds] = {
            "images": len(changed),
            "largest_side_median": float(np.median(r["side"])),
            "changed": int(changed.sum()),
            "cos_changed_min": float(cos[changed].min()) if changed.any() else None,
            "cos_changed_median": float(np.median(cos[changed])) if changed.any() else None,
            "enlarged4x_cos_to_original_pp1_median": float(np.median((e["big_old"] * e["old"]).sum(1))),
            "enlarged4x_cos_to_original_pp1_p05": float(np.percentile((e["big_old"] * e["old"]).sum(1), 5)),
            "enlarged4x_cos_to_original_pp2_median": float(np.median((e["big_new"] * e["new"]).sum(1))),
            "enlarged4x_cos_to_original_pp2_p05": float(np.percentile((e["big_new"] * e["new"]).sum(1), 5)),
        }
        print(ds, json.dumps(out[ds]), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
