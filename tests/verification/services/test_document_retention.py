"""Pages attached to no verification are deleted after SIGWEB_DOCUMENT_RETENTION_DAYS (audited)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone
from document_files import pdf_of, small_page

from verification.models import AuditEvent, Document, DocumentPage
from verification.services.document_retention import documents_retention_apply
from verification.services.document_uploads import UploadedDocument
from verification.services.documents import document_create
from verification.services.verifications import verification_create


def _document(*pages: bytes) -> Document:
    data = pages[0] if len(pages) == 1 else pdf_of(*pages)
    kind = "image" if len(pages) == 1 else "pdf"
    from job_wait import job_finished

    doc = document_create(files=[UploadedDocument("p", data, kind)])
    job_finished(doc.job_id, timeout=30)
    doc.refresh_from_db()
    return doc


def test_expired_pages_without_a_verification_are_deleted(settings, enrolled_customer):
    settings.SIGWEB_DOCUMENT_RETENTION_DAYS = 30
    customer = enrolled_customer("writer-a")
    unused = _document(small_page(writer=None))
    mixed = _document(small_page("writer-a", 3), small_page(writer=None, seed=4))
    candidate = DocumentPage.objects.get(document=mixed, number=1).candidates.get()
    verification_create(customer=customer, candidate=candidate)

    assert documents_retention_apply(now=timezone.now() + timedelta(days=29)) == {"pages": 0, "documents": 0, "days": 30}
    assert not AuditEvent.objects.filter(action="document.retention").exists()

    summary = documents_retention_apply(now=timezone.now() + timedelta(days=31))
    assert summary == {"pages": 2, "documents": 1, "days": 30}
    assert Document.objects.get(id=unused.id).status == Document.Status.ERASED
    assert list(DocumentPage.objects.filter(document=mixed).values_list("number", flat=True)) == [1]  # the verified page stays
    assert Document.objects.get(id=mixed.id).status == Document.Status.DONE
    event = AuditEvent.objects.get(action="document.retention")
    assert event.details["pages"] == 2 and sorted(event.details["document_ids"]) == sorted([unused.id, mixed.id])


def test_zero_days_keeps_pages_and_the_command_reports(settings, capsys):
    doc = _document(small_page())
    DocumentPage.objects.filter(document=doc).update(created_at=timezone.now() - timedelta(days=400))
    settings.SIGWEB_DOCUMENT_RETENTION_DAYS = 0
    call_command("documents_retention")
    assert DocumentPage.objects.filter(document=doc).count() == 1
    settings.SIGWEB_DOCUMENT_RETENTION_DAYS = 7
    call_command("documents_retention")
    assert "deleted 1 page(s); 1 document(s) emptied (retention 7 days)" in capsys.readouterr().out
    assert not DocumentPage.objects.filter(document=doc).exists()


def test_the_job_sweeper_applies_retention_at_most_hourly(settings, monkeypatch):
    from verification import sweeper

    doc = _document(small_page())
    DocumentPage.objects.filter(document=doc).update(created_at=timezone.now() - timedelta(days=40))
    settings.SIGWEB_DOCUMENT_RETENTION_DAYS = 30
    monkeypatch.setattr(sweeper, "_retention_at", 0.0)
    sweeper.sweep_once()
    assert not DocumentPage.objects.filter(document=doc).exists()
    later = _document(small_page(seed=1))
    DocumentPage.objects.filter(document=later).update(created_at=timezone.now() - timedelta(days=40))
    sweeper.sweep_once()  # within the hour: not again
    assert DocumentPage.objects.filter(document=later).count() == 1
