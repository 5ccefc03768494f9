"""Anonymous callers get nothing; customers reach only their own record; analysts read and review."""

import pytest
from rest_framework.test import APIClient

from verification.demo import demo_strokes
from verification.services.customers import signing_token_create

ENDPOINTS = [
    ("get", "/api/me/"),
    ("get", "/api/customers/"),
    ("post", "/api/customers/"),
    ("get", "/api/customers/{c}/"),
    ("patch", "/api/customers/{c}/"),
    ("delete", "/api/customers/{c}/"),
    ("post", "/api/customers/{c}/erase/"),
    ("get", "/api/customers/{c}/signing-tokens/"),
    ("post", "/api/customers/{c}/signing-tokens/"),
    ("delete", "/api/customers/{c}/signing-tokens/"),
    ("get", "/api/customers/{c}/references/"),
    ("post", "/api/customers/{c}/references/"),
    ("get", "/api/customers/{c}/enrollment/"),
    ("post", "/api/customers/{c}/enrollment/"),
    ("post", "/api/customers/{c}/enrollment/revoke/"),
    ("get", "/api/references/1/preview.png"),
    ("get", "/api/enrollments/"),
    ("get", "/api/verifications/"),
    ("post", "/api/verifications/"),
    ("get", "/api/verifications/flagged/"),
    ("get", "/api/verifications/1/"),
    ("get", "/api/verifications/1/preview.png"),
    ("get", "/api/verifications/1/reviews/"),
    ("post", "/api/verifications/1/reviews/"),
    ("get", "/api/reviews/"),
    ("get", "/api/jobs/"),
    ("get", "/api/jobs/00000000-0000-0000-0000-000000000000/"),
    ("get", "/api/model-versions/"),
    ("post", "/api/model-versions/"),
    ("post", "/api/model-versions/1/activate/"),
    ("post", "/api/model-versions/train/"),
    ("get", "/api/audit-events/"),
    ("get", "/api/schema/"),
    ("get", "/api/docs/"),
]


@pytest.mark.parametrize("method,url", ENDPOINTS)
def test_anonymous_is_refused_everywhere(anon_client, make_customer, method, url):
    customer = make_customer()
    r = getattr(anon_client, method)(url.format(c=customer.id), {}, format="json")
    assert r.status_code == 401, (url, r.status_code)
    if r["Content-Type"].startswith("application/json"):
        assert r.json()["error"]["code"] == "not_authenticated"


def test_bad_credentials_are_refused(make_customer):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Signing not-a-real-token")
    assert client.get("/api/verifications/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef")
    assert client.get("/api/verifications/").status_code == 401


def test_user_without_role_is_refused(plain_user):
    client = APIClient()
    client.force_authenticate(plain_user)
    assert client.get("/api/customers/").status_code == 403
    assert client.get("/api/verifications/").status_code == 403
    assert client.get("/api/me/").status_code == 403


def test_analysts_read_and_review_but_cannot_delete_or_write(analyst_client, admin_client, enrolled_customer):
    customer = enrolled_customer()
    assert analyst_client.get("/api/customers/").status_code == 200
    assert analyst_client.get(f"/api/customers/{customer.id}/").status_code == 200
    assert analyst_client.get("/api/verifications/").status_code == 200
    assert analyst_client.get("/api/me/").json()["role"] == "analyst"
    assert analyst_client.delete(f"/api/customers/{customer.id}/").status_code == 403
    assert analyst_client.post("/api/customers/", {"external_ref": "Z", "name": "Z"}, format="json").status_code == 403
    assert analyst_client.post(f"/api/customers/{customer.id}/erase/", {}, format="json").status_code == 403
    assert (
        analyst_client.post(
            "/api/verifications/", {"customer": customer.id, "strokes": demo_strokes("writer-a", 1)}, format="json"
        ).status_code
        == 403
    )
    assert analyst_client.get("/api/audit-events/").status_code == 403
    # admins can delete
    assert admin_client.delete(f"/api/customers/{customer.id}/").status_code == 204
    assert admin_client.get(f"/api/customers/{customer.id}/").status_code == 404


