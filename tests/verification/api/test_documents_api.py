"""POST /api/documents/: pages, PDFs and batches are cut into signature candidates by a job;
a candidate is verified against a customer and keeps its page and box (fake detector)."""

from __future__ import annotations

import pytest
from document_files import named, pdf_of, small_page, zip_of
from rest_framework.test import APIClient

from verification.models import AuditEvent, Document, DocumentPage, Job, Verification, VerificationDocument

from job_wait import job_finished


def _upload(client, *files):
    return client.post("/api/documents/", {"file": list(files)}, format="multipart")


def _done(client, body) -> dict:
    job = job_finished(body["job"]["id"], timeout=30)
    assert job.status == "succeeded", (job.status, job.error)
    return client.get(f"/api/documents/{body['id']}/").json()


def test_a_single_page_is_detected_on_the_short_queue(analyst_client):
    r = _upload(analyst_client, named(small_page(), "cheque.png"))
    assert r.status_code == 202, r.content
    body = r.json()
    assert body["kind"] == "page" and body["page_count"] == 1
    assert body["job"]["kind"] == "detect_page" and body["job"]["queue"] == "short"
    doc = _done(analyst_client, body)
    assert doc["status"] == "done" and doc["candidate_count"] == 1 and doc["detector_version"] == "fake-detector-1"
    page = doc["pages"][0]
    assert (page["width"], page["height"]) == (620, 877) and page["result"] == "1 signature(s) found"
    (cand,) = page["candidates"]
    x0, y0, x1, y1 = cand["box"]
    assert 0 <= x0 < x1 <= 620 and 500 < y0 < y1 <= 877  # the signature, not the grey print above it
    assert cand["score"] == pytest.approx(0.9)
    assert analyst_client.get(cand["crop_url"]).content.startswith(b"\x89PNG")
    assert analyst_client.get(page["image_url"]).content.startswith(b"\xff\xd8")
    assert Job.objects.get(id=body["job"]["id"]).result == {"document_id": body["id"], "pages": 1, "candidates": 1}


def test_a_page_without_a_signature_says_so(admin_client):
    doc = _done(admin_client, _upload(admin_client, named(small_page(writer=None), "letter.png")).json())
    assert doc["status"] == "done" and doc["candidate_count"] == 0
    assert doc["pages"][0]["result"] == "no signature found" and doc["pages"][0]["candidates"] == []
    assert doc["job"]["message"] == "no signature found"


def test_a_multi_page_pdf_and_a_zip_batch_go_to_the_long_queue(admin_client):
    pdf = pdf_of(small_page(sample=1), small_page(writer=None, seed=2), small_page(writer="writer-b"))
    r = _upload(admin_client, named(pdf, "mandate.pdf"))
    assert r.status_code == 202, r.content
    assert r.json()["kind"] == "pdf" and r.json()["job"]["queue"] == "long" and r.json()["page_count"] == 3
    doc = _done(admin_client, r.json())
    assert [len(p["candidates"]) for p in doc["pages"]] == [1, 0, 1]
    assert [p["file_page"] for p in doc["pages"]] == [1, 2, 3]

    batch = zip_of({"a/one.png": small_page(), "two.jpg": small_page(seed=3, writer=None), "three.pdf": pdf})
    r = _upload(admin_client, named(batch, "batch.zip"), named(small_page(sample=2), "extra.png"))
    assert r.status_code == 202, r.content
    assert r.json()["kind"] == "batch" and r.json()["file_count"] == 4 and r.json()["page_count"] == 6
    doc = _done(admin_client, r.json())
    assert doc["candidate_count"] == 4
    assert [p["file_name"] for p in doc["pages"]][:2] == ["a/one.png", "two.jpg"]


def _nothing_written(before):
    assert (Document.objects.count(), DocumentPage.objects.count(), Job.objects.count()) == before


