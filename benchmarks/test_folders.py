"""Make evaluation folders holding only the test writers of each shared dataset.

    python benchmarks/test_folders.py [--root ../shared/data/signatures] [--out cache/test]

Writes symbolic links ``OUT/<dataset>/<writer> -> ROOT/<dataset>/<writer>`` for the test
writers listed in ``../shared/data/README.md`` (``ml.data.TEST_WRITERS``), so that
``python -m ml evaluate --data OUT/<dataset>`` scores test writers only.
"""

import argparse
import os
from pathlib import Path

from ml.data import TEST_WRITERS, is_test_writer


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
    chinese_names(Path(a.root) / "cross_media_chinese", Path(a.out) / "cross_media_chinese_names")
    pooled(Path(a.out), ("cedar", "bhsig_bengali", "sigcomp2011_dutch"), Path(a.out) / "identify_pooled")


def pooled(out: Path, datasets, dst: Path):
    """One gallery of several sets' test writers (``<dataset>_<writer>``), for 1:N identification."""
    n = 0
    for ds in datasets:
        if not (out / ds).is_dir():
            continue
        dst.mkdir(parents=True, exist_ok=True)
        for w in sorted(p for p in (out / ds).iterdir() if p.is_dir()):
            link = dst / f"{ds}_{w.name}"
            if not link.exists():
                os.symlink(os.path.realpath(w), link)
            n += 1
    print(f"{dst}: {n} test writers of {', '.join(datasets)}")


def chinese_names(src: Path, dst: Path):
    """Cross-media identities: each (test writer, name) with its 4 media as genuine and
    the other test writers' versions of the same name as forgeries (same content,
    another hand: the closest these data come to skilled forgeries)."""
    if not src.is_dir():
        return
    writers = sorted(p.name for p in src.iterdir() if p.is_dir() and is_test_writer("cross_media_chinese", p.name))
    files = {w: sorted((src / w / "genuine").glob("*.png")) for w in writers}
    n = 0
    for w in writers:
        for k in range(10):
            mine = [f for f in files[w] if (int(f.stem) - 1) % 10 == k]
            theirs = [(o, f) for o in writers if o != w for f in files[o] if (int(f.stem) - 1) % 10 == k]
            gdir, fdir = dst / f"{w}_name{k:02d}" / "genuine", dst / f"{w}_name{k:02d}" / "forged"
            gdir.mkdir(parents=True, exist_ok=True)
            fdir.mkdir(parents=True, exist_ok=True)
            for f in mine:
                if not (gdir / f.name).exists():
                    os.symlink(os.path.abspath(f), gdir / f.name)
            for o, f in theirs:
                if not (fdir / f"{o}_{f.name}").exists():
                    os.symlink(os.path.abspath(f), fdir / f"{o}_{f.name}")
            n += 1
    print(f"{dst}: {n} cross-media identities")


if __name__ == "__main__":
    main()
