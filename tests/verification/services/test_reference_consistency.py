"""Before an enrollment is fitted, the engine decides whether its references plausibly
come from one writer (issue: 5 samples from 5 different writers enrolled)."""

from __future__ import annotations

import pytest

from verification import ml_engine
from verification.demo import demo_strokes
from verification.errors import DomainError
from verification.models import AuditEvent, Enrollment, Job, ReferenceEmbedding, ReferenceSignature
from verification.services.enrollments import enrollment_start
from verification.services.references import reference_create


def _refs(customer, strokes):
    return [reference_create(customer=customer, source="pad", strokes=s)[0].id for s in strokes]


def test_five_writers_are_refused_at_start_with_a_clear_message(make_customer):
    customer = make_customer()
    _refs(customer, [demo_strokes(f"stranger-{k}", 0) for k in range(5)])
    with pytest.raises(DomainError) as err:
        enrollment_start(customer=customer)
    assert err.value.code == "inconsistent_references" and err.value.status == 422
    assert "do not look like one person's signature" in err.value.message
    assert err.value.extra["outlier_references"]
    assert not Enrollment.objects.exists() and not Job.objects.filter(kind="enroll").exists()


def test_five_genuine_samples_enroll(make_customer):
    customer = make_customer()
    _refs(customer, [demo_strokes("the-customer", i) for i in range(5)])
    enrollment, job = enrollment_start(customer=customer)
    enrollment.refresh_from_db()
    assert enrollment.status == "active", enrollment.error
    start = AuditEvent.objects.get(action="enrollment.start")
    assert start.details["consistency"]["consistent"] is True


def test_one_foreign_sample_among_genuine_ones_is_named(make_customer):
    customer = make_customer()
    ids = _refs(customer, [demo_strokes("the-customer", i) for i in range(4)] + [demo_strokes("someone-else", 0)])
    with pytest.raises(DomainError) as err:
        enrollment_start(customer=customer)
    assert err.value.extra["outlier_references"] == [ids[4]] and "1 of them differ" in err.value.message
    enrollment, _ = enrollment_start(customer=customer, reference_ids=ids[:4])
    enrollment.refresh_from_db()
    assert enrollment.status == "active"


def test_api_refuses_mixed_writers_with_422_json(admin_client, make_customer):
    customer = make_customer()
    for k in range(5):
        r = admin_client.post(
            f"/api/customers/{customer.id}/references/", {"strokes": demo_strokes(f"stranger-{k}", 0)}, format="json"
        )
        assert r.status_code == 202
    r = admin_client.post(f"/api/customers/{customer.id}/enrollment/", {}, format="json")
    assert r.status_code == 422
    body = r.json()["error"]
    assert body["code"] == "inconsistent_references" and "one person" in body["message"]
    assert set(body["outlier_references"]) <= {
        r["id"] for r in admin_client.get(f"/api/customers/{customer.id}/references/").json()["results"]
    }
    assert not Enrollment.objects.exists()


def test_without_ready_embeddings_the_enroll_job_fails_with_the_message(make_customer):
    """References not yet embedded with the active model: the check runs in the job."""
    customer = make_customer()
    _refs(customer, [demo_strokes(f"stranger-{k}", 0) for k in range(5)])
    ReferenceSignature.objects.filter(customer=customer).update(model_version="an-older-model")
    ReferenceEmbedding.objects.filter(reference__customer=customer).update(model_version="an-older-model")
    enrollment, job = enrollment_start(customer=customer)
    enrollment.refresh_from_db()
    job.refresh_from_db()
    assert job.status == "failed" and job.error.startswith("inconsistent_references: ")
    assert enrollment.status == "failed" and "one person" in enrollment.error
    failed = AuditEvent.objects.get(action="enrollment.fail")
    assert failed.before == {"status": "training"} and failed.after == {"status": "failed"}


def test_facade_checks_the_shape(fake_engine):
    e = fake_engine.embed([demo_strokes("w", i) for i in range(3)])
    result = ml_engine.reference_consistency(fake_engine, e)
    assert result["consistent"] is True and result["checked"] is True
    assert set(result) == {"consistent", "score", "threshold", "outliers", "checked"}
