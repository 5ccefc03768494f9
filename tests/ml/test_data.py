"""Reading a dataset folder: ``<writer>/{genuine,forged}/*`` in the layouts people really send."""

from __future__ import annotations

from PIL import Image

from ml.data import scan_writers


def _img(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (40, 20), 255).save(path)


def test_label_folders_match_whatever_their_case(tmp_path):
    _img(tmp_path / "w1" / "Genuine" / "a.png")
    _img(tmp_path / "w1" / "FORGED" / "b.TIF")
    _img(tmp_path / "w2" / "genuine" / "c.jpg")
    (tmp_path / "w2" / "genuine" / "notes.txt").write_text("not an image")
    (tmp_path / "w2" / "other").mkdir()
    got = {(s.writer, s.label, s.path.rsplit("/", 1)[1]) for s in scan_writers(tmp_path, "set")}
    assert got == {("set/w1", "genuine", "a.png"), ("set/w1", "forged", "b.TIF"), ("set/w2", "genuine", "c.jpg")}


def test_split_seed_fixes_the_validation_writers_across_training_seeds():
    """``data.split_seed``: two runs with other seeds can be compared on the same writers."""
    from ml.config import split_seed
    from ml.data import Sample, split_validation

    samples = [
        Sample(f"{w}/{i}.png", ds, f"{ds}/w{w:02d}", "genuine", f"{ds}/w{w:02d}")
        for ds in ("a", "b")
        for w in range(30)
        for i in range(2)
    ]
    val = lambda cfg: {s.person for s in split_validation(samples, 0.1, split_seed(cfg))[1]}
    assert split_seed({"seed": 2, "data": {}}) == 2 and split_seed({"seed": 2, "data": {"split_seed": None}}) == 2
    pinned = [val({"seed": s, "data": {"split_seed": 1}}) for s in (1, 2, 3)]
    assert pinned[0] == pinned[1] == pinned[2] == val({"seed": 1, "data": {}})
    assert len(pinned[0]) == 6  # 3 writers (10%) from each dataset
    assert val({"seed": 2, "data": {}}) != pinned[0]
