"""A tiny writer-independent training run on synthetic writers (ml.synthetic): seconds on CPU."""

from __future__ import annotations

from pathlib import Path


def tiny_train_config(folder: Path) -> dict:
    from ml.synthetic import write_dataset

    data = folder / "data"
    if not (data / "synth").is_dir():
        write_dataset(data / "synth", writers=10, genuine_per_writer=6, forged_per_writer=2, seed=3)
    return {
        "data": {"root": str(data), "datasets": ["synth"], "val_fraction": 0.3, "cache_dir": str(folder / "cache")},
        "model": {"arch": "sigfast", "kwargs": {"widths": [8, 16, 32, 64], "embedding_dim": 64}},
        "sampler": {"writers": 4, "genuine": 2, "forged": 1},
        "optim": {"epochs": 1, "steps_per_epoch": 3, "warmup_steps": 1},
        "calibration": {"refs": [1, 3], "seeds": [0], "negatives": 50, "svm_c": 1.0, "threshold_refs": 3},
        "validation": {"refs": 3},
        "out": str(folder / "run"),
        "device": "cpu",
        "amp": False,
        "workers": 1,
        "threads": 1,
    }
