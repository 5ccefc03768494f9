"""A small learned sequence encoder as one more column of the online and fused models.

    python research/2026-11-30-online-encoder/encoder.py --val cache/splits/svc2004_val \\
        cache/splits/susig_visual_val --out cache/encoder_emb_s0.npz [--final cache/encoder.pt]

Validation users only (the rows of rows.py). The encoder: three 1-D convolutions (32
channels, kernel 5, dilations 1, 2, 4) over the per-frame features that ``ml.online.features
.extract`` already computes at the shipped rate (x, y, velocity, acceleration, speed,
direction, pen-up, pressure with a has-pressure flag: 12 inputs), then the frames are
averaged over 8 equal-time segments and over the whole signature (a coarse linear
alignment), projected to 64 values and L2-normalised. Trained with an episode loss that
mirrors verification: per writer, 5 references, genuine queries, skilled forgeries and
random forgeries (other training writers' genuine signatures); the query's mean embedding
distance to the references; a softplus ranking loss over every (genuine, forgery) pair of a
writer. Pressure is dropped for 20% of the training signatures (a mouse has none).

Cross-fitting: for each fold k of the 5 user folds of rows.py, an encoder is trained on both
datasets' users of the other 4 folds (600 steps of 16 writers) and embeds every signature;
heldout.py takes fold k's columns from encoder k, so that no row's column comes from an
encoder that saw its writer. Columns per row (``heldout.columns``): the query's mean and minimum
embedding distance to its 5 references, divided by the references' mean pairwise distance
(the writer's scale, as for DTW), and the raw mean distance.
"""

import argparse
import re
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ml.data import is_test_writer
from ml.errors import SignatureInputError
from ml.online.evaluate import scan_stroke_writers
from ml.online.features import extract

IN_COLS = list(range(10))  # x, y, vx, vy, ax, ay, speed, sin, cos, pen_up
N_SEG = 8


def inputs(t) -> np.ndarray:
    """(T, 12): the 10 shape/dynamics channels, z-normalised pressure (0 without), has-pressure flag."""
    f = t.frames[:, IN_COLS]
    p = t.frames[:, 12:13] if t.has_pressure else np.zeros((len(f), 1), np.float32)
    flag = np.full((len(f), 1), 1.0 if t.has_pressure else 0.0, np.float32)
    return np.concatenate([f, p, flag], 1).astype(np.float32)


class Encoder(nn.Module):
    def __init__(self, c_in=12, width=32, out=64):
        super().__init__()
        self.convs = nn.ModuleList(
            [nn.Conv1d(c_in, width, 5, padding=2), nn.Conv1d(width, width, 5, padding=4, dilation=2),
             nn.Conv1d(width, width, 5, padding=8, dilation=4)]
        )  # fmt: skip
        self.proj = nn.Linear(width * (N_SEG + 1), out)

    def forward(self, x, lengths):
        """x (B, T, C) zero-padded, lengths (B,) -> (B, out) unit vectors."""
        B, T, _ = x.shape
        mask = (torch.arange(T)[None, :] < lengths[:, None]).float()  # (B, T)
        h = x.transpose(1, 2)
        for k, conv in enumerate(self.convs):
            z = torch.relu(conv(h)) * mask[:, None, :]
            h = z if k == 0 else h + z
        pos = torch.arange(T)[None, :].float() / lengths[:, None].float()  # [0, 1) inside
        seg = torch.clamp((pos * N_SEG).long(), max=N_SEG - 1)
        onehot = torch.nn.functional.one_hot(seg, N_SEG).float() * mask[:, :, None]  # (B, T, K)
        onehot = torch.cat([onehot, mask[:, :, None]], 2)
        pooled = torch.einsum("bct,btk->bkc", h, onehot) / onehot.sum(1).clamp(min=1)[:, :, None]
        e = self.proj(pooled.reshape(B, -1))
        return torch.nn.functional.normalize(e, dim=1)


def batch(seqs):
    n = max(len(s) for s in seqs)
    x = np.zeros((len(seqs), n, seqs[0].shape[1]), np.float32)
    for k, s in enumerate(seqs):
        x[k, : len(s)] = s
    return torch.from_numpy(x), torch.tensor([len(s) for s in seqs])


def embed(model, seqs, chunk=128):
    out = []
    model.eval()
    with torch.no_grad():
        for s in range(0, len(seqs), chunk):
            out.append(model(*batch(seqs[s : s + chunk])).numpy())
    return np.concatenate(out)


