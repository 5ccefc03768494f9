"""The documents page (back office, in the nav) and the review page's view of the page a
verified signature was cut from, with its box."""

from __future__ import annotations

from django.test import Client
from document_files import small_page

from verification.models import DocumentPage
from verification.services.document_uploads import UploadedDocument
from verification.services.documents import document_create
from verification.services.verifications import verification_create

from job_wait import job_finished


def _web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_documents_page_is_for_the_back_office(analyst_user, plain_user, enrolled_customer, make_customer, settings):
    settings.SIGWEB_DOCUMENT_MAX_PAGES = 12
    enrolled = enrolled_customer(name="Enrolled Person")
    make_customer(name="Not Enrolled")
    page = _web(analyst_user).get("/documents/")
    assert page.status_code == 200
    assert b'href="/documents/"' in page.content and b"documents.js" in page.content
    assert b"At most 12 pages per PDF" in page.content
    assert list(page.context["customers"]) == [enrolled]
    assert _web(plain_user).get("/documents/").status_code == 403
    assert Client().get("/documents/").status_code == 302


def test_review_page_shows_the_page_with_the_box(analyst_user, admin_user, enrolled_customer):
    customer = enrolled_customer("writer-a")
    doc = document_create(files=[UploadedDocument("cheque.png", small_page("writer-a", 2), "image")])
    job_finished(doc.job_id, timeout=30)
    page = DocumentPage.objects.get(document=doc)
    candidate = page.candidates.get()
    v = verification_create(customer=customer, candidate=candidate, requested_by=admin_user)
    html = _web(analyst_user).get(f"/dashboard/verifications/{v.id}/")
    assert html.status_code == 200
    x0, y0, x1, y1 = candidate.box
    box = html.context["source_doc"]["box"]
    assert box["left"] == round(100 * x0 / page.width, 3) and box["top"] == round(100 * y0 / page.height, 3)
    assert f"/api/documents/{doc.id}/pages/1/image.jpg".encode() in html.content
    assert b'id="source-box"' in html.content
    page.delete()
    html = _web(analyst_user).get(f"/dashboard/verifications/{v.id}/")
    assert b"The page was erased" in html.content
