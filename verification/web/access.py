"""Who may open which page: back-office decorators and the customer's signing link."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from verification.roles import is_admin, is_staff_member, role_of
from verification.services.customers import signing_token_authenticate

LOGIN_URL_NAME = "web:login"


def _guard(check):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse(LOGIN_URL_NAME))
            if not check(request.user):
                return render(request, "web/forbidden.html", page_context(request), status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


back_office_required = _guard(is_staff_member)  # analysts and admins
admin_required = _guard(is_admin)


def page_context(request, **extra) -> dict:
    """What every back-office page needs: the viewer's role for the navigation."""
    return {"role": role_of(request.user) if request.user.is_authenticated else None, **extra}


def signing_link_page(view):
    """Customer pages behind a signing link: an unknown, expired or revoked link (or a result
    that is not the customer's) gets the product's own 404 page, also when DEBUG is on, so a
    customer never sees Django's technical page (which would repeat the link)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return render(request, "404.html", status=404)

    return wrapped


def signing_token_or_404(raw: str):
    token = signing_token_authenticate(raw=raw)
    if token is None:
        raise Http404("This signing link is not valid any more")
    return token


def or_404(fn, **kwargs):
    """Call a selector; its ``not_found`` DomainError becomes a 404 page."""
    from verification.errors import DomainError

    try:
        return fn(**kwargs)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from None
        raise
