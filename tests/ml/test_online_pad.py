"""ml.online.pad and ml.online.replay: stored templates, replay distance, pace and profiles,
on generated pad signatures (no data needed)."""

import numpy as np
import pytest
from pad_strokes import demo_strokes, mouse, replay, resampled, time_glitches, with_pressure_wave

from ml.errors import SignatureInputError
from ml.online.features import PEN_UP, PRESSURE, RAW_XY, extract
from ml.online.pad import dynamics_profile, pace, pad_fit, pad_score, params_key, template_pack, template_unpack
from ml.online.replay import FAR, fit_tolerance, replay_distance
from ml.online.verifier import load_params

PARAMS = load_params()


def tpl(strokes):
    return template_unpack(template_pack(strokes, PARAMS), PARAMS)


def test_shipped_params_carry_the_app_rules():
    assert 0 < PARAMS.replay_tolerance < 1
    assert PARAMS.pace_duration[0] < 1 < PARAMS.pace_duration[1]
    assert PARAMS.pace_speed[0] < 1 < PARAMS.pace_speed[1]


def test_packed_template_is_float16_and_round_trips():
    s = with_pressure_wave(demo_strokes("writer-a", 0))
    packed = template_pack(s, PARAMS)
    assert packed.params_key == params_key(PARAMS) and packed.has_pressure
    assert len(packed.frames) == packed.n_frames * packed.n_channels * 2
    full = extract(s, PARAMS.rate_hz)
    back = template_unpack(packed, PARAMS)
    cols = ([0, 1, 2, 3] if PARAMS.channels == "xyv" else list(range(9))) + [PEN_UP] + RAW_XY + PRESSURE
    assert np.abs(back.frames[:, cols] - full.frames[:, cols]).max() < 0.01


def test_mouse_without_pressure_scores_against_stylus_references():
    refs = [tpl(with_pressure_wave(demo_strokes("writer-a", i))) for i in range(4)]
    q = tpl(mouse(demo_strokes("writer-a", 7)))
    assert not q.has_pressure and q.frames.shape[1] == PRESSURE[0]
    out = pad_score(PARAMS, pad_fit(refs, PARAMS), refs, q, image_score=0.9)
    assert 0 <= out["online"] <= 1 and 0 <= out["fused"] <= 1
    assert out["replay_distance"] > PARAMS.replay_tolerance
    assert out["pressure"] is False  # decided at the points for comparisons without pressure
    stylus = tpl(with_pressure_wave(demo_strokes("writer-a", 7)))
    assert pad_score(PARAMS, pad_fit(refs, PARAMS), refs, stylus, image_score=0.9)["pressure"] is True


def test_sampling_rate_does_not_change_the_template_much():
    s = demo_strokes("writer-b", 3)
    a, b = tpl(resampled(s, 60.0)), tpl(resampled(s, 240.0))
    assert abs(len(a.frames) - len(b.frames)) <= 1
    assert replay_distance(a, b) < PARAMS.replay_tolerance / 2  # the same drawing: a replay of itself


def test_genuine_scores_above_another_writer():
    refs = [tpl(demo_strokes("writer-a", i)) for i in range(5)]
    wd = pad_fit(refs, PARAMS)
    own = pad_score(PARAMS, wd, refs, tpl(demo_strokes("writer-a", 11)), 0.5)
    other = pad_score(PARAMS, wd, refs, tpl(demo_strokes("writer-q", 11)), 0.5)
    assert own["online"] > other["online"]


@pytest.mark.parametrize("keep,jitter", [(1.0, 0.0), (1.0, 0.005), (0.5, 0.005), (0.34, 0.0)])
def test_replays_are_within_the_tolerance_and_genuine_samples_are_not(keep, jitter):
    refs = [tpl(demo_strokes("carol", i)) for i in range(5)]
    copy = tpl(replay(demo_strokes("carol", 2), seed=4, keep=keep, jitter=jitter))
    d = [replay_distance(copy, r) for r in refs]
    assert int(np.argmin(d)) == 2 and min(d) <= PARAMS.replay_tolerance
    for k in range(5, 15):
        q = tpl(demo_strokes("carol", k))
        assert min(replay_distance(q, r) for r in refs) > PARAMS.replay_tolerance


def test_a_much_slower_copy_is_no_replay():
    s = demo_strokes("ada", 1)
    slow = [{"points": [{**p, "time": p["time"] * 2} for p in st["points"]]} for st in s]
    assert replay_distance(tpl(slow), tpl(s)) == FAR


def test_malformed_timing_is_repaired():
    s = demo_strokes("writer-a", 4)
    bad = time_glitches(s)
    assert replay_distance(tpl(bad), tpl(s)) < PARAMS.replay_tolerance
    p = pace(bad)
    assert p["duration_ms"] > 0 and p["speed"] > 0


