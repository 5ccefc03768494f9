"""Inputs that used to crash the server (500) or be read as something else: each gets a 4xx
JSON error now, and nothing is written."""

import json
import time

import pytest
from django.test import Client, override_settings

from verification.demo import demo_strokes
from verification.models import Enrollment, Job, ReferenceSignature, Verification


def _counts():
    return (Verification.objects.count(), Job.objects.count(), ReferenceSignature.objects.count(), Enrollment.objects.count())


def _error(response, status, code=None):
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    return body


@pytest.mark.parametrize("value", [1e200, -1e200, 1e308])
def test_huge_stroke_coordinates_are_refused(admin_client, enrolled_customer, value):
    customer = enrolled_customer()
    before = _counts()
    strokes = [{"points": [{"x": 10, "y": 10}, {"x": value, "y": -value}, {"x": 30, "y": 40}]}]
    r = admin_client.post("/api/verifications/", {"customer": customer.id, "strokes": strokes}, format="json")
    _error(r, 400, "invalid_strokes")
    r = admin_client.post(f"/api/customers/{customer.id}/references/", {"strokes": [[[0, 0], [value, 1]]]}, format="json")
    _error(r, 400, "invalid_strokes")
    assert _counts() == before


def test_deeply_nested_strokes_are_refused(admin_client, enrolled_customer):
    customer = enrolled_customer()
    before = _counts()
    body = f'{{"customer": {customer.id}, "strokes": {"[" * 50_000}{"]" * 50_000}}}'
    r = admin_client.post("/api/verifications/", data=body, content_type="application/json")
    _error(r, 400, "malformed_request")
    r = admin_client.post(f"/api/customers/{customer.id}/references/", data=body, content_type="application/json")
    _error(r, 400, "malformed_request")
    assert _counts() == before


def test_huge_reference_id_is_a_400(admin_client, make_customer):
    customer = make_customer()
    for i in range(3):
        admin_client.post(f"/api/customers/{customer.id}/references/", {"strokes": demo_strokes("w", i)}, format="json")
    before = _counts()
    r = admin_client.post(
        f"/api/customers/{customer.id}/enrollment/",
        data='{"reference_ids": [99999999999999999999]}',
        content_type="application/json",
    )
    _error(r, 400, "invalid")
    assert _counts() == before


@pytest.mark.parametrize("raw", ["true", "{id}.9", "false", '"{id}.9"', "[{id}]", '{{"id": {id}}}', "99999999999999999999"])
def test_customer_must_be_an_integer_id(admin_client, enrolled_customer, raw):
    customer = enrolled_customer()  # int(True) or int(1.9) must not pick a customer
    before = _counts()
    body = f'{{"customer": {raw.format(id=customer.id)}, "strokes": {json.dumps(demo_strokes("writer-a", 1))}}}'
    r = admin_client.post("/api/verifications/", data=body, content_type="application/json")
    _error(r, 400, "invalid")
    assert _counts() == before


def test_integral_customer_still_works(admin_client, enrolled_customer):
    customer = enrolled_customer()
    r = admin_client.post(
        "/api/verifications/", {"customer": str(customer.id), "strokes": demo_strokes("writer-a", 1)}, format="json"
    )
    assert r.status_code in (200, 202), r.content


def test_non_uuid_job_id_is_a_json_404(admin_client):
    for path in ["/api/jobs/not-a-uuid/", "/api/jobs/12345/"]:
        _error(admin_client.get(path), 404, "not_found")


@pytest.mark.parametrize("path", ["/api/no-such-endpoint/", "/api/customers/abc/"])
def test_unknown_api_paths_are_json_404s(admin_client, path):
    _error(admin_client.get(path), 404, "not_found")


@pytest.mark.parametrize(
    "path",
    [
        "/api/verifications/flagged/?customer=18446744073709551617",
        "/api/verifications/?customer=18446744073709551617",
        "/api/verifications/?customer=-18446744073709551617",
        "/api/verifications/?min_score=1e400",
        "/api/enrollments/?customer=18446744073709551617",
        "/api/jobs/?customer=18446744073709551617",
        "/api/reviews/?verification=18446744073709551617",
        "/api/reviews/?analyst=18446744073709551617",
        "/api/audit-events/?customer=18446744073709551617",
    ],
)
def test_integer_filters_out_of_range_are_400s(admin_client, path):
    _error(admin_client.get(path), 400)


