"""The online (pen-dynamics) verifier on generated strokes: no shared data needed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ml.cli import main
from ml.errors import SignatureInputError
from ml.online import convert
from ml.online.dtw import dtw_batch
from ml.online.features import extract, repair_times
from ml.online.verifier import OnlineParams, features_from_distances, fit_online, online_features, online_score, pair_distances


def writer_path(writer: int, seed: int = 0, wobble: float = 0.02):
    """A writer's signature as a function of time (ms): three strokes with its own shape and rhythm,
    a genuine repetition (``seed``) varying a little in size, speed and shape."""
    rng = np.random.default_rng(1000 * writer + seed)
    wr = np.random.default_rng(writer)
    freqs, phases, amps = wr.uniform(1, 4, (3, 3)), wr.uniform(0, 6.3, (3, 3)), wr.uniform(0.3, 1.0, (3, 3))
    durs = wr.uniform(500, 1100, 3) * rng.uniform(0.95, 1.05)
    gaps = wr.uniform(80, 200, 2)
    scale = rng.uniform(0.9, 1.1)
    noise = rng.normal(0, wobble, (3, 3))

    def stroke(k, u):  # u in [0, 1] along stroke k
        x = 100 * k + 120 * u + 30 * (amps[k] + noise[k]) @ np.sin(np.outer(freqs[k], u * 6.3) + phases[k][:, None])
        y = 40 * (amps[k] + noise[k]) @ np.cos(np.outer(freqs[k] * 1.3, u * 6.3) + phases[k][:, None])
        p = 0.5 + 0.3 * np.sin(u * 3 + k + writer)
        return scale * x, scale * y, p

    return durs, gaps, stroke


def sample(writer: int, seed: int = 0, rate_hz: float = 100.0, pressure: bool = True, jitter_ms: float = 0.0, t0: float = 1e6):
    durs, gaps, stroke = writer_path(writer, seed)
    rng = np.random.default_rng(seed + 77)
    out, t = [], t0
    for k in range(3):
        ts = np.arange(0, durs[k], 1000.0 / rate_hz)
        ts = np.sort(ts + rng.uniform(0, jitter_ms, len(ts))) if jitter_ms else ts
        x, y, p = stroke(k, ts / durs[k])
        pts = [{"x": float(a) + 300, "y": float(b) + 200, "time": float(t + c)} | ({"pressure": float(q)} if pressure else {})
               for a, b, c, q in zip(x, y, ts, p)]  # fmt: skip
        out.append({"points": pts})
        t += durs[k] + (gaps[k] if k < 2 else 0)
    return out


def scores(refs, queries, params=None):
    params = params or OnlineParams(rate_hz=25.0, window=0.2)
    r = [extract(s, params.rate_hz) for s in refs]
    q = [extract(s, params.rate_hz) for s in queries]
    wd = fit_online(r, params.window)
    return online_features(wd, r, q, params.window)


def test_dtw_matches_the_textbook_recurrence():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(17, 3)), rng.normal(size=(23, 3))
    n, m = len(a), len(b)
    D = np.full((n + 1, m + 1), np.inf)
    D[0, 0] = 0
    c = np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            D[i, j] = c[i - 1, j - 1] + min(D[i - 1, j - 1], D[i - 1, j], D[i, j - 1])
    got = dtw_batch([a, b[:5]], [b, a[:9]], None)
    assert got[0] == pytest.approx(D[n, m] / (n + m), rel=1e-5)
    assert dtw_batch([a], [a], None)[0] == pytest.approx(0.0, abs=1e-6)


def test_mouse_without_pressure_compares_with_a_stylus():
    mouse = extract(sample(1, 5, rate_hz=60, pressure=False))
    assert not mouse.has_pressure
    stylus = [sample(1, s) for s in range(5)]
    f_same = scores(stylus, [sample(1, 5, rate_hz=60, pressure=False)])
    f_other = scores(stylus, [sample(2, 5, rate_hz=60, pressure=False)])
    assert np.isfinite(f_same).all() and f_same[0, 0] < f_other[0, 0]
    # the pair drops pressure: the stylus-vs-mouse distance equals stylus-without-pressure vs mouse
    st = extract(stylus[0])
    st_np = extract(sample(1, 0, pressure=False))
    assert pair_distances([mouse], [st], 0.2)[0] == pytest.approx(pair_distances([mouse], [st_np], 0.2)[0], rel=1e-5)


def test_same_signature_at_different_sampling_rates_scores_as_the_same_writer():
    refs = [sample(3, s, rate_hz=100) for s in range(5)]
    f_rate = scores(refs, [sample(3, 7, rate_hz=r, jitter_ms=3) for r in (40, 60, 240)])
    f_other = scores(refs, [sample(4, 7, rate_hz=r) for r in (40, 60, 240)])
    # within the writer's own spread between references (scale 1), far from another writer
    assert (f_rate[:, 0] < 1.6).all()
    assert f_rate[:, 0].max() < f_other[:, 0].min()
    p = OnlineParams(online_w=[-4.0, 0.0], online_b=6.0)
    assert online_score(p, f_rate).min() > online_score(p, f_other).max()
    # resampling by time: one drawing at 60 Hz and 240 Hz gives nearly the same frames
    a, b = extract(sample(3, 7, rate_hz=60)), extract(sample(3, 7, rate_hz=240))
    assert abs(len(a.frames) - len(b.frames)) <= 1
    assert pair_distances([a], [b], 0.2)[0] < 0.25 * pair_distances([a], [extract(sample(4, 7))], 0.2)[0]


def test_a_different_writer_scores_lower_for_every_generated_writer():
    for w in (5, 6, 7):
        refs = [sample(w, s) for s in range(5)]
        same = scores(refs, [sample(w, s) for s in (10, 11)])
        other = scores(refs, [sample(o, 10) for o in (8, 9)])
        assert same[:, 0].max() < other[:, 0].min()


def test_repair_times_undoes_wraps_backward_steps_and_equal_runs():
    t = np.array([0, 10, 20, 11, 30, 30, 30, 60, 2.0**32 + 70, 80])
    r = repair_times(t)
    assert (np.diff(r) > 0).all()
    assert r[0] == 0 and r[-1] == 80
    assert r[4:7].tolist() == [30, 40, 50]  # spread evenly up to the next distinct time
    us_wrap = np.array([0, 10, 20 + 2.0**32 / 1000, 30, 40])  # SUSIG blind: 2^32 microseconds
    assert repair_times(us_wrap).tolist() == [0, 10, 20, 30, 40]


def test_malformed_timing_is_repaired_or_refused_never_a_crash():
    s = sample(1, 0)
    pts = s[1]["points"]
    pts[5]["time"] = pts[4]["time"] - 9  # a step back, as SVC2004's tablet does
    pts.insert(7, dict(pts[6]))  # an exact duplicate point
    pts[20]["time"] = pts[19]["time"]  # equal times
    tpl = extract(s)
    assert np.isfinite(tpl.frames).all()
    f_ok = scores([sample(1, k) for k in range(1, 6)], [s])
    assert np.isfinite(f_ok).all()
    frozen = [{"points": [{"x": i, "y": i % 7, "time": 5} for i in range(30)]}]
    with pytest.raises(SignatureInputError, match="do not advance"):
        extract(frozen)
    no_time = [{"points": [{"x": i, "y": i % 7} for i in range(30)]}]
    with pytest.raises(SignatureInputError, match="needs a time"):
        extract(no_time)
    backwards = [{"points": [{"x": i, "y": i % 7, "time": 1000 - 10 * i} for i in range(30)]}]
    with pytest.raises(SignatureInputError):  # time only ever going back cannot be repaired
        extract(backwards)


def test_features_from_distances_divides_by_the_writers_scale():
    f = features_from_distances(np.array([[2.0, 4.0]]), 2.0)
    assert f.tolist() == [[1.0, 1.5]]
    assert features_from_distances(np.array([[2.0]]), float("nan"), fallback_scale=4.0).tolist() == [[0.5, 0.5]]


# --------------------------------------------------------------- converter


def _svc_file(path: Path, n=30, back_step=True):
    t = 31275775 + 10 * np.arange(n)
    if back_step:
        t[12] = t[11] - 9
    rows = [f"{100 + 3 * i} {500 + (i % 5) * 4} {t[i]} {0 if i == 15 else 1} 1550 710 {400 + i}" for i in range(n)]
    path.write_text(f"{n}\n" + "\n".join(rows) + "\n")


def _susig_file(path: Path, n=30, wrap_at=None, seed=0):
    t = 10 * np.arange(n) + seed
    rows = []
    for i in range(n):
        ti = t[i] + (2**32 // 1000 if i == wrap_at else 0)
        rows.append(f"{2000 + 5 * i} {1000 + (i % 3)} {ti} {120 + i} {1 if i == 14 else 0}")
    path.write_text(f"X, Y, TStamp, Pres., EndPts\nDataSize: {n}\n" + "\n".join(rows) + "\n")


def _load_points(path):
    strokes = json.loads(Path(path).read_text())
    return strokes, [p for s in strokes for p in s["points"]]


def test_convert_svc2004_keeps_user_numbers_and_repairs_time(tmp_path):
    src = tmp_path / "svc"
    src.mkdir()
    _svc_file(src / "U31S1.TXT")
    _svc_file(src / "U31S21.TXT")
    _svc_file(src / "U2S3.TXT", back_step=False)
    res = convert.convert("svc2004", src, tmp_path / "out")
    assert res["files"] == 3 and res["writers"] == 2
    strokes, pts = _load_points(tmp_path / "out/svc2004_u031/genuine/U31S1.json")
    assert (tmp_path / "out/svc2004_u031/forged/U31S21.json").is_file()
    assert (tmp_path / "out/svc2004_u002/genuine/U2S3.json").is_file()
    assert len(strokes) == 2  # the pen-up point splits the strokes
    t = [p["time"] for p in pts]
    assert t[0] == 0 and all(b > a for a, b in zip(t, t[1:]))
    assert all(0 <= p["pressure"] <= 1 for p in pts) and min(p["y"] for p in pts) == 0
    assert set(pts[0]) == {"x", "y", "time", "pressure"}
    extract(strokes)  # what the API takes, the verifier reads


def test_convert_susig_drops_duplicates_and_undoes_the_clock_wrap(tmp_path):
    src = tmp_path / "susig"
    (src / "GENUINE/first").mkdir(parents=True)
    (src / "FORGERY").mkdir()
    _susig_file(src / "GENUINE/first/101_1_1.sig", wrap_at=9)
    _susig_file(src / "GENUINE/first/101_1_2.sig", seed=1)
    (src / "GENUINE/first/101_1_3.sig").write_bytes((src / "GENUINE/first/101_1_2.sig").read_bytes())
    _susig_file(src / "FORGERY/101_f_1.sig", seed=2)
    res = convert.convert("susig-visual", src, tmp_path / "out")
    assert res["duplicates_dropped"] == 1 and res["files"] == 3
    strokes, pts = _load_points(tmp_path / "out/susig_visual_u101/genuine/101_1_1.json")
    t = [p["time"] for p in pts]
    assert max(t) < 1000 and all(b > a for a, b in zip(t, t[1:]))
    assert len(strokes) == 2  # the end-of-stroke flag splits
    assert (tmp_path / "out/susig_visual_u101/forged/101_f_1.json").is_file()
    with pytest.raises(FileNotFoundError):
        convert.convert("susig-blind", tmp_path / "nowhere", tmp_path / "o2")


# --------------------------------------------------------------- evaluate on stroke JSON


@pytest.fixture(scope="module")
def stroke_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("strokes")
    for w in range(1, 4):
        for lab, seeds in (("genuine", range(7)), ("forged", ())):
            d = root / f"pad_u{w:03d}" / lab
            d.mkdir(parents=True)
            for s in seeds:
                (d / f"{s:02d}.json").write_text(json.dumps(sample(w, s, pressure=w != 2)))
        # a skilled forgery: the shape of w drawn with another writer's rhythm (slower, re-timed)
        f = sample(w, 50)
        for st in f:
            for p in st["points"]:
                p["time"] *= 1.7
        (root / f"pad_u{w:03d}" / "forged" / "00.json").write_text(json.dumps(f))
    return root


@pytest.mark.parametrize("decision, expected", [("online", "online"), ("image", "image"), ("auto", "fused")])
def test_evaluate_on_stroke_json_reports_the_decision_path(stroke_folder, tmp_path, capsys, decision, expected):
    out = tmp_path / "r.json"
    assert main(["evaluate", "--data", str(stroke_folder), "--decision", decision, "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert rep["decision_path"] == expected
    for key in ("eer_global", "eer_user", "auc", "far_skilled", "far_random", "n_writers", "references", "model"):
        assert key in rep
    assert rep["n_writers"] == 3 and rep["n_skilled"] == 3 and rep["references_min_used"] == 5


def test_pad_operating_point_is_resolved_per_reference_bucket():
    p = OnlineParams(online_threshold=0.55, fused_threshold=0.7, bucket_thresholds={"fused": {"2-4": 0.6, "10+": 0.8}})
    assert [p.threshold_for("fused", n) for n in (3, 4, 5, 9, 10, 40)] == [0.6, 0.6, 0.7, 0.7, 0.8, 0.8]
    assert p.threshold_for("online", 3) == 0.55  # no bucket for this path: the 5-reference point
    with pytest.raises(ValueError):
        p.threshold_for("image", 5)  # the image path's points are the engine's (Engine.threshold_for)


def test_a_comparison_without_pressure_has_its_own_points_where_fitted():
    p = OnlineParams(
        fused_threshold=0.7,
        bucket_thresholds={"fused": {"2-4": 0.6}},
        no_pressure_thresholds={"fused": {"2-4": 0.75, "5-9": 0.8}},
    )
    assert [p.threshold_for("fused", n, pressure=False) for n in (3, 5, 12)] == [0.75, 0.8, 0.8]  # 10+: its 5-9
    assert [p.threshold_for("fused", n) for n in (3, 5, 12)] == [0.6, 0.7, 0.7]  # a pen with pressure: unchanged
    assert p.threshold_for("online", 5, pressure=False) == p.online_threshold  # no table for the path
    assert p.operating_points("fused", pressure=False) == {"2-4": 0.75, "5-9": 0.8, "10+": 0.8}


def test_bucket_operating_points_are_fitted_where_the_data_allows_and_evaluate_applies_them(stroke_folder, tmp_path):
    """``fit_buckets`` on generated pad writers (7 genuine each: 3 and 5 references leave queries,
    10 do not): each fitted point sits where FRR and skilled FAR meet on those rows; the bucket
    without data keeps the single point; ``ml evaluate`` decides at the bucket of its reference count."""
    from ml.engine import Engine
    from ml.online.calibrate import fit_buckets
    from ml.online.evaluate import evaluate_strokes
    from ml.online.verifier import load_params

    engine = Engine.load()
    base = load_params(engine.model_version)
    base.bucket_thresholds = {}
    fitted, report = fit_buckets([stroke_folder], base, engine, seeds=[0])
    assert set(fitted["fused"]) == set(fitted["online"]) == {"2-4", "5-9"} and "10+" not in report
    for bucket in ("2-4", "5-9"):
        after = report[bucket]["pooled"]["fused"]["after"]
        assert after["threshold"] == fitted["fused"][bucket]
        assert abs(after["frr"] - after["far_skilled"]) <= 0.5  # 3 forgeries: the EER point, to one query
        assert report[bucket]["pooled"]["fused"]["before"]["threshold"] == base.fused_threshold
    p = load_params(engine.model_version)
    p.bucket_thresholds = {"fused": {"2-4": 0.123, "5-9": 0.456}}
    p.no_pressure_thresholds = {}  # writer 2 has no pressure: the points above decide it too
    for refs, expected in ((3, 0.123), (5, 0.456)):
        rep = evaluate_strokes(str(stroke_folder), references=refs, params=p)
        assert rep["decision_path"] == "fused" and rep["at_threshold"]["threshold"] == expected


def test_evaluate_decides_each_writer_at_the_point_of_the_references_it_really_had(stroke_folder, tmp_path):
    """With --references 5, a writer with 4 genuine signatures is enrolled with 3 and decided at
    the 2-4 point, as the app would; the others at the 5-9 point. Points of 0 (accept all) and
    1 (reject all) make the expected rates countable: 1 + 2 + 2 genuine queries, 1 forgery each."""
    import shutil

    from ml.engine import Engine
    from ml.online.evaluate import evaluate_strokes
    from ml.online.verifier import load_params

    data = tmp_path / "short_writer"
    shutil.copytree(stroke_folder, data)
    for f in sorted((data / "pad_u002" / "genuine").glob("*.json"))[4:]:
        f.unlink()
    p = load_params(Engine.load().model_version)
    p.bucket_thresholds = {"fused": {"2-4": 0.0, "5-9": 1.0}}
    p.no_pressure_thresholds = {}
    rep = evaluate_strokes(str(data), references=5, params=p)
    assert rep["references_min_used"] == 3 and rep["at_threshold"]["per_writer_thresholds"]
    assert rep["at_threshold"]["frr"] == pytest.approx(4 / 5)  # the two 5-reference writers' 4 queries rejected
    assert rep["at_threshold"]["far_skilled"] == pytest.approx(1 / 3)  # the 3-reference writer's forgery accepted


def test_evaluate_refuses_a_writer_folder_mixing_images_and_json(stroke_folder, tmp_path, capsys):
    import shutil

    mixed = tmp_path / "mixed"
    shutil.copytree(stroke_folder, mixed)
    (mixed / "pad_u001" / "genuine" / "scan.png").write_bytes(b"\x89PNG")
    assert main(["evaluate", "--data", str(mixed)]) == 2
    err = capsys.readouterr().err
    assert "mixes images and stroke JSON" in err and "pad_u001" in err


def test_template_round_trips_through_json_and_params_are_stored_for_the_shipped_model():
    from ml.online.features import OnlineTemplate
    from ml.online.verifier import feature_count, load_params

    t = extract(sample(1, 0))
    back = OnlineTemplate.from_dict(json.loads(json.dumps(t.to_dict())))
    assert back.has_pressure and back.frames.shape == t.frames.shape
    assert np.abs(back.frames - t.frames).max() < 1e-3
    from ml import checkpoint

    shipped = load_params("sigfast-" + checkpoint.file_hash(checkpoint.DEFAULT_PATH)[:8])
    n_feats = feature_count(shipped)  # fusion: [image logit] + the online features
    assert len(shipped.online_w) == n_feats and len(shipped.fused_w) == 1 + n_feats and 0 < shipped.fused_threshold < 1
    assert load_params("no-such-model").rate_hz == shipped.rate_hz  # the "default" entry


def test_evaluate_refuses_image_writers_beside_stroke_writers(stroke_folder, tmp_path, capsys):
    import shutil

    mixed = tmp_path / "mixed_writers"
    shutil.copytree(stroke_folder, mixed)
    (mixed / "scan_u009" / "genuine").mkdir(parents=True)
    (mixed / "scan_u009" / "genuine" / "01.png").write_bytes(b"\x89PNG")
    assert main(["evaluate", "--data", str(mixed)]) == 2
    assert "image writers in a folder of stroke-JSON writers" in capsys.readouterr().err


def test_test_user_folders_names_the_held_out_users_of_a_converted_folder(tmp_path):
    names = ["svc2004_u030", "svc2004_u031", "susig_visual_u100", "susig_visual_u101", "susig_blind_u001", "notes"]
    for n in names:
        (tmp_path / n).mkdir()
    found = [p.name for p in convert.test_user_folders(tmp_path)]
    assert found == ["susig_blind_u001", "susig_visual_u101", "svc2004_u031"]


# --------------------------------------------------------------- identify on stroke JSON


def test_identify_on_stroke_json_rescores_the_short_list_as_a_verification_decides(stroke_folder, tmp_path, capsys):
    """``ml identify`` on pad writers: every short-listed writer (5 pad references) is decided by
    the fused score at its fused operating point; ``--decision image`` keeps the image decision;
    a pen-dynamics decision on image writers is an error."""
    from ml import identify_eval
    from ml.engine import Engine
    from ml.identify import margin_for
    from ml.online.verifier import load_params

    engine = Engine.load()
    records, n, info = identify_eval.folder_records(str(stroke_folder), engine, 5, 0, 1, 20)
    assert n == 3 and info["kind"] == "strokes"
    assert {p for r in records for p in r["paths"]} == {"fused"}
    params = load_params(engine.model_version)
    # writer 2 draws without pressure: a query of it, or a candidate enrolled with it, is decided at
    # the point for comparisons without pressure; every other pair at the pen's
    points = {params.threshold_for("fused", 5), params.threshold_for("fused", 5, pressure=False)}
    assert all(np.isclose(t, list(points)).any() for r in records for t in r["thresholds"])
    if len(points) == 2:
        assert sorted({round(float(t), 9) for r in records for t in r["thresholds"]}) == pytest.approx(sorted(points))
    out = tmp_path / "id.json"
    assert main(["identify", "--data", str(stroke_folder), "--unenrolled", "1", "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert rep["decision_path"] == "fused" and rep["margin"] == margin_for(engine.model_version, decision="fused")
    assert rep["queries"] == {"enrolled": 4, "unenrolled": 7, "forgery": 2} and rep["top5"] == 1.0
    assert main(["identify", "--data", str(stroke_folder), "--unenrolled", "1", "--decision", "image", "--json", str(out)]) == 0
    image = json.loads(out.read_text())
    assert image["decision_path"] == "image" and image["margin"] == margin_for(engine.model_version)
    from ml import synthetic

    scans = synthetic.write_dataset(tmp_path / "scans", writers=3, genuine_per_writer=4, forged_per_writer=1, seed=2)
    assert main(["identify", "--data", str(scans), "--decision", "fused"]) == 2
    assert "needs stroke-JSON writers" in capsys.readouterr().err


def test_pad_margin_is_fitted_on_stroke_folders_and_stored_beside_the_image_margin(stroke_folder, tmp_path):
    from ml import identify, identify_eval
    from ml.engine import Engine

    engine = Engine.load()
    path = tmp_path / "margins.json"
    path.write_text(json.dumps({"models": {engine.model_version: {"margin": 0.13}}}))
    entry = identify_eval.write_pad_margin(engine, [str(stroke_folder)], 5, [0, 1], 1, 20, path=path)
    assert entry["margin"] in identify_eval.MARGIN_GRID and entry["at_margin"]["queries"]["enrolled"] == 2 * 4
    stored = json.loads(path.read_text())["models"][engine.model_version]
    assert stored["margin"] == 0.13 and stored["pad"]["fused"]["margin"] == entry["margin"]
    assert identify.margin_for(engine.model_version, path, decision="fused") == entry["margin"]
    assert identify.margin_for(engine.model_version, path) == 0.13
    assert identify.margin_for(engine.model_version, path, decision="online") == identify.DEFAULT_MARGIN
    with pytest.raises(ValueError, match="stroke-JSON"):
        identify_eval.write_pad_margin(engine, [str(tmp_path)], 5, [0], 1, 20, path=path)


def test_evaluate_decides_a_writer_without_pressure_at_the_points_for_it(stroke_folder):
    """Writer 2's signatures carry no pressure (a mouse): it is decided at the no-pressure point,
    the others at the pen's. Points of 1 (reject all) and 0 (accept all) make the rates countable:
    5 references leave 2 genuine queries per writer, 1 skilled forgery each."""
    from ml.engine import Engine
    from ml.online.evaluate import evaluate_strokes
    from ml.online.verifier import load_params

    p = load_params(Engine.load().model_version)
    p.bucket_thresholds = {"fused": {"5-9": 1.0}}
    p.no_pressure_thresholds = {"fused": {"5-9": 0.0}}
    rep = evaluate_strokes(str(stroke_folder), references=5, params=p)
    assert rep["decision_path"] == "fused" and rep["at_threshold"]["per_writer_thresholds"]
    assert rep["at_threshold"]["frr"] == pytest.approx(4 / 6)  # writers 1 and 3 reject their 4 queries
    assert rep["at_threshold"]["far_skilled"] == pytest.approx(1 / 3)  # writer 2 accepts its forgery
