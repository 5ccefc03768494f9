"""Pen dynamics through the API: the decision path, replays, pace warnings, devices and
malformed timing, and what a customer is shown (generated strokes, the fake image engine)."""

import io

import pytest
from pad_strokes import demo_strokes, mouse, replay, resampled, time_glitches, with_pressure_wave
from rest_framework.test import APIClient

from verification.models import AuditEvent, Verification
from verification.services.customers import signing_token_create


def _verify(client, customer, strokes):
    r = client.post("/api/verifications/?wait=5", {"customer": customer.id, "strokes": strokes}, format="json")
    assert r.status_code == 200, r.content
    return r.json()["verification"]


def test_pad_query_with_enough_pad_references_is_fused(admin_client, enrolled_customer):
    customer = enrolled_customer("writer-a")
    v = _verify(admin_client, customer, demo_strokes("writer-a", 21))
    assert v["decision_path"] == "fused" and v["replay"] is False
    assert v["decision"] in {"accept", "review", "reject"}
    detail = admin_client.get(f"/api/verifications/{v['id']}/").json()
    assert detail["decision_path"] == "fused"
    row = Verification.objects.get(id=v["id"]).dynamics
    assert row.pad_references == 4 and row.image_score is not None and row.online_score is not None


def test_scanned_query_uses_the_image_path(admin_client, enrolled_customer, signature_png):
    customer = enrolled_customer("writer-a")
    f = io.BytesIO(signature_png(2))
    f.name = "q.png"
    r = admin_client.post("/api/verifications/?wait=5", {"customer": customer.id, "image": f}, format="multipart")
    assert r.status_code == 200, r.content
    assert r.json()["verification"]["decision_path"] == "image"


def _enroll_timed_and_untimed(customer, timed: int, untimed: int):
    """``timed`` pad references, then ``untimed`` whose points all have time 0 (no online template)."""
    from verification.services.enrollments import enrollment_start
    from verification.services.references import reference_create

    for i in range(timed + untimed):
        s = demo_strokes("writer-a", i)
        strokes = s if i < timed else [{"points": [{**p, "time": 0} for p in st["points"]]} for st in s]
        reference_create(customer=customer, source="pad", strokes=strokes)
    enrollment_start(customer=customer)


def test_too_few_pad_references_use_the_image_path(admin_client, make_customer):
    """Two timed pad references and two without usable times (no template): the image decides."""
    customer = make_customer()
    _enroll_timed_and_untimed(customer, 2, 2)
    assert sum(hasattr(r, "dynamics") for r in customer.references.all()) == 2
    v = _verify(admin_client, customer, demo_strokes("writer-a", 22))
    assert v["decision_path"] == "image" and not v["replay"]


def test_fused_operating_point_follows_the_pad_references_not_every_reference(admin_client, make_customer, fake_engine):
    """Three timed pad references and three without usable times: six references in all, but
    the online features come from the three, so the fused score is decided at the 3-4 point."""
    from verification.decisions import path_threshold_resolve
    from verification.ml_engine import online_params

    customer = make_customer()
    _enroll_timed_and_untimed(customer, 3, 3)
    v = _verify(admin_client, customer, demo_strokes("writer-a", 23))
    params = online_params(fake_engine)
    assert v["decision_path"] == "fused" and Verification.objects.get(id=v["id"]).dynamics.pad_references == 3
    assert v["threshold"] == pytest.approx(params.threshold_for("fused", 3, pressure=False))  # no pressure in demo strokes
    assert path_threshold_resolve(path="fused", enrollment_threshold=None, engine=fake_engine, n_refs=6) == pytest.approx(
        params.threshold_for("fused", 6)
    )
    assert params.threshold_for("fused", 3) != params.threshold_for("fused", 6)  # the shipped table has both points


@pytest.mark.parametrize("make", [lambda s: s, lambda s: replay(s, seed=3, keep=0.5, jitter=0.004)], ids=["exact", "jittered"])
def test_replay_of_a_reference_is_rejected_flagged_and_audited(admin_client, enrolled_customer, make):
    customer = enrolled_customer("writer-a")
    v = _verify(admin_client, customer, make(demo_strokes("writer-a", 1)))
    assert v["decision"] == "reject" and v["replay"] is True
    event = AuditEvent.objects.get(action="verification.replay", customer_id_ref=customer.id)
    assert event.details["verification"] == v["id"]
    assert event.details["reference"] == customer.references.order_by("id")[1].id
    assert admin_client.get("/api/verifications/flagged/").json()["count"] == 1


def test_customer_sees_only_the_decision_even_for_a_replay(enrolled_customer):
    customer = enrolled_customer("writer-a")
    _, raw = signing_token_create(customer=customer, purpose="verify")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Signing {raw}")
    for strokes in (demo_strokes("writer-a", 2), demo_strokes("writer-a", 30)):
        r = client.post("/api/verifications/?wait=5", {"customer": customer.id, "strokes": strokes}, format="json")
        assert r.status_code == 200, r.content
        body = r.json()
        for key in ("decision_path", "replay", "score", "threshold", "similarities", "quality", "timings"):
            assert key not in body["verification"]
        assert set(body["job"]["result"]) <= {"verification_id", "decision"}
        got = client.get(f"/api/verifications/{body['verification']['id']}/").json()
        assert "decision_path" not in got and "replay" not in got
    assert body["verification"]["decision"] in {"accept", "review", "reject"}


