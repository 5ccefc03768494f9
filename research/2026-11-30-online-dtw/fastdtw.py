"""ctypes wrapper of fastdtw.c (research only: the same DTW as ``ml.online.dtw.dtw_batch``,
compiled, for scoring hundreds of thousands of validation pairs)."""

import ctypes
import subprocess
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
LIB = Path("/tmp/sigweb_fastdtw.so")


def _lib():
    src = HERE / "fastdtw.c"
    if not LIB.exists() or LIB.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["gcc", "-O3", "-shared", "-fPIC", "-o", str(LIB), str(src), "-lm"], check=True)
    lib = ctypes.CDLL(str(LIB))
    p = ctypes.c_void_p
    lib.dtw_pairs.argtypes = [p, p, p, ctypes.c_int, p, p, ctypes.c_long, ctypes.c_double, ctypes.c_int, p]
    lib.dtw_paths.argtypes = [
        p,
        p,
        p,
        ctypes.c_int,
        p,
        p,
        ctypes.c_long,
        ctypes.c_double,
        ctypes.c_int,
        ctypes.c_long,
        p,
        p,
        p,
        p,
    ]
    return lib


class Sequences:
    """Sequences (T_i, C) stored back to back; ``pairs(a, b, window)``: DTW of seqs[a[k]], seqs[b[k]]."""

    def __init__(self, seqs):
        self.c = seqs[0].shape[1]
        self.len = np.array([len(s) for s in seqs], np.int64)
        self.off = np.concatenate([[0], np.cumsum(self.len)[:-1]]).astype(np.int64)
        self.data = np.ascontiguousarray(np.concatenate(seqs).astype(np.float32))
        self.lib = _lib()

    def pairs(self, a, b, window=0.3):
        a = np.ascontiguousarray(a, np.int64)
        b = np.ascontiguousarray(b, np.int64)
        out = np.zeros(len(a))
        ptr = lambda x: x.ctypes.data_as(ctypes.c_void_p)
        self.lib.dtw_pairs(ptr(self.data), ptr(self.off), ptr(self.len), self.c, ptr(a), ptr(b), len(a),
                           float(window or 0.0), int(window is not None), ptr(out))  # fmt: skip
        return out

    def paths(self, a, b, window=0.3):
        """DTW distances and best paths: (distances, list of (frames of a, frames of b) index arrays)."""
        a = np.ascontiguousarray(a, np.int64)
        b = np.ascontiguousarray(b, np.int64)
        maxlen = int((self.len[a] + self.len[b]).max())
        oi = np.zeros((len(a), maxlen), np.int64)
        oj = np.zeros((len(a), maxlen), np.int64)
        ol = np.zeros(len(a), np.int64)
        out = np.zeros(len(a))
        ptr = lambda x: x.ctypes.data_as(ctypes.c_void_p)
        self.lib.dtw_paths(ptr(self.data), ptr(self.off), ptr(self.len), self.c, ptr(a), ptr(b), len(a), float(window or 0.0),
                           int(window is not None), maxlen, ptr(oi), ptr(oj), ptr(ol), ptr(out))  # fmt: skip
        return out, oi, oj, ol
