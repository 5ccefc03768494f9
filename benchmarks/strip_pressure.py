"""Copy stroke-JSON writer folders with every point's pressure removed, as a mouse or a finger sends them.

    python benchmarks/strip_pressure.py --src cache/splits/svc2004_val --out cache/nopressure/svc2004_val

What ``benchmarks/online_fit.py --no-pressure`` fits the pressure-free operating points on, and
how ``benchmarks/online_suite.py`` measures a device without pressure.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def strip(src: Path, out: Path) -> int:
    n = 0
    for f in sorted(src.glob("*/*/*.json")):
        strokes = json.loads(f.read_text())
        for stroke in strokes:
            for p in stroke["points"]:
                p.pop("pressure", None)
        target = out / f.parent.parent.name / f.parent.name / f.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(strokes))
        n += 1
    return n


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    print(json.dumps({"out": a.out, "files": strip(Path(a.src), Path(a.out))}))
