"""POST /api/identifications/: ranked customers, outcomes, exclusions, permissions, audit, bad input."""

from __future__ import annotations

import pytest

from verification import vector_store
from verification.demo import demo_strokes
from verification.models import AuditEvent, Identification, VectorChange


@pytest.fixture(autouse=True)
def fresh_index():
    vector_store.vectors_forget()
    yield
    vector_store.vectors_forget()


def identify(client, writer="writer-a", sample=7, **extra):
    return client.post("/api/identifications/", {"strokes": demo_strokes(writer, sample), **extra}, format="json")


def test_ranks_the_writer_first_with_a_match(analyst_client, enrolled_customer):
    a = enrolled_customer("writer-a")
    b = enrolled_customer("writer-b")
    enrolled_customer("writer-c")
    r = identify(analyst_client, "writer-b", 8, top_k=3, case_reference="CASE-9")
    assert r.status_code == 201, r.content
    body = r.json()
    assert [c["customer"] for c in body["candidates"]][0] == b.id
    assert body["outcome"] == "match"
    scores = [c["score"] for c in body["candidates"]]
    assert scores == sorted(scores, reverse=True) and len(scores) <= 3
    assert a.id in [c["customer"] for c in body["candidates"]]
    stored = Identification.objects.get(id=body["id"])
    assert stored.case_reference == "CASE-9" and stored.candidates[0]["customer"] == b.id
    event = AuditEvent.objects.get(action="identification.run")
    assert event.after["identification"] == body["id"] and event.details["case_reference"] == "CASE-9"
    assert analyst_client.get(f"/api/identifications/{body['id']}/preview.png").content.startswith(b"\x89PNG")
    assert analyst_client.get("/api/identifications/").json()["count"] == 1


def test_no_writer_above_its_threshold_is_none(admin_client, enrolled_customer):
    from verification.models import Enrollment

    enrolled_customer("writer-a")
    enrolled_customer("writer-b")
    Enrollment.objects.filter(status="active").update(threshold=0.99)
    body = identify(admin_client, "writer-zz", 1).json()
    assert body["outcome"] == "none" and len(body["candidates"]) == 2
    assert all(c["threshold"] == 0.99 and c["score"] < 0.99 for c in body["candidates"])


def test_two_enrollments_of_one_writer_are_ambiguous(admin_client, enrolled_customer):
    enrolled_customer("writer-a")
    enrolled_customer("writer-a")
    body = identify(admin_client, "writer-a", 7).json()
    assert body["outcome"] == "ambiguous" and len(body["candidates"]) == 2


def test_revoked_and_erased_customers_never_appear(admin_client, enrolled_customer):
    a = enrolled_customer("writer-a")
    b = enrolled_customer("writer-b")
    assert identify(admin_client, "writer-a").json()["candidates"][0]["customer"] == a.id  # index loaded
    assert admin_client.post(f"/api/customers/{a.id}/enrollment/revoke/", {}, format="json").status_code == 200
    assert admin_client.post(f"/api/customers/{b.id}/erase/", {"reason": "request"}, format="json").status_code == 200
    assert VectorChange.objects.filter(op="remove").count() == 8
    for writer in ("writer-a", "writer-b"):
        body = identify(admin_client, writer).json()
        assert body["candidates"] == [] and body["outcome"] == "none"
    vector_store.vectors_forget()  # a process loading from the database sees the same
    assert identify(admin_client, "writer-b").json()["candidates"] == []


def test_permissions(anon_client, plain_user, enrolled_customer, admin_client):
    from rest_framework.test import APIClient

    customer = enrolled_customer("writer-a")
    assert identify(anon_client).status_code in (401, 403)
    plain = APIClient()
    plain.force_authenticate(plain_user)
    assert identify(plain).status_code == 403
    token = admin_client.post(f"/api/customers/{customer.id}/signing-tokens/", {}, format="json").json()["token"]
    link = APIClient()
    link.credentials(HTTP_AUTHORIZATION=f"Signing {token}")
    assert identify(link).status_code == 403
    assert link.get("/api/identifications/").status_code == 403
    assert not Identification.objects.exists()


