"""The customer's signing pages, reached through a signing link (/sign/<token>/).

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
from verification.models import ReferenceSignature, Verification
from verification.selectors.enrollments import enrollment_get_active, enrollment_get_latest
from verification.selectors.queries import verification_get, verification_wait
from verification.services.enrollments import enrollment_start, reference_create
from verification.services.verifications import verification_create
from verification.web.access import or_404, signing_token_or_404
from verification.web.forms import UploadForm

ENROLL_SAMPLES = 5  # samples the pad collects for an enrollment (never fewer than the service needs)
RESULT_WAIT_SECONDS = 10.0


def _samples_needed() -> int:
    return max(ENROLL_SAMPLES, settings.SIGWEB_MIN_REFERENCES)


def _usable_references(customer) -> int:
    return ReferenceSignature.objects.filter(customer=customer).exclude(
        status__in=[ReferenceSignature.Status.ERASED, ReferenceSignature.Status.FAILED]
    ).count()


def _sign_context(token, raw: str, **extra) -> dict:
    customer = token.customer
    active = enrollment_get_active(customer=customer)
    latest = enrollment_get_latest(customer=customer)
    return {
        "customer": customer,
        "token": raw,
        "mode": "verify" if active else "enroll",
        "enrolling": latest is not None and latest.status in ("pending", "training") and active is None,
        "samples_needed": _samples_needed(),
        "samples_collected": _usable_references(customer),
        "upload_form": UploadForm(),
        "wait_seconds": int(settings.SIGWEB_CLIENT_WAIT_SECONDS),
        **extra,
    }


@require_http_methods(["GET"])
def sign(request, token):
    signing = signing_token_or_404(token)
    return render(request, "web/sign.html", _sign_context(signing, token))


@require_http_methods(["POST"])
def sign_upload(request, token):
    """A scanned signature through a plain form: a reference while enrolling, else a verification."""
    signing = signing_token_or_404(token)
    customer = signing.customer
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "web/sign.html", _sign_context(signing, token, upload_form=form), status=400)
    upload = form.cleaned_data["image"]
    if upload.size is not None and upload.size > settings.SIGWEB_MAX_UPLOAD_BYTES:
        error = f"The file is {upload.size} bytes; the limit is {settings.SIGWEB_MAX_UPLOAD_BYTES}."
        return render(request, "web/sign.html", _sign_context(signing, token, upload_form=form, upload_error=error), status=413)
    image = upload.read(settings.SIGWEB_MAX_UPLOAD_BYTES + 1)
    try:
        if enrollment_get_active(customer=customer) is None:
            reference_create(customer=customer, source=ReferenceSignature.Source.UPLOAD, image=image)
            if _usable_references(customer) >= _samples_needed():
                enrollment_start(customer=customer)
            return redirect(reverse("web:sign", args=[token]) + "?uploaded=1")
        verification = verification_create(
            customer=customer, source="upload", image=image, channel=Verification.Channel.CUSTOMER
        )
    except DomainError as exc:
        return render(
            request, "web/sign.html", _sign_context(signing, token, upload_form=form, upload_error=exc.message), status=exc.status
        )
    verification_wait(verification=verification, timeout=min(RESULT_WAIT_SECONDS, settings.SIGWEB_MAX_WAIT_SECONDS))
    return redirect("web:sign-result", token=token, verification_id=verification.id)


@require_http_methods(["GET"])
def sign_result(request, token, verification_id):
    signing = signing_token_or_404(token)
    verification = or_404(verification_get, verification_id=verification_id, scope=signing.customer_id)
    return render(
        request,
        "web/sign_result.html",
        {"customer": signing.customer, "token": token, "verification": verification, "pending": verification.status == Verification.Status.PENDING},
    )
