"""Training-step throughput on CPU, fp32 against bf16 autocast.

    python benchmarks/train_throughput.py [--threads 1] [--steps 5] [--json]

Times forward + backward + optimizer step on random inputs for:

- ``sigfast`` (150x220, batch 96, the whole network, channels-last), as ``ml.train`` trains it;
- ``lite0`` partial unfreezing (224x320, batch 32): the trunk's last ``--unfreeze`` blocks
  and head convolution train, the rest is frozen and runs without gradients.

Reports wall-clock and CPU-time (``time.process_time``) milliseconds per step and signatures
per second, each in fp32 and with ``torch.autocast("cpu", torch.bfloat16)``; the CPU time
stays meaningful on a machine that other jobs keep busy. bf16 is only fast on CPUs with
avx512_bf16 or AMX (``ml.backbones.bf16_supported``).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
import torch.nn.functional as F

from ml.backbones import bf16_supported
from ml.models import build


def lite0_partial(unfreeze: int):
    m = build("lite0", pretrained=True)
    for p in m.parameters():
        p.requires_grad_(False)
    blocks = m.trunk._blocks
    for mod in list(blocks[len(blocks) - unfreeze :]) + [m.trunk._conv_head, m.trunk._bn1]:
        for p in mod.parameters():
            p.requires_grad_(True)
    return m


def time_steps(model, x, bf16: bool, steps: int) -> tuple[float, float]:
    model = model.to(memory_format=torch.channels_last).train()
    x = x.contiguous(memory_format=torch.channels_last)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    target = F.normalize(torch.randn(x.shape[0], model.embedding_dim), dim=1)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            emb = model(x)
        loss = (1 - (emb.float() * target).sum(1)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up
    w, c = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    return (time.perf_counter() - w) / steps * 1000, (time.process_time() - c) / steps * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--unfreeze", type=int, default=3, help="last trunk blocks trained in the lite0 case")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cases = [
        ("sigfast 150x220 batch 96, whole network", lambda: build("sigfast"), torch.rand(96, 1, 150, 220)),
        (
            f"lite0 224x320 batch 32, last {a.unfreeze} blocks + head conv",
            lambda: lite0_partial(a.unfreeze),
            torch.rand(32, 1, 224, 320),
        ),
    ]
    res = {"threads": a.threads, "bf16_supported": bf16_supported("cpu"), "load_average": os.getloadavg()[0], "cases": {}}
    for name, make, x in cases:
        row = {}
        for mode in ("fp32", "bf16"):
            wall, cpu = time_steps(make(), x, mode == "bf16", a.steps)
            row[mode] = {
                "ms_per_step": round(wall, 1),
                "cpu_ms_per_step": round(cpu, 1),
                "signatures_per_s": round(x.shape[0] / wall * 1000, 1),
                "signatures_per_cpu_s": round(x.shape[0] / cpu * 1000, 1),
            }
        row["bf16_speedup_cpu"] = round(row["fp32"]["cpu_ms_per_step"] / row["bf16"]["cpu_ms_per_step"], 2)
        res["cases"][name] = row
        if not a.json:
            print(name, json.dumps(row), flush=True)
    if a.json:
        print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
