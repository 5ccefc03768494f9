"""Throttles, lockout and token expiry: what an attacker would repeat is limited, and a
customer's link shows decisions only (no scoring oracle)."""

import asyncio
from datetime import timedelta

from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from verification.demo import demo_strokes
from verification.models import Verification
from verification.services.customers import signing_token_create

PASSWORD = "pw-admin-1"


def _web_login(username, password, ip="10.0.0.1"):
    client = Client(REMOTE_ADDR=ip)
    return client, client.post("/login/", {"username": username, "password": password})


def _api_token(username, password, ip="10.0.0.1"):
    return APIClient(REMOTE_ADDR=ip).post("/api/auth/token/", {"username": username, "password": password}, format="json")


# ---------------------------------------------------------------- lockout (django-axes)


def test_web_login_locks_after_ten_failures_even_for_the_right_password(admin_user, settings):
    settings.SIGWEB_THROTTLE_RATES = {**settings.SIGWEB_THROTTLE_RATES, "login": "off"}
    for _ in range(9):
        _, r = _web_login("admin1", "wrong")
        assert r.status_code == 200  # the form again, with an error
    _, r = _web_login("admin1", "wrong")
    assert r.status_code == 429
    client, r = _web_login("admin1", PASSWORD)
    assert r.status_code == 429
    assert "_auth_user_id" not in client.session
    assert "Too many" in r.content.decode()


def test_lockout_ends_after_the_cool_off(admin_user, settings):
    from axes.models import AccessAttempt

    settings.SIGWEB_THROTTLE_RATES = {**settings.SIGWEB_THROTTLE_RATES, "login": "off"}
    for _ in range(10):
        _web_login("admin1", "wrong")
    assert _web_login("admin1", PASSWORD)[1].status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    client, r = _web_login("admin1", PASSWORD)
    assert r.status_code == 302 and "_auth_user_id" in client.session


def test_lockout_by_user_name_across_addresses(admin_user, settings):
    settings.SIGWEB_THROTTLE_RATES = {**settings.SIGWEB_THROTTLE_RATES, "login": "off", "token": "off"}
    for i in range(10):
        _web_login("admin1", "wrong", ip=f"10.0.1.{i}")
    assert _web_login("admin1", PASSWORD, ip="10.0.2.1")[1].status_code == 429
    assert _api_token("admin1", PASSWORD, ip="10.0.2.2").status_code == 429


def test_lockout_by_address_across_user_names(admin_user, settings):
    settings.SIGWEB_THROTTLE_RATES = {**settings.SIGWEB_THROTTLE_RATES, "login": "off"}
    for i in range(10):
        _web_login(f"someone{i}", "wrong", ip="10.0.3.1")
    assert _web_login("admin1", PASSWORD, ip="10.0.3.1")[1].status_code == 429
    assert _web_login("admin1", PASSWORD, ip="10.0.3.2")[1].status_code == 302


def test_token_endpoint_locks_after_ten_failures(admin_user, settings):
    settings.SIGWEB_THROTTLE_RATES = {**settings.SIGWEB_THROTTLE_RATES, "token": "off"}
    for _ in range(9):
        r = _api_token("admin1", "wrong")
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_credentials"
    r = _api_token("admin1", "wrong")
    assert r.status_code == 429
    r = _api_token("admin1", PASSWORD)
    assert r.status_code == 429, r.content
    assert r["Content-Type"].startswith("application/json")
    assert r.json()["error"]["code"] == "locked_out"
    assert not Token.objects.filter(user=admin_user).exists()


def test_lockout_limits_are_settings(admin_user, settings):
    settings.SIGWEB_THROTTLE_RATES = {**settings.SIGWEB_THROTTLE_RATES, "token": "off"}
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        _api_token("admin1", "wrong")
    assert _api_token("admin1", PASSWORD).status_code == 429


# ---------------------------------------------------------------- DRF throttles


def test_token_endpoint_is_throttled_per_address(admin_user, settings):
    settings.SIGWEB_THROTTLE_RATES = {**settings.SIGWEB_THROTTLE_RATES, "token": "3/min"}
    for _ in range(3):
        assert _api_token("admin1", PASSWORD).status_code == 200
    r = _api_token("admin1", PASSWORD)
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "throttled" and int(r["Retry-After"]) > 0
    assert _api_token("admin1", PASSWORD, ip="10.9.9.9").status_code == 200