def _signing_client(customer, query=False):
    _, raw = signing_token_create(customer=customer)
    client = APIClient()
    if not query:
        client.credentials(HTTP_AUTHORIZATION=f"Signing {raw}")
    return client, raw


def test_customer_token_reaches_only_its_own_record(enrolled_customer):
    mine = enrolled_customer("writer-a")
    other = enrolled_customer("writer-b")
    client, raw = _signing_client(mine)
    assert client.get("/api/me/").json() == {"role": "customer", "username": None, "customer": mine.id}
    assert client.get(f"/api/customers/{mine.id}/").status_code == 200
    assert client.get(f"/api/customers/{other.id}/").status_code == 404
    assert client.get(f"/api/customers/{other.id}/references/").status_code == 404
    assert (
        client.post(f"/api/customers/{other.id}/references/", {"strokes": demo_strokes("x", 1)}, format="json").status_code == 404
    )
    assert client.get("/api/customers/").status_code == 403
    assert client.get("/api/verifications/flagged/").status_code == 403
    assert client.delete(f"/api/customers/{mine.id}/").status_code == 403
    assert client.post(f"/api/customers/{mine.id}/signing-tokens/", {}, format="json").status_code == 403

    # its own verification, through the header and through ?token=
    r = client.post("/api/verifications/?wait=2", {"strokes": demo_strokes("writer-a", 5)}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["verification"]["customer"] == mine.id and r.json()["verification"]["channel"] == "customer"
    r = client.post("/api/verifications/", {"customer": other.id, "strokes": demo_strokes("writer-a", 5)}, format="json")
    assert r.status_code == 404
    anon = APIClient()
    r = anon.get(f"/api/verifications/?token={raw}")
    assert r.status_code == 200 and {v["customer"] for v in r.json()["results"]} == {mine.id}
    vid = r.json()["results"][0]["id"]
    other_v = APIClient()
    other_v.force_authenticate(None)
    # the other customer's verification is invisible
    client2, _ = _signing_client(other)
    assert client2.get(f"/api/verifications/{vid}/").status_code == 404
    assert client.get(f"/api/verifications/{vid}/").status_code == 200
    jobs = client.get("/api/jobs/").json()["results"]
    assert jobs and {j["customer"] for j in jobs} == {mine.id}


def test_customer_can_enroll_itself_from_its_pad(make_customer):
    customer = make_customer()
    client, _ = _signing_client(customer)
    for i in range(3):
        assert (
            client.post(
                f"/api/customers/{customer.id}/references/", {"strokes": demo_strokes("me", i)}, format="json"
            ).status_code
            == 202
        )
    r = client.post(f"/api/customers/{customer.id}/enrollment/", {}, format="json")
    assert r.status_code == 202 and r.json()["job"]["status"] == "succeeded"
    assert client.post(f"/api/customers/{customer.id}/enrollment/", {"threshold": 0.1}, format="json").status_code == 403


def test_token_login_for_back_office(admin_user):
    client = APIClient()
    r = client.post("/api/auth/token/", {"username": "admin1", "password": "pw-admin-1"}, format="json")
    assert r.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {r.json()['token']}")
    assert client.get("/api/me/").json()["role"] == "admin"


def test_admin_lists_and_revokes_signing_tokens(admin_client, make_customer):
    customer = make_customer()
    r = admin_client.post(f"/api/customers/{customer.id}/signing-tokens/", {"ttl_hours": 2}, format="json")
    assert r.status_code == 201
    raw = r.json()["token"]
    listed = admin_client.get(f"/api/customers/{customer.id}/signing-tokens/").json()["results"]
    assert len(listed) == 1 and listed[0]["prefix"] == raw[:8] and "token" not in listed[0]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Signing {raw}")
    assert client.get(f"/api/customers/{customer.id}/").status_code == 200
    assert admin_client.delete(f"/api/customers/{customer.id}/signing-tokens/").json() == {"revoked": 1}
    assert client.get(f"/api/customers/{customer.id}/").status_code == 401