def test_devices_mouse_and_sampling_rates(admin_client, make_customer, fake_engine):
    from verification.ml_engine import online_params

    customer = make_customer()
    for i in range(4):  # a stylus with pressure at 100 Hz
        r = admin_client.post(
            f"/api/customers/{customer.id}/references/",
            {"strokes": with_pressure_wave(resampled(demo_strokes("bea", i), 100.0)), "source": "pad"},
            format="json",
        )
        assert r.status_code == 202, r.content
    assert admin_client.post(f"/api/customers/{customer.id}/enrollment/", {}, format="json").status_code == 202
    params = online_params(fake_engine)
    mouse_query = mouse(resampled(demo_strokes("bea", 8), 60.0))
    stylus_query = with_pressure_wave(resampled(demo_strokes("bea", 9), 240.0))
    for strokes, pressure in ((mouse_query, False), (stylus_query, True)):
        v = _verify(admin_client, customer, strokes)
        assert v["decision_path"] == "fused" and not v["replay"]
        assert v["threshold"] == pytest.approx(params.threshold_for("fused", 4, pressure))
    if params.no_pressure_thresholds:  # the shipped table: a mouse is decided at its own point
        assert params.threshold_for("fused", 4, False) != params.threshold_for("fused", 4, True)


def test_malformed_timing_is_repaired_or_refused_never_a_500(admin_client, enrolled_customer):
    customer = enrolled_customer("writer-a")
    v = _verify(admin_client, customer, time_glitches(demo_strokes("writer-a", 23)))  # documented repair
    assert v["status"] == "done" and v["decision_path"] == "fused"
    flat = [{"points": [{**p, "time": 7} for p in s["points"]]} for s in demo_strokes("writer-a", 24)]
    v = _verify(admin_client, customer, flat)  # no real times: only the image can be judged
    assert v["status"] == "done" and v["decision_path"] == "image"
    bad = demo_strokes("writer-a", 25)
    bad[0]["points"][3]["time"] = "soon"
    r = admin_client.post("/api/verifications/", {"customer": customer.id, "strokes": bad}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_strokes"


def test_enrollment_pad_warns_about_a_sample_signed_much_slower(admin_client, make_customer):
    customer = make_customer()
    url = f"/api/customers/{customer.id}/references/"
    for i in range(3):
        r = admin_client.post(url, {"strokes": demo_strokes("ada", i), "source": "pad"}, format="json")
        assert r.status_code == 202 and r.json()["warning"] is None
    slow = [{"points": [{**p, "time": p["time"] * 5} for p in s["points"]]} for s in demo_strokes("ada", 3)]
    r = admin_client.post(url, {"strokes": slow, "source": "pad"}, format="json")
    assert r.status_code == 202
    assert "much slower" in r.json()["warning"]
    assert "much slower" in r.json()["reference"]["quality"]["pace_warning"]


def test_erasing_a_customer_erases_its_pen_dynamics_templates(admin_client, enrolled_customer):
    from verification.models import ReferenceDynamics

    customer = enrolled_customer("writer-a")
    assert ReferenceDynamics.objects.filter(reference__customer=customer).count() == 4
    r = admin_client.post(f"/api/customers/{customer.id}/erase/", {"reason": "customer request"}, format="json")
    assert r.status_code == 200, r.content
    assert not ReferenceDynamics.objects.filter(reference__customer=customer).exists()


def test_fitting_an_enrollment_caches_its_online_data_for_the_first_verification(admin_client, enrolled_customer, monkeypatch):
    """The writer's online data is fitted with the enrollment: its first pad verification only
    scores the query (``ml.online.pad.pad_fit`` is not called again), and decides as before."""
    from ml.online import pad as online_pad

    customer = enrolled_customer("writer-a")
    calls = []
    real_fit = online_pad.pad_fit
    monkeypatch.setattr(online_pad, "pad_fit", lambda *a, **k: calls.append(1) or real_fit(*a, **k))
    v = _verify(admin_client, customer, demo_strokes("writer-a", 21))
    assert v["decision_path"] == "fused" and calls == []


def test_an_enrollment_whose_online_data_cannot_be_cached_still_activates(admin_client, make_customer, monkeypatch):
    from verification import ml_engine
    from verification.models import Enrollment
    from verification.services.enrollments import enrollment_start
    from verification.services.references import reference_create

    def broken(*a, **k):
        raise RuntimeError("cache down")

    monkeypatch.setattr(ml_engine, "online_writer", broken)
    customer = make_customer()
    for i in range(4):
        reference_create(customer=customer, source="pad", strokes=demo_strokes("writer-a", i))
    enrollment_start(customer=customer)
    assert Enrollment.objects.get(customer=customer).status == Enrollment.Status.ACTIVE
    v = _verify(admin_client, customer, demo_strokes("writer-a", 21))
    assert v["decision_path"] == "fused"
