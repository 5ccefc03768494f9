"""Whole-signature (global) online features on generated pad signatures: no data needed."""

import copy
from dataclasses import replace

import numpy as np
import pytest
from pad_strokes import demo_strokes, mouse, resampled, with_pressure_wave

from ml.online.features import GLOBAL_NAMES, extract, global_features
from ml.online.pad import app_score, template_pack, template_unpack
from ml.online.verifier import global_columns, load_params, reference_globals

PARAMS = load_params()
RATE = PARAMS.rate_hz
G = {n: i for i, n in enumerate(GLOBAL_NAMES)}


def glob(strokes):
    return global_features(extract(strokes, RATE), RATE)


def transformed(strokes, time_factor=1.0, scale=1.0, shift=(0.0, 0.0)):
    out = copy.deepcopy(strokes)
    t0 = out[0]["points"][0]["time"]
    for s in out:
        for p in s["points"]:
            p["time"] = t0 + (p["time"] - t0) * time_factor
            p["x"], p["y"] = p["x"] * scale + shift[0], p["y"] * scale + shift[1]
    return out


def test_global_features_do_not_depend_on_the_device_rate_or_canvas_size():
    s = with_pressure_wave(demo_strokes("writer-a", 0))
    a, b = glob(resampled(s, 60.0)), glob(resampled(s, 240.0))
    c = glob(transformed(s, scale=3.0, shift=(500.0, -200.0)))
    ref = glob(s)
    for other in (a, b, c):
        assert np.abs(other - ref).max() < 0.12, dict(zip(GLOBAL_NAMES, np.round(other - ref, 3)))
    assert np.isfinite(ref).all()


def test_a_slower_copy_lasts_longer_and_moves_slower_on_the_same_path():
    s = demo_strokes("writer-b", 1)
    ref, slow = glob(s), glob(transformed(s, time_factor=1.5))
    assert slow[G["log_duration"]] - ref[G["log_duration"]] == pytest.approx(np.log(1.5), abs=0.02)
    assert slow[G["log_speed"]] - ref[G["log_speed"]] == pytest.approx(-np.log(1.5), abs=0.08)
    # the path is measured on frames at the template's rate: a slower copy has more of them
    # and cuts fewer corners, so its path comes out a few percent longer, not more
    assert abs(slow[G["log_path"]] - ref[G["log_path"]]) < 0.1
    assert abs(slow[G["down_ratio"]] - ref[G["down_ratio"]]) < 0.03


def test_pen_down_share_strokes_and_aspect_of_a_known_drawing():
    def line(x0, t0, n=101):  # a horizontal stroke 200 units long drawn in 1 s
        return {"points": [{"x": x0 + 2.0 * i, "y": 50.0 + 5 * np.sin(i / 8), "time": t0 + 10.0 * i} for i in range(n)]}

    s = [line(0.0, 0.0), line(300.0, 1500.0)]  # 1 s down, 0.5 s up, 1 s down
    g = glob(s)
    assert g[G["down_ratio"]] == pytest.approx(0.8, abs=0.03)
    assert g[G["log_strokes"]] == pytest.approx(np.log(3))
    assert g[G["log_duration"]] == pytest.approx(np.log(2500.0), abs=1e-6)
    assert g[G["log_aspect"]] > np.log(20)  # 500 wide, 10 high
    assert np.isnan(g[G["pressure_mean"]]) and np.isnan(g[G["pressure_std"]])


def test_global_columns_are_absolute_then_signed_and_zero_where_pressure_is_missing():
    refs = [extract(with_pressure_wave(demo_strokes("writer-c", i)), RATE) for i in range(4)]
    mean = reference_globals(refs, RATE)
    assert np.isfinite(mean).all()
    slow = extract(mouse(transformed(demo_strokes("writer-c", 5), time_factor=2.0)), RATE)
    names = ["log_duration", "pressure_mean"]
    cols = global_columns([slow], mean, names, RATE)
    assert cols.shape == (1, 4)
    assert cols[0, 2] > 0.5 and cols[0, 0] == pytest.approx(cols[0, 2])  # slower: + log 2 or so
    assert cols[0, 1] == 0.0 and cols[0, 3] == 0.0  # a mouse: no pressure to compare
    fast = extract(transformed(demo_strokes("writer-c", 5), time_factor=0.5), RATE)
    assert global_columns([fast], mean, names, RATE)[0, 2] < -0.5


def test_packed_templates_keep_what_the_global_features_need():
    s = with_pressure_wave(demo_strokes("writer-d", 2))
    direct = glob(s)
    packed = template_unpack(template_pack(s, PARAMS), PARAMS)  # float16 round trip
    assert np.abs(global_features(packed, RATE) - direct).max() < 0.02
    m = template_unpack(template_pack(mouse(s), PARAMS), PARAMS)
    assert np.isnan(global_features(m, RATE)[G["pressure_mean"]])


def global_params():
    if PARAMS.features == "base+tnorm+global":
        return PARAMS
    n = 4 + 2 * len(GLOBAL_NAMES)
    w = [-2.0, -1.0, -1.0, -1.0] + [-1.0] * len(GLOBAL_NAMES) + [0.0] * len(GLOBAL_NAMES)
    return replace(PARAMS, features="base+tnorm+global", globals=list(GLOBAL_NAMES), online_w=w, fused_w=[1.0] + w[:n])


def test_global_parameters_score_through_the_app_path_and_a_slow_copy_scores_lower():
    params = global_params()
    stored = [template_pack(demo_strokes("ada", i), params) for i in range(5)]
    own = app_score(params, stored, demo_strokes("ada", 9), 0.6)
    slow = app_score(params, stored, transformed(demo_strokes("ada", 9), time_factor=2.0), 0.6)
    assert len(own["features"]) == 4 + 2 * len(params.globals) and len(own["writer"]["globals"]) == len(GLOBAL_NAMES)
    assert own["online"] > slow["online"] and own["fused"] > slow["fused"]
    # a writer cached before the global features were stored is refitted, not misread
    old = {k: v for k, v in own["writer"].items() if k != "globals"}
    assert app_score(params, stored, demo_strokes("ada", 9), 0.6, writer=old)["online"] == own["online"]