def train(seqs, by_writer, steps=1500, writers_per_step=16, seed=0, log=None):
    """``by_writer``: writer -> (genuine indices, forged indices) into ``seqs``."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Encoder()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    names = sorted(by_writer)
    t0 = time.time()
    for step in range(steps):
        model.train()
        ws = rng.choice(len(names), size=min(writers_per_step, len(names)), replace=False)
        items, groups = [], []
        for wi in ws:
            g, f = by_writer[names[wi]]
            if len(g) < 7:
                continue
            pick = rng.permutation(g)
            refs, gq = pick[:5], pick[5:8]
            sk = rng.choice(f, size=min(3, len(f)), replace=False) if len(f) else np.zeros(0, int)
            other = names[rng.choice([j for j in range(len(names)) if j != wi])]
            rd = rng.choice(by_writer[other][0], size=2, replace=False)
            base = len(items)
            items += list(refs) + list(gq) + list(sk) + list(rd)
            groups.append((base, len(refs), len(gq), len(sk), len(rd)))
        xs = []
        for i in items:
            s = seqs[i]
            if s[0, 11] > 0 and rng.random() < 0.2:  # pressure dropped: a device without it
                s = s.copy()
                s[:, 10:12] = 0
            xs.append(s)
        e = model(*batch(xs))
        loss = 0.0
        for base, nr, ng, ns, nrd in groups:
            r = e[base : base + nr]
            q = e[base + nr : base + nr + ng + ns + nrd]
            d = torch.cdist(q, r).mean(1)
            scale = torch.pdist(r).mean().detach() + 1e-3
            d = d / scale
            dg, dn = d[:ng], d[ng:]
            w = torch.cat([torch.ones(ns), 0.5 * torch.ones(nrd)])
            loss = loss + (torch.nn.functional.softplus(4.0 * (dg[:, None] - dn[None, :] + 0.5)) * w[None, :]).mean()
        loss = loss / len(groups)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if log and (step % 250 == 0 or step == steps - 1):
            log(f"step {step} loss {loss.item():.4f} {time.time() - t0:.0f}s")
    return model


def load_folders(folders, rate):
    """Input sequences of every signature of the folders, writer -> (genuine, forged) indices,
    writer -> fold (sorted writer names of each folder, i % 5, as rows.py) and the paths."""
    seqs, by_writer, fold_of, paths = [], {}, {}, []
    for folder in folders:
        samples, _ = scan_stroke_writers(folder)
        folds = {w: i % 5 for i, w in enumerate(sorted({s.writer for s in samples}))}
        for s in samples:
            try:
                t = extract(s.strokes, rate)
            except SignatureInputError:
                continue
            i = len(seqs)
            seqs.append(inputs(t))
            paths.append(s.path)
            g, f = by_writer.setdefault(s.writer, ([], []))
            (g if s.label == "genuine" else f).append(i)
            fold_of[s.writer] = folds[s.writer]
    by_writer = {w: (np.array(g, int), np.array(f, int)) for w, (g, f) in by_writer.items()}
    return seqs, by_writer, fold_of, paths


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--val", nargs="+", required=True, help="validation stroke-JSON folders (no test users)")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--rate", type=float, default=33.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True, help="npz: per fold k, the embeddings (by path) of an encoder trained without fold k")
    ap.add_argument("--final", help="also train on every validation user and save the weights here")
    a = ap.parse_args()
    torch.set_num_threads(1)
    for f in a.val:
        for w in Path(f).iterdir():
            m = re.match(r"(svc2004|susig_visual|susig_blind)_u(\d+)$", w.name)
            if m is None or is_test_writer({"svc2004": "svc2004_task2"}.get(m.group(1), m.group(1)), f"user_{m.group(2)}"):
                raise SystemExit(f"{w}: a test user or an unknown folder")
    seqs, by_writer, fold_of, paths = load_folders(a.val, a.rate)
    print(len(seqs), "signatures,", len(by_writer), "writers", flush=True)
    out = {"paths": np.array(paths)}
    for k in range(5):
        train_w = {w: v for w, v in by_writer.items() if fold_of[w] != k}
        model = train(seqs, train_w, steps=a.steps, seed=a.seed, log=lambda m, k=k: print(f"fold {k}", m, flush=True))
        out[f"emb{k}"] = embed(model, seqs)
        np.savez(a.out, **out)
    if a.final:
        model = train(seqs, by_writer, steps=a.steps, seed=a.seed, log=lambda m: print("final", m, flush=True))
        torch.save(model.state_dict(), a.final)


if __name__ == "__main__":
    main()
