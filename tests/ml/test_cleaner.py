"""The cleaner (ml.cleaner) and the overlay generator (ml.overlay) on generated signatures."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from ml import cleaner as cleaning
from ml import overlay as ov
from ml import synthetic
from ml.engine import Engine
from ml.preprocess import flat_field, prepare, render_strokes


@pytest.fixture(scope="module")
def shipped():
    return cleaning.get(cleaning.DEFAULT_CLEANER)


def _signature(seed: int) -> np.ndarray:
    """A generated pad signature rendered as a scan would look: dark ink on white, about 300 px tall."""
    return render_strokes(synthetic.genuine(seed, 0), size=600)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.mark.parametrize("version", sorted(cleaning.FILES))
def test_checkpoint_loads_with_all_keys(version):
    path = cleaning.weights_path(version)
    ck = torch.load(path, map_location="cpu", weights_only=True)
    assert {"kind", "version", "work_side", "channels", "threshold", "state_dict", "train"} <= set(ck)
    assert ck["kind"] == cleaning.KIND and ck["version"] == version
    net = cleaning.CleanerNet(tuple(ck["channels"]), 3 if ck.get("input") == "grey+chroma" else 1)
    net.load_state_dict(ck["state_dict"], strict=True)  # every key, no spare ones
    assert path.stat().st_size < 5_000_000
    assert cleaning.get(version).version == version


def test_shipped_embedding_checkpoint_gets_the_default_cleaner():
    engine = Engine.load()
    assert "cleaner" not in engine.checkpoint["preprocess"]  # predates the cleaner: the engine default applies
    assert engine.cleaner_version == cleaning.DEFAULT_CLEANER and engine.cleaner is not None
    assert Engine.load(cleaner="none").cleaner is None


@pytest.mark.parametrize("seed", [3, 11, 29])
def test_lines_text_and_stamp_come_off_a_generated_signature(shipped, seed):
    gray = _signature(seed)
    sheet, _ = ov.overlay(gray, np.random.default_rng(seed), ov.EVAL)
    plain, _ = ov.overlay(gray, np.random.default_rng(seed), ov.EVAL, parts=())  # same placement, nothing printed
    ink = cv2.cvtColor(plain, cv2.COLOR_RGB2GRAY) < 200
    noisy = cv2.cvtColor(sheet, cv2.COLOR_RGB2GRAY)
    cleaned = shipped(noisy)
    before, after = _iou(noisy < 200, ink), _iou(cleaned < 200, ink)
    assert after > before + 0.15, (before, after)
    assert after > 0.6, after


def test_a_clean_generated_signature_is_nearly_unchanged(shipped):
    gray = _signature(5)
    cleaned = shipped(gray)
    assert cleaned.shape == gray.shape
    assert _iou(cleaned < 200, gray < 200) > 0.7  # measured 0.78: some pen-rendered stroke ends go (docs/MODEL_CARD.md)
    flat = flat_field(gray)
    assert ((cleaned == 255) | (cleaned == flat)).all()  # erase only: a pixel is paper or the input's own


@pytest.mark.parametrize("seed", [2, 13])
def test_inference_twin_gives_the_trained_nets_probabilities_and_masks(shipped, seed):
    """The folded, channels-last twin the cleaner runs is the trained net up to float rounding:
    the same kept pixels and the same gate measure on a sheet with print and on a clean signature."""
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in shipped._infer.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in shipped.net.modules())  # the trained net is untouched
    trained = shipped.as_trained()
    assert trained._infer is shipped.net
    sheet, _ = ov.overlay(_signature(seed), np.random.default_rng(seed), ov.EVAL)
    for gray in (cv2.cvtColor(sheet, cv2.COLOR_RGB2GRAY), _signature(seed)):
        _, small = cleaning.working_input(gray, shipped.side)
        got = shipped.probability(small)
        want = trained.probability(small)
        np.testing.assert_allclose(got, want, atol=1e-5)
        assert ((got >= shipped.threshold) == (want >= shipped.threshold)).all()
        assert shipped.erased_fraction(small, got) == shipped.erased_fraction(small, want)


def test_cleaning_is_deterministic(shipped):
    sheet, _ = ov.overlay(_signature(7), np.random.default_rng(1), ov.EVAL)
    noisy = cv2.cvtColor(sheet, cv2.COLOR_RGB2GRAY)
    a = shipped(noisy)
    cleaning._CACHE.clear()  # a fresh load gives the same pixels
    b = cleaning.get(cleaning.DEFAULT_CLEANER)(noisy)
    assert np.array_equal(a, b)


def test_pad_drawing_is_left_untouched(shipped):
    strokes = synthetic.genuine(4, 1)
    with_cleaner, without = prepare(strokes, cleaner=shipped), prepare(strokes)
    assert with_cleaner.cleaned is None and "cleaned" not in with_cleaner.quality
    assert np.array_equal(with_cleaner.image, without.image)


def test_engine_prepare_cleans_image_bytes_and_shows_the_cleaned_image(tmp_path):
    sheet, _ = ov.overlay(_signature(8), np.random.default_rng(2), ov.EVAL)
    path = tmp_path / "q.png"
    Image.fromarray(sheet, "RGB").save(path)
    engine = Engine.load()
    p = engine.prepare(path.read_bytes())
    assert p.quality.get("cleaned") is True and p.cleaned is not None
    png = engine.cleaned_png(p)
    assert png.startswith(b"\x89PNG")
    assert Engine.load(cleaner="none").prepare(path.read_bytes()).cleaned is None


def test_overlay_folder_is_seeded_and_keeps_the_layout(tmp_path):
    src = synthetic.write_dataset(tmp_path / "src", writers=2, genuine_per_writer=2, forged_per_writer=1, seed=1)
    material = ov.Material(ov.EVAL.name, ov.EVAL.fonts)  # fonts only: runs without the document pages
    assert ov.write_overlays(src, tmp_path / "a", seed=3, material=material) == 6
    ov.write_overlays(src, tmp_path / "b", seed=3, material=material)
    ov.write_overlays(src, tmp_path / "c", seed=4, material=material)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.png"))
    assert [str(f) for f in files] == sorted(str(p.relative_to(src)) for p in src.rglob("*.png"))
    same = [(tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files]
    other = [(tmp_path / "a" / f).read_bytes() == (tmp_path / "c" / f).read_bytes() for f in files]
    assert all(same) and not any(other)


def test_training_and_evaluation_material_are_disjoint():
    assert not set(ov.TRAIN.fonts) & set(ov.EVAL.fonts)
    names = [f"page{i}.jpg" for i in range(200)]
    held = [n for n in names if ov.page_split(n) == "eval"]
    assert 20 < len(held) < 80  # about one page in five


def test_unseen_style_and_cli(tmp_path, capsys):
    from ml.cli import main

    src = synthetic.write_dataset(tmp_path / "src", writers=2, genuine_per_writer=1, forged_per_writer=0, seed=2)
    assert main(["overlay", "--data", str(src), "--out", str(tmp_path / "u"), "--seed", "1", "--style", "unseen"]) == 0
    ov.write_overlays(src, tmp_path / "v", seed=1, style="unseen")
    files = sorted((tmp_path / "u").rglob("*.png"))
    assert len(files) == 2
    assert all(f.read_bytes() == (tmp_path / "v" / f.relative_to(tmp_path / "u")).read_bytes() for f in files)
    assert np.asarray(Image.open(files[0])).shape[2] == 3  # RGB: stamps may be coloured
    assert main(["overlay", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "w")]) == 2


def test_form_rules_are_printed_material_only():
    gray = _signature(6)
    sheet, ink = ov.overlay(gray, np.random.default_rng(4), ov.TRAIN, parts=("box",))
    plain, ink0 = ov.overlay(gray, np.random.default_rng(4), ov.TRAIN, parts=())
    assert np.array_equal(ink, ink0)  # same placement: the rules come after every other draw
    added = cv2.cvtColor(sheet, cv2.COLOR_RGB2GRAY) < cv2.cvtColor(plain, cv2.COLOR_RGB2GRAY)
    assert added.sum() > 0.02 * ink.sum()  # something was ruled
    assert (added & ~ink).sum() > 0.9 * added.sum()  # rules, not changes to the signature's ink


def test_form_rules_never_cross_the_ink_top_band():
    # a horizontal rule there looks like a Bengali headline, which a cleaner then learns to erase
    y0, y1, x0, x1 = 100, 199, 150, 449
    ruled_rows = set()
    for seed in range(300):
        sheet = np.full((400, 600, 3), 255, np.uint8)
        ov.draw_box(sheet, np.random.default_rng(seed), y0, y1, x0, x1)
        dark_per_row = (sheet.min(2) < 200).sum(1)
        ruled_rows |= set(np.nonzero(dark_per_row > 100)[0].tolist())
    band = set(range(y0 + 8, y0 + 52))  # 5-55% of the height, less the widest rule's half thickness
    assert not ruled_rows & band
    assert any(r < y0 for r in ruled_rows) and any(r > y0 + 55 for r in ruled_rows)  # rules above and below


def test_candidate_weights_register_under_their_version(tmp_path):
    ck = torch.load(cleaning.WEIGHTS, map_location="cpu", weights_only=True)
    ck = dict(ck, version="sigweb-clean-test")
    torch.save(ck, tmp_path / "c.pt")
    try:
        assert cleaning.register(tmp_path / "c.pt") == "sigweb-clean-test"
        assert cleaning.get("sigweb-clean-test").version == "sigweb-clean-test"
    finally:
        cleaning._CACHE.pop(("sigweb-clean-test", str(cleaning.weights_path("sigweb-clean-test"))), None)


def test_colour_decoding_keeps_the_grey_image(tmp_path):
    from ml.preprocess import load_gray, load_image

    sheet, _ = ov.overlay(_signature(9), np.random.default_rng(5), ov.EVAL)
    path = tmp_path / "s.png"
    Image.fromarray(sheet, "RGB").save(path)
    gray, rgb, kind = load_image(str(path), colour=True)
    assert kind == "image" and rgb is not None and rgb.shape == (*gray.shape, 3)
    assert np.array_equal(gray, load_gray(str(path))[0])  # asking for colour never changes the grey
    assert load_image(str(path))[1] is None
    Image.fromarray(gray).save(tmp_path / "g.png")
    assert load_image(str(tmp_path / "g.png"), colour=True)[1] is None  # a grey scan has no colour to read


def test_chroma_is_zero_on_grey_and_signed_on_colour():
    rgb = np.full((60, 80, 3), 240, np.uint8)
    rgb[10:20, :, :] = 30  # grey ink
    rgb[40:50, :, :] = (200, 30, 40)  # a red stamp's ink
    c = cleaning.chroma_input(rgb, (80, 60))
    assert c.shape == (2, 60, 80)
    assert np.abs(c[:, 10:20]).max() < 1e-6 and np.abs(c[:, 0:5]).max() < 1e-6
    assert c[0, 40:50].mean() > 0.5  # Cr: red is far from grey


@pytest.mark.skipif(not ov.PAGES.parent.parent.joinpath("signatures").is_dir(), reason="shared data not found")
def test_training_a_colour_cleaner_is_deterministic_and_loads(tmp_path):
    from ml import cleaner_train

    kw = dict(steps=20, sheets=6, channels=(8, 8, 8), version="sigweb-clean-test", box=0.5, bf16=False, colour=True)
    kw.update(recal_batches=4, log=lambda m: None)
    cleaner_train.train(str(tmp_path / "a.pt"), **kw)
    cleaner_train.train(str(tmp_path / "b.pt"), **kw)
    a = torch.load(tmp_path / "a.pt", weights_only=True)
    b = torch.load(tmp_path / "b.pt", weights_only=True)
    assert a["input"] == "grey+chroma" and a["train"]["colour"] is True
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    try:
        c = cleaning.get(cleaning.register(tmp_path / "a.pt"))
        assert c.colour and c.net.down[0][0].in_channels == 3
        sheet, _ = ov.overlay(_signature(2), np.random.default_rng(0), ov.EVAL)
        gray = cv2.cvtColor(sheet, cv2.COLOR_RGB2GRAY)
        assert c(gray, sheet).shape == gray.shape and c(gray).shape == gray.shape  # colour or not
    finally:
        cleaning._CACHE.pop(("sigweb-clean-test", str(cleaning.weights_path("sigweb-clean-test"))), None)


def test_a_large_colour_scan_reaches_a_colour_cleaner(tmp_path):
    """A colour image over the working size is downscaled in colour too, then cleaned."""
    seen = {}

    class Spy:
        colour = True

        def __call__(self, gray, rgb=None):
            seen["shapes"] = (gray.shape, None if rgb is None else rgb.shape)
            return gray

    sheet, _ = ov.overlay(_signature(3), np.random.default_rng(3), ov.EVAL)
    big = cv2.resize(sheet, (sheet.shape[1] * 2, sheet.shape[0] * 2))
    path = tmp_path / "big.png"
    Image.fromarray(big, "RGB").save(path)
    prepare(path.read_bytes(), cleaner=Spy())
    g, c = seen["shapes"]
    assert max(g) <= 800 and c == (*g, 3)


def test_solid_ink_sheets_are_drawn_only_when_asked(tmp_path):
    from ml import cleaner_train

    path = tmp_path / "sig.png"
    Image.fromarray(_signature(8)).save(path)
    plain = cleaner_train.make_pair(str(path), np.random.default_rng(3), ov.TRAIN)
    again = cleaner_train.make_pair(str(path), np.random.default_rng(3), ov.TRAIN, solid=0.0)
    assert all(np.array_equal(a, b) for a, b in zip(plain, again))  # recipes without it keep their sheets
    gray = np.asarray(Image.open(path))
    for seed in range(6):
        solid = cleaner_train.solid_ink(gray, np.random.default_rng(seed))
        assert set(np.unique(solid)) <= {0, 255}
        assert (solid[gray < 200] == 0).all()  # every stroke kept, in black, maybe thicker
    x, target = cleaner_train.make_pair(str(path), np.random.default_rng(3), ov.TRAIN, solid=1.0)
    assert x.shape[1:] == target.shape and target.sum() > 0
