"""DTW over learned per-frame features, trained through the DTW, as one more column set.

    python research/2026-11-30-online-dtw/learned.py --rows cache/encoder_rows.npz --seed 0 \\
        --out cache/dtw_learned_s0.npz

Validation users only (the rows of research/2026-11-30-online-encoder/rows.py). A per-frame
encoder (three 1-D convolutions of 32 channels, kernel 5, dilations 1, 2, 4, residual, as the
encoder study's, without its pooling; then a 1x1 convolution to ``DIM`` values per frame)
maps the 12 per-frame inputs of that study (x, y, velocity, acceleration, speed, direction,
pen-up, z-normalised pressure and a has-pressure flag) to a sequence of learned frames. Two
signatures are compared by DTW over those frames (Euclidean frame cost, band 0.3, divided by
n + m: the shipped DTW). Training: episodes of writers, each with 5 references, 3 genuine
queries, 3 skilled forgeries and 2 random forgeries; a query's mean DTW distance to the
references over the references' mean pairwise DTW distance (detached); softplus ranking loss
over every (genuine, forgery) pair of a writer (random forgeries weigh half). The hard DTW's
gradient follows its best path (the minimum of each cell's three predecessors), so the
alignment is recomputed at every step and the frames are trained on aligned distances.
Pressure is dropped for 20% of the training signatures.

Cross-fitted: for each fold k of the 5 user folds, an encoder is trained on both datasets'
users of the other 4 folds, and fold k's rows get DTW columns over its frames (``columns``
of channels.py: min and mean over the writer's scale, min and mean over each reference's own
scale), saved as ``<set>_lrn`` (rows, 4).
"""

import argparse
import importlib.util
import json
import time
from pathlib import Path

import numpy as np
import torch
from channels import columns
from fastdtw import Sequences
from torch import nn

from ml.online.features import extract

_spec = importlib.util.spec_from_file_location("enc", Path(__file__).parents[1] / "2026-11-30-online-encoder" / "encoder.py")
enc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(enc)

DIM = 16
WINDOW = 0.3


SKIP = [0, 1, 2, 3, 10]  # x, y, vx, vy, pressure: the shipped DTW channels


class FrameEncoder(nn.Module):
    """With ``skip``, the learned frames follow the shipped DTW channels (x, y, velocity,
    pressure), their projection starting small: the DTW starts as the shipped one and learns
    what to add."""

    def __init__(self, c_in=12, width=32, out=DIM, skip=False):
        super().__init__()
        self.skip = skip
        self.convs = nn.ModuleList(
            [nn.Conv1d(c_in, width, 5, padding=2), nn.Conv1d(width, width, 5, padding=4, dilation=2),
             nn.Conv1d(width, width, 5, padding=8, dilation=4)]
        )  # fmt: skip
        self.proj = nn.Conv1d(width, out, 1)
        if skip:
            with torch.no_grad():
                self.proj.weight.mul_(0.1)

    def forward(self, x, lengths):
        """x (B, T, C) zero-padded -> (B, T, DIM) (padding frames zero)."""
        T = x.shape[1]
        mask = (torch.arange(T)[None, :] < lengths[:, None]).float()
        h = x.transpose(1, 2)
        for k, conv in enumerate(self.convs):
            z = torch.relu(conv(h)) * mask[:, None, :]
            h = z if k == 0 else h + z
        out = (self.proj(h) * mask[:, None, :]).transpose(1, 2)
        return torch.cat([x[:, :, SKIP], out], 2) if self.skip else out


def path_dtw(e, ln, qa, ra):
    """DTW distances of the pairs (qa[p], ra[p]) of the per-frame outputs ``e`` (B, T, D), as
    ml.online.dtw (band 0.3, / n + m): the best path is found on detached frames (fastdtw.c), the
    distance is summed along it in torch, so its gradient is the hard DTW's."""
    ln_np = ln.numpy()
    det = e.detach().numpy()
    S = Sequences([det[k, : ln_np[k]] for k in range(len(ln_np))])
    _, oi, oj, ol = S.paths(qa, ra, WINDOW)
    steps = np.arange(oi.shape[1])[None, :] < ol[:, None]
    pair = np.broadcast_to(np.arange(len(qa))[:, None], oi.shape)[steps]
    fa = e[torch.from_numpy(np.asarray(qa)[pair]), torch.from_numpy(oi[steps])]
    fb = e[torch.from_numpy(np.asarray(ra)[pair]), torch.from_numpy(oj[steps])]
    cost = torch.sqrt(((fa - fb) ** 2).sum(1) + 1e-8)
    tot = torch.zeros(len(qa)).index_add(0, torch.from_numpy(pair.copy()), cost)
    return tot / torch.from_numpy((ln_np[qa] + ln_np[ra]).astype(np.float32))


