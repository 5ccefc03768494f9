"""Read-only queries on documents, their pages and signature candidates (back office only)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from verification.errors import not_found
from verification.models import Document, DocumentPage, SignatureCandidate, VerificationDocument


def _as_id(value) -> int | None:
    text = str(value).strip()
    return int(text) if text.isdigit() else None


def document_list() -> QuerySet:
    return Document.objects.select_related("job")


def document_get(*, document_id) -> Document:
    pages = DocumentPage.objects.defer("image").prefetch_related(
        Prefetch("candidates", queryset=SignatureCandidate.objects.defer("crop_png"))
    )
    doc_id = _as_id(document_id)
    document = (
        Document.objects.select_related("job").prefetch_related(Prefetch("pages", queryset=pages)).filter(id=doc_id).first()
        if doc_id is not None
        else None
    )
    if document is None:
        raise not_found("document")
    return document


def document_page_get(*, document_id, number) -> DocumentPage:
    doc_id, n = _as_id(document_id), _as_id(number)
    page = DocumentPage.objects.filter(document_id=doc_id, number=n).first() if doc_id and n else None
    if page is None:
        raise not_found("page")
    return page


def candidate_get(*, candidate_id) -> SignatureCandidate:
    cid = _as_id(candidate_id)
    candidate = SignatureCandidate.objects.select_related("page__document").filter(id=cid).first() if cid else None
    if candidate is None:
        raise not_found("candidate")
    return candidate


def verification_document_get(*, verification_id: int) -> VerificationDocument | None:
    """Where a verification's signature was cut from (page and box), or None."""
    return VerificationDocument.objects.select_related("page").filter(verification_id=verification_id).first()
