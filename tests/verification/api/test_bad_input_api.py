"""Every kind of bad input gets a clear 4xx JSON error and leaves nothing half-written."""

import io
import json
import struct
import zlib

import pytest

from verification.demo import demo_strokes
from verification.models import Job, ReferenceSignature, Verification


def png_bomb(width: int, height: int) -> bytes:
    """A PNG whose header declares a huge 1-bit image; its data is a short run of zero rows."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * ((width + 7) // 8 + 1) * 64, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


@pytest.fixture
def counts():
    def snapshot():
        return (Verification.objects.count(), Job.objects.count(), ReferenceSignature.objects.count())

    return snapshot


def _error(response, status, code=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    return body


def test_malformed_json(admin_client, enrolled_customer, counts):
    enrolled_customer()
    before = counts()
    r = admin_client.post("/api/verifications/", data='{"customer": 1, "strokes": [', content_type="application/json")
    _error(r, 400, "malformed_request")
    assert counts() == before


def test_wrong_content_type(admin_client, enrolled_customer, counts):
    customer = enrolled_customer()
    before = counts()
    r = admin_client.post("/api/verifications/", data="customer=1", content_type="text/plain")
    _error(r, 415, "unsupported_media_type")
    r = admin_client.post(
        f"/api/customers/{customer.id}/references/", data="a=b", content_type="application/x-www-form-urlencoded"
    )
    _error(r, 415, "unsupported_media_type")
    assert counts() == before


def test_non_image_upload(admin_client, enrolled_customer, counts):
    customer = enrolled_customer()
    before = counts()
    f = io.BytesIO(b"%PDF-1.4 this is not an image")
    f.name = "sig.png"
    r = admin_client.post("/api/verifications/", {"customer": customer.id, "image": f}, format="multipart")
    _error(r, 400, "unreadable")
    assert counts() == before


def test_truncated_image(admin_client, enrolled_customer, counts, signature_png):
    customer = enrolled_customer()
    before = counts()
    data = signature_png(2)
    f = io.BytesIO(data[: len(data) // 2])
    f.name = "sig.png"
    r = admin_client.post("/api/verifications/", {"customer": customer.id, "image": f}, format="multipart")
    _error(r, 400, "unreadable")
    f = io.BytesIO(data[: len(data) // 2])
    f.name = "sig.png"
    r = admin_client.post(f"/api/customers/{customer.id}/references/", {"image": f}, format="multipart")
    _error(r, 400, "unreadable")
    assert counts() == before


def test_decompression_bomb(admin_client, enrolled_customer, counts):
    customer = enrolled_customer()
    before = counts()
    f = io.BytesIO(png_bomb(30000, 30000))  # 900 Mpx declared in a few bytes
    f.name = "bomb.png"
    r = admin_client.post("/api/verifications/", {"customer": customer.id, "image": f}, format="multipart")
    _error(r, 413, "too_large")
    assert counts() == before


def test_oversize_upload(admin_client, enrolled_customer, counts, settings):
    customer = enrolled_customer()
    settings.SIGWEB_MAX_UPLOAD_BYTES = 10_000
    before = counts()
    f = io.BytesIO(b"\x89PNG" + b"0" * 20_000)
    f.name = "big.png"
    r = admin_client.post("/api/verifications/", {"customer": customer.id, "image": f}, format="multipart")
    _error(r, 413, "too_large")
    assert counts() == before


def test_request_body_over_the_limit(admin_client, enrolled_customer, counts, settings):
    customer = enrolled_customer()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    before = counts()
    body = json.dumps({"customer": customer.id, "strokes": demo_strokes("writer-a", 1)})
    r = admin_client.post("/api/verifications/", data=body, content_type="application/json")
    _error(r, 413, "too_large")
    assert counts() == before


@pytest.mark.parametrize(
    "strokes",
    [
        "a string",
        {"points": []},
        [1, 2, 3],
        [{"points": [{"x": "left", "y": 3}]}],
        [{"no_points": []}],
        [[{"x": 1, "y": 2}]],  # a list of points, but far too few
        [],
    ],
)
def test_strokes_that_are_not_lists_of_points(admin_client, enrolled_customer, counts, strokes):
    customer = enrolled_customer()
    before = counts()
    r = admin_client.post("/api/verifications/", {"customer": customer.id, "strokes": strokes}, format="json")
    _error(r, 400)
    r = admin_client.post(f"/api/customers/{customer.id}/references/", {"strokes": strokes}, format="json")
    _error(r, 400)
    assert counts() == before


def test_unknown_customer(admin_client, counts):
    before = counts()
    r = admin_client.post("/api/verifications/", {"customer": 999999, "strokes": demo_strokes("a", 1)}, format="json")
    _error(r, 404, "not_found")
    r = admin_client.post("/api/customers/999999/references/", {"strokes": demo_strokes("a", 1)}, format="json")
    _error(r, 404, "not_found")
    _error(admin_client.get("/api/customers/999999/"), 404, "not_found")
    assert counts() == before


def test_no_active_enrollment(admin_client, make_customer, counts):
    customer = make_customer()
    before = counts()
    r = admin_client.post("/api/verifications/", {"customer": customer.id, "strokes": demo_strokes("a", 1)}, format="json")
    _error(r, 409, "no_active_enrollment")
    assert counts() == before


def test_neither_image_nor_strokes(admin_client, enrolled_customer):
    customer = enrolled_customer()
    _error(admin_client.post("/api/verifications/", {"customer": customer.id}, format="json"), 400, "invalid")
    _error(admin_client.post("/api/verifications/", [1, 2], format="json"), 400)


def test_bad_wait_parameter(admin_client, enrolled_customer):
    customer = enrolled_customer()
    r = admin_client.post(
        "/api/verifications/?wait=soon", {"customer": customer.id, "strokes": demo_strokes("writer-a", 1)}, format="json"
    )
    _error(r, 400, "invalid")


@pytest.mark.parametrize("path", ["/api/audit-events/", "/api/audit-events/export.csv", "/api/verifications/"])
@pytest.mark.parametrize("moment", ["0628-01-21T08:28:12.97-20:54", "2026-01-01T00:00:00+15:00"])
def test_date_time_bound_with_an_impossible_offset_is_a_400(admin_client, path, moment):
    """An offset wider than any time zone (PostgreSQL refuses it) is the caller's error."""
    r = admin_client.get(path, {"created_before": moment})
    assert r.status_code == 400, r.content


def test_date_time_bound_in_another_time_zone_is_compared_in_utc(admin_client, enrolled_customer):
    enrolled_customer("writer-tz")
    after_all = admin_client.get("/api/audit-events/", {"created_after": "2999-01-01T09:00:00+09:00"})
    before_all = admin_client.get("/api/audit-events/", {"created_before": "2999-01-01T09:00:00+09:00"})
    assert after_all.status_code == before_all.status_code == 200
    assert after_all.json()["count"] == 0 and before_all.json()["count"] > 0
