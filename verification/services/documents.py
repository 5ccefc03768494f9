"""Documents: store an upload's pages, detect and crop their signatures in a job, link a
verified candidate to its page and box, and erase a customer's documents.

An upload is read page by page inside one transaction (``document_create``): a damaged,
encrypted or oversized file anywhere in it is a 4xx and nothing is kept. Pages are stored
as JPEG; the job (``document_detect``) finds the signatures on each page, keeps the boxes
at or above ``decisions.detection_min_score`` and stores each crop as PNG. A document of
one page goes to the ``short`` queue, more pages to the ``long`` one.
"""

from __future__ import annotations

import io

import numpy as np
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from PIL import Image

from verification import ml_engine
from verification.decisions import detection_min_score
from verification.errors import DomainError
from verification.models import Customer, Document, DocumentPage, Job, SignatureCandidate, Verification, VerificationDocument
from verification.services.audit import audit_record
from verification.services.document_uploads import UploadedDocument
from verification.services.jobs import job_create, job_finishing, job_progress, job_succeed

PAGE_JPEG_QUALITY = 90
_STATUS_FOR_CODE = {"too_large": 413, "too_many_pages": 413}


def page_jpeg(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).convert("RGB").save(
        buf, format="JPEG", quality=PAGE_JPEG_QUALITY
    )
    return buf.getvalue()


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def page_image(page: DocumentPage) -> np.ndarray:
    """A stored page as HxWx3 uint8 RGB."""
    with Image.open(io.BytesIO(bytes(page.image))) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def _pages_of(file: UploadedDocument) -> list:
    try:
        return ml_engine.document_pages(file.data, name=file.name)
    except ml_engine.SignatureInputError as exc:
        code = getattr(exc, "code", "unreadable")
        raise DomainError(f"{file.name}: {exc}", code=code, status=_STATUS_FOR_CODE.get(code, 400)) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DomainError(f"{file.name}: the page has too many pixels", code="too_large", status=413) from None


def document_create(*, files: list[UploadedDocument], created_by=None) -> Document:
    """Store the pages of ``files`` (read by ``document_uploads.document_files_read``) and queue
    the detection job; one page: ``short`` queue, more: ``long``. All or nothing."""
    kind = Document.Kind.BATCH if len(files) > 1 else (Document.Kind.PDF if files[0].kind == "pdf" else Document.Kind.PAGE)
    with transaction.atomic():
        document = Document.objects.create(kind=kind, name=files[0].name[:255], file_count=len(files), created_by=created_by)
        number = 0
        for file in files:
            for page in _pages_of(file):
                number += 1
                height, width = page.image.shape[:2]
                DocumentPage.objects.create(
                    document=document,
                    number=number,
                    file_name=file.name[:255],
                    file_page=int(page.index),
                    image=page_jpeg(page.image),
                    width=width,
                    height=height,
                    dpi=float(page.dpi) if page.dpi else None,
                )
        if number == 0:
            raise DomainError("the upload holds no pages", code="empty_file")
        document.page_count = number
        job_kind = Job.Kind.DETECT_PAGE if number == 1 else Job.Kind.DETECT_BATCH
        document.job = job_create(kind=job_kind, params={"document_id": document.id}, created_by=created_by)
        document.save(update_fields=["page_count", "job", "updated_at"])
        audit_record(
            action="document.create",
            actor=created_by,
            details={"document": document.id, "kind": kind, "files": len(files), "pages": number},
        )
    return document


