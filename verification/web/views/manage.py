"""Enrollment management for admins: customers, references, enrollment actions, jobs, models."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from verification.decisions import pad_operating_points
from verification.errors import DomainError
from verification.models import AuditEvent, Customer, Job, SigningToken
from verification.roles import db_user
from verification.selectors.dashboard import enrollment_pad_point, enrollment_score_profile
from verification.selectors.enrollments import enrollment_get_active, enrollment_get_latest, enrollment_open_to_links
from verification.selectors.identifications import enrollment_duplicate_list
from verification.selectors.queries import (
    customer_get,
    customer_list,
    job_list,
    model_version_get,
    model_version_list,
    reference_get,
    reference_list,
    verification_list,
)
from verification.services.customers import customer_create, customer_erase_biometrics, signing_token_create
from verification.services.enrollments import enrollment_revoke, enrollment_start, reenrollment_open
from verification.services.model_versions import model_version_activate, model_version_active
from verification.services.references import reference_approve, reference_reject
from verification.services.thresholds import enrollment_threshold_set
from verification.web.access import admin_required, or_404, page_context
from verification.web.forms import CustomerCreateForm, EraseForm, ThresholdForm


def _domain_action(request, fn, success: str, **kwargs):
    try:
        result = fn(**kwargs)
    except DomainError as exc:
        messages.error(request, exc.message)
        return None
    messages.success(request, success)
    return result


@admin_required
def customers(request):
    form = CustomerCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        customer = _domain_action(
            request,
            customer_create,
            f"Customer {form.cleaned_data['name']} created.",
            external_ref=form.cleaned_data["external_ref"],
            name=form.cleaned_data["name"],
            consent_at=timezone.now(),
            created_by=db_user(request.user),
        )
        if customer is not None:
            return redirect("web:customer", customer_id=customer.id)
    q = request.GET.get("q", "")
    status = request.GET.get("status", "")
    qs = customer_list(filters={k: v for k, v in {"q": q, "status": status}.items() if v}).prefetch_related("enrollments")
    page = Paginator(qs, 20).get_page(request.GET.get("page"))
    rows = []
    for c in page:
        enrollments = list(c.enrollments.all())
        active = next((e for e in enrollments if e.status == "active"), None)
        rows.append({"customer": c, "active": active, "latest": enrollments[0] if enrollments else None})
    return render(
        request,
        "web/customers.html",
        page_context(
            request, form=form, page=page, rows=rows, q=q, status=status, statuses=Customer.Status.choices, nav="customers"
        ),
    )


@admin_required
def customer(request, customer_id):
    c = or_404(customer_get, customer_id=customer_id)
    active = enrollment_get_active(customer=c)
    latest = enrollment_get_latest(customer=c)
    profile = enrollment_score_profile(enrollment=active) if active else None
    mv = model_version_active()
    link_may_enroll = enrollment_open_to_links(customer=c)
    return render(
        request,
        "web/customer.html",
        page_context(
            request,
            customer=c,
            active=active,
            latest=latest,
            references=reference_list(customer=c),
            profile=profile,
            pad_point=enrollment_pad_point(enrollment=active) if active else None,
            # the model's operating point for this enrollment's reference count, where it has a profile
            model_threshold=profile["model_threshold"] if profile else mv.threshold,
            threshold_form=ThresholdForm(
                initial={"threshold": active.threshold if active and active.threshold is not None else None}
            ),
            erase_form=EraseForm(),
            verifications=verification_list(filters={"customer": c.id})[:15],
            jobs=job_list(filters={"customer": c.id})[:10],
            audit=AuditEvent.objects.filter(customer_id_ref=c.id).order_by("-created_at")[:15],
            signing_link=request.session.pop(f"signing_link:{c.id}", None),
            link_may_enroll=link_may_enroll,
            link_default=SigningToken.Purpose.ENROLL if link_may_enroll else SigningToken.Purpose.VERIFY,
            enroll_ttl_hours=settings.SIGWEB_ENROLL_TOKEN_TTL_HOURS,
            duplicates=enrollment_duplicate_list(enrollment=active or latest),
            nav="customers",
        ),
    )


@admin_required
@require_POST
def customer_signing_link(request, customer_id):
    c = or_404(customer_get, customer_id=customer_id)
    purpose = request.POST.get("purpose") or None
    try:
        with transaction.atomic():
            token, raw = signing_token_create(customer=c, created_by=db_user(request.user), purpose=purpose)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        # shown once, on the next page view only
        request.session[f"signing_link:{c.id}"] = {
            "url": request.build_absolute_uri(reverse("web:sign", args=[raw])),
            "purpose": token.purpose,
            "hours": round((token.expires_at - token.created_at).total_seconds() / 3600),
        }
    return redirect("web:customer", customer_id=c.id)


@admin_required
@require_POST
def customer_reenrollment(request, customer_id):
    c = or_404(customer_get, customer_id=customer_id)
    _domain_action(
        request,
        reenrollment_open,
        "Re-enrollment opened: send the customer a new enroll link.",
        customer=c,
        opened_by=db_user(request.user),
        note=request.POST.get("note", ""),
    )
    return redirect("web:customer", customer_id=c.id)


@admin_required
@require_POST
def reference_approve_view(request, customer_id, reference_id):
    c = or_404(customer_get, customer_id=customer_id)
    ref = or_404(reference_get, reference_id=reference_id, scope=c.id)
    _domain_action(
        request,
        reference_approve,
        "Reference approved: it joins the next retraining.",
        reference=ref,
        approved_by=db_user(request.user),
    )
    return redirect("web:customer", customer_id=c.id)


@admin_required
@require_POST
def reference_reject_view(request, customer_id, reference_id):
    c = or_404(customer_get, customer_id=customer_id)
    ref = or_404(reference_get, reference_id=reference_id, scope=c.id)
    _domain_action(
        request,
        reference_reject,
        "Reference rejected: no enrollment will use it.",
        reference=ref,
        rejected_by=db_user(request.user),
    )
    return redirect("web:customer", customer_id=c.id)


@admin_required
@require_POST
def customer_retrain(request, customer_id):
    c = or_404(customer_get, customer_id=customer_id)
    active = enrollment_get_active(customer=c)
    _domain_action(
        request,
        enrollment_start,
        "Enrollment job started.",
        customer=c,
        threshold=active.threshold if active else None,
        created_by=db_user(request.user),
    )
    return redirect("web:customer", customer_id=c.id)


@admin_required
@require_POST
def customer_revoke(request, customer_id):
    c = or_404(customer_get, customer_id=customer_id)
    active = enrollment_get_active(customer=c)
    if active is None:
        messages.error(request, "This customer has no active enrollment.")
    else:
        _domain_action(
            request,
            enrollment_revoke,
            "Enrollment revoked.",
            enrollment=active,
            revoked_by=db_user(request.user),
            note=request.POST.get("note", ""),
        )
    return redirect("web:customer", customer_id=c.id)


@admin_required
@require_POST
def customer_threshold(request, customer_id):
    c = or_404(customer_get, customer_id=customer_id)
    active = enrollment_get_active(customer=c)
    form = ThresholdForm(request.POST)
    if active is None:
        messages.error(request, "This customer has no active enrollment.")
    elif not form.is_valid() or (form.cleaned_data["threshold"] is None and not form.cleaned_data["use_model"]):
        messages.error(request, "Give a threshold between 0 and 1, or choose the model's threshold.")
    else:
        value = None if form.cleaned_data["use_model"] else form.cleaned_data["threshold"]
        label = "the model's threshold" if value is None else f"{value:.3f}"
        _domain_action(
            request,
            enrollment_threshold_set,
            f"Threshold set to {label}.",
            enrollment=active,
            threshold=value,
            changed_by=db_user(request.user),
        )
    return redirect("web:customer", customer_id=c.id)


@admin_required
@require_POST
def customer_erase(request, customer_id):
    c = or_404(customer_get, customer_id=customer_id)
    form = EraseForm(request.POST)
    if not form.is_valid() or form.cleaned_data["confirm"].strip() != c.external_ref:
        messages.error(request, "Type the customer's external reference exactly to confirm the erasure.")
    else:
        summary = customer_erase_biometrics(
            customer=c, erased_by=db_user(request.user), reason=form.cleaned_data.get("reason", "")
        )
        messages.success(
            request,
            f"Biometric data erased: {summary['references']} references, "
            f"{summary['verifications']} verification images. The audit record is kept.",
        )
    return redirect("web:customer", customer_id=c.id)


@admin_required
def jobs(request):
    kind = request.GET.get("kind", "")
    status = request.GET.get("status", "")
    qs = job_list(filters={k: v for k, v in {"kind": kind, "status": status}.items() if v}).select_related("customer")
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "web/jobs.html",
        page_context(
            request, page=page, kind=kind, status=status, kinds=Job.Kind.choices, statuses=Job.Status.choices, nav="jobs"
        ),
    )


@admin_required
def models(request):
    model_version_active()  # make sure the shipped model is registered
    rows = []
    for mv in model_version_list():
        points = pad_operating_points(model_version=mv.name)
        rows.append({"mv": mv, "pad": points["fused"], "pad_no_pressure": points["fused_no_pressure"]})
    return render(request, "web/models.html", page_context(request, rows=rows, nav="models"))


@admin_required
@require_POST
def model_activate(request, model_version_id):
    mv = or_404(model_version_get, model_version_id=model_version_id)
    _domain_action(
        request,
        model_version_activate,
        f"Re-embedding with {mv.name}; it becomes active when the job finishes.",
        model_version=mv,
        created_by=db_user(request.user),
    )
    return redirect("web:models")