def train(seqs, by_writer, steps, seed, writers=12, log=None, skip=False):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = FrameEncoder(skip=skip)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    names = sorted(by_writer)
    t0 = time.time()
    for step in range(steps):
        model.train()
        items, groups = [], []
        for wi in rng.choice(len(names), size=min(writers, len(names)), replace=False):
            g, f = by_writer[names[wi]]
            if len(g) < 7:
                continue
            pick = rng.permutation(g)
            sk = rng.choice(f, size=min(3, len(f)), replace=False) if len(f) else np.zeros(0, int)
            other = names[rng.choice([j for j in range(len(names)) if j != wi])]
            rd = rng.choice(by_writer[other][0], size=2, replace=False)
            base = len(items)
            items += list(pick[:5]) + list(pick[5:8]) + list(sk) + list(rd)
            groups.append((base, 5, 3, len(sk), 2))
        xs = []
        for i in items:
            s = seqs[i]
            if s[0, 11] > 0 and rng.random() < 0.2:
                s = s.copy()
                s[:, 10:12] = 0
            xs.append(s)
        x, ln = enc.batch(xs)
        e = model(x, ln)
        qa, ra, pa, pb = [], [], [], []
        for base, nr, ng, ns, nd in groups:
            for q in range(base + nr, base + nr + ng + ns + nd):
                for r in range(base, base + nr):
                    qa.append(q)
                    ra.append(r)
            for r1 in range(base, base + nr):
                for r2 in range(r1 + 1, base + nr):
                    pa.append(r1)
                    pb.append(r2)
        d = path_dtw(e, ln, np.array(qa), np.array(ra))
        with torch.no_grad():
            dr = path_dtw(e, ln, np.array(pa), np.array(pb))
        loss, pos, rpos = 0.0, 0, 0
        for _base, nr, ng, ns, nd in groups:
            nq = ng + ns + nd
            dq = d[pos : pos + nq * nr].reshape(nq, nr).mean(1)
            scale = dr[rpos : rpos + nr * (nr - 1) // 2].mean() + 1e-3
            pos += nq * nr
            rpos += nr * (nr - 1) // 2
            dq = dq / scale
            dg, dn = dq[:ng], dq[ng:]
            w = torch.cat([torch.ones(ns), 0.5 * torch.ones(nd)])
            loss = loss + (torch.nn.functional.softplus(4.0 * (dg[:, None] - dn[None, :] + 0.5)) * w[None, :]).mean()
        loss = loss / len(groups)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if log and (step % 50 == 0 or step == steps - 1):
            log(f"step {step} loss {loss.item():.4f} {time.time() - t0:.0f}s")
    return model


def frames(model, seqs, chunk=64):
    model.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(seqs), chunk):
            part = seqs[s : s + chunk]
            x, ln = enc.batch(part)
            e = model(x, ln).numpy()
            out += [e[k, : len(p)] for k, p in enumerate(part)]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--writers", type=int, default=12)
    ap.add_argument("--folds", type=int, nargs="+", default=list(range(5)))
    ap.add_argument("--skip", action="store_true", help="learned frames follow the shipped DTW channels")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)
    z = np.load(a.rows)
    seqs, by_writer, fold_of, owner = [], {}, {}, {}
    for n in ("svc", "susig"):
        paths, writer_of_path = z[f"{n}_paths"], {}
        for w, _q, f in zip(z[f"{n}_writer"], z[f"{n}_query"], z[f"{n}_fold"]):
            fold_of[w] = int(f)
        start = len(seqs)
        for k, p in enumerate(paths):
            seqs.append(enc.inputs(extract(json.loads(open(p).read()), 33.0)))
            w = Path(p).parents[1].name
            lab = Path(p).parent.name
            g, f = by_writer.setdefault(w, ([], []))
            (g if lab == "genuine" else f).append(start + k)
            writer_of_path[k] = w
        owner[n] = start
    by_writer = {w: (np.array(g, int), np.array(f, int)) for w, (g, f) in by_writer.items()}
    print(len(seqs), "signatures", len(by_writer), "writers", flush=True)
    out = dict(np.load(a.out)) if Path(a.out).exists() else {}
    for n in ("svc", "susig"):
        out.setdefault(f"{n}_lrn", np.full((len(z[f"{n}_query"]), 4), np.nan))
    for k in a.folds:
        tr = {w: v for w, v in by_writer.items() if fold_of[w] != k}
        model = train(
            seqs, tr, a.steps, a.seed + 100 * k, a.writers, log=lambda m, k=k: print(f"fold {k}", m, flush=True), skip=a.skip
        )
        fr = frames(model, seqs)
        S = Sequences(fr)
        for n in ("svc", "susig"):
            m = z[f"{n}_fold"] == k
            o = owner[n]
            out[f"{n}_lrn"][m] = columns(S, z[f"{n}_query"][m] + o, z[f"{n}_refs"][m] + o)
        np.savez(a.out, **out)
        print(f"fold {k} columns done", flush=True)


if __name__ == "__main__":
    main()
