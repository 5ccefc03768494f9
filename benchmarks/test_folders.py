"""Make evaluation folders holding only the test writers of each shared dataset.

    python benchmarks/test_folders.py [--root ../shared/data/signatures] [--out cache/test]

Writes symbolic links ``OUT/<dataset>/<writer> -> ROOT/<dataset>/<writer>`` for the test
writers listed in ``../shared/data/README.md`` (``ml.data.TEST_WRITERS``), so that
``python -m ml evaluate --data OUT/<dataset>`` scores test writers only.
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.data import TEST_WRITERS, is_test_writer  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="../shared/data/signatures")
    ap.add_argument("--out", default="cache/test")
    a = ap.parse_args()
    for ds in TEST_WRITERS:
        src = Path(a.root) / ds
        if not src.is_dir():
            continue
        dst = Path(a.out) / ds
        dst.mkdir(parents=True, exist_ok=True)
        n = 0
        for w in sorted(p.name for p in src.iterdir() if p.is_dir()):
            if is_test_writer(ds, w):
                link = dst / w
                if not link.exists():
                    os.symlink(os.path.abspath(src / w), link)
                n += 1
        print(f"{dst}: {n} test writers")


if __name__ == "__main__":
    main()
