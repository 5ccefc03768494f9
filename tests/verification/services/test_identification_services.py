"""Duplicate warning at enrollment, the identification pages, and the index kept in step."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import Client

from verification import vector_store
from verification.demo import demo_strokes
from verification.models import AuditEvent, EnrollmentDuplicate, Identification, ReferenceEmbedding, WriterParams


@pytest.fixture(autouse=True)
def fresh_index():
    vector_store.vectors_forget()
    yield
    vector_store.vectors_forget()


def test_duplicate_enrollment_is_flagged_in_the_api_page_and_audit(admin_client, admin_user, enrolled_customer, fake_engine):
    fake_engine.threshold = 0.9  # the fake's same-writer scores are about 0.97, other writers' below 0.85
    first = enrolled_customer("writer-a")
    other = enrolled_customer("writer-b")
    assert not EnrollmentDuplicate.objects.exists()  # different writers: no warning
    second = enrolled_customer("writer-a")  # the same writer enrolled again under another customer
    dup = EnrollmentDuplicate.objects.get()
    assert dup.enrollment.customer_id == second.id and dup.other_customer_id == first.id and dup.score >= dup.threshold
    body = admin_client.get(f"/api/customers/{second.id}/enrollment/").json()
    assert [d["other_customer_id"] for d in body["active"]["duplicates"]] == [first.id]
    assert admin_client.get(f"/api/customers/{other.id}/enrollment/").json()["active"]["duplicates"] == []
    event = AuditEvent.objects.get(action="enrollment.duplicate_warning")
    assert event.after["matches"] == [first.id]
    web = Client()
    web.force_login(admin_user)
    page = web.get(f"/manage/customers/{second.id}/").content.decode()
    assert 'id="duplicate-warning"' in page and first.name in page
    assert 'id="duplicate-warning"' not in web.get(f"/manage/customers/{other.id}/").content.decode()


def test_enrollment_stores_per_version_embeddings_and_params(enrolled_customer):
    customer = enrolled_customer("writer-a")
    enrollment = customer.enrollments.get(status="active")
    rows = ReferenceEmbedding.objects.filter(reference__customer=customer, model_version=enrollment.model_version)
    assert rows.count() == 4
    params = WriterParams.objects.get(enrollment=enrollment)
    assert params.model_version == enrollment.model_version and params.params["n_refs"] == 4
    assert params.packed is None  # the fake engine's parameters do not pack: kept as JSON
    assert params.reference_ids == sorted(enrollment.references.values_list("id", flat=True))


def test_identify_page_runs_and_shows_candidates(analyst_user, enrolled_customer, signature_png):
    enrolled_customer("writer-a")
    web = Client()
    web.force_login(analyst_user)
    assert b"Identify" in web.get("/dashboard/").content  # the nav link
    page = web.get("/dashboard/identify/")
    assert page.status_code == 200
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("q.png", signature_png(2), content_type="image/png")
    r = web.post("/dashboard/identify/", {"image": upload, "top_k": 3, "case_reference": "K-1"})
    assert r.status_code == 302, r.content[:500]
    found = Identification.objects.get()
    assert r["Location"].endswith(f"/dashboard/identifications/{found.id}/")
    detail = web.get(r["Location"]).content.decode()
    assert 'id="outcome"' in detail and "K-1" in detail
    assert web.get(f"/signatures/identifications/{found.id}/prepared.png")["Content-Type"] == "image/png"
    bad = web.post("/dashboard/identify/", {"image": SimpleUploadedFile("x.png", b"nope"), "top_k": 3})
    assert bad.status_code == 200 and Identification.objects.count() == 1


def test_writer_params_are_stored_packed_and_read_back_with_their_references(enrolled_customer):
    """Parameters shaped like ``ml.engine.Engine.fit_writer``'s pack into a few hundred bytes
    and come back whole with the references' stored embeddings, in the order fitted."""
    from verification import embeddings
    from verification.writer_store import writer_params_read, writer_params_save

    enrollment = enrolled_customer("writer-a").enrollments.get(status="active")
    ref_ids = sorted(enrollment.references.values_list("id", flat=True), reverse=True)  # any order: it is kept
    rows = dict(ReferenceEmbedding.objects.filter(reference_id__in=ref_ids).values_list("reference_id", "vector"))
    refs = embeddings.stack([rows[r] for r in ref_ids])
    rng = np.random.default_rng(1)
    wd = {
        "n_refs": len(ref_ids),
        "references": refs.tolist(),
        "svm_w": rng.normal(size=refs.shape[1]).astype(np.float32).tolist(),
        "svm_b": -0.25,
        "self_sim": 0.8,
        "model_version": enrollment.model_version,
    }
    writer_params_save(enrollment_id=enrollment.id, model_version="next-version", reference_ids=ref_ids, params=wd)
    for ref_id in ref_ids:  # the next version's embeddings of the same references
        ReferenceEmbedding.objects.create(reference_id=ref_id, model_version="next-version", vector=rows[ref_id])
    stored = WriterParams.objects.get(enrollment=enrollment, model_version="next-version")
    assert stored.params is None and stored.packed is not None and len(stored.packed) < 400
    back = writer_params_read([stored])[enrollment.id]
    assert np.allclose(back["references"], refs / np.linalg.norm(refs, axis=1, keepdims=True), atol=1e-6)
    assert np.allclose(back["svm_w"], wd["svm_w"]) and back["svm_b"] == -0.25 and back["n_refs"] == 4
    ReferenceEmbedding.objects.filter(model_version="next-version", reference_id=ref_ids[0]).delete()
    assert writer_params_read([stored]) == {}  # a reference gone: no parameters, never wrong ones


