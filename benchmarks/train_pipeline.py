"""Training steps per second on real data, the way ``python -m ml train`` runs them.

    python benchmarks/train_pipeline.py [--config configs/sigfast_d512_lightaug_f4_seed2.yaml] \
        [--steps 30] [--modes fp32:0 fp32:1 bf16:0 bf16:1] [--threads 1] [--json OUT]

Each mode is ``precision:loader_workers``: ``fp32`` or ``bf16`` (autocast, only where
``ml.backbones.bf16_supported``), and how many processes make the batches beside the optimiser
(0: in the main process before each step, as training did before ``ml.batches``); ``data:0``
times making the batches alone, with no network. A mode runs
one epoch of ``--steps`` steps through ``ml.train``'s own epoch loop (raw re-reads, batch
augmentation, forward, backward, optimiser) on the config's training writers, from the same
initial weights; the worker start-up is included. Reports wall-clock ms per step, signatures
per second, and the main process's CPU ms per step.

It needs ``../shared/data`` (the config's data root); the first run preprocesses the training
signatures into ``cache/`` (minutes).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time

import torch

from ml.backbones import bf16_supported
from ml.config import resolve_config
from ml.train import _build, _load_data, _train_epoch, pick_device, seed_everything, training_batches


def run_data_only(cfg: dict, data, steps: int) -> dict:
    """Making ``steps`` batches in the main process, with no network: the batch pipeline's own cost."""
    parts = _build(cfg, data, torch.device("cpu"))
    batches = training_batches(parts, data, {**cfg, "loader_workers": 0}, 0, torch.device("cpu"))
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in itertools.islice(batches, steps):
        pass
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"precision": "data only", "loader_workers": 0, "steps": steps, "ms_per_step": round(wall / steps * 1000, 1),
            "main_cpu_ms_per_step": round(cpu / steps * 1000, 1)}  # fmt: skip


def run_mode(cfg: dict, data, precision: str, workers: int, steps: int) -> dict:
    cfg = {**cfg, "amp": precision == "bf16", "amp_cpu": precision == "bf16", "loader_workers": workers}
    cfg["optim"] = {**cfg["optim"], "steps_per_epoch": steps}
    device = pick_device(cfg["device"])
    seed_everything(cfg["seed"])
    parts = _build(cfg, data, device)
    wall, cpu = time.perf_counter(), time.process_time()
    batches = training_batches(parts, data, cfg, 0, device)
    _, n, _ = _train_epoch(parts, batches, cfg, 0, device, lambda f, m: None, None)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    batch = cfg["sampler"]["writers"] * (cfg["sampler"]["genuine"] + cfg["sampler"]["forged"])
    return {
        "precision": precision, "loader_workers": workers, "steps": n,
        "ms_per_step": round(wall / n * 1000, 1), "signatures_per_s": round(batch * n / wall, 1),
        "main_cpu_ms_per_step": round(cpu / n * 1000, 1),
    }  # fmt: skip


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/sigfast_d512_lightaug_f4_seed2.yaml")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--modes", nargs="+", default=["fp32:0", "fp32:1", "bf16:0", "bf16:1"])
    ap.add_argument("--threads", type=int, default=1, help="torch threads of the main process")
    ap.add_argument("--json", help="write the results here too")
    a = ap.parse_args()
    cfg = resolve_config(a.config, [f"threads={a.threads}"])
    torch.set_num_threads(a.threads)
    data = _load_data(cfg, lambda f, m: None)
    res = {"config": a.config, "threads": a.threads, "cpus": os.cpu_count(), "bf16_supported": bf16_supported("cpu"),
           "load_average_before": round(os.getloadavg()[0], 2), "modes": []}  # fmt: skip
    for mode in a.modes:
        precision, workers = mode.split(":")
        if precision == "data":
            res["modes"].append(run_data_only(cfg, data, a.steps))
            print(json.dumps(res["modes"][-1]), flush=True)
            continue
        if precision == "bf16" and not res["bf16_supported"]:
            print(f"{mode}: skipped, no fast bf16 on this CPU", flush=True)
            continue
        row = run_mode(cfg, data, precision, int(workers), a.steps)
        res["modes"].append(row)
        print(json.dumps(row), flush=True)
    res["load_average_after"] = round(os.getloadavg()[0], 2)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
