import sys, time, numpy as np, faiss
sys.path.insert(0, "benchmarks")
from identify_scale import make_data, exact_top
n = int(sys.argv[1]); M = int(sys.argv[2]); efc = int(sys.argv[3])
db, qids, q = make_data(n, 300, 0)
truth = exact_top(db, q, 10)
faiss.omp_set_num_threads(2)
idx = faiss.IndexHNSWFlat(512, M, faiss.METRIC_INNER_PRODUCT); idx.hnsw.efConstruction = efc
t = time.time(); idx.add(db); print("build", round(time.time() - t, 1), flush=True)
faiss.omp_set_num_threads(1)
for ef in (128, 256, 512, 1024, 2048, 4096):
    idx.hnsw.efSearch = ef
    lat = []; hits = 0
    for i in range(len(q)):
        t = time.perf_counter(); _, I = idx.search(q[i:i+1], 10); lat.append(time.perf_counter() - t)
        hits += len(set(I[0]) & set(truth[i]))
    print(ef, "p50 %.1f p95 %.1f recall %.4f" % (np.median(lat)*1e3, np.percentile(lat, 95)*1e3, hits / (10*len(q))), flush=True)
