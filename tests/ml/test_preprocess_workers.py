"""Preprocessing in worker processes (``ml.data.preprocess_all``) finishes after the parent has
used torch's threads.

A worker forked after the parent's OpenMP threads ran can hang for good in its first parallel
region. That is what made ``python -m ml evaluate`` hang on a 2-core machine unless
OMP_NUM_THREADS=1 was set: the cleaner's net ran in forked workers. The workers now come
from a forkserver. The check runs in a fresh interpreter under a time limit, so a hang fails
the test instead of stalling the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch
    from PIL import Image
    from ml import synthetic
    from ml.cleaner import DEFAULT_CLEANER
    from ml.data import _prep_one, preprocess_all
    from ml.preprocess import CANVAS, render_strokes

    folder = sys.argv[1]
    torch.set_num_threads(2)
    torch.randn(512, 512) @ torch.randn(512, 512)  # the parent's OpenMP threads have run
    paths = []
    for i in range(70):
        p = f"{folder}/{i}.png"
        Image.fromarray(render_strokes(synthetic.genuine(i % 7, i), size=300), "L").save(p)
        paths.append(p)
    images, ok = preprocess_all(paths, workers=2, cleaner=DEFAULT_CLEANER)
    assert ok.all(), ok
    assert np.array_equal(images[5], _prep_one(paths[5], CANVAS, DEFAULT_CLEANER)), "workers preprocess as the parent does"
    print("ok", len(paths))
    """
)


def test_workers_finish_after_the_parent_used_threads(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "ok 70"
