"""One current verdict per verification: a second verdict is a 409 unless it is an audited
correction with a note (issue: a verification collected any number of conflicting verdicts)."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from verification.demo import demo_strokes
from verification.models import AuditEvent, Review
from verification.roles import ANALYSTS_GROUP
from verification.services.verifications import verification_create


def _second_analyst():
    user = User.objects.create_user("analyst2", password="pw-analyst-2")
    user.groups.add(Group.objects.get_or_create(name=ANALYSTS_GROUP)[0])
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_conflicting_verdicts_are_refused_then_corrected_with_an_audit_row(enrolled_customer, analyst_client):
    customer = enrolled_customer("writer-a")
    v = verification_create(customer=customer, strokes=demo_strokes("writer-a", 6))
    url = f"/api/verifications/{v.id}/reviews/"

    r = analyst_client.post(url, {"verdict": "genuine", "note": "matches"}, format="json")
    assert r.status_code == 201
    other = _second_analyst()
    r = other.post(url, {"verdict": "forgery"}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_reviewed"
    assert r.json()["error"]["verdict"] == "genuine"
    r = other.post(url, {"verdict": "forgery", "correction": True}, format="json")
    assert r.status_code == 400 and "note" in r.json()["error"]["message"]
    assert list(Review.objects.values_list("verdict", flat=True)) == ["genuine"]

    r = other.post(url, {"verdict": "forgery", "note": "pen lifts differ", "correction": True}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["verdict"] == "forgery" and body["analyst"] == "analyst2" and body["corrected_at"]
    review = Review.objects.get()
    assert review.verdict == "forgery" and review.note == "pen lifts differ"
    assert analyst_client.get(url).json()["count"] == 1

    created = AuditEvent.objects.get(action="review.create")
    assert created.after == {"verdict": "genuine", "note": "matches"} and created.actor_username == "analyst1"
    corrected = AuditEvent.objects.get(action="review.correct")
    assert corrected.actor_username == "analyst2" and corrected.details["verification"] == v.id
    assert (
        corrected.before["verdict"] == "genuine"
        and corrected.before["analyst"] == "analyst1"
        and corrected.before["note"] == "matches"
    )
    assert corrected.after["verdict"] == "forgery" and corrected.after["note"] == "pen lifts differ"