def test_login_form_is_throttled_per_address(admin_user, settings):
    settings.SIGWEB_THROTTLE_RATES = {**settings.SIGWEB_THROTTLE_RATES, "login": "2/min"}
    assert _web_login("admin1", PASSWORD)[1].status_code == 302
    assert _web_login("admin1", PASSWORD)[1].status_code == 302
    client, r = _web_login("admin1", PASSWORD)
    assert r.status_code == 429 and "_auth_user_id" not in client.session
    assert Client(REMOTE_ADDR="10.0.0.1").get("/login/").status_code == 200  # showing the form is not a try


def test_verifications_are_throttled_per_caller(admin_client, enrolled_customer, settings):
    settings.SIGWEB_THROTTLE_RATES = {**settings.SIGWEB_THROTTLE_RATES, "verification": "2/min"}
    customer = enrolled_customer()
    body = {"customer": customer.id, "strokes": demo_strokes("writer-a", 1)}
    assert admin_client.post("/api/verifications/", body, format="json").status_code == 202
    assert admin_client.post("/api/verifications/", body, format="json").status_code == 202
    r = admin_client.post("/api/verifications/", body, format="json")
    assert r.status_code == 429 and r.json()["error"]["code"] == "throttled"
    assert Verification.objects.count() == 2
    assert admin_client.get("/api/verifications/").status_code == 200  # reading is not throttled


def test_references_are_throttled_per_customer_token(make_customer, settings):
    settings.SIGWEB_THROTTLE_RATES = {**settings.SIGWEB_THROTTLE_RATES, "reference": "2/min"}
    customer = make_customer()
    _, raw = signing_token_create(customer=customer)
    client = APIClient(HTTP_AUTHORIZATION=f"Signing {raw}")
    url = f"/api/customers/{customer.id}/references/"
    assert client.post(url, {"strokes": demo_strokes("w", 0)}, format="json").status_code == 202
    assert client.post(url, {"strokes": demo_strokes("w", 1)}, format="json").status_code == 202
    r = client.post(url, {"strokes": demo_strokes("w", 2)}, format="json")
    assert r.status_code == 429 and r.json()["error"]["code"] == "throttled"


# ---------------------------------------------------------------- per-customer hourly limit


def test_at_most_ten_verifications_per_customer_per_hour(admin_client, enrolled_customer, settings):
    assert settings.SIGWEB_CUSTOMER_VERIFICATIONS_PER_HOUR == 10
    customer, other = enrolled_customer(), enrolled_customer("writer-b")
    body = {"customer": customer.id, "strokes": demo_strokes("writer-a", 1)}
    for _ in range(10):
        assert admin_client.post("/api/verifications/", body, format="json").status_code == 202
    r = admin_client.post("/api/verifications/", body, format="json")
    assert r.status_code == 429, r.content
    err = r.json()["error"]
    assert err["code"] == "verification_limit" and "10" in err["message"]
    assert 0 < int(r["Retry-After"]) <= 3601
    assert Verification.objects.filter(customer=customer).count() == 10
    # another customer is not affected
    assert admin_client.post("/api/verifications/", {**body, "customer": other.id}, format="json").status_code == 202


def test_hourly_limit_counts_rows_from_other_processes_and_forgets_after_an_hour(admin_client, enrolled_customer, settings):
    settings.SIGWEB_CUSTOMER_VERIFICATIONS_PER_HOUR = 3
    customer = enrolled_customer()
    body = {"customer": customer.id, "strokes": demo_strokes("writer-a", 1)}
    for _ in range(3):
        Verification.objects.create(customer=customer, source="pad", channel="api")  # as another web process would
    assert admin_client.post("/api/verifications/", body, format="json").status_code == 429
    Verification.objects.filter(customer=customer).update(created_at=timezone.now() - timedelta(minutes=61))
    assert admin_client.post("/api/verifications/", body, format="json").status_code == 202


# ---------------------------------------------------------------- API token expiry


