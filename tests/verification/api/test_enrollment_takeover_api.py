"""Enrollment is an admin-controlled act: a customer's signing link cannot plant or change
an enrollment (issue: enrollment takeover through a signing link)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from verification.demo import demo_strokes
from verification.models import AuditEvent, Enrollment, ReferenceSignature, SigningToken, Verification
from verification.services.customers import signing_token_authenticate, signing_token_create


def _link(customer, purpose=None, **kwargs):
    token, raw = signing_token_create(customer=customer, purpose=purpose, **kwargs)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Signing {raw}")
    return client, token


def _send(client, customer, writer, samples):
    return [
        client.post(
            f"/api/customers/{customer.id}/references/", {"strokes": demo_strokes(writer, i), "source": "pad"}, format="json"
        )
        for i in samples
    ]


def test_signing_link_cannot_plant_an_enrollment(enrolled_customer):
    """The attack: with an enrolled customer's signing link, send another person's strokes
    three times and start an enrollment. Before: 202 and the attacker's enrollment became
    active. Now: 403 at every step, nothing written, the customer's enrollment unchanged."""
    customer = enrolled_customer("victim")
    before = Enrollment.objects.get(customer=customer, status="active")
    n_refs = ReferenceSignature.objects.filter(customer=customer).count()
    client, token = _link(customer)  # the default link of an enrolled customer
    assert token.purpose == "verify"

    for r in _send(client, customer, "attacker", range(3)):
        assert r.status_code == 403, r.content
        assert r.json()["error"]["code"] == "verify_only_link"
    r = client.post(f"/api/customers/{customer.id}/enrollment/", {}, format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "verify_only_link"
    r = client.post(f"/api/customers/{customer.id}/enrollment/", {"reference_ids": [99999999999]}, format="json")
    assert r.status_code == 403

    assert ReferenceSignature.objects.filter(customer=customer).count() == n_refs
    assert list(Enrollment.objects.filter(customer=customer).values_list("id", "status")) == [(before.id, "active")]
    # the link still verifies, and the attacker's signature is still scored against the customer's
    r = client.post("/api/verifications/?wait=5", {"strokes": demo_strokes("attacker", 9)}, format="json")
    assert r.status_code == 200, r.content
    # a customer's answer carries the decision only; the database says which enrollment scored it
    assert Verification.objects.get(id=r.json()["verification"]["id"]).enrollment_id == before.id


def test_an_enroll_link_cannot_enroll_an_enrolled_customer_without_a_reenrollment(enrolled_customer):
    customer = enrolled_customer("victim")
    client, token = _link(customer, purpose="enroll")
    r = _send(client, customer, "attacker", [0])[0]
    assert r.status_code == 403 and r.json()["error"]["code"] == "enrollment_not_open"
    r = client.post(f"/api/customers/{customer.id}/enrollment/", {}, format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "enrollment_not_open"
    assert Enrollment.objects.filter(customer=customer).count() == 1


def test_a_revoked_customer_needs_a_reenrollment_too(enrolled_customer, admin_client):
    customer = enrolled_customer("victim")
    assert admin_client.post(f"/api/customers/{customer.id}/enrollment/revoke/", {}, format="json").status_code == 200
    client, token = _link(customer, purpose="enroll")
    assert _send(client, customer, "attacker", [0])[0].status_code == 403


def test_enroll_link_enrolls_a_new_customer_once(make_customer):
    customer = make_customer()
    client, token = _link(customer)  # the default link of a customer never enrolled
    assert token.purpose == "enroll"
    assert abs(token.expires_at - token.created_at - timedelta(hours=24)) < timedelta(seconds=5)
    assert all(r.status_code == 202 for r in _send(client, customer, "me", range(4)))
    assert set(ReferenceSignature.objects.filter(customer=customer).values_list("approval", flat=True)) == {"approved"}

    r = client.post(f"/api/customers/{customer.id}/enrollment/", {}, format="json")
    assert r.status_code == 202, r.content
    enrollment = Enrollment.objects.get(id=r.json()["enrollment"]["id"])
    assert enrollment.status == "active" and enrollment.references.count() == 4
    token.refresh_from_db()
    assert token.consumed_at is not None

    # single use: no second enrollment and no more references through it
    r = client.post(f"/api/customers/{customer.id}/enrollment/", {}, format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "link_used"
    assert _send(client, customer, "me", [5])[0].status_code == 403
    # ... but the customer can verify with it right after enrolling
    r = client.post("/api/verifications/?wait=5", {"strokes": demo_strokes("me", 9)}, format="json")
    assert r.status_code == 200 and r.json()["verification"]["decision"] == "accept"

    start = AuditEvent.objects.get(action="enrollment.start", customer_id_ref=customer.id)
    assert start.actor is None and start.details["signing_token"] == {"id": token.id, "prefix": token.prefix, "purpose": "enroll"}
    assert start.after["references"] == sorted(enrollment.references.values_list("id", flat=True))


def test_enroll_link_expires_after_its_ttl(make_customer, settings):
    settings.SIGWEB_ENROLL_TOKEN_TTL_HOURS = 2
    customer = make_customer()
    token, raw = signing_token_create(customer=customer)
    assert abs(token.expires_at - token.created_at - timedelta(hours=2)) < timedelta(seconds=5)
    assert signing_token_authenticate(raw=raw) is not None
    SigningToken.objects.filter(id=token.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert signing_token_authenticate(raw=raw) is None


def test_admin_chooses_the_link_purpose(admin_client, make_customer):
    customer = make_customer()
    r = admin_client.post(f"/api/customers/{customer.id}/signing-tokens/", {"purpose": "verify"}, format="json")
    assert r.status_code == 201 and r.json()["purpose"] == "verify"
    r = admin_client.post(f"/api/customers/{customer.id}/signing-tokens/", {"purpose": "sign-anything"}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid"
    listed = admin_client.get(f"/api/customers/{customer.id}/signing-tokens/").json()["results"]
    assert [t["purpose"] for t in listed] == ["verify"]
    issued = AuditEvent.objects.get(action="signing_token.create")
    assert issued.after["purpose"] == "verify" and issued.actor_username == "admin1"
    assert admin_client.delete(f"/api/customers/{customer.id}/signing-tokens/").json() == {"revoked": 1}
    revoked = AuditEvent.objects.get(action="signing_token.revoke")
    assert revoked.before == {"revoked_at": None} and revoked.after["revoked_at"] and revoked.actor_username == "admin1"


def test_reenrollment_is_opened_by_an_admin_and_its_references_wait_for_approval(enrolled_customer, admin_client, analyst_client):
    customer = enrolled_customer("old-hand", n_refs=4)
    old = Enrollment.objects.get(customer=customer, status="active")
    assert analyst_client.post(f"/api/customers/{customer.id}/enrollment/reenrollment/", {}, format="json").status_code == 403

    r = admin_client.post(f"/api/customers/{customer.id}/enrollment/reenrollment/", {"note": "new signature"}, format="json")
    assert r.status_code == 200 and r.json()["reenrollment_opened_at"]
    assert admin_client.post(f"/api/customers/{customer.id}/enrollment/reenrollment/", {}, format="json").status_code == 409
    opened = AuditEvent.objects.get(action="enrollment.reenrollment_open")
    assert opened.before == {"reenrollment_opened_at": None} and opened.after["reenrollment_opened_at"]

    client, token = _link(customer)
    assert token.purpose == "enroll"
    assert all(r.status_code == 202 for r in _send(client, customer, "new-hand", range(3)))
    new_refs = ReferenceSignature.objects.filter(customer=customer, signing_token=token)
    assert set(new_refs.values_list("approval", flat=True)) == {"pending"}

    # an admin's retrain ignores the references waiting for approval
    r = admin_client.post(f"/api/customers/{customer.id}/enrollment/", {}, format="json")
    assert r.status_code == 202
    retrained = Enrollment.objects.get(id=r.json()["enrollment"]["id"])
    assert not set(retrained.references.values_list("id", flat=True)) & set(new_refs.values_list("id", flat=True))

    # the link's own enrollment uses its references and closes the re-enrollment
    r = client.post(f"/api/customers/{customer.id}/enrollment/", {}, format="json")
    assert r.status_code == 202, r.content
    relinked = Enrollment.objects.get(id=r.json()["enrollment"]["id"])
    assert relinked.status == "active" and set(relinked.references.all()) == set(new_refs)
    customer.refresh_from_db()
    assert customer.reenrollment_opened_at is None
    old.refresh_from_db()
    assert old.status == "superseded"
    client2, token2 = _link(customer, purpose="enroll")
    assert _send(client2, customer, "anyone", [0])[0].status_code == 403


def test_admin_approves_and_rejects_references(enrolled_customer, admin_client, analyst_client):
    customer = enrolled_customer("hand", n_refs=3)
    admin_client.post(f"/api/customers/{customer.id}/enrollment/reenrollment/", {}, format="json")
    client, _ = _link(customer)
    ids = [r.json()["reference"]["id"] for r in _send(client, customer, "hand", [10, 11])]
    assert [ReferenceSignature.objects.get(id=i).approval for i in ids] == ["pending", "pending"]

    assert analyst_client.post(f"/api/references/{ids[0]}/approve/", {}, format="json").status_code == 403
    r = admin_client.post(f"/api/references/{ids[0]}/approve/", {}, format="json")
    assert r.status_code == 200 and r.json()["approval"] == "approved"
    r = admin_client.post(f"/api/references/{ids[1]}/reject/", {"note": "not the customer"}, format="json")
    assert r.status_code == 200 and r.json()["approval"] == "rejected"
    assert admin_client.post(f"/api/references/{ids[1]}/approve/", {}, format="json").status_code == 409

    r = admin_client.post(f"/api/customers/{customer.id}/enrollment/", {}, format="json")
    used = set(Enrollment.objects.get(id=r.json()["enrollment"]["id"]).references.values_list("id", flat=True))
    assert ids[0] in used and ids[1] not in used and len(used) == 4
    r = admin_client.post(f"/api/customers/{customer.id}/enrollment/", {"reference_ids": ids}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_references"

    approved = AuditEvent.objects.get(action="reference.approve")
    assert approved.before == {"approval": "pending"} and approved.after == {"approval": "approved"}
    rejected = AuditEvent.objects.get(action="reference.reject")
    assert rejected.after == {"approval": "rejected"} and rejected.details["note"] == "not the customer"


@pytest.mark.parametrize("purpose", ["verify", "enroll"])
def test_a_link_cannot_set_a_threshold(make_customer, purpose):
    customer = make_customer()
    client, _ = _link(customer, purpose=purpose)
    r = client.post(f"/api/customers/{customer.id}/enrollment/", {"threshold": 0.1}, format="json")
    assert r.status_code == 403


def test_a_link_enrollment_of_mixed_writers_is_refused_and_the_link_is_not_used_up(make_customer):
    customer = make_customer()
    client, token = _link(customer)
    for k in range(5):
        assert _send(client, customer, f"stranger-{k}", [0])[0].status_code == 202
    r = client.post(f"/api/customers/{customer.id}/enrollment/", {}, format="json")
    assert r.status_code == 422 and "new enrollment link" in r.json()["error"]["message"]
    assert "score" not in r.json()["error"] and not Enrollment.objects.exists()
    token.refresh_from_db()
    assert token.consumed_at is None
