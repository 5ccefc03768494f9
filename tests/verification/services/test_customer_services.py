import pytest

from verification.demo import demo_strokes
from verification.errors import DomainError
from verification.models import (
    AuditEvent,
    Customer,
    Enrollment,
    ReferenceEmbedding,
    ReferenceSignature,
    Review,
    SigningToken,
    Verification,
    WriterParams,
)
from verification.selectors.enrollments import enrollment_writer_params
from verification.services.customers import (
    customer_create,
    customer_delete,
    customer_erase_biometrics,
    signing_token_authenticate,
    signing_token_create,
)
from verification.services.verifications import review_create, verification_create


def test_duplicate_external_ref_is_a_conflict(make_customer):
    make_customer(external_ref="X-1")
    with pytest.raises(DomainError) as err:
        customer_create(external_ref="X-1", name="Other")
    assert err.value.status == 409 and Customer.objects.count() == 1


def test_erasure_removes_biometrics_and_keeps_the_audit_trail(enrolled_customer, analyst_user, admin_user):
    customer = enrolled_customer()
    v = verification_create(customer=customer, strokes=demo_strokes("writer-a", 9))
    v.refresh_from_db()
    review_create(verification=v, analyst=analyst_user, verdict="genuine")
    _, raw = signing_token_create(customer=customer)

    summary = customer_erase_biometrics(customer=customer, erased_by=admin_user, reason="GDPR art. 17")

    assert summary["references"] == 4 and summary["verifications"] == 1
    customer.refresh_from_db()
    assert customer.status == Customer.Status.ERASED and customer.erased_at
    for ref in ReferenceSignature.objects.filter(customer=customer):
        assert ref.image is None and ref.strokes is None and ref.preview_png is None
        assert not ReferenceEmbedding.objects.filter(reference=ref).exists()
        assert ref.status == "erased"
    v.refresh_from_db()
    assert v.query_strokes is None and v.query_image is None and v.preview_png is None
    assert v.score is not None and v.decision  # the outcome stays, for the audit
    assert Review.objects.filter(verification=v).exists()
    enrollments = list(Enrollment.objects.filter(customer=customer))
    assert enrollments and all(e.status == "revoked" for e in enrollments)
    assert all(enrollment_writer_params(enrollment=e) == (e.model_version, None) for e in enrollments)
    assert not WriterParams.objects.filter(enrollment__customer=customer).exists()
    assert signing_token_authenticate(raw=raw) is None
    event = AuditEvent.objects.get(action="customer.erase_biometrics")
    assert event.actor == admin_user and event.customer_external_ref == customer.external_ref
    with pytest.raises(DomainError):
        verification_create(customer=customer, strokes=demo_strokes("writer-a", 1))


def test_delete_keeps_an_audit_event(enrolled_customer):
    customer = enrolled_customer()
    cid, ref = customer.id, customer.external_ref
    customer_delete(customer=customer)
    assert not Customer.objects.filter(id=cid).exists()
    assert not Verification.objects.filter(customer_id=cid).exists()
    assert AuditEvent.objects.filter(action="customer.delete", customer_id_ref=cid, customer_external_ref=ref).exists()


def test_signing_tokens_are_hashed_scoped_and_expire(make_customer):
    customer = make_customer()
    token, raw = signing_token_create(customer=customer, ttl_hours=1)
    assert raw not in token.digest and len(raw) >= 40
    assert signing_token_authenticate(raw=raw).customer_id == customer.id
    assert signing_token_authenticate(raw=raw + "x") is None
    SigningToken.objects.filter(id=token.id).update(expires_at=token.created_at)
    assert signing_token_authenticate(raw=raw) is None