def document_detect(*, job: Job) -> None:
    """Detect and crop the signatures of every page not done yet (a redelivery resumes)."""
    document = Document.objects.filter(id=job.params["document_id"]).first()
    if document is None or document.status == Document.Status.ERASED:
        raise DomainError("the document was erased before its signatures were found", code="erased", status=409)
    detector = ml_engine.detector_get()
    min_score = detection_min_score()
    total = max(1, document.page_count)
    for page_id in list(document.pages.filter(detected=False).values_list("id", flat=True)):
        page = DocumentPage.objects.get(id=page_id)
        image = page_image(page)
        found = ml_engine.signatures_detect(detector, image, min_score=min_score)
        crops = [_png(detector.crop(image, d["box"])) for d in found]
        with transaction.atomic():
            locked = DocumentPage.objects.select_for_update().filter(id=page_id, detected=False).first()
            if locked is None:
                continue
            for rank, (d, crop) in enumerate(zip(found, crops, strict=True), start=1):
                SignatureCandidate.objects.create(page=locked, rank=rank, box=d["box"], score=d["score"], crop_png=crop)
            locked.detected = True
            locked.save(update_fields=["detected"])
        done = document.pages.filter(detected=True).count()
        job_progress(job=job, fraction=done / total, message=f"page {done} of {total}")
    with job_finishing(job_id=job.id) as locked_job:
        if locked_job is None:
            return
        n = SignatureCandidate.objects.filter(page__document=document).count()
        Document.objects.filter(id=document.id).update(
            status=Document.Status.DONE, candidate_count=n, detector_version=detector.version[:64], updated_at=timezone.now()
        )
        message = f"{n} signature(s) found" if n else "no signature found"
        job_succeed(job=locked_job, result={"document_id": document.id, "pages": total, "candidates": n}, message=message)


def document_detect_failed(job: Job) -> None:
    Document.objects.filter(id=job.params.get("document_id"), status=Document.Status.PENDING).update(
        status=Document.Status.FAILED, error=job.error[:2000], updated_at=timezone.now()
    )


def candidate_source(*, candidate: SignatureCandidate) -> bytes:
    """The crop a verification of ``candidate`` scores; 409 when its document is not ready."""
    document = candidate.page.document
    if document.status != Document.Status.DONE:
        raise DomainError(f"document {document.id} is {document.status}", code="document_not_ready", status=409)
    return bytes(candidate.crop_png)


def query_signature(*, candidate: SignatureCandidate | None, image, strokes, source: str, action: str) -> tuple:
    """(image, strokes, source) of the signature a verification or identification scores: a
    document's ``candidate`` is its crop; a whole page sent as ``source=document`` is refused
    (400 ``use_documents``), never scored as one signature. ``action``: "verify" or "identify"."""
    if candidate is not None:
        return candidate_source(candidate=candidate), None, "document"
    if source == "document":
        raise DomainError(
            f"a document page is not one signature: upload it to /api/documents/, then {action} one of its candidates "
            "(field 'candidate')",
            code="use_documents",
        )
    return image, strokes, source


def verification_document_link(*, verification: Verification, candidate: SignatureCandidate) -> VerificationDocument:
    """Keep the page and box a verification's signature was cut from (inside its transaction)."""
    page = candidate.page
    return VerificationDocument.objects.create(
        verification=verification,
        candidate=candidate,
        page=page,
        document_id=page.document_id,
        box=candidate.box,
        page_number=page.number,
    )


def documents_erase_for_customer(*, customer: Customer, erased_by=None, reason: str = "") -> int:
    """Delete the pages of every document one of whose signatures was verified against
    ``customer`` (with the customer's biometric data); returns the number of documents."""
    ids = list(
        Document.objects.filter(Q(verification_links__verification__customer=customer))
        .exclude(status=Document.Status.ERASED)
        .values_list("id", flat=True)
        .distinct()
    )
    if not ids:
        return 0
    with transaction.atomic():
        pages = DocumentPage.objects.filter(document_id__in=ids)
        n_pages = pages.count()
        pages.delete()
        Document.objects.filter(id__in=ids).update(status=Document.Status.ERASED, erased_at=timezone.now(), candidate_count=0)
        audit_record(
            action="document.erase",
            actor=erased_by,
            customer=customer,
            details={"documents": ids, "pages": n_pages, "reason": reason or "customer biometric data erased"},
        )
    return len(ids)
