"""Random-hyperplane binary codes (SimHash) as a first stage for an external index: recall@10
after exact re-ranking of the K nearest codes by Hamming distance, exact search in NumPy, on
the synthetic vectors of ``benchmarks/identify_scale.py``.

    python research/2026-11-30-pgvector-simhash/simhash_recall.py 200000

pgvector's ``binary_quantize`` keeps the sign of each raw coordinate, which weighs the many
low-variance coordinates of these vectors as much as the few that carry the cosine (recall
0.09-0.15 in docs/BENCHMARKS.md). Signs of random Gaussian projections instead estimate the
angle itself. Whether a pgvector bit index finds those K candidates fast enough at 1 M is the
open question; this script measures only the codes.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import identify_scale as S

n = int(sys.argv[1])
db, qids, queries = S.make_data(n, 200, 0)
truth = S.exact_top(db, queries, 10)
rng = np.random.default_rng(1)
for bits in (512, 1024, 2048):
    R = rng.standard_normal((S.DIM, bits)).astype(np.float32)
    codes = np.packbits(db @ R > 0, axis=1)
    qc = np.packbits(queries @ R > 0, axis=1)
    # hamming distances via popcount table
    table = np.array([bin(i).count("1") for i in range(256)], np.uint16)
    rec = {K: [] for K in (500, 1000, 2000, 5000)}
    for qi in range(len(queries)):
        ham = table[np.bitwise_xor(codes, qc[qi])].sum(1)
        order = np.argsort(ham, kind="stable")
        for K in rec:
            cand = order[:K]
            s = db[cand] @ queries[qi]
            top = cand[np.argsort(-s)[:10]]
            rec[K].append(len(set(top) & set(truth[qi])) / 10)
    print(n, bits, {K: round(float(np.mean(v)), 4) for K, v in rec.items()}, flush=True)
