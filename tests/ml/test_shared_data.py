"""Tests that read ``../shared/data`` (beside the repository); skipped cleanly without it.

- every file of ``raw_samples/`` (real scans: gray paper, JPEG noise, colour) preprocesses;
- a few signatures of each dataset preprocess;
- ``ml.data.training_writers`` never returns a test writer, checked against the table in
  ``../shared/data/README.md`` itself (not against ``ml.data.TEST_WRITERS``, which it
  should match).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from ml import preprocess as pp
from ml.data import IMAGE_EXTS, TEST_WRITERS, training_writers

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SIGNATURES = SHARED / "signatures"

pytestmark = pytest.mark.skipif(not SIGNATURES.is_dir(), reason=f"shared data not found at {SHARED}")


def _datasets() -> list[str]:
    if not SIGNATURES.is_dir():
        return []
    return sorted(p.name for p in SIGNATURES.iterdir() if p.is_dir())


def readme_test_writers() -> dict[str, set[int] | str]:
    """{dataset: set of writer numbers, or "all"} from the README's test-writer table."""
    text = (SHARED / "README.md").read_text()
    section = text.split("## Test writers", 1)[1].split("\n## ", 1)[0]
    out: dict[str, set[int] | str] = {}
    for line in section.splitlines():
        m = re.match(r"\|\s*`([^`]+)`\s*\|\s*(.+?)\s*\|\s*$", line)
        if not m:
            continue
        ds, spec = m.groups()
        # online sets are rendered to folders named svc2004_task2, susig_visual, susig_blind
        ds = ds.removeprefix("online/").replace("/", "_")
        if spec.strip().lower().startswith("all"):
            out[ds] = "all"
            continue
        r = re.search(r"`writer_(\d+)`\s*\.\.\s*`writer_(\d+)`", spec) or re.search(r"users (\d+)\s*\.\.\s*(\d+)", spec)
        assert r, f"cannot read the test writers of {ds}: {spec}"
        out[ds] = set(range(int(r.group(1)), int(r.group(2)) + 1))
    return out


def _is_test(table, dataset: str, writer: str) -> bool:
    rule = table.get(dataset)
    if rule is None:
        return False
    if rule == "all":
        return True
    n = re.search(r"(\d+)$", writer)
    return bool(n) and int(n.group(1)) in rule


def _check(img):
    assert img.shape == (150, 220) and img.dtype == np.float32
    assert 0.0 <= float(img.min()) and float(img.max()) <= 1.0
    assert 0.005 < float((img > 0.3).mean()) < 0.6  # some ink, not a black page


def test_readme_table_matches_ml_data():
    table = readme_test_writers()
    assert {"cedar", "bhsig_bengali", "sigcomp2011_dutch", "cross_media_chinese"} <= set(table)
    assert set(table) == set(TEST_WRITERS)


def test_raw_samples_all_preprocess():
    files = sorted(p for p in (SHARED / "raw_samples").rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
    if not files:
        pytest.skip("no raw_samples in the shared data")
    for f in files:
        first = pp.prepare(str(f))
        _check(first.image)
        assert pp.prepare(f.read_bytes()).image.tobytes() == first.image.tobytes(), f


@pytest.mark.parametrize("dataset", _datasets())
def test_a_few_signatures_of_each_dataset(dataset):
    writers = sorted(p for p in (SIGNATURES / dataset).iterdir() if p.is_dir())
    picked = []
    for wdir in (writers[0], writers[len(writers) // 2], writers[-1]):
        for label in ("genuine", "forged"):
            files = sorted((wdir / label).glob("*")) if (wdir / label).is_dir() else []
            picked.extend(files[:1])
    assert picked
    for f in picked:
        _check(pp.prepare(str(f)).image)


def test_training_writers_never_returns_a_test_writer():
    """Judged by each file's own writer folder, whatever identity ``ml.data`` gives a sample
    (cross_media_chinese identities are (writer, name), not writer folders)."""
    table = readme_test_writers()
    datasets = [d for d in _datasets() if d in table]
    samples = training_writers(SIGNATURES, datasets)
    assert samples
    folders = {(s.dataset, Path(s.path).parents[1].name) for s in samples}
    leaked = {f for f in folders if _is_test(table, *f)}
    assert not leaked, sorted(leaked)[:10]
    # and it removed exactly the test writers: every other writer folder is still there
    on_disk = {(d, w.name) for d in datasets for w in (SIGNATURES / d).iterdir() if w.is_dir()}
    assert folders == {f for f in on_disk if not _is_test(table, *f)}
