"""The documents page (admins and analysts): upload a page, see the signatures found on it,
pick one and a customer, verify. The page's script talks to ``/api/documents/`` and
``/api/verifications/``; the limits it shows come from settings (one owner)."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render

from verification.selectors.documents import customers_verifiable
from verification.web.access import back_office_required, page_context


@back_office_required
def documents(request):
    limits = {
        "max_files": settings.SIGWEB_DOCUMENT_MAX_FILES,
        "max_bytes": settings.SIGWEB_DOCUMENT_MAX_BYTES,
        "max_pages": settings.SIGWEB_DOCUMENT_MAX_PAGES,
    }
    return render(
        request,
        "web/documents.html",
        page_context(request, customers=customers_verifiable(), limits=limits, nav="documents"),
    )
