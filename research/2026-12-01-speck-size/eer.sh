#!/usr/bin/env bash
# Validation EER of the shipped network under sigweb-pp-1 (a worktree of 13c32ab at $OLD) and
# sigweb-pp-2 (this tree), through `python -m ml evaluate`, seeds 0..4.
#   git worktree add /tmp/old 13c32ab
#   OLD=/tmp/old bash research/2026-12-01-speck-size/eer.sh cache/splits/bhsig_val9 10 cache/speck_eer
set -euo pipefail
data=$1 refs=$2 out=$3
mkdir -p "$out"
name=$(basename "$data")
for s in 0 1 2 3 4; do
  PYTHONPATH=$OLD .venv/bin/python -m ml evaluate --data "$data" --references "$refs" --seed $s --json "$out/${name}_r${refs}_pp1_s$s.json" > /dev/null
  .venv/bin/python -m ml evaluate --data "$data" --references "$refs" --seed $s --json "$out/${name}_r${refs}_pp2_s$s.json" > /dev/null
done
.venv/bin/python - "$out" "$name" "$refs" <<'PY'
import json, sys, glob
out, name, refs = sys.argv[1:]
for v in ("pp1", "pp2"):
    e = [json.load(open(f))["eer_global"] for f in sorted(glob.glob(f"{out}/{name}_r{refs}_{v}_s*.json"))]
    print(name, refs, v, " ".join(f"{100 * x:.2f}" for x in e), f"mean {100 * sum(e) / len(e):.2f}")
PY
