"""The pages follow the same rules as the API: link purposes on the signing page, and the
admin's link, re-enrollment and approval buttons on the customer page."""

from __future__ import annotations

import pytest
from django.test import Client

from verification.demo import demo_strokes
from verification.models import AuditEvent, ReferenceSignature, SigningToken
from verification.services.customers import signing_token_create
from verification.services.enrollments import reenrollment_open
from verification.services.references import reference_create


@pytest.fixture
def admin_web(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def test_verify_link_of_a_customer_not_enrolled_offers_no_pad(make_customer, signature_png):
    customer = make_customer()
    _, raw = signing_token_create(customer=customer, purpose="verify")
    page = Client().get(f"/sign/{raw}/")
    assert page.status_code == 200 and page.context["mode"] == "closed"
    assert b"not enrolled yet" in page.content and b"sign.js" not in page.content
    upload = Client().post(f"/sign/{raw}/upload/", {"image": _file(signature_png(1))})
    assert upload.status_code == 403 and b"can only verify" in upload.content
    assert not ReferenceSignature.objects.exists()


def test_enroll_link_page_enrolls_then_verifies(make_customer):
    customer = make_customer()
    token, raw = signing_token_create(customer=customer)
    page = Client().get(f"/sign/{raw}/")
    assert page.context["mode"] == "enroll" and page.context["samples_collected"] == 0
    for i in range(5):
        reference_create(customer=customer, source="pad", strokes=demo_strokes("page-writer", i), signing_token=token)
    assert Client().get(f"/sign/{raw}/").context["samples_collected"] == 5
    from verification.services.enrollments import enrollment_start

    enrollment_start(customer=customer, signing_token=token)
    assert Client().get(f"/sign/{raw}/").context["mode"] == "verify"


def test_no_js_upload_through_a_verify_link_verifies_and_adds_no_reference(enrolled_customer, signature_png):
    customer = enrolled_customer("writer-a")
    n_refs = ReferenceSignature.objects.filter(customer=customer).count()
    _, raw = signing_token_create(customer=customer)
    response = Client().post(f"/sign/{raw}/upload/", {"image": _file(signature_png(1))})
    assert response.status_code == 302 and "/result/" in response["Location"]
    assert ReferenceSignature.objects.filter(customer=customer).count() == n_refs


def _file(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("scan.png", data, content_type="image/png")


def test_admin_page_makes_links_by_purpose_and_opens_a_reenrollment(admin_web, enrolled_customer):
    customer = enrolled_customer("writer-a")
    page = admin_web.get(f"/manage/customers/{customer.id}/")
    assert page.context["link_default"] == "verify" and b"Open re-enrollment" in page.content

    admin_web.post(f"/manage/customers/{customer.id}/signing-link/", {"purpose": "enroll"})
    page = admin_web.get(f"/manage/customers/{customer.id}/")
    assert page.context["signing_link"]["purpose"] == "enroll"
    assert SigningToken.objects.get(customer=customer).purpose == "enroll"

    response = admin_web.post(f"/manage/customers/{customer.id}/reenrollment/")
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.reenrollment_opened_at is not None
    assert AuditEvent.objects.get(action="enrollment.reenrollment_open").actor_username == "admin1"
    page = admin_web.get(f"/manage/customers/{customer.id}/")
    assert page.context["link_default"] == "enroll" and b"Open re-enrollment" not in page.content


def test_admin_page_approves_and_rejects_pending_references(admin_web, enrolled_customer, admin_user):
    customer = enrolled_customer("writer-a")
    reenrollment_open(customer=customer, opened_by=admin_user)
    token, _ = signing_token_create(customer=customer)
    first, _ = reference_create(customer=customer, source="pad", strokes=demo_strokes("writer-a", 20), signing_token=token)
    second, _ = reference_create(customer=customer, source="pad", strokes=demo_strokes("writer-a", 21), signing_token=token)
    page = admin_web.get(f"/manage/customers/{customer.id}/")
    assert page.content.count(b'data-approval="pending"') == 2
    assert f"customer's enroll link {token.prefix}".encode() in page.content  # who sent them, in the audit trail
    admin_web.post(f"/manage/customers/{customer.id}/references/{first.id}/approve/")
    admin_web.post(f"/manage/customers/{customer.id}/references/{second.id}/reject/")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.approval, second.approval) == ("approved", "rejected")
    other = enrolled_customer("writer-b")
    assert admin_web.post(f"/manage/customers/{other.id}/references/{first.id}/approve/").status_code == 404


def test_customer_page_offers_the_models_operating_point_for_the_enrollments_reference_count(
    admin_web, enrolled_customer, fake_engine, monkeypatch
):
    """The model decides each enrollment at the operating point of its reference count, so the
    threshold the admin page calls "the model's" is that one, not the 5-reference default."""
    monkeypatch.setattr(fake_engine, "threshold_for", lambda n_refs: 0.5 + n_refs / 100)
    customer = enrolled_customer("writer-a")
    n_refs = ReferenceSignature.objects.filter(customer=customer, status=ReferenceSignature.Status.EMBEDDED).count()
    page = admin_web.get(f"/manage/customers/{customer.id}/")
    assert page.context["model_threshold"] == pytest.approx(0.5 + n_refs / 100)
    assert f"Use the model's ({0.5 + n_refs / 100:.3f})" in page.content.decode()


def test_customer_page_says_how_pad_signatures_are_decided(
    admin_web, enrolled_customer, fake_engine, make_customer, signature_png
):
    """An enrollment of 4 timed pad references: pad queries go the fused path at its 2-4 point,
    and a customer's own threshold replaces it; scanned references only: no pad line."""
    from verification.ml_engine import online_params
    from verification.services.enrollments import enrollment_start
    from verification.services.references import reference_create

    customer = enrolled_customer("writer-a")
    point = online_params(fake_engine).threshold_for("fused", 4)
    no_pressure = online_params(fake_engine).threshold_for("fused", 4, pressure=False)
    page = admin_web.get(f"/manage/customers/{customer.id}/")
    assert page.context["pad_point"] == {
        "pad_references": 4,
        "path": "fused",
        "threshold": pytest.approx(point),
        "threshold_no_pressure": pytest.approx(no_pressure),
    }
    html = page.content.decode()
    assert f"against the 4 pad references, at <strong>{point:.3f}</strong>" in html
    if no_pressure != point:  # a mouse or a finger is decided at its own point
        assert f"<strong>{no_pressure:.3f}</strong> without (a mouse, a finger) (model)" in html
    else:
        assert f"at <strong>{point:.3f}</strong> (model)" in html
    active = customer.enrollments.get(status="active")
    active.threshold = 0.9
    active.save(update_fields=["threshold"])
    page = admin_web.get(f"/manage/customers/{customer.id}/")
    assert "at <strong>0.900</strong> (customer)" in page.content.decode()

    scanned = make_customer(external_ref="SCAN-1")
    for i in range(4):
        reference_create(customer=scanned, source="upload", image=signature_png(i))
    enrollment_start(customer=scanned)
    page = admin_web.get(f"/manage/customers/{scanned.id}/")
    assert page.context["pad_point"] is None and 'id="pad-point"' not in page.content.decode()
