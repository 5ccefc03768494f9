"""Signature folders, writer splits and the preprocessed-image cache.

Layout: ``<root>/<dataset>/<writer>/{genuine,forged}/<file>`` (any readable image format)
or, for one dataset given directly, ``<root>/<writer>/{genuine,forged}/<file>``.

Test writers (``TEST_WRITERS``, from ``../shared/data/README.md``) are removed by
``training_writers``, the only function training reads its writers from, so no
configuration can put them into training, validation or calibration.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ml import cleaner as cleaning
from ml.errors import SignatureInputError
from ml.preprocess import CANVAS, PREPROCESS_VERSION, load_image, preprocess_gray

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp"}
LABELS = ("genuine", "forged")


def _num(writer: str) -> int | None:
    m = re.search(r"(\d+)$", writer)
    return int(m.group(1)) if m else None


def _range(lo, hi):
    return lambda w: (n := _num(w)) is not None and lo <= n <= hi


# Test writers per dataset: never trained, tuned, validated or calibrated on.
TEST_WRITERS = {
    "cedar": _range(305, 314),
    "bhsig_bengali": _range(91, 100),
    "sigcomp2011_dutch": _range(49, 69),
    "cross_media_chinese": _range(91, 100),
    "nisdcc_preview": lambda w: True,
    # online sets, rendered as pad drawings by benchmarks/render_online.py (user_NNN folders)
    "svc2004_task2": _range(31, 40),
    "susig_visual": _range(101, 115),
    "susig_blind": lambda w: True,  # a different tablet: a cross-device test only
}


def is_test_writer(dataset: str, writer: str) -> bool:
    rule = TEST_WRITERS.get(dataset)
    return bool(rule and rule(writer))


@dataclass(frozen=True)
class Sample:
    path: str
    dataset: str
    writer: str  # the signature identity, unique across datasets: "<dataset>/<writer>[/<name>]"
    label: str  # "genuine" or "forged"
    person: str = ""  # the physical writer "<dataset>/<writer>": splits and test exclusion use this

    @property
    def forged(self) -> bool:
        return self.label == "forged"


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)


def _chinese_name_identity(writer_key: str, f: Path) -> str:
    """cross_media_chinese: every writer writes the same 10 names on 4 media, files
    numbered name-fastest (01-10 paper scans, 11-20 ..., checked by eye). A signature
    identity is (writer, name), so "genuine" pairs share content as signatures do."""
    n = int(re.match(r"(\d+)", f.stem).group(1))
    return f"{writer_key}/name{(n - 1) % 10:02d}"


IDENTITY = {"cross_media_chinese": _chinese_name_identity}


def scan_writers(folder: str | os.PathLike, dataset: str | None = None) -> list[Sample]:
    """Samples of one dataset folder ``<folder>/<writer>/{genuine,forged}/*``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"data folder not found: {folder}")
    dataset = dataset or folder.name
    ident = IDENTITY.get(dataset)
    out = []
    for wdir in sorted(p for p in folder.iterdir() if p.is_dir()):
        person = f"{dataset}/{wdir.name}"
        subdirs = {p.name.lower(): p for p in wdir.iterdir() if p.is_dir()}  # "Genuine/" is fine too
        for label in LABELS:
            for f in _files(subdirs.get(label, wdir / label)):
                out.append(Sample(str(f), dataset, ident(person, f) if ident else person, label, person))
    return out


def dataset_folder(root: str | os.PathLike, dataset: str) -> Path:
    """A dataset name lives under ``root``; an entry with a slash is a folder path itself."""
    return Path(dataset) if "/" in dataset else Path(root) / dataset


def scan_datasets(root: str | os.PathLike, datasets: list[str]) -> list[Sample]:
    out = []
    for d in datasets:
        folder = dataset_folder(root, d)
        out.extend(scan_writers(folder, folder.name))
    return out


def training_writers(root, datasets: list[str]) -> list[Sample]:
    """All samples of ``datasets`` except test writers' (the only source training uses)."""
    return [s for s in scan_datasets(root, datasets) if not is_test_writer(s.dataset, s.person.split("/", 1)[1])]


def split_validation(samples: list[Sample], fraction: float, seed: int, min_per_dataset: int = 3):
    """Writer-disjoint (train, validation) split by physical writer, per dataset, seeded."""
    rng = np.random.default_rng(seed)
    by_ds: dict[str, list[str]] = {}
    for s in samples:
        by_ds.setdefault(s.dataset, [])
        if s.person not in by_ds[s.dataset]:
            by_ds[s.dataset].append(s.person)
    val = set()
    for _, writers in sorted(by_ds.items()):
        writers = sorted(writers)
        k = max(min_per_dataset, int(round(len(writers) * fraction))) if fraction > 0 else 0
        k = min(k, len(writers) // 2)
        val.update(rng.permutation(writers)[:k].tolist())
    train = [s for s in samples if s.person not in val]
    valid = [s for s in samples if s.person in val]
    return train, valid


def group_by_writer(samples: list[Sample], emb: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Embeddings per identity: ``{writer: {"genuine": (G, D), "forged": (F, D)}}``."""
    by: dict[str, dict[str, list]] = {}
    for s, e in zip(samples, emb):
        by.setdefault(s.writer, {"genuine": [], "forged": []})[s.label].append(e)
    dim = emb.shape[1]
    return {w: {k: np.stack(v) if v else np.zeros((0, dim), np.float32) for k, v in d.items()} for w, d in by.items()}


# --------------------------------------------------------------------------- cache


def _prep_one(path: str, canvas: tuple[int, int] = CANVAS, cleaner: str | None = None) -> np.ndarray | None:
    try:
        c = cleaning.get(cleaner) if cleaner else None
        gray, rgb, _ = load_image(path, colour=getattr(c, "colour", False))
        return preprocess_gray(gray, canvas, cleaner=c, rgb=rgb)
    except SignatureInputError:
        return None


def _worker_init(registered: dict[str, str]) -> None:
    """A preprocessing worker: one thread (the pool is the parallelism) and the parent's
    registered candidate cleaners."""
    torch.set_num_threads(1)
    for path in registered.values():
        cleaning.register(path)


def preprocess_all(
    paths: list[str],
    cache_dir: str | os.PathLike | None = None,
    workers: int = 2,
    progress=None,
    canvas: tuple[int, int] = CANVAS,
    cleaner: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Preprocess many files once: (uint8 images (N, H, W), ok mask (N,)).

    ``canvas`` is the model's input size (``checkpoint["preprocess"]["canvas"]``).
    With ``cache_dir`` the result is kept in an .npz keyed by the preprocessing version,
    the canvas and the list of files (their paths, sizes and modification times).
    ``cleaner`` (an ``ml.cleaner`` version; None or "none": off) cleans every image first.
    """
    cleaner = None if cleaner in (None, "none") else cleaner
    canvas = tuple(int(v) for v in canvas)
    key = hashlib.sha1()
    key.update(PREPROCESS_VERSION.encode())
    if canvas != tuple(CANVAS):  # the default canvas keeps the keys existing caches were written under
        key.update(f"canvas={canvas}".encode())
    if cleaner:
        key.update(f"cleaner={cleaner};gate={cleaning.get(cleaner).gate}".encode())
    for p in paths:
        st = os.stat(p)
        key.update(f"{p}|{st.st_size}|{int(st.st_mtime)}\n".encode())
    cache = None
    if cache_dir:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        cache = Path(cache_dir) / f"prep-{PREPROCESS_VERSION}-{key.hexdigest()[:16]}.npz"
        if cache.exists():
            z = np.load(cache)
            return z["images"], z["ok"]
    images = np.zeros((len(paths), *canvas), np.uint8)
    ok = np.zeros(len(paths), bool)
    if workers > 1 and len(paths) > 64:
        # forkserver, not fork: a child forked after the parent's OpenMP threads ran (torch, the
        # cleaner's net) can hang for good in its first parallel region
        ctx = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init, initargs=(cleaning.registered(),)) as ex:
            for i, img in enumerate(ex.map(_prep_one, paths, [canvas] * len(paths), [cleaner] * len(paths), chunksize=32)):
                if img is not None:
                    images[i], ok[i] = img, True
                if progress and i % 200 == 0:
                    progress(i / len(paths), f"preprocessed {i}/{len(paths)}")
    else:
        for i, p in enumerate(paths):
            img = _prep_one(p, canvas, cleaner)
            if img is not None:
                images[i], ok[i] = img, True
    if cache is not None:
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, images=images, ok=ok)
        os.replace(tmp, cache)
    return images, ok
