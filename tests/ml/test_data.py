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
