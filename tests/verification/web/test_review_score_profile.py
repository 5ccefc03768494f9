"""The review page's score chart sets a score against the customer's genuine and impostor
image scores: shown when the image path decided, left out when pen dynamics decided (a fused
score on that axis would mislead the analyst)."""

import io

import pytest
from django.test import Client
from pad_strokes import demo_strokes


@pytest.fixture
def analyst_web(analyst_user):
    client = Client()
    client.force_login(analyst_user)
    return client


def _verify(client, customer, **signature):
    r = client.post("/api/verifications/?wait=5", {"customer": customer.id, **signature}, format="multipart")
    assert r.status_code == 200, r.content
    return r.json()["verification"]


def test_score_chart_only_beside_an_image_decided_score(admin_client, analyst_web, enrolled_customer, signature_png):
    customer = enrolled_customer("writer-a")
    image = io.BytesIO(signature_png(2))
    image.name = "q.png"
    scanned = _verify(admin_client, customer, image=image)
    assert scanned["decision_path"] == "image"
    page = analyst_web.get(f"/dashboard/verifications/{scanned['id']}/").content.decode()
    assert 'id="range-chart"' in page

    r = admin_client.post(
        "/api/verifications/?wait=5", {"customer": customer.id, "strokes": demo_strokes("writer-a", 21)}, format="json"
    )
    padded = r.json()["verification"]
    assert padded["decision_path"] == "fused"
    page = analyst_web.get(f"/dashboard/verifications/{padded['id']}/").content.decode()
    assert 'id="range-chart"' not in page and 'id="decision-path">fused' in page
