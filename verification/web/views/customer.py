"""The customer's signing pages, reached through a signing link (/sign/<token>/).

What the page offers follows the link (``_link_mode``): an unused enroll link, while the
customer may enroll through a link, collects samples and enrolls; a verify link (or an
enroll link once used) verifies when the customer is enrolled; otherwise the page says
that the bank has to enroll the customer first.

With JavaScript the pad talks to the REST API with the same token (``Authorization:
Signing``) and hears its results over /ws/customer/<id>/. Without JavaScript the upload
form below the pad posts here and the result is rendered on the server.
"""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from verification.errors import DomainError
from verification.models import ReferenceSignature, SigningToken, Verification
from verification.selectors.enrollments import (
    enrollment_get_active,
    enrollment_get_latest,
    enrollment_samples_needed,
    link_enrollment_ready,
    link_may_enroll,
    link_reference_count,
)
from verification.selectors.queries import verification_get, verification_wait
from verification.services.enrollments import enrollment_start_when_ready
from verification.services.references import reference_create
from verification.services.signatures import upload_read
from verification.services.verifications import verification_create
from verification.web.access import or_404, signing_link_page, signing_token_or_404
from verification.web.forms import UploadForm

RESULT_WAIT_SECONDS = 10.0


def _link_mode(token: SigningToken, active, latest) -> str:
    """``enroll``, ``verify`` or ``closed`` (nothing this link can do now)."""
    if link_may_enroll(signing_token=token):
        return "enroll"
    if active is not None:
        return "verify"
    if token.consumed_at is not None and latest is not None and latest.status in ("pending", "training"):
        return "enroll"  # this link's enrollment is being fitted; the page waits for it
    return "closed"


def _sign_context(token, raw: str, **extra) -> dict:
    customer = token.customer
    active = enrollment_get_active(customer=customer)
    latest = enrollment_get_latest(customer=customer)
    return {
        "customer": customer,
        "token": raw,
        "mode": _link_mode(token, active, latest),
        "enrolling": latest is not None and latest.status in ("pending", "training") and token.consumed_at is not None,
        "samples_needed": enrollment_samples_needed(),
        "samples_collected": link_reference_count(signing_token=token),
        "enrollment_ready": link_enrollment_ready(signing_token=token),
        "upload_form": UploadForm(),
        "wait_seconds": int(settings.SIGWEB_CLIENT_WAIT_SECONDS),
        **extra,
    }


@signing_link_page
@require_http_methods(["GET"])
def sign(request, token):
    signing = signing_token_or_404(token)
    return render(request, "web/sign.html", _sign_context(signing, token))


@signing_link_page
@require_http_methods(["POST"])
def sign_upload(request, token):
    """A scanned signature through a plain form: a reference while enrolling, else a verification."""
    signing = signing_token_or_404(token)
    customer = signing.customer
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "web/sign.html", _sign_context(signing, token, upload_form=form), status=400)
    try:
        image = upload_read(form.cleaned_data["image"])
    except DomainError as exc:
        return render(
            request, "web/sign.html", _sign_context(signing, token, upload_form=form, upload_error=exc.message), status=exc.status
        )
    mode = _link_mode(signing, enrollment_get_active(customer=customer), enrollment_get_latest(customer=customer))
    try:
        if mode != "verify":
            # an enroll link sends a sample (the service refuses every other link with a 403)
            reference_create(customer=customer, source=ReferenceSignature.Source.UPLOAD, image=image, signing_token=signing)
            enrollment_start_when_ready(customer=customer, signing_token=signing)
            return redirect(reverse("web:sign", args=[token]) + "?uploaded=1")
        verification = verification_create(customer=customer, source="upload", image=image, channel=Verification.Channel.CUSTOMER)
    except DomainError as exc:
        return render(
            request, "web/sign.html", _sign_context(signing, token, upload_form=form, upload_error=exc.message), status=exc.status
        )
    verification_wait(verification=verification, timeout=min(RESULT_WAIT_SECONDS, settings.SIGWEB_MAX_WAIT_SECONDS))
    return redirect("web:sign-result", token=token, verification_id=verification.id)


@signing_link_page
@require_http_methods(["GET"])
def sign_result(request, token, verification_id):
    signing = signing_token_or_404(token)
    verification = or_404(verification_get, verification_id=verification_id, scope=signing.customer_id)
    return render(
        request,
        "web/sign_result.html",
        {
            "customer": signing.customer,
            "token": token,
            "verification": verification,
            "pending": verification.status == Verification.Status.PENDING,
        },
    )
