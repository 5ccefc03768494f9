"""Retention of document pages: a page attached to no verification is deleted after
``SIGWEB_DOCUMENT_RETENTION_DAYS`` days (0 keeps pages until their customer is erased).

Run by ``manage.py documents_retention`` and, at most hourly, by the job sweeper.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from verification.models import Document, DocumentPage
from verification.services.audit import audit_record


def documents_retention_apply(*, now: datetime | None = None) -> dict:
    """Delete the expired pages no verification points to; a document left without pages is
    marked erased. Audited as one ``document.retention`` event when anything was deleted."""
    days = int(settings.SIGWEB_DOCUMENT_RETENTION_DAYS)
    if days <= 0:
        return {"pages": 0, "documents": 0, "days": days}
    cutoff = (now or timezone.now()) - timedelta(days=days)
    with transaction.atomic():
        expired = DocumentPage.objects.filter(created_at__lt=cutoff, verification_links__isnull=True)
        page_ids = list(expired.values_list("id", flat=True))
        if not page_ids:
            return {"pages": 0, "documents": 0, "days": days}
        doc_ids = sorted(set(DocumentPage.objects.filter(id__in=page_ids).values_list("document_id", flat=True)))
        DocumentPage.objects.filter(id__in=page_ids).delete()
        emptied = list(Document.objects.filter(id__in=doc_ids, pages__isnull=True).values_list("id", flat=True))
        Document.objects.filter(id__in=emptied).update(status=Document.Status.ERASED, erased_at=timezone.now(), candidate_count=0)
        summary = {"pages": len(page_ids), "documents": len(emptied), "days": days}
        audit_record(action="document.retention", details={**summary, "document_ids": doc_ids, "cutoff": cutoff})
    return summary