def test_a_million_stroke_points_are_refused_fast(admin_client, enrolled_customer, settings):
    customer = enrolled_customer()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024 * 1024  # the stroke cap, not the body cap, must refuse it
    before = _counts()
    points = ",".join(["[1,2]"] * 1_000_000)
    body = f'{{"customer": {customer.id}, "strokes": [[{points}]]}}'
    t0 = time.perf_counter()
    r = admin_client.post("/api/verifications/", data=body, content_type="application/json")
    elapsed = time.perf_counter() - t0
    assert r.status_code in (400, 413), r.content[:300]
    assert r.json()["error"]["code"] in ("invalid_strokes", "too_large")
    assert elapsed < 1.5, f"refusing 1M points took {elapsed:.2f}s"
    assert _counts() == before


def test_stroke_caps_are_settings(admin_client, enrolled_customer, settings):
    customer = enrolled_customer()
    settings.SIGWEB_MAX_STROKE_POINTS = 10
    r = admin_client.post(
        "/api/verifications/", {"customer": customer.id, "strokes": [[[i, i] for i in range(11)]]}, format="json"
    )
    _error(r, 400, "invalid_strokes")
    settings.SIGWEB_MAX_STROKE_POINTS = 20_000
    settings.SIGWEB_MAX_STROKES = 2
    r = admin_client.post("/api/verifications/", {"customer": customer.id, "strokes": [[[0, 0], [5, 5]]] * 3}, format="json")
    _error(r, 400, "invalid_strokes")


# ---------------------------------------------------------------- signing-link pages


@override_settings(DEBUG=True)
@pytest.mark.parametrize("path", ["/sign/not-a-real-token/", "/sign/not-a-real-token/result/5/"])
def test_invalid_signing_link_is_a_friendly_page_even_with_debug(db, path):
    r = Client().get(path)
    assert r.status_code == 404
    body = r.content.decode()
    assert "signing link" in body
    assert "sigweb.css" in body
    assert "URLconf" not in body and "Django" not in body  # not the technical 404


@override_settings(DEBUG=True)
def test_expired_signing_link_is_a_friendly_page(db, make_customer):
    from datetime import timedelta

    from django.utils import timezone

    from verification.models import SigningToken
    from verification.services.customers import signing_token_create

    token, raw = signing_token_create(customer=make_customer())
    SigningToken.objects.filter(id=token.id).update(expires_at=timezone.now() - timedelta(hours=1))
    r = Client().get(f"/sign/{raw}/")
    assert r.status_code == 404
    body = r.content.decode()
    assert "signing link" in body and "URLconf" not in body
    assert raw not in body


@override_settings(DEBUG=True)
def test_debug_error_pages_do_not_repeat_the_query_token(db, make_customer):
    from verification.services.customers import signing_token_create

    _, raw = signing_token_create(customer=make_customer())
    r = Client().get(f"/no-such-page/?token={raw}")
    assert r.status_code == 404
    assert raw not in r.content.decode()
    r = Client().get(f"/api/jobs/not-a-uuid/?token={raw}")
    assert r.status_code == 404
    assert raw not in r.content.decode()


@override_settings(DEBUG=True)
def test_debug_500_page_does_not_repeat_the_query_token(db, make_customer):
    from verification.services.customers import signing_token_create

    _, raw = signing_token_create(customer=make_customer())
    client = Client(raise_request_exception=False)
    with override_settings(ROOT_URLCONF="tests_boom_urls"):
        r = client.get(f"/boom/?token={raw}&x=1")
    assert r.status_code == 500
    body = r.content.decode()
    assert "boom for the test" in body  # it is the debug page
    assert raw not in body


def test_query_token_still_authenticates_the_api(db, enrolled_customer):
    from verification.services.customers import signing_token_create

    customer = enrolled_customer()
    _, raw = signing_token_create(customer=customer)
    r = Client().get(f"/api/me/?token={raw}")
    assert r.status_code == 200, r.content
    assert r.json()["customer"] == customer.id


@pytest.mark.parametrize("path", ["0" * 5000, "a\x00b", ""])
def test_unusable_checkpoint_paths_are_400s(admin_client, path):
    r = admin_client.post("/api/model-versions/", {"checkpoint_path": path}, format="json")
    _error(r, 400)


@pytest.mark.parametrize("method", ["post", "patch", "delete"])
def test_writes_to_unknown_api_paths_are_json_404s_not_csrf_pages(method):
    from rest_framework.test import APIClient

    r = getattr(APIClient(enforce_csrf_checks=True), method)("/api/customers/-5/")
    _error(r, 404, "not_found")
