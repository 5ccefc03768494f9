"""The analysts' identification page: upload a signature, see who among the customers wrote it."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from verification.errors import DomainError
from verification.roles import db_user
from verification.selectors.identifications import identification_candidate_rows, identification_get, identification_list
from verification.services.identifications import identification_run
from verification.services.signatures import upload_read
from verification.web.access import back_office_required, or_404, page_context
from verification.web.forms import IdentifyForm
from verification.web.views.images import _png


@back_office_required
@require_http_methods(["GET", "POST"])
def identify(request):
    form = IdentifyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            identification = identification_run(
                image=upload_read(form.cleaned_data["image"]),
                source="upload",
                top_k=form.cleaned_data["top_k"],
                case_reference=form.cleaned_data["case_reference"],
                requested_by=db_user(request.user),
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            return redirect("web:identification", identification_id=identification.id)
    return render(
        request, "web/identify.html", page_context(request, form=form, recent=identification_list()[:25], nav="identify")
    )


@back_office_required
def identification(request, identification_id):
    found = or_404(identification_get, identification_id=identification_id)
    return render(
        request,
        "web/identification.html",
        page_context(request, i=found, rows=identification_candidate_rows(identification=found, limit=3), nav="identify"),
    )


@back_office_required
def identification_prepared(request, identification_id):
    return _png(or_404(identification_get, identification_id=identification_id).preview_png)
