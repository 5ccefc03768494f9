import io

from verification.demo import demo_strokes
from verification.models import Customer

from job_wait import job_finished


def test_full_flow_through_the_api(admin_client, signature_png):
    r = admin_client.post(
        "/api/customers/", {"external_ref": "B-1", "name": "Bea", "consent_at": "2026-01-01T00:00:00Z"}, format="json"
    )
    assert r.status_code == 201, r.content
    cid = r.json()["id"]
    for i in range(3):
        r = admin_client.post(
            f"/api/customers/{cid}/references/", {"strokes": demo_strokes("bea", i), "source": "pad"}, format="json"
        )
        assert r.status_code == 202, r.content
        assert r.json()["job"]["kind"] == "embed_reference"
    f = io.BytesIO(signature_png(1))
    f.name = "ref.png"
    r = admin_client.post(f"/api/customers/{cid}/references/", {"image": f, "source": "document"}, format="multipart")
    assert r.status_code == 202, r.content
    ref_id = r.json()["reference"]["id"]
    assert admin_client.get(f"/api/references/{ref_id}/preview.png").content.startswith(b"\x89PNG")
    assert admin_client.get(f"/api/customers/{cid}/references/").json()["count"] == 4

    r = admin_client.post(f"/api/customers/{cid}/enrollment/", {}, format="json")
    assert r.status_code == 202, r.content
    job_id = r.json()["job"]["id"]
    assert admin_client.get(f"/api/jobs/{job_id}/").json()["status"] == "succeeded"
    status = admin_client.get(f"/api/customers/{cid}/enrollment/").json()
    assert status["active"]["status"] == "active" and len(status["active"]["references"]) == 4

    r = admin_client.post("/api/verifications/?wait=5", {"customer": cid, "strokes": demo_strokes("bea", 9)}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["verification"]["status"] == "done"
    assert body["verification"]["decision"] in {"accept", "reject", "review"}
    assert 0 <= body["verification"]["score"] <= 1
    assert body["job"]["status"] == "succeeded"
    vid = body["verification"]["id"]
    detail = admin_client.get(f"/api/verifications/{vid}/").json()
    assert detail["score"] == body["verification"]["score"] and len(detail["similarities"]) == 4
    assert admin_client.get(f"/api/verifications/{vid}/preview.png")["Content-Type"] == "image/png"

    r = admin_client.post(f"/api/customers/{cid}/enrollment/revoke/", {"note": "card lost"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    r = admin_client.post("/api/verifications/", {"customer": cid, "strokes": demo_strokes("bea", 9)}, format="json")
    assert r.status_code == 409


def test_create_without_wait_returns_the_job(admin_client, enrolled_customer):
    customer = enrolled_customer()
    r = admin_client.post("/api/verifications/", {"customer": customer.id, "strokes": demo_strokes("writer-a", 2)}, format="json")
    assert r.status_code == 202
    assert r.json()["job"]["kind"] == "verify"


def test_flagged_list_reviews_and_filters(admin_client, analyst_client, enrolled_customer):
    customer = enrolled_customer("writer-a")
    from verification.models import Enrollment

    Enrollment.objects.filter(customer=customer, status="active").update(threshold=0.99)
    for i in range(3):
        admin_client.post(
            "/api/verifications/?wait=2", {"customer": customer.id, "strokes": demo_strokes("writer-q", i)}, format="json"
        )
    flagged = analyst_client.get("/api/verifications/flagged/").json()
    assert flagged["count"] == 3 and all(v["flagged"] for v in flagged["results"])
    vid = flagged["results"][0]["id"]
    r = analyst_client.post(f"/api/verifications/{vid}/reviews/", {"verdict": "forgery", "note": "shaky"}, format="json")
    assert r.status_code == 201 and r.json()["analyst"] == "analyst1"
    assert analyst_client.get("/api/verifications/flagged/?reviewed=false").json()["count"] == 2
    assert analyst_client.get("/api/verifications/flagged/?reviewed=true").json()["count"] == 1
    assert analyst_client.get("/api/reviews/?verdict=forgery").json()["count"] == 1
    assert analyst_client.get(f"/api/verifications/?customer={customer.id}&page_size=2").json()["next"]
    assert analyst_client.get("/api/verifications/?decision=nonsense").status_code == 400
    assert analyst_client.get("/api/jobs/?kind=verify").json()["count"] == 3


def test_customer_list_search_and_pagination(admin_client, make_customer):
    for i in range(30):
        make_customer(name=f"Person {i}", external_ref=f"P-{i:03d}")
    page = admin_client.get("/api/customers/").json()
    assert page["count"] == 30 and len(page["results"]) == 25
    assert admin_client.get("/api/customers/?q=P-007").json()["count"] == 1


def test_erase_through_the_api(admin_client, enrolled_customer):
    customer = enrolled_customer()
    r = admin_client.post(f"/api/customers/{customer.id}/erase/", {"reason": "request"}, format="json")
    assert r.status_code == 200 and r.json()["customer"]["status"] == "erased"
    assert r.json()["erased"]["references"] == 4
    events = admin_client.get(f"/api/audit-events/?customer={customer.id}").json()["results"]
    assert {e["action"] for e in events} >= {"customer.erase_biometrics", "customer.create"}


def test_model_versions_and_activation_reembeds(admin_client, enrolled_customer, tmp_path):
    customer = enrolled_customer()
    versions = admin_client.get("/api/model-versions/").json()["results"]
    assert len(versions) == 1 and versions[0]["is_active"]
    ck = tmp_path / "other.pt"
    ck.write_bytes(b"fake checkpoint")
    r = admin_client.post("/api/model-versions/", {"checkpoint_path": str(ck)}, format="json")
    assert r.status_code == 201, r.content
    new = r.json()
    r = admin_client.post(f"/api/model-versions/{new['id']}/activate/", format="json")
    assert r.status_code == 202, r.content
    job = job_finished(r.json()["id"])  # a long job: a background thread in embedded mode
    assert job.kind == "reembed" and job.status == "succeeded", job.error
    assert job.result["enrollments"] == 1 and job.result["references"] == 4
    versions = {v["name"]: v for v in admin_client.get("/api/model-versions/").json()["results"]}
    assert versions[new["name"]]["is_active"] and sum(v["is_active"] for v in versions.values()) == 1
    r = admin_client.post(
        "/api/verifications/?wait=2", {"customer": customer.id, "strokes": demo_strokes("writer-a", 1)}, format="json"
    )
    assert r.json()["verification"]["model_version"] == new["name"]
    assert admin_client.post("/api/model-versions/", {"checkpoint_path": "/nope.pt"}, format="json").status_code == 400


def test_schema_and_docs_are_served_offline(admin_client):
    r = admin_client.get("/api/schema/")
    assert r.status_code == 200 and b"/api/verifications/" in r.content
    r = admin_client.get("/api/docs/")
    assert r.status_code == 200 and b"swagger-ui" in r.content
    assert b"cdn" not in r.content.lower()


def test_customer_status_is_kept(make_customer):
    assert make_customer().status == Customer.Status.ACTIVE
