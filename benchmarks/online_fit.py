"""Choose the online verifier's parameters and fit its calibration and fusion on validation users.

    python benchmarks/online_fit.py --val cache/splits/svc2004_val cache/splits/susig_visual_val \\
        [--json docs/results/online_fit.json] [--write-params]

The folders are stroke-JSON writer folders (``python -m ml convert-online``) holding
validation users ONLY: SVC2004 users 1-30 and SUSIG visual users 1-100 (the test users,
SVC2004 31-40, SUSIG visual 101-115 and all of SUSIG blind, are refused here). Steps:
1. every (resampling rate, DTW window, channels) of the grid is scored by the skilled-forgery
   EER of the normalised DTW distance (5 references, seeds 0..2);
2. the best one gets the online calibration and the image fusion (``ml.online.calibrate.fit``);
``--fixed RATE WINDOW CHANNELS`` skips step 1; ``--features base+tnorm`` adds the
per-reference normalised features (``ml.online.verifier.features_from_distances``);
``--features base+tnorm+global`` also the whole-signature features (``--globals``, default
all of ``ml.online.features.GLOBAL_NAMES``); ``--features base+tnorm+global+path`` also the
9 DTW path columns (``ml.online.verifier.PATH_NAMES``); ``--l2`` is the logistic models' L2 penalty;
``--random-weight W`` makes random forgeries (``--random-per-writer`` genuine signatures of
the folder's other users per user and seed) negatives too, with the share W of the negatives.
3. ``--buckets``: the online and fused operating points per reference-count bucket (3, 5
   and 10 references for 2-4, 5-9 and 10+; ``ml.online.calibrate.fit_buckets``), with the models
   just fitted, or with ``--stored`` the ones stored for the shipped model (steps 1-2 skipped).
   ``--no-pressure``: the same on folders whose signatures carry no pressure
   (``benchmarks/strip_pressure.py`` copies), stored as ``no_pressure_thresholds``: the points for
   comparisons without pressure (a mouse, a finger; ``OnlineParams.threshold_for``).
4. ``--write-params`` stores them in ``ml/online/params.json`` under the shipped model's
   version and as ``"default"``.

    python benchmarks/online_fit.py --val cache/splits/svc2004_val cache/splits/susig_visual_val \
        --stored --buckets --json docs/results/online_buckets.json --write-params
    python benchmarks/online_fit.py --val cache/nopressure/svc2004_val cache/nopressure/susig_visual_val \
        --stored --buckets --no-pressure --json docs/results/online_no_pressure/buckets.json --write-params
"""

import argparse
import json
from pathlib import Path

from ml.engine import Engine
from ml.online import calibrate
from ml.online.convert import test_user_folders
from ml.online.evaluate import scan_stroke_writers
from ml.online.features import GLOBAL_NAMES
from ml.online.verifier import FEATURE_SETS, PARAMS_PATH, load_params

FITTED_ON = "validation users SVC2004 1-30 and SUSIG visual 1-100, 5 references, seeds 0-4"
GRID = [
    (20.0, 0.15, "full"),
    (20.0, 0.15, "xyv"),
    (20.0, None, "xyv"),
    (33.0, 0.15, "xyv"),
    (33.0, 0.3, "xyv"),
    (50.0, 0.15, "xyv"),
]


def _check_no_test_users(folder: Path):
    found = test_user_folders(folder)
    if found:
        raise SystemExit(f"{found[0]}: a test user; give validation users only")


def _check_no_pressure(folder: Path):
    samples, _ = scan_stroke_writers(folder)
    for s in samples:
        if any("pressure" in p for stroke in s.strokes for p in stroke["points"]):
            raise SystemExit(f"{s.path}: carries pressure; --no-pressure fits on benchmarks/strip_pressure.py copies")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--val", nargs="+", required=True)
    ap.add_argument("--json")
    ap.add_argument("--write-params", action="store_true")
    ap.add_argument("--fixed", nargs=3, metavar=("RATE_HZ", "WINDOW", "CHANNELS"), help="skip the grid: fit these")
    ap.add_argument("--features", default="base", choices=FEATURE_SETS, help="online feature set (ml.online.verifier)")
    ap.add_argument("--globals", nargs="+", choices=GLOBAL_NAMES, help="global features of base+tnorm+global (default: all)")
    ap.add_argument("--l2", type=float, default=1e-3, help="L2 penalty of the logistic models")
    ap.add_argument("--random-weight", type=float, default=0.0, help="share of random forgeries among the negatives")
    ap.add_argument("--random-per-writer", type=int, default=60, help="random forgeries per user and seed")
    ap.add_argument("--buckets", action="store_true", help="also fit the operating points per reference-count bucket")
    ap.add_argument("--stored", action="store_true", help="no fit: the shipped model's stored parameters (with --buckets)")
    ap.add_argument("--no-pressure", action="store_true", help="the points for comparisons without pressure (with --stored)")
    a = ap.parse_args()
    if a.stored and not a.buckets:
        ap.error("--stored only makes sense with --buckets")
    if a.no_pressure and not a.stored:
        ap.error("--no-pressure fits operating points for the stored models: give --stored --buckets")
    globals_ = (a.globals or list(GLOBAL_NAMES)) if a.features.startswith("base+tnorm+global") else []
    for f in a.val:
        _check_no_test_users(Path(f))
        if a.no_pressure:
            _check_no_pressure(Path(f))
    engine = Engine.load()
    if a.stored:
        params, ranking, report = load_params(engine.model_version), [], None
        best = {"rate_hz": params.rate_hz, "window": params.window}
    else:
        if a.fixed:
            ranking = []
            best = {
                "rate_hz": float(a.fixed[0]),
                "window": None if a.fixed[1] == "none" else float(a.fixed[1]),
                "channels": a.fixed[2],
            }
        else:
            ranking = calibrate.select(a.val, GRID, seeds=range(3))
            best = ranking[0]
        params, report = calibrate.fit(a.val, best["rate_hz"], best["window"], engine, channels=best["channels"],
                                       fitted_on=FITTED_ON, features=a.features, globals_=globals_, l2=a.l2,
                                       random_weight=a.random_weight, random_per_writer=a.random_per_writer)  # fmt: skip
    buckets = None
    if a.buckets:
        points, buckets = calibrate.fit_buckets(
            a.val, params, engine, random_per_writer=a.random_per_writer, pressure=not a.no_pressure
        )
        if a.no_pressure:
            params.no_pressure_thresholds = points
        else:
            params.bucket_thresholds = points
    out = {"grid": ranking, "chosen": {"rate_hz": best["rate_hz"], "window": best["window"]}, "fit": report,
           "buckets": buckets, "params": params.to_dict(), "model": engine.model_version}  # fmt: skip
    text = json.dumps(out, indent=2)
    print(text)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(text + "\n")
    if a.write_params:
        table = json.loads(PARAMS_PATH.read_text()) if PARAMS_PATH.is_file() else {}
        for key in (engine.model_version, "default"):  # the app's replay and pace rules are fitted apart: kept
            kept = {k: v for k, v in table.get(key, {}).items() if k in ("replay_tolerance", "pace_duration", "pace_speed")}
            table[key] = {**params.to_dict(), **kept}
        PARAMS_PATH.write_text(json.dumps(table, indent=2) + "\n")


if __name__ == "__main__":
    main()
