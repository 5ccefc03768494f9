"""The encoder study's validation rows (research/2026-11-30-online-encoder/rows.py) with the
templates made at another sampling rate and DTW band than the shipped ones.

    python research/2026-12-01-online-writer-offset/rows_rate.py --rate 50 --window 0.15 \\
        --svc cache/splits/svc2004_val --susig cache/splits/susig_visual_val --random 60 --out cache/rows_r50.npz
"""

import dataclasses
import importlib.util
import sys
from pathlib import Path

from ml.online.verifier import load_params

spec = importlib.util.spec_from_file_location("rows", Path(__file__).parents[1] / "2026-11-30-online-encoder" / "rows.py")
rows = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rows)

args = sys.argv[1:]
rate = float(args[args.index("--rate") + 1])
window = float(args[args.index("--window") + 1])
for flag in ("--rate", "--window"):
    i = args.index(flag)
    del args[i : i + 2]
rows.load_params = lambda version: dataclasses.replace(load_params(version), rate_hz=rate, window=window)
sys.argv = [sys.argv[0], *args]
rows.main()
