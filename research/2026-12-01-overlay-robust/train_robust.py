"""Train the shipped recipe with cleaned overlays of its training signatures mixed into the batches.

    PYTHONPATH=$PWD .venv/bin/python research/2026-12-01-overlay-robust/train_robust.py \
        --variants cache/overlay_robust/variants.npz --p 0.25 -- out=runs/robust_p25 [key=value ...]

``ml.train.train`` with ``configs/sigfast_d512_lightaug_f4_seed2.yaml`` (plus the overrides
after ``--``), except that each training signature in a batch is replaced, with probability
``--p``, by its cleaned overlay from ``variants.py`` (before ``BatchAugment``, so it is
augmented like any other). Everything else, the seed included, is the recipe's: the control is
the same command without this script (``python -m ml train --config ... out=...``).
Batches are made in the main process (``loader_workers=0``), where the subclass lives.
"""

from __future__ import annotations

import argparse

import numpy as np

import ml.train
from ml.batches import TrainingBatches
from ml.config import resolve_config


class WithVariants(TrainingBatches):
    variants: dict = {}
    p: float = 0.0

    def _source(self, idx, rng):
        batch = super()._source(idx, rng)
        for j, i in enumerate(idx):
            v = self.variants.get(self.paths[i])
            if v is not None and rng.random() < self.p:
                batch[j] = v
        return batch


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", required=True)
    ap.add_argument("--p", type=float, default=0.25)
    ap.add_argument("--config", default="configs/sigfast_d512_lightaug_f4_seed2.yaml")
    ap.add_argument("overrides", nargs="*")
    a = ap.parse_args()
    z = np.load(a.variants)
    WithVariants.variants = {str(p): img for p, img, ok in zip(z["paths"], z["images"], z["ok"]) if ok}
    WithVariants.p = a.p
    print(f"{len(WithVariants.variants)} cleaned overlays, p = {a.p}", flush=True)
    ml.train.TrainingBatches = WithVariants
    cfg = resolve_config(a.config, [*a.overrides, "loader_workers=0"])
    ml.train.train(cfg)


if __name__ == "__main__":
    main()
