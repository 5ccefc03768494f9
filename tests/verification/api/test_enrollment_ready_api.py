"""Automatic enrollment has one owner (``link_enrollment_ready``): the API tells the signing
page when its link has sent all its samples, and the no-JS upload form starts it by the same rule."""

from __future__ import annotations

from rest_framework.test import APIClient

from verification.demo import demo_strokes
from verification.models import Enrollment
from verification.selectors.enrollments import enrollment_samples_needed
from verification.services.customers import signing_token_create


def test_reference_answer_says_when_the_link_has_sent_all_samples(make_customer):
    customer = make_customer()
    token, raw = signing_token_create(customer=customer, purpose="enroll")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Signing {raw}")
    needed = enrollment_samples_needed()
    answers = []
    for i in range(needed):
        r = client.post(
            f"/api/customers/{customer.id}/references/", {"strokes": demo_strokes("w", i), "source": "pad"}, format="json"
        )
        assert r.status_code == 202, r.content
        answers.append(r.json()["enrollment_ready"])
    assert answers == [False] * (needed - 1) + [True]
    assert not Enrollment.objects.filter(customer=customer).exists()  # the API only tells; the page starts it
    page = APIClient().get(f"/sign/{raw}/")
    assert b'data-enrollment-ready="1"' in page.content


def test_admin_reference_is_never_enrollment_ready(admin_client, make_customer):
    customer = make_customer()
    r = admin_client.post(
        f"/api/customers/{customer.id}/references/", {"strokes": demo_strokes("w", 0), "source": "pad"}, format="json"
    )
    assert r.status_code == 202 and r.json()["enrollment_ready"] is False
