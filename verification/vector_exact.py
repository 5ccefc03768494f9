"""Exact cosine search in NumPy, the fallback when ``ml`` has no ``ml.index.VectorIndex``.

Same interface: ``add(ids, vectors)``, ``remove(ids)``, ``search(queries, k) -> (ids, sims)``
with ids -1 and similarity -inf where fewer than ``k`` vectors are stored.
"""

from __future__ import annotations

import numpy as np


class ExactIndex:
    def __init__(self, dim: int):
        self.dim = int(dim)
        self._ids = np.zeros(0, np.int64)
        self._vectors = np.zeros((0, self.dim), np.float32)
        self._row: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids, vectors) -> None:
        ids = np.asarray(ids, np.int64).reshape(-1)
        v = np.asarray(vectors, np.float32).reshape(len(ids), self.dim)
        v = v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-12)
        self.remove([i for i in ids.tolist() if i in self._row])
        start = len(self._ids)
        self._ids = np.concatenate([self._ids, ids])
        self._vectors = np.concatenate([self._vectors, v])
        self._row.update({int(i): start + n for n, i in enumerate(ids.tolist())})

    def remove(self, ids) -> None:
        rows = [self._row.pop(int(i)) for i in ids if int(i) in self._row]
        if not rows:
            return
        keep = np.ones(len(self._ids), bool)
        keep[rows] = False
        self._ids, self._vectors = self._ids[keep], self._vectors[keep]
        self._row = {int(i): n for n, i in enumerate(self._ids.tolist())}

    def search(self, queries, k: int):
        q = np.asarray(queries, np.float32).reshape(-1, self.dim)
        q = q / (np.linalg.norm(q, axis=1, keepdims=True) + 1e-12)
        ids = np.full((len(q), k), -1, np.int64)
        sims = np.full((len(q), k), -np.inf, np.float32)
        n = min(k, len(self._ids))
        if n == 0:
            return ids, sims
        s = q @ self._vectors.T
        top = np.argpartition(-s, n - 1, axis=1)[:, :n]
        order = np.argsort(-np.take_along_axis(s, top, axis=1), axis=1)
        top = np.take_along_axis(top, order, axis=1)
        ids[:, :n] = self._ids[top]
        sims[:, :n] = np.take_along_axis(s, top, axis=1)
        return ids, sims
