"""The cleaner's gate (ml.cleaner.Cleaner): clean signatures pass through untouched, overlaid ones are cleaned."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from ml import cleaner as cleaning
from ml import overlay as ov
from ml import synthetic
from ml.preprocess import flat_field, prepare, render_strokes

CLEAN_SEEDS = (2, 12)  # generated signatures the shipped net leaves almost whole (measure under 1%)


@pytest.fixture(scope="module")
def checkpoint():
    return torch.load(cleaning.WEIGHTS, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def shipped():
    return cleaning.get(cleaning.DEFAULT_CLEANER)


def _signature(seed: int) -> np.ndarray:
    return render_strokes(synthetic.genuine(seed, 0), size=600)


def _overlaid(gray: np.ndarray, seed: int) -> np.ndarray:
    sheet, _ = ov.overlay(gray, np.random.default_rng(seed), ov.EVAL)  # line, text and stamp
    return cv2.cvtColor(sheet, cv2.COLOR_RGB2GRAY)


def test_gate_comes_from_the_checkpoint_or_the_code_default(checkpoint, shipped):
    assert shipped.gate == float(checkpoint.get("gate", cleaning.DEFAULT_GATE))
    assert 0.0 < cleaning.DEFAULT_GATE < 0.5
    assert cleaning.Cleaner({**checkpoint, "gate": 0.3}).gate == 0.3


@pytest.mark.parametrize("seed", CLEAN_SEEDS)
def test_clean_generated_signature_goes_through_unchanged(shipped, seed):
    gray = _signature(seed)
    assert shipped.measure(gray) < shipped.gate
    out = shipped(gray)
    assert np.array_equal(out, gray)  # the input itself, not even flat-fielded
    with_cleaner, without = prepare(gray, cleaner=shipped), prepare(gray)
    assert np.array_equal(with_cleaner.image, without.image)  # exactly the no-cleaner path
    assert with_cleaner.cleaned is None and "cleaned" not in with_cleaner.quality  # nothing to show as removed


@pytest.mark.parametrize("seed", CLEAN_SEEDS)
def test_line_text_and_stamp_open_the_gate(shipped, seed):
    gray = _signature(seed)
    noisy = _overlaid(gray, seed)
    assert shipped.measure(noisy) >= shipped.gate
    out = shipped(noisy)
    flat = flat_field(noisy)
    assert ((out == 255) | (out == flat)).all()  # erase only
    erased = (flat < 200) & (out == 255)
    assert erased.sum() > 0.2 * (flat < 200).sum()  # the printed material goes


def test_gate_zero_always_cleans_and_a_high_gate_never_does(checkpoint):
    gray = _signature(CLEAN_SEEDS[0])
    open_gate = cleaning.Cleaner({**checkpoint, "gate": 0.0})
    flat, keep = open_gate.ink_mask(gray)
    expected = flat.copy()
    expected[~keep] = 255
    assert np.array_equal(open_gate(gray), expected)  # gate 0: the cleaner as it was before the gate
    noisy = _overlaid(gray, 1)
    closed = cleaning.Cleaner({**checkpoint, "gate": 1.01})
    assert np.array_equal(closed(noisy), noisy)


def test_measure_counts_only_the_ink(shipped):
    blank = np.full((200, 600), 255, np.uint8)
    assert shipped.measure(blank) == 0.0  # nothing dark: nothing to erase
    assert np.array_equal(shipped(blank), blank)
    noisy = _overlaid(_signature(CLEAN_SEEDS[1]), 4)
    assert 0.0 <= shipped.measure(noisy) <= 1.0
