"""Validation rows for the global-feature study (SVC2004 users 1-30, SUSIG visual users 1-100 only).

    python research/2026-11-30-online-global/rows.py --svc VAL_SVC --susig VAL_SUSIG --out cache/global_rows.npz \
        [--seeds 5] [--random] [--channels SET ...]

Per dataset, writer and seed (5 references, ``ml.online.fitting.validation_rows``, genuine and
skilled queries): the image score, the shipped DTW features (base+tnorm, 4 columns), and for each
``ml.online.features.GLOBAL_NAMES`` value of the query: its difference to the references' mean,
the references' standard deviation and the query's difference to the references' median.
``--random`` adds random forgeries (kind "random": the other validation writers' genuine
signatures), never used for fitting by combos.py, only reported. ``--channels`` adds min and
mean DTW distance (divided by the writer's scale) for other channel sets of
``ml.online.verifier.CHANNEL_SETS``. Test users are refused.
"""

import argparse

import numpy as np

from ml.engine import Engine
from ml.online.convert import test_user_folders
from ml.online.evaluate import StrokeScorer, scan_stroke_writers
from ml.online.features import GLOBAL_NAMES, global_features
from ml.online.fitting import validation_rows
from ml.online.verifier import OnlineParams, load_params

NG = len(GLOBAL_NAMES)


class GlobalScorer(StrokeScorer):
    def __init__(self, samples, params, engine, extra: list[StrokeScorer]):
        super().__init__(samples, params, engine)
        self.extra = extra
        self.g = np.array([global_features(t, params.rate_hz) for t in self.templates])

    def fit(self, refs):
        wd = super().fit(refs)
        r = np.asarray(refs, int)
        iu = np.triu_indices(len(r), 1)
        wd["extra_scale"] = [float(e.distances(r, r)[iu].mean()) for e in self.extra]
        return wd

    def features(self, wd, queries):
        q = np.asarray(queries, int)
        base = super().features(wd, q)
        G = self.g[wd["refs"]]
        mu, sd, med = np.nanmean(G, 0), np.nanstd(G, 0, ddof=1), np.nanmedian(G, 0)
        gq = self.g[q]
        glob = np.column_stack([gq - mu, np.broadcast_to(sd, gq.shape), gq - med])
        ex = []
        for e, s in zip(self.extra, wd["extra_scale"]):
            d = e.distances(q, wd["refs"]) / s
            ex.append(np.column_stack([d.min(1), d.mean(1)]))
        return np.column_stack([base, glob] + ex)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--svc", required=True)
    ap.add_argument("--susig", required=True)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--channels", nargs="*", default=[])
    ap.add_argument("--out", required=True)
    ap.add_argument("--random", action="store_true", help="also random forgeries (other writers' genuine signatures)")
    a = ap.parse_args()
    for f in (a.svc, a.susig):
        if test_user_folders(f):
            raise SystemExit(f"{test_user_folders(f)[0]}: a test user")
    engine = Engine.load()
    params = load_params(engine.model_version)
    out = {}
    for name, folder in (("svc", a.svc), ("susig", a.susig)):
        samples, _ = scan_stroke_writers(folder)
        extra = [
            StrokeScorer(samples, OnlineParams(rate_hz=params.rate_hz, window=params.window, channels=c)) for c in a.channels
        ]
        scorer = GlobalScorer(samples, params, engine, extra)
        r = validation_rows(scorer, 5, range(a.seeds), random=a.random)
        for k, v in r.items():
            out[f"{name}_{k}"] = v
        print(name, len(r["label"]), flush=True)
    np.savez(a.out, channels=np.array(a.channels), **out)


if __name__ == "__main__":
    main()
