"""Ensembles of first-stage heads trained by ``study.py``, scored through the shipped second stage.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python research/2026-11-30-detector-finetune/ensemble.py \
        runs/ft/shipped runs/ft/head_s0 runs/head_s1/average.pt --json docs/results/detector/head_ensemble.json

Each argument is a first-stage checkpoint, or a folder holding the ``first_stage.pt`` written
by ``study.py`` (head only, or head and tuned late blocks). On the cached validation features
the members' heat probabilities and box maps are averaged (``DetectorNet.head`` with
``members`` does the same), and the result is scored as ``study.py`` scores one member: first
stage alone (AP@0.5, AP@0.3) and the two stages with the shipped refiner ensemble. Every
member alone and every subset of two or more members are scored.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import torch
from study import FirstStage, add_mid, load_cache, score, val_maps, val_pages

from ml.detection import Detector
from ml.detection.model import DetectorNet


def member(folder: str, va: dict) -> list:
    path = Path(folder) / "first_stage.pt" if Path(folder).is_dir() else Path(folder)
    ck = torch.load(path, map_location="cpu", weights_only=True)
    net = DetectorNet(**ck["arch_kwargs"])
    net.load_state_dict(ck["state_dict"])
    if net.tuned_from:
        va = dict(va)
        add_mid(net, va, net.tuned_from)
    return val_maps(FirstStage(net), va)


def average(maps_list: list) -> list:
    out = []
    for per_page in zip(*maps_list):
        prob = torch.stack([torch.sigmoid(h) for h, _ in per_page]).mean(0).clamp(1e-6, 1 - 1e-6)
        box = torch.stack([b for _, b in per_page]).mean(0)
        out.append((torch.log(prob / (1 - prob)), box))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--data", default="../shared/data/documents/train")
    ap.add_argument("--cache-dir", default="runs/detcache")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(1)
    va = load_cache(a.cache_dir, "val")
    detector = Detector.load()
    pages = val_pages(a.data)
    maps = [member(f, va) for f in a.folders]
    rows = []
    for f, m in zip(a.folders, maps):
        rows.append({"members": [f], **score(m, pages, detector)})
        print(json.dumps(rows[-1]), flush=True)
    for k in range(2, len(maps) + 1):
        for subset in itertools.combinations(range(len(maps)), k):
            rows.append({"members": [a.folders[i] for i in subset], **score(average([maps[i] for i in subset]), pages, detector)})
            print(json.dumps(rows[-1]), flush=True)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