def test_a_second_process_catches_up_through_the_change_log(admin_client, enrolled_customer):
    a = enrolled_customer("writer-a")
    mv = a.enrollments.get(status="active").model_version
    query = ReferenceEmbedding.objects.filter(reference__customer=a).first().vector
    from verification import embeddings

    q = embeddings.from_bytes(query)
    assert {c for _, c, _ in vector_store.vectors_search(model_version=mv, dim=64, query=q, k=10)} == {a.id}
    b = enrolled_customer("writer-a")  # enrolled after this process loaded its index
    assert {c for _, c, _ in vector_store.vectors_search(model_version=mv, dim=64, query=q, k=10)} == {a.id, b.id}
    assert vector_store.vectors_size(mv) == 8
    admin_client.post(f"/api/customers/{a.id}/enrollment/revoke/", {}, format="json")
    assert {c for _, c, _ in vector_store.vectors_search(model_version=mv, dim=64, query=q, k=10)} == {b.id}


def _enroll_samples(make_customer, writer: str, samples) -> object:
    from verification.services.enrollments import enrollment_start
    from verification.services.references import reference_create

    customer = make_customer()
    for i in samples:
        reference_create(customer=customer, source="pad", strokes=demo_strokes(writer, i))
    enrollment_start(customer=customer)
    return customer


def test_pad_enrollment_duplicates_are_decided_with_pen_dynamics(enrolled_customer, make_customer, fake_engine):
    """New pad samples of an enrolled writer under another customer are a duplicate by the fused
    decision (its operating point for 4 pad references is stored); another writer is not."""
    from verification.ml_engine import online_params

    first = enrolled_customer("writer-a")
    enrolled_customer("writer-b")
    second = _enroll_samples(make_customer, "writer-a", range(10, 14))
    dup = EnrollmentDuplicate.objects.get(enrollment__customer=second)
    assert dup.other_customer_id == first.id and dup.score >= dup.threshold
    assert dup.threshold == pytest.approx(online_params(fake_engine).threshold_for("fused", 4, pressure=False), abs=1e-5)
    third = _enroll_samples(make_customer, "writer-c", range(4))
    assert not EnrollmentDuplicate.objects.filter(enrollment__customer=third).exists()


def test_pad_references_replaying_another_customers_are_a_duplicate(enrolled_customer):
    """The exact strokes of another customer's references: a duplicate. A replay scores 0 against
    the customer it copies, so only the replay rule can flag it."""
    first = enrolled_customer("writer-a")
    second = enrolled_customer("writer-a")
    dup = EnrollmentDuplicate.objects.get(enrollment__customer=second)
    assert dup.other_customer_id == first.id
