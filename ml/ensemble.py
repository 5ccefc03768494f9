"""Combine trained checkpoints into one ``ensemble`` checkpoint (see ``ml.models.Ensemble``).

Members must share preprocessing and the writer split (datasets, validation fraction and
seed): the ensemble is calibrated on validation writers, and a member trained on another
split could have seen those writers in training. The result carries no decision yet;
``python -m ml ensemble`` calibrates it straight away, like ``train`` does.
"""

from __future__ import annotations

import copy

from ml import checkpoint as ckpt
from ml.errors import CheckpointError

SPLIT_KEYS = ("datasets", "val_fraction")


def _split_of(ck: dict) -> tuple:
    cfg = ck.get("config") or {}
    data = cfg.get("data") or {}
    return tuple(repr(data.get(k)) for k in SPLIT_KEYS) + (repr(cfg.get("seed")),)


def _members_of(ck: dict) -> list[tuple[dict, dict]]:
    """(arch spec, state dict) of each single network in a checkpoint, nested ensembles flattened."""
    if ck["arch"] != "ensemble":
        return [({"arch": ck["arch"], "kwargs": dict(ck.get("arch_kwargs") or {})}, ck["state_dict"])]
    out = []
    for i, spec in enumerate(ck["arch_kwargs"]["members"]):
        prefix = f"members.{i}."
        out.append((dict(spec), {k[len(prefix) :]: v for k, v in ck["state_dict"].items() if k.startswith(prefix)}))
    return out


def combine(paths: list[str]) -> dict:
    if len(paths) < 2:
        raise CheckpointError("an ensemble needs at least two checkpoints")
    cks = [ckpt.load(p) for p in paths]
    first = cks[0]
    for p, ck in zip(paths[1:], cks[1:]):
        if ck["preprocess"] != first["preprocess"]:
            raise CheckpointError(f"{p} expects preprocessing {ck['preprocess']}, {paths[0]} expects {first['preprocess']}")
        if _split_of(ck) != _split_of(first):
            raise CheckpointError(
                f"{p} was trained on another writer split than {paths[0]} "
                "(datasets, validation fraction or seed differ): its training writers may be "
                "the ensemble's validation writers"
            )
    specs, state = [], {}
    for ck in cks:
        for spec, sd in _members_of(ck):
            prefix = f"members.{len(specs)}."
            specs.append(spec)
            state.update({prefix + k: v for k, v in sd.items()})
    config = copy.deepcopy(first["config"])
    config["model"] = {"arch": "ensemble", "kwargs": {"members": specs}}
    out = {
        "kind": ckpt.KIND,
        "format": ckpt.FORMAT,
        "arch": "ensemble",
        "arch_kwargs": {"members": specs},
        "state_dict": state,
        "preprocess": first["preprocess"],
        "config": config,
        "metrics": {},
        "epoch": None,
        "sources": [
            {"path": p, "sha256": ckpt.file_hash(p), "epoch": ck.get("epoch"), "out": (ck.get("config") or {}).get("out")}
            for p, ck in zip(paths, cks)
        ],
    }
    ckpt.build_model(out)  # fails here, not at load time, if the parts do not fit together
    return out
