"""One-thread latency of the encoder's forward pass on one 200-frame signature (6 s at 33 Hz).

python research/2026-11-30-online-encoder/latency.py --weights cache/encoder.pt [--iters 200]
"""

import argparse
import time

import numpy as np
import torch
from encoder import Encoder, embed  # run from the repository root: the script's folder is on sys.path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True)
    ap.add_argument("--iters", type=int, default=200)
    a = ap.parse_args()
    torch.set_num_threads(1)
    model = Encoder()
    model.load_state_dict(torch.load(a.weights))
    x = [np.random.default_rng(0).standard_normal((200, 12)).astype(np.float32)]
    ts = []
    for _ in range(a.iters):
        t = time.perf_counter()
        embed(model, x)
        ts.append(time.perf_counter() - t)
    print(f"p50 {1000 * np.median(ts):.2f} ms, p95 {1000 * np.percentile(ts, 95):.2f} ms, "
          f"{sum(p.numel() for p in model.parameters())} parameters")  # fmt: skip


if __name__ == "__main__":
    main()
