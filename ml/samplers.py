"""Batch samplers that give several writers x several signatures per batch.

Metric losses need positives (same writer, genuine) and hard negatives (that writer's
skilled forgeries) inside every batch; ``WriterBatchSampler`` draws ``writers`` writers
and, for each, ``genuine`` genuine signatures and up to ``forged`` forgeries of them.
"""

from __future__ import annotations

import numpy as np


class WriterBatchSampler:
    """Yields lists of indices; ``labels`` are writer ids (ints), ``forged`` a bool array."""

    def __init__(
        self,
        writer_ids,
        forged,
        writers: int = 16,
        genuine: int = 4,
        forged_per_writer: int = 2,
        batches: int | None = None,
        seed: int = 0,
    ):
        self.writer_ids = np.asarray(writer_ids)
        self.forged = np.asarray(forged, bool)
        self.p, self.k, self.f = writers, genuine, forged_per_writer
        self.gen_idx: dict[int, np.ndarray] = {}
        self.forg_idx: dict[int, np.ndarray] = {}
        for w in np.unique(self.writer_ids):
            sel = self.writer_ids == w
            self.gen_idx[int(w)] = np.nonzero(sel & ~self.forged)[0]
            self.forg_idx[int(w)] = np.nonzero(sel & self.forged)[0]
        self.writers = np.array([w for w, g in self.gen_idx.items() if len(g) >= 2])
        if len(self.writers) < 2:
            raise ValueError("need at least two writers with two genuine signatures each")
        n_gen = int((~self.forged).sum())
        self.batches = batches or max(1, n_gen // (self.p * self.k))
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int):
        self.epoch = epoch

    def __len__(self):
        return self.batches

    def __iter__(self):
        rng = np.random.default_rng((self.seed, self.epoch))
        p = min(self.p, len(self.writers))
        for _ in range(self.batches):
            batch = []
            for w in rng.choice(self.writers, p, replace=False):
                g = self.gen_idx[int(w)]
                batch.extend(rng.choice(g, self.k, replace=len(g) < self.k).tolist())
                fo = self.forg_idx[int(w)]
                if len(fo) and self.f:
                    batch.extend(rng.choice(fo, min(self.f, len(fo)), replace=False).tolist())
            yield batch