def test_api_tokens_expire_after_thirty_days(admin_user, settings):
    assert settings.SIGWEB_API_TOKEN_TTL_DAYS == 30
    r = _api_token("admin1", PASSWORD)
    assert r.status_code == 200
    key = r.json()["token"]
    client = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/me/").status_code == 200
    Token.objects.filter(key=key).update(created=timezone.now() - timedelta(days=29, hours=23))
    assert client.get("/api/me/").status_code == 200
    Token.objects.filter(key=key).update(created=timezone.now() - timedelta(days=30, minutes=1))
    r = client.get("/api/me/")
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]
    # asking again issues a new key, which works
    r = _api_token("admin1", PASSWORD)
    new_key = r.json()["token"]
    assert new_key != key
    assert APIClient(HTTP_AUTHORIZATION=f"Token {new_key}").get("/api/me/").status_code == 200


def test_expired_api_token_cannot_open_the_dashboard_socket(admin_user):
    from sigweb.asgi import application

    token = Token.objects.create(user=admin_user)
    Token.objects.filter(key=token.key).update(created=timezone.now() - timedelta(days=31))

    async def go():
        comm = WebsocketCommunicator(
            application,
            f"/ws/dashboard/?token={token.key}",
            headers=[(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")],
        )
        await comm.connect(timeout=5)
        out = await comm.receive_output(timeout=5)
        await comm.disconnect()
        return out

    out = asyncio.run(go())
    assert out["type"] == "websocket.close" and out["code"] == 4401


# ---------------------------------------------------------------- customers see decisions only

HIDDEN = ("score", "threshold", "similarities", "timings", "quality")


def _assert_no_scores(obj):
    text = repr(obj)
    for word in HIDDEN:
        assert f"'{word}'" not in text, f"{word} leaked to a customer: {text[:400]}"


def test_customer_token_sees_the_decision_only(enrolled_customer, analyst_client):
    customer = enrolled_customer()
    _, raw = signing_token_create(customer=customer)
    client = APIClient(HTTP_AUTHORIZATION=f"Signing {raw}")
    r = client.post(
        "/api/verifications/?wait=5", {"customer": customer.id, "strokes": demo_strokes("writer-a", 7)}, format="json"
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["verification"]["decision"] in ("accept", "review", "reject")
    _assert_no_scores(body)
    vid, job_id = body["verification"]["id"], body["job"]["id"]
    for path in [
        f"/api/verifications/{vid}/",
        "/api/verifications/",
        f"/api/jobs/{job_id}/",
        "/api/jobs/",
        f"/api/customers/{customer.id}/enrollment/",
    ]:
        r = client.get(path)
        assert r.status_code == 200, (path, r.content)
        _assert_no_scores(r.json())
    # the back office still sees everything
    full = analyst_client.get(f"/api/verifications/{vid}/").json()
    assert full["score"] is not None and full["threshold"] is not None and full["similarities"]
    assert analyst_client.get(f"/api/jobs/{job_id}/").json()["result"]["score"] is not None


def test_customer_socket_sees_the_decision_only(enrolled_customer, admin_user):
    from channels.db import database_sync_to_async

    from sigweb.asgi import application
    from verification.services.verifications import verification_create

    customer = enrolled_customer()
    _, raw = signing_token_create(customer=customer)
    api_token = Token.objects.create(user=admin_user).key
    headers = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]

    async def until_done(comm):
        while True:
            msg = await comm.receive_json_from(timeout=5)
            if msg["type"] == "verification" and msg["verification"]["status"] == "done":
                return msg

    async def go():
        mine = WebsocketCommunicator(application, f"/ws/customer/{customer.id}/?token={raw}", headers=headers)
        office = WebsocketCommunicator(application, f"/ws/customer/{customer.id}/?token={api_token}", headers=headers)
        assert (await mine.connect(timeout=5))[0] and (await office.connect(timeout=5))[0]
        await mine.receive_json_from(timeout=5)
        await office.receive_json_from(timeout=5)
        await database_sync_to_async(verification_create)(customer=customer, strokes=demo_strokes("writer-a", 3), source="pad")
        seen_by_customer, seen_by_office = await until_done(mine), await until_done(office)
        await mine.send_json_to({"type": "snapshot"})
        snapshot = await mine.receive_json_from(timeout=5)
        await mine.disconnect()
        await office.disconnect()
        return seen_by_customer, seen_by_office, snapshot

    seen_by_customer, seen_by_office, snapshot = asyncio.run(go())
    assert seen_by_customer["verification"]["decision"] in ("accept", "review", "reject")
    _assert_no_scores(seen_by_customer)
    _assert_no_scores(snapshot)
    assert snapshot["verifications"] and snapshot["jobs"]
    assert seen_by_office["verification"]["score"] is not None
