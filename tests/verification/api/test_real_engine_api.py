"""The real engine through the API: a score and decision in under a second, bad input refused.

Uses the real ``ml.engine.Engine`` with ``SIGWEB_MODEL_PATH``, else the shipped
``ml/weights/sigweb.pt``, else (until one is shipped) a tiny checkpoint trained in seconds.
"""

import io
import time

import pytest
from django.test import Client
from PIL import Image

from verification import ml_engine
from verification.demo import demo_strokes
from verification.models import Job, Verification

pytestmark = pytest.mark.real_engine


@pytest.fixture
def real_engine(fake_engine, checkpoint_path, settings):
    settings.SIGWEB_MODEL_PATH = checkpoint_path
    ml_engine.engine_override(None)
    engine = ml_engine.engine_get(checkpoint_path)
    yield engine
    ml_engine.engine_override(None)


def _enroll(admin_client, writer, n=5):
    cid = admin_client.post("/api/customers/", {"external_ref": f"R-{writer}", "name": writer}, format="json").json()["id"]
    for i in range(n):
        r = admin_client.post(f"/api/customers/{cid}/references/", {"strokes": demo_strokes(writer, i)}, format="json")
        assert r.status_code == 202, r.content
    r = admin_client.post(f"/api/customers/{cid}/enrollment/", {}, format="json")
    assert r.status_code == 202 and r.json()["job"]["status"] == "succeeded", r.content
    return cid


def test_verification_through_the_api_under_a_second(admin_client, real_engine):
    cid = _enroll(admin_client, "real-writer")
    admin_client.post("/api/verifications/?wait=5", {"customer": cid, "strokes": demo_strokes("real-writer", 50)}, format="json")
    latencies = []
    for i in range(5):
        t0 = time.perf_counter()
        r = admin_client.post(
            "/api/verifications/?wait=5", {"customer": cid, "strokes": demo_strokes("real-writer", 60 + i)}, format="json"
        )
        latencies.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.content
        v = r.json()["verification"]
        assert v["status"] == "done" and v["decision"] in {"accept", "reject", "review"}
        assert 0.0 <= v["score"] <= 1.0 and v["model_version"] == real_engine.model_version
        # 5 pad references and a pad query, none with pressure (as a mouse): the fused path decides
        # at its stored operating point for comparisons without pressure
        assert v["decision_path"] == "fused" and v["replay"] is False
        assert v["threshold"] == pytest.approx(ml_engine.online_params(real_engine).threshold_for("fused", 5, pressure=False))
    latencies.sort()
    print(
        "API verification latency (real engine, in-process): "
        f"median {latencies[2] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
    )
    assert latencies[2] < 1.0


def test_real_engine_refuses_bad_images(admin_client, real_engine, signature_png):
    cid = _enroll(admin_client, "real-writer-2", n=3)
    before = (Verification.objects.count(), Job.objects.count())
    data = signature_png(3)
    blank = io.BytesIO()
    Image.new("L", (300, 120), 255).save(blank, format="PNG")
    for payload, status in ((data[: len(data) // 2], 400), (b"GIF89a garbage", 400), (blank.getvalue(), 400)):
        f = io.BytesIO(payload)
        f.name = "x.png"
        r = admin_client.post("/api/verifications/", {"customer": cid, "image": f}, format="multipart")
        assert r.status_code == status, r.content
        assert r.json()["error"]["code"] in {"unreadable", "blank"}
    assert (Verification.objects.count(), Job.objects.count()) == before


def test_real_engine_accepts_an_uploaded_scan(admin_client, real_engine, signature_png):
    cid = _enroll(admin_client, "real-writer-3", n=3)
    f = io.BytesIO(signature_png(4))
    f.name = "scan.png"
    r = admin_client.post("/api/verifications/?wait=5", {"customer": cid, "image": f, "source": "upload"}, format="multipart")
    assert r.status_code == 200, r.content
    assert r.json()["verification"]["source"] == "upload"


def test_identification_with_the_real_engine_names_the_writer_by_the_models_rule(admin_client, real_engine):
    """The shipped model's calibrated scores, operating points and margin reach the API: the
    candidates come best first, the writer of a new sample is first, and the outcome is the rule's
    (pad customers and a pad query: decided by the fused score, with the pad margin)."""
    from ml.identify import margin_for

    ids = {w: _enroll(admin_client, w) for w in ("ident-anna", "ident-boris", "ident-chen")}
    r = admin_client.post("/api/identifications/", {"strokes": demo_strokes("ident-boris", 40), "top_k": 3}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    cands = body["candidates"]  # all three enrolled customers: the whole short list
    assert len(cands) == 3 and cands[0]["customer"] == ids["ident-boris"]
    assert [c["score"] for c in cands] == sorted((c["score"] for c in cands), reverse=True)
    assert {c["decision_path"] for c in cands} == {"fused"}
    if not any(c["score"] >= c["threshold"] for c in cands):
        expected = "none"
    elif cands[0]["score"] >= cands[0]["threshold"] and cands[0]["score"] - cands[1]["score"] >= margin_for(
        real_engine.model_version, decision="fused"
    ):
        expected = "match"
    else:
        expected = "ambiguous"
    assert body["outcome"] == expected


def test_model_version_lists_the_checkpoints_operating_point_per_reference_bucket(admin_client, admin_user, real_engine):
    """The model-version API and page show each reference-count bucket's threshold, as stored in the checkpoint."""
    stored = (real_engine.checkpoint.get("decision") or {}).get("thresholds") or {}
    versions = admin_client.get("/api/model-versions/").json()["results"]
    (live,) = [v for v in versions if v["is_active"]]
    assert live["name"] == real_engine.model_version
    assert list(live["thresholds"]) == ["1", "2-4", "5-9", "10+"]
    if stored:  # the shipped checkpoint has one per bucket; a tiny test checkpoint may have only `threshold`
        assert live["thresholds"] == pytest.approx({k: float(v) for k, v in stored.items()})
        assert len(set(live["thresholds"].values())) > 1
    else:
        assert set(live["thresholds"].values()) == {pytest.approx(live["threshold"])}
    # the pad decision's points, from the online table for this version (2-4, 5-9, 10+ pad references)
    params = ml_engine.online_params(real_engine)
    assert set(live["pad_thresholds"]) == {"fused", "online", "fused_no_pressure", "online_no_pressure"}
    for key, points in live["pad_thresholds"].items():
        path, pressure = key.split("_")[0], not key.endswith("_no_pressure")
        assert list(points) == ["2-4", "5-9", "10+"]
        want = {b: params.threshold_for(path, n, pressure) for b, n in (("2-4", 3), ("5-9", 5), ("10+", 10))}
        assert points == pytest.approx(want)
    web = Client()
    web.force_login(admin_user)
    page = web.get("/manage/models/").content.decode()
    pad = live["pad_thresholds"]
    for bucket, t in [*live["thresholds"].items(), *pad["fused"].items(), *pad["fused_no_pressure"].items()]:
        assert f'<span class="mono">{bucket}</span>: {t:.3f}' in page
    assert ("without pressure:" in page) == (pad["fused_no_pressure"] != pad["fused"])