def test_no_usable_times_is_refused():
    s = demo_strokes("writer-a", 4)
    flat = [{"points": [{**p, "time": 5} for p in st["points"]]} for st in s]
    with pytest.raises(SignatureInputError):
        template_pack(flat, PARAMS)
    assert pace(flat) is None and dynamics_profile(flat) is None


def test_dynamics_profile_has_speed_and_pressure_only_when_varying():
    prof = dynamics_profile(with_pressure_wave(demo_strokes("bea", 0)), points=50)
    assert len(prof["t_ms"]) == len(prof["speed"]) == len(prof["pressure"]) == 50
    assert max(prof["speed"]) > 0 and prof["t_ms"][-1] == prof["duration_ms"]
    assert dynamics_profile(mouse(demo_strokes("bea", 0)))["pressure"] is None


def test_fit_tolerance_separates_and_reports_errors():
    out = fit_tolerance(np.array([0.3, 0.4, 0.5]), np.array([0.01, 0.05, 0.1]))
    assert 0.1 < out["tolerance"] < 0.3 and out["genuine_flagged"] == 0 and out["replays_missed"] == 0
    mixed = fit_tolerance(np.array([0.05, 0.4, 0.5]), np.array([0.01, 0.06, 0.1]))
    assert mixed["genuine_flagged"] + mixed["replays_missed"] > 0


def test_app_score_reuses_the_writer_scale_and_needs_times():
    from ml.online.pad import app_score, template_pack

    stored = [template_pack(demo_strokes("bob", i), PARAMS) for i in range(4)]
    q = demo_strokes("bob", 9)
    first = app_score(PARAMS, stored, q, 0.7)
    again = app_score(PARAMS, stored, q, 0.7, writer=first["writer"])
    assert first["writer"]["n_refs"] == 4 and again["fused"] == first["fused"]
    assert (
        app_score(PARAMS, stored, q, 0.7, writer={**first["writer"], "scale": first["writer"]["scale"] * 2})["online"]
        != first["online"]
    )
    flat = [{"points": [{**p, "time": 1} for p in s["points"]]} for s in q]
    assert app_score(PARAMS, stored, flat, 0.7) is None and app_score(PARAMS, [], q, 0.7) is None


def test_per_reference_normalised_features():
    from ml.online.verifier import features_from_distances, per_reference_scale

    pairwise = np.array([[0.0, 2.0, 4.0], [2.0, 0.0, 6.0], [4.0, 6.0, 0.0]])
    per_ref = per_reference_scale(pairwise)
    assert per_ref == [3.0, 4.0, 5.0]
    d = np.array([[3.0, 8.0, 10.0]])
    f = features_from_distances(d, 4.0, per_ref=per_ref)
    assert f.shape == (1, 4)
    assert f[0].tolist() == pytest.approx([0.75, 21 / 12, 1.0, (1 + 2 + 2) / 3])
    assert features_from_distances(d, 4.0).shape == (1, 2)  # the base set
    # an unusable reference scale falls back to the writer's
    assert features_from_distances(d, 4.0, per_ref=[float("nan"), 4.0, 5.0])[0, 2] == pytest.approx(0.75)


def test_base_tnorm_parameters_score_through_the_app_path():
    from dataclasses import replace

    from ml.online.pad import app_score, template_pack

    params = replace(PARAMS, features="base+tnorm", online_w=[-2.0, -1.0, -1.0, -1.0], fused_w=[1.0, -1.0, -1.0, -1.0, -1.0])
    stored = [template_pack(demo_strokes("ada", i), params) for i in range(4)]
    own = app_score(params, stored, demo_strokes("ada", 9), 0.6)
    other = app_score(params, stored, demo_strokes("bob", 9), 0.6)
    assert len(own["features"]) == 4 and len(own["writer"]["per_ref"]) == 4
    assert own["online"] > other["online"] and own["fused"] > other["fused"]


def test_a_cached_writer_without_reference_scales_is_refitted():
    from dataclasses import replace

    from ml.online.pad import app_score, template_pack

    params = replace(PARAMS, features="base+tnorm", online_w=[-2.0, -1.0, -1.0, -1.0], fused_w=[1.0, -1.0, -1.0, -1.0, -1.0])
    stored = [template_pack(demo_strokes("ada", i), params) for i in range(4)]
    fresh = app_score(params, stored, demo_strokes("ada", 9), 0.6)
    old = {k: v for k, v in fresh["writer"].items() if k != "per_ref"}  # cached by the base feature set
    assert app_score(params, stored, demo_strokes("ada", 9), 0.6, writer=old)["online"] == fresh["online"]
