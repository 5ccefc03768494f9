"""A vector index of reference embeddings for 1:N identification (FAISS, in process).

    index = VectorIndex(512)                         # kind="auto": exact, then IVF when large
    index.add(ids, vectors)                          # int64 ids, (N, 512) float32; same id again replaces
    ids, sims = index.search(queries, k=10)          # cosine similarities, best first
    index.remove(ids); index.save(path); index = VectorIndex.load(path)

Vectors are L2-normalised on the way in and queries on the way out, so the inner product the
index computes is the cosine similarity. Where fewer than ``k`` vectors exist, the missing
places have id -1 and similarity -inf.

Kinds:

- ``exact``: brute-force inner product (``faiss.IndexFlatIP``); exact, its cost grows with
  the number of vectors;
- ``ivf``: an inverted file of 8-bit codes (``faiss.IndexIVFScalarQuantizer``): k-means
  cells, a query scans the ``nprobe`` nearest cells for ``RERANK`` x k candidates, which
  are then re-ranked exactly with the float32 vectors (kept for that and for rebuilds).
  Approximate; recall and latency at 1 M vectors are in docs/BENCHMARKS.md;
- ``auto``: exact while the index holds fewer than ``IVF_MIN`` vectors, IVF from then on
  (``rebuild`` retrains the cells when the size has changed a lot since the last training).

FAISS (MIT licence): one library for exact search, IVF with 8-bit codes and ids that can be
removed. At 1 M vectors on one thread its IVF builds in 4.5 to 6 minutes and, at the
default probes, answers in 46 ms (p50) at recall@10 0.993 (``benchmarks/identify_scale.py``,
docs/BENCHMARKS.md);
graph indexes (hnswlib, usearch, FAISS HNSW) were not measured at that size, their builds
insert one vector at a time with a graph search each.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import faiss
import numpy as np

KINDS = ("auto", "exact", "ivf")
IVF_MIN = 50_000  # below this, exact search is fast enough (a few ms) and needs no training
MAGIC = b"SWVIDX1\n"
CHUNK = 65536  # vectors normalised and added at a time
TRAIN_PER_CELL = 40  # k-means training points per cell (FAISS warns below 39)
RERANK = 5  # IVF candidates per result, re-ranked exactly


def _checked(x, dim: int) -> np.ndarray:
    """(N, dim) finite vectors (a single vector becomes one row), not yet normalised."""
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"vectors must be (N, {dim}), got {x.shape}")
    if not all(np.isfinite(x[i : i + CHUNK]).all() for i in range(0, len(x), CHUNK)):
        raise ValueError("vectors must be finite")
    return x


def _unit(x, dim: int) -> np.ndarray:
    x = np.asarray(_checked(x, dim), np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(n, 1e-12), dtype=np.float32)


def _ids(ids, n: int | None = None) -> np.ndarray:
    ids = np.ascontiguousarray(np.asarray(ids).reshape(-1))
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        raise ValueError("ids must be integers")
    ids = ids.astype(np.int64)
    if n is not None and len(ids) != n:
        raise ValueError(f"{len(ids)} ids for {n} vectors")
    if (ids < 0).any():
        raise ValueError("ids must be >= 0")
    return ids


def n_cells(n: int) -> int:
    """IVF cells for ``n`` vectors: about 4 sqrt(n), at least 16 (4,000 at 1 M)."""
    return int(max(16, min(65536, round(4 * np.sqrt(max(n, 1))))))


def default_nprobe(nlist: int) -> int:
    """Cells a query scans: 3/8 of them, at least 16 (1,500 of 4,000 at 1 M, where 1,024
    reach recall@10 0.989 against exact search; docs/BENCHMARKS.md)."""
    return int(min(nlist, max(16, nlist * 3 // 8)))


class VectorIndex:
    def __init__(self, dim: int, kind: str = "auto", nprobe: int | None = None):
        if kind not in KINDS:
            raise ValueError(f"unknown index kind {kind!r}; one of {KINDS}")
        self.dim = int(dim)
        self.kind = kind
        self.nprobe = nprobe  # None: default_nprobe(cells)
        self.trained_at = 0  # vectors in the index when the IVF cells were trained
        self._exact = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))  # every vector, by id
        self._ivf = None  # IVF of 8-bit codes proposing candidates, when large

    # ------------------------------------------------------------ backends

    def _train_ivf(self, vectors: np.ndarray):
        nlist = min(n_cells(len(vectors)), max(1, len(vectors) // TRAIN_PER_CELL))
        quantizer = faiss.IndexFlatIP(self.dim)
        ivf = faiss.IndexIVFScalarQuantizer(quantizer, self.dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        ivf.cp.seed = 1234
        rng = np.random.default_rng(0)
        n_train = min(len(vectors), nlist * TRAIN_PER_CELL)
        sample = vectors if n_train == len(vectors) else vectors[np.sort(rng.choice(len(vectors), n_train, replace=False))]
        ivf.train(_unit(sample, self.dim))
        ivf.own_fields = True
        quantizer.this.disown()
        return ivf

    @property
    def backend(self) -> str:
        """``exact`` or ``ivf``: what answers searches now."""
        return "ivf" if self._ivf is not None else "exact"

    @property
    def nlist(self) -> int:
        return int(self._ivf.nlist) if self._ivf is not None else 0

    @property
    def nbytes(self) -> int:
        """What the index holds: each vector (float32) and id (int64), and with IVF its 8-bit
        code, id and the cell centres."""
        n = len(self)
        extra = n * (self.dim + 8) + self.nlist * 4 * self.dim if self._ivf is not None else 0
        return n * (4 * self.dim + 8) + extra

    def _contents(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything in the index."""
        n = self._exact.ntotal
        ids = faiss.vector_to_array(self._exact.id_map).astype(np.int64)
        vecs = self._exact.index.reconstruct_n(0, n) if n else np.zeros((0, self.dim), np.float32)
        return ids, np.asarray(vecs, np.float32).reshape(-1, self.dim)

    # ------------------------------------------------------------ changes

    def __len__(self) -> int:
        return int(self._exact.ntotal)

    def add(self, ids, vectors) -> None:
        """Add vectors under integer ids; an id already present is replaced.

        Large additions are normalised and added in chunks, so memory grows by about the
        index's own share and not by copies of the input."""
        vectors = _checked(vectors, self.dim)
        ids = _ids(ids, len(vectors))
        if len(np.unique(ids)) != len(ids):
            raise ValueError("duplicate ids in one add")
        if not len(ids):
            return
        self.remove(ids)
        wants_ivf = self.kind == "ivf" or (self.kind == "auto" and len(self) + len(ids) >= IVF_MIN)
        if wants_ivf and self._ivf is None and len(self) + len(ids) >= TRAIN_PER_CELL * 16:
            old_ids, old_vecs = self._contents()
            if len(old_ids):
                ids, vectors = np.concatenate([old_ids, ids]), np.concatenate([old_vecs, vectors])
            self._build(ids, vectors)
            return
        self._add_chunks(ids, vectors)

    def _add_chunks(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        for i in range(0, len(ids), CHUNK):
            part, part_ids = _unit(vectors[i : i + CHUNK], self.dim), ids[i : i + CHUNK]
            self._exact.add_with_ids(part, part_ids)
            if self._ivf is not None:
                self._ivf.add_with_ids(part, part_ids)

    def remove(self, ids) -> int:
        """Remove these ids (absent ones are ignored); returns how many were removed."""
        ids = _ids(ids)
        if not len(ids) or not len(self):
            return 0
        if self._ivf is not None:
            self._ivf.remove_ids(faiss.IDSelectorBatch(ids))
        return int(self._exact.remove_ids(faiss.IDSelectorBatch(ids)))

    def _build(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        use_ivf = self.kind == "ivf" or (self.kind == "auto" and len(ids) >= IVF_MIN)
        self._exact = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        self._ivf = self._train_ivf(vectors) if use_ivf and len(ids) >= TRAIN_PER_CELL * 16 else None
        self.trained_at = len(ids) if self._ivf is not None else 0
        self._add_chunks(ids, vectors)

    def rebuild(self, force: bool = False) -> bool:
        """Retrain the IVF cells (or return to exact search) when the size has changed 4-fold
        since the last training, or when ``force``; returns whether it rebuilt."""
        n = len(self)
        stale = self._ivf is not None and not (self.trained_at / 4 <= n <= self.trained_at * 4)
        wrong = (self._ivf is not None) != (self.kind == "ivf" or (self.kind == "auto" and n >= IVF_MIN))
        if not (force or stale or wrong):
            return False
        ids, vecs = self._contents()
        self._build(ids, vecs)
        return True

    # ------------------------------------------------------------ queries

    def search(self, queries, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ids (Q, k) int64 and cosine similarities (Q, k) float32, best first."""
        q = _unit(queries, self.dim)
        k = int(k)
        if k < 1:
            raise ValueError("k must be at least 1")
        if not len(self):
            return np.full((len(q), k), -1, np.int64), np.full((len(q), k), -np.inf, np.float32)
        if self._ivf is None:
            sims, ids = self._exact.search(q, k)
        else:
            params = faiss.SearchParametersIVF(nprobe=int(self.nprobe or default_nprobe(self.nlist)))
            _, cand = self._ivf.search(q, k * RERANK, params=params)
            ids = np.full((len(q), k), -1, np.int64)
            sims = np.full((len(q), k), -np.inf, np.float32)
            for row, c in enumerate(cand):  # exact re-ranking of the candidates
                c = c[c >= 0]
                if not len(c):
                    continue
                s = self._exact.reconstruct_batch(c) @ q[row]
                top = np.argsort(-s, kind="stable")[:k]
                ids[row, : len(top)], sims[row, : len(top)] = c[top], s[top]
        sims = sims.astype(np.float32)
        sims[ids < 0] = -np.inf
        return ids.astype(np.int64), sims

    # ------------------------------------------------------------ files

    def save(self, path) -> None:
        meta = {
            "dim": self.dim,
            "kind": self.kind,
            "nprobe": self.nprobe,
            "trained_at": self.trained_at,
            "ivf": self._ivf is not None,
        }
        meta = json.dumps(meta).encode()
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(MAGIC + struct.pack("<I", len(meta)) + meta)
            faiss.write_index(self._exact, faiss.PyCallbackIOWriter(f.write))
            if self._ivf is not None:
                faiss.write_index(self._ivf, faiss.PyCallbackIOWriter(f.write))
        tmp.replace(path)

    @classmethod
    def load(cls, path) -> VectorIndex:
        with open(path, "rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                raise ValueError(f"{path} is not a SigWeb vector index")
            (n,) = struct.unpack("<I", f.read(4))
            meta = json.loads(f.read(n))
            exact = faiss.read_index(faiss.PyCallbackIOReader(f.read))
            ivf = faiss.read_index(faiss.PyCallbackIOReader(f.read)) if meta["ivf"] else None
        self = cls(meta["dim"], meta["kind"], meta["nprobe"])
        self.trained_at = int(meta["trained_at"])
        self._exact, self._ivf = exact, ivf
        return self
