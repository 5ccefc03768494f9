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


def customers_verifiable() -> QuerySet:
    """Active customers with an active enrollment: whom a candidate can be verified against."""
    from verification.models import Customer

    return Customer.objects.filter(status=Customer.Status.ACTIVE, enrollments__status="active").order_by("name").distinct()


def box_percent(*, box: list[float], width: int, height: int) -> dict:
    """A page-pixel box as CSS percentages of the page (left, top, width, height)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    return {
        "left": round(100 * x0 / width, 3),
        "top": round(100 * y0 / height, 3),
        "width": round(100 * (x1 - x0) / width, 3),
        "height": round(100 * (y1 - y0) / height, 3),
    }
