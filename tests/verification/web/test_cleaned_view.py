"""The review page shows an uploaded query as received and as cleaned (the engine's cleaning)."""

from __future__ import annotations

import pytest
from django.test import Client

from verification.demo import demo_strokes
from verification.services.verifications import verification_create


@pytest.fixture
def analyst_web(analyst_user):
    client = Client()
    client.force_login(analyst_user)
    return client


def test_uploaded_query_is_shown_as_cleaned(enrolled_customer, signature_png, analyst_web):
    v = verification_create(customer=enrolled_customer("writer-a"), image=signature_png(1))
    page = analyst_web.get(f"/dashboard/verifications/{v.id}/")
    assert page.status_code == 200
    url = f"/signatures/verifications/{v.id}/cleaned.png"
    assert url.encode() in page.content and b"as cleaned" in page.content
    image = analyst_web.get(url)
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert bytes(image.content).startswith(b"\x89PNG")
    assert Client().get(url).status_code in (302, 403)  # back office only


def test_query_the_cleaner_left_alone_has_no_cleaned_view(enrolled_customer, signature_png, analyst_web):
    """The real cleaner's gate passes a clean scan unchanged (no ``quality["cleaned"]``): nothing
    was removed, so the page shows no cleaned view (whose URL would answer 404)."""
    v = verification_create(customer=enrolled_customer("writer-a"), image=signature_png(1))
    v.quality = {k: val for k, val in v.quality.items() if k != "cleaned"}
    v.save(update_fields=["quality"])
    page = analyst_web.get(f"/dashboard/verifications/{v.id}/")
    assert page.status_code == 200 and b"cleaned.png" not in page.content


def test_pad_query_has_no_cleaned_view(enrolled_customer, analyst_web):
    v = verification_create(customer=enrolled_customer("writer-b"), source="pad", strokes=demo_strokes("writer-b", 9))
    page = analyst_web.get(f"/dashboard/verifications/{v.id}/")
    assert page.status_code == 200 and b"cleaned.png" not in page.content
    assert analyst_web.get(f"/signatures/verifications/{v.id}/cleaned.png").status_code == 404
