"""The analyst dashboard: live feed, flagged queue, verification detail and review."""

from __future__ import annotations

from datetime import datetime
from datetime import time as dtime

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from verification.errors import DomainError
from verification.roles import db_user
from verification.selectors.dashboard import (
    customer_verification_history,
    dashboard_counters,
    enrollment_references,
    enrollment_score_profile,
    verification_score_series,
)
from verification.selectors.documents import box_percent, verification_document_get
from verification.selectors.dynamics import verification_dynamics_view
from verification.selectors.queries import review_list, verification_get, verification_list_flagged
from verification.services.verifications import review_create
from verification.web.access import back_office_required, or_404, page_context
from verification.web.forms import FlaggedFilterForm, ReviewForm


@back_office_required
def dashboard(request):
    return render(
        request,
        "web/dashboard.html",
        page_context(
            request,
            counters=dashboard_counters(),
            series=verification_score_series(limit=200),
            nav="dashboard",
        ),
    )


@back_office_required
def counters(request):
    return JsonResponse(dashboard_counters())


@back_office_required
def flagged(request):
    form = FlaggedFilterForm(request.GET or None)
    filters: dict = {}
    qs_extra = Q()
    if form.is_valid():
        data = form.cleaned_data
        state = data.get("state") or "open"
        if state == "open":
            filters["reviewed"] = "false"
        elif state == "reviewed":
            filters["reviewed"] = "true"
        if data.get("decision"):
            filters["decision"] = data["decision"]
        if data.get("q"):
            qs_extra &= Q(customer__name__icontains=data["q"]) | Q(customer__external_ref__icontains=data["q"])
        if data.get("since"):
            filters["created_after"] = timezone.make_aware(datetime.combine(data["since"], dtime.min)).isoformat()
    else:
        filters["reviewed"] = "false"
    qs = verification_list_flagged(filters=filters).filter(qs_extra).select_related("customer").prefetch_related("reviews")
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "web/flagged.html",
        page_context(request, form=form, page=page, query=query.urlencode(), nav="flagged"),
    )


@back_office_required
@require_http_methods(["GET", "POST"])
def verification_detail(request, verification_id):
    verification = or_404(verification_get, verification_id=verification_id)
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            review_create(
                verification=verification,
                analyst=db_user(request.user),
                verdict=form.cleaned_data["verdict"],
                note=form.cleaned_data["note"],
                correction=form.cleaned_data["correction"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Verdict recorded: {form.cleaned_data['verdict']}.")
            return redirect("web:verification-detail", verification_id=verification.id)
    enrollment = verification.enrollment
    references = enrollment_references(enrollment=enrollment) if enrollment else []
    similarities = list(verification.similarities or [])
    ref_rows = [
        {"ref": ref, "similarity": similarities[i] if i < len(similarities) else None}
        for i, ref in enumerate(r for r in references)
    ]
    dynamics = verification_dynamics_view(verification=verification, references=references)
    # the profile is of image scores: beside a score decided on the online or fused path it would mislead
    image_decided = not dynamics or dynamics.get("decision_path") in (None, "image")
    profile = enrollment_score_profile(enrollment=enrollment) if enrollment and image_decided else None
    if profile is not None:
        profile = {
            **profile,
            "genuine_min": min(profile["genuine"], default=None),
            "genuine_max": max(profile["genuine"], default=None),
        }
    return render(
        request,
        "web/verification_detail.html",
        page_context(
            request,
            v=verification,
            customer=verification.customer,
            form=form,
            reviews=review_list(verification=verification),
            ref_rows=ref_rows,
            profile=profile,
            dynamics=dynamics,
            history=customer_verification_history(customer_id=verification.customer_id),
            series=verification_score_series(limit=100, customer_id=verification.customer_id),
            nav="flagged" if verification.flagged else "dashboard",
            source_doc=_document_source(verification),
        ),
    )


def _document_source(verification) -> dict | None:
    """The page and box a verified signature was cut from, for the review page."""
    link = verification_document_get(verification_id=verification.id)
    if link is None:
        return None
    page = link.page
    box = box_percent(box=link.box, width=page.width, height=page.height) if page is not None else None
    return {"link": link, "page": page, "box": box}
