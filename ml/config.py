"""Training configuration: the defaults, and one resolved config from a dict or a file.

``resolve_config(source, overrides)`` starts from ``DEFAULTS``, merges ``source`` (a
mapping, or the path of a YAML/JSON file) and then ``key.sub=value`` overrides (values
YAML-parsed, as on the command line). Unknown keys are refused everywhere except the
free-form sections in ``OPEN_SECTIONS``, so a typo never trains silently with a default.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping

import yaml

DEFAULTS: dict = {
    "data": {
        "root": "../shared/data/signatures",
        "datasets": ["cedar", "bhsig_bengali", "sigcomp2011_dutch", "cross_media_chinese"],
        "val_fraction": 0.1,
        "split_seed": None,  # seed of the validation split; None: the config's seed
        "cache_dir": "cache",
        "raw_p": 0.0,
    },
    "model": {"arch": "sigfast", "kwargs": {}},
    "loss": {
        "weights": {"classification": 1.0, "forgery": 0.3, "triplet": 1.0, "contrastive": 0.0},
        "classifier": "cosface",
        "mining": "semihard",
        "triplet_margin": 0.2,
        "contrastive_margin": 1.0,
    },
    "sampler": {"writers": 16, "genuine": 4, "forged": 2},
    "optim": {"lr": 0.002, "weight_decay": 0.0001, "epochs": 12, "steps_per_epoch": 0, "warmup_steps": 100},
    "augment": {},
    "validation": {"refs": 5, "seed": 0},
    "calibration": {
        "refs": [1, 5, 10],
        "seeds": [0, 1],
        "negatives": 1000,
        "svm_c": 1.0,
        "threshold_refs": 5,
        "mode": "skilled_half",
    },
    "out": "runs/sigfast",
    "seed": 1,
    "device": "auto",
    "threads": 0,
    "amp": True,  # bf16 autocast on a CUDA device with fast bf16 kernels (ml.train.train_precision)
    "amp_cpu": False,  # ... and on a CPU with them (avx512_bf16 or AMX); off: docs/BENCHMARKS.md
    "max_minutes": 0,
    "workers": 2,  # processes that preprocess the dataset once
    "loader_workers": "auto",  # processes making batches beside the optimiser (ml.train.loader_workers); 0: inline
}

OPEN_SECTIONS = ("model.kwargs", "augment", "loss.weights")  # free-form: any key allowed


def _check_key(node: dict, section: str, key: str):
    if key not in node and section not in OPEN_SECTIONS:
        raise KeyError(f"unknown config key {(section + '.' if section else '') + key!r}")


def _set_dotted(cfg: dict, key: str, value):
    *parents, last = key.split(".")
    node, section = cfg, ""
    for p in parents:
        _check_key(node, section, p)
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise KeyError(f"config key {key!r}: {p!r} is not a section")
        section = f"{section}.{p}" if section else p
    _check_key(node, section, last)
    node[last] = value


def _merge(base: dict, over: Mapping, section: str = ""):
    for k, v in over.items():
        _check_key(base, section, k)
        if isinstance(v, Mapping) and isinstance(base.get(k), dict):
            _merge(base[k], v, f"{section}.{k}" if section else k)
        else:
            base[k] = copy.deepcopy(v)


def load_config_file(path: str | os.PathLike) -> dict:
    """The mapping in a YAML (or JSON) config file; ``ValueError`` if it holds anything else."""
    with open(path) as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ValueError(f"config {path} must be a mapping")
    return data


def resolve_config(source: Mapping | str | os.PathLike | None = None, overrides: list[str] | None = None) -> dict:
    """Defaults, then ``source`` (a mapping or a YAML/JSON file), then ``key.sub=value`` overrides.

    Raises ``KeyError`` for an unknown key and ``ValueError`` for a malformed file or
    override; the caller's mapping is never modified.
    """
    cfg = copy.deepcopy(DEFAULTS)
    if isinstance(source, Mapping):
        _merge(cfg, source)
    elif source is not None and source != "":
        _merge(cfg, load_config_file(source))
    for item in overrides or []:
        if "=" not in item:
            raise ValueError(f"override {item!r} must look like key=value")
        k, v = item.split("=", 1)
        _set_dotted(cfg, k.strip(), yaml.safe_load(v))
    return cfg


def split_seed(cfg: dict) -> int:
    """The validation split's seed: ``data.split_seed``, or the config's seed when unset, so
    that trainings differing only in their seed can still be compared on the same writers."""
    value = cfg["data"].get("split_seed")
    return int(cfg["seed"] if value is None else value)