@pytest.mark.parametrize(
    "payload, code",
    [
        ({"strokes": "nope"}, 400),
        ({}, 400),
        ({"strokes": [], "top_k": 5}, 400),
        ({"top_k": 0}, 400),
        ({"top_k": 999}, 400),
        ({"top_k": "x"}, 400),
        ({"case_reference": "x" * 200}, 400),
    ],
)
def test_bad_input_is_4xx_and_writes_nothing(admin_client, enrolled_customer, payload, code):
    enrolled_customer("writer-a")
    body = {"strokes": demo_strokes("writer-a", 1), **payload} if "strokes" not in payload and payload else payload
    r = admin_client.post("/api/identifications/", body, format="json")
    assert r.status_code == code, r.content
    assert r.json()["error"]["code"]
    assert not Identification.objects.exists() and not AuditEvent.objects.filter(action="identification.run").exists()


def test_a_document_candidate_is_identified_and_a_whole_page_refused(analyst_client, enrolled_customer):
    """A signature cut from a page (fake detector) is identified like an upload; the audit names
    the candidate. A page sent as source=document is not one signature: 400, nothing stored."""
    from document_files import named, small_page

    from job_wait import job_finished

    enrolled_customer("writer-a")
    body = analyst_client.post("/api/documents/", {"file": [named(small_page("writer-a"), "mandate.png")]}).json()
    job_finished(body["job"]["id"], timeout=30)
    (cand,) = analyst_client.get(f"/api/documents/{body['id']}/").json()["pages"][0]["candidates"]
    r = analyst_client.post("/api/identifications/", {"candidate": cand["id"], "top_k": 3}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["source"] == "document" and r.json()["outcome"] in ("match", "ambiguous", "none")
    assert AuditEvent.objects.get(action="identification.run").details["document_candidate"] == cand["id"]

    page = named(small_page("writer-a"), "page.png")
    r = analyst_client.post("/api/identifications/", {"image": page, "source": "document"}, format="multipart")
    assert r.status_code == 400 and r.json()["error"]["code"] == "use_documents"
    assert analyst_client.post("/api/identifications/", {"candidate": 999999}, format="json").status_code == 404
    assert Identification.objects.count() == 1


def test_a_pad_query_is_decided_as_a_verification_against_each_customer_would_be(admin_client, admin_user, enrolled_customer):
    """Pad customers (4 pad references) short-listed for a pad query are scored by the fused
    decision; the top candidate's score and threshold are those a verification of the same
    strokes against that customer gets. The same writer's scan is decided by the image path."""
    enrolled_customer("writer-a")
    b = enrolled_customer("writer-b")
    strokes = demo_strokes("writer-b", 9)
    body = admin_client.post("/api/identifications/", {"strokes": strokes}, format="json").json()
    assert body["candidates"] and {c["decision_path"] for c in body["candidates"]} == {"fused"}
    top = body["candidates"][0]
    assert top["customer"] == b.id
    r = admin_client.post("/api/verifications/?wait=5", {"customer": b.id, "strokes": strokes}, format="json")
    v = r.json()["verification"]
    assert v["decision_path"] == "fused"
    assert top["score"] == pytest.approx(v["score"], abs=1e-5) and top["threshold"] == pytest.approx(v["threshold"], abs=1e-5)
    assert "online_ms" in Identification.objects.get(id=body["id"]).timings
    from django.test import Client

    web = Client()
    web.force_login(admin_user)
    page = web.get(f"/dashboard/identifications/{body['id']}/").content.decode()
    assert "Decided by" in page and page.count("image and pen dynamics") == len(body["candidates"])


def test_a_scanned_query_is_decided_by_the_image_path(admin_client, enrolled_customer, signature_png):
    import io

    enrolled_customer("writer-a")
    f = io.BytesIO(signature_png(2))
    f.name = "q.png"
    body = admin_client.post("/api/identifications/", {"image": f}, format="multipart").json()
    assert body["candidates"] and {c["decision_path"] for c in body["candidates"]} == {"image"}


def test_a_replayed_reference_never_identifies_its_customer(admin_client, enrolled_customer):
    """The exact strokes of a stored reference: that customer is flagged as replayed, scores 0
    and cannot be the match."""
    a = enrolled_customer("writer-a")
    body = identify(admin_client, "writer-a", 1).json()
    (cand,) = [c for c in body["candidates"] if c["customer"] == a.id]
    assert cand["replay"] is True and cand["score"] == 0.0 and cand["score"] < cand["threshold"]
    assert body["outcome"] != "match"
    assert AuditEvent.objects.get(action="identification.run").details["replays"] == [a.id]
    event = AuditEvent.objects.get(action="identification.replay")
    assert event.customer_id_ref == a.id and event.after["identification"] == body["id"]