@pytest.mark.parametrize(
    ("files", "status", "code"),
    [
        (lambda: [named(b"Dear bank,\nplease pay.\n", "letter.txt")], 415, "not_a_document"),
        (lambda: [named(b"", "empty.png")], 400, "empty_file"),
        (lambda: [named(small_page()[:3000], "cut.png")], 400, "damaged"),
        (lambda: [named(b"%PDF-1.4\n1 0 obj garbage", "broken.pdf")], 400, "damaged"),
        (lambda: [named(zip_of({"inner.zip": zip_of({"a.png": small_page()})}), "nested.zip")], 400, "nested_zip"),
        (lambda: [named(zip_of({"../../etc/page.png": small_page()}), "climb.zip")], 400, "unsafe_zip"),
        (lambda: [named(zip_of({"/abs/page.png": small_page()}), "abs.zip")], 400, "unsafe_zip"),
        (lambda: [named(b"PK\x03\x04 not really a zip", "fake.zip")], 400, "damaged_file"),
        (lambda: [named(zip_of({"ok.png": small_page(), "notes.txt": b"hello"}), "mixed.zip")], 415, "not_a_document"),
    ],
)
def test_bad_input_is_a_clear_4xx_and_nothing_is_kept(admin_client, files, status, code):
    _upload(admin_client, named(small_page(), "first.png"))  # something already there stays as it is
    before = (Document.objects.count(), DocumentPage.objects.count(), Job.objects.count())
    r = _upload(admin_client, *files())
    assert r.status_code == status, r.content
    assert r.json()["error"]["code"] == code
    _nothing_written(before)


