import pytest

from verification.demo import demo_strokes
from verification.errors import DomainError
from verification.models import Enrollment, Job, ReferenceEmbedding, ReferenceSignature
from verification.selectors.enrollments import enrollment_writer_params
from verification.services.enrollments import enrollment_revoke, enrollment_start
from verification.services.references import reference_create


def test_reference_create_embeds_in_a_job(make_customer):
    customer = make_customer()
    ref, job = reference_create(customer=customer, source="pad", strokes=demo_strokes("w", 0))
    ref.refresh_from_db()
    job.refresh_from_db()
    assert job.kind == Job.Kind.EMBED_REFERENCE and job.status == Job.Status.SUCCEEDED and job.progress == 100
    assert job.queue == "short"
    assert ref.status == ReferenceSignature.Status.EMBEDDED
    assert ref.model_version.startswith("fake-")
    assert ReferenceEmbedding.objects.filter(reference=ref, model_version=ref.model_version).count() == 1
    assert ref.strokes == demo_strokes("w", 0)
    assert bytes(ref.preview_png).startswith(b"\x89PNG")


def test_reference_create_accepts_an_image(make_customer, signature_png):
    ref, job = reference_create(customer=make_customer(), source="upload", image=signature_png(1))
    ref.refresh_from_db()
    assert ref.image_content_type == "image/png" and ref.status == ReferenceSignature.Status.EMBEDDED


def test_bad_reference_writes_nothing(make_customer):
    customer = make_customer()
    with pytest.raises(DomainError) as err:
        reference_create(customer=customer, source="upload", image=b"not an image at all")
    assert err.value.code == "unreadable" and err.value.status == 400
    assert not ReferenceSignature.objects.exists() and not Job.objects.exists()


def test_enrollment_fits_and_activates(make_customer):
    customer = make_customer()
    for i in range(3):
        reference_create(customer=customer, source="pad", strokes=demo_strokes("w", i))
    enrollment, job = enrollment_start(customer=customer)
    enrollment.refresh_from_db()
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert enrollment.status == Enrollment.Status.ACTIVE
    assert enrollment_writer_params(enrollment=enrollment)[1]["n_refs"] == 3
    assert [h["status"] for h in enrollment.history] == ["pending", "active"]


def test_new_enrollment_supersedes_the_old_one(enrolled_customer):
    customer = enrolled_customer()
    first = Enrollment.objects.get(customer=customer, status="active")
    second, _ = enrollment_start(customer=customer)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Enrollment.Status.SUPERSEDED and second.status == Enrollment.Status.ACTIVE


def test_enrollment_needs_enough_references(make_customer):
    customer = make_customer()
    reference_create(customer=customer, source="pad", strokes=demo_strokes("w", 0))
    with pytest.raises(DomainError) as err:
        enrollment_start(customer=customer)
    assert err.value.code == "too_few_references"
    assert not Enrollment.objects.exists()


def test_enrollment_revoke(enrolled_customer):
    customer = enrolled_customer()
    enrollment = Enrollment.objects.get(customer=customer, status="active")
    enrollment_revoke(enrollment=enrollment, note="lost card")
    enrollment.refresh_from_db()
    assert enrollment.status == "revoked" and enrollment.history[-1]["note"] == "lost card"
    with pytest.raises(DomainError):
        enrollment_revoke(enrollment=enrollment)