def test_encrypted_pdf_is_refused(admin_client):
    from document_files import encrypted_pdf

    r = _upload(admin_client, named(encrypted_pdf(), "locked.pdf"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "encrypted", r.content
    _nothing_written((0, 0, 0))


def test_limits_are_settings(admin_client, settings):
    settings.SIGWEB_DOCUMENT_MAX_FILES = 2
    page = small_page()
    r = _upload(admin_client, *(named(page, f"{i}.png") for i in range(3)))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_files"
    r = _upload(admin_client, named(zip_of({f"{i}.png": page for i in range(3)}), "three.zip"))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_files"
    settings.SIGWEB_DOCUMENT_MAX_FILES = 200
    settings.SIGWEB_DOCUMENT_MAX_PAGES = 2
    r = _upload(admin_client, named(pdf_of(page, page, page), "long.pdf"))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_pages"
    settings.SIGWEB_DOCUMENT_MAX_BYTES = 1_000_000
    bomb = zip_of({"page.png": b"\x89PNG\r\n\x1a\n" + bytes(2_000_000)})  # 2 MB inflated, a few kB sent
    assert len(bomb) < 20_000
    r = _upload(admin_client, named(bomb, "bomb.zip"))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    r = _upload(admin_client, named(page + bytes(1_000_000), "big.png"))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    settings.SIGWEB_MAX_IMAGE_PIXELS = 500_000  # the page is 620x877 = 543,740 pixels
    settings.SIGWEB_DOCUMENT_MAX_BYTES = 100_000_000
    r = _upload(admin_client, named(page, "huge.png"))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    _nothing_written((0, 0, 0))


def test_customers_and_strangers_cannot_handle_documents(admin_client, anon_client, enrolled_customer, plain_user):
    from verification.services.customers import signing_token_create

    customer = enrolled_customer()
    _, token = signing_token_create(customer=customer, purpose="verify")
    as_customer = APIClient()
    as_customer.credentials(HTTP_AUTHORIZATION=f"Signing {token}")
    stranger = APIClient()
    stranger.force_authenticate(plain_user)
    doc = _done(admin_client, _upload(admin_client, named(small_page(), "p.png")).json())
    cand = doc["pages"][0]["candidates"][0]
    for client in (as_customer, stranger, anon_client):
        assert _upload(client, named(small_page(), "p.png")).status_code in (401, 403)
        assert client.get(f"/api/documents/{doc['id']}/").status_code in (401, 403)
        assert client.get(cand["crop_url"]).status_code in (401, 403)
    r = as_customer.post("/api/verifications/", {"customer": customer.id, "candidate": cand["id"]}, format="json")
    assert r.status_code == 403, r.content
    assert not VerificationDocument.objects.exists()


def test_a_candidate_is_verified_and_keeps_its_page_and_box(analyst_client, enrolled_customer):
    customer = enrolled_customer("writer-a")
    doc = _done(analyst_client, _upload(analyst_client, named(small_page("writer-a", sample=7), "cheque.png")).json())
    cand = doc["pages"][0]["candidates"][0]
    r = analyst_client.post("/api/verifications/?wait=5", {"customer": customer.id, "candidate": cand["id"]}, format="json")
    assert r.status_code == 200, r.content
    v = r.json()["verification"]
    assert v["source"] == "document" and v["status"] == "done" and v["decision"] == "accept"
    detail = analyst_client.get(f"/api/verifications/{v['id']}/").json()
    assert detail["document_source"]["box"] == cand["box"]
    assert detail["document_source"]["document"] == doc["id"] and detail["document_source"]["page_number"] == 1
    assert analyst_client.get(detail["document_source"]["page_image_url"]).content.startswith(b"\xff\xd8")
    assert bytes(Verification.objects.get(id=v["id"]).query_image).startswith(b"\x89PNG")  # the crop, not the page


def test_a_whole_page_is_never_scored_as_one_signature(admin_client, enrolled_customer):
    customer = enrolled_customer()
    before = Verification.objects.count()
    r = admin_client.post(
        "/api/verifications/", {"customer": customer.id, "image": named(small_page(), "p.png"), "source": "document"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "use_documents"
    assert "/api/documents/" in r.json()["error"]["message"]
    r = admin_client.post("/api/verifications/", {"customer": customer.id, "candidate": 999999}, format="json")
    assert r.status_code == 404
    assert Verification.objects.count() == before


def test_erasing_a_customer_erases_the_documents_verified_against_it(admin_client, enrolled_customer):
    customer, other = enrolled_customer("writer-a"), enrolled_customer("writer-b")
    doc = _done(admin_client, _upload(admin_client, named(small_page("writer-a", 5), "c.png")).json())
    kept = _done(admin_client, _upload(admin_client, named(small_page("writer-b", 5), "d.png")).json())
    for d, c in ((doc, customer), (kept, other)):
        cand = d["pages"][0]["candidates"][0]
        assert admin_client.post("/api/verifications/?wait=5", {"customer": c.id, "candidate": cand["id"]}).status_code == 200
    r = admin_client.post(f"/api/customers/{customer.id}/erase/", {"reason": "request"}, format="json")
    assert r.status_code == 200, r.content
    assert Document.objects.get(id=doc["id"]).status == "erased"
    assert not DocumentPage.objects.filter(document_id=doc["id"]).exists()
    assert DocumentPage.objects.filter(document_id=kept["id"]).count() == 1
    link = VerificationDocument.objects.get(verification__customer=customer)
    assert link.page is None and link.box == doc["pages"][0]["candidates"][0]["box"]
    event = AuditEvent.objects.get(action="document.erase")
    assert event.customer_id_ref == customer.id and event.details["documents"] == [doc["id"]]


def test_uploads_are_throttled(admin_client, settings):
    settings.SIGWEB_THROTTLE_RATES = {**settings.SIGWEB_THROTTLE_RATES, "document": "2/min"}
    for _ in range(2):
        assert _upload(admin_client, named(small_page(writer=None), "p.png")).status_code == 202
    r = _upload(admin_client, named(small_page(writer=None), "p.png"))
    assert r.status_code == 429 and r.json()["error"]["code"] == "throttled"
    assert admin_client.get("/api/documents/").json()["count"] == 2
