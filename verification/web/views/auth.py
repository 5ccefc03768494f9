"""Back-office sign-in: Django's login form behind a DRF-rate throttle and django-axes' lockout."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import JsonResponse
from django.shortcuts import render

from verification.api.throttles import LoginThrottle

LOCKED_MESSAGE = "Too many failed sign-ins for this account or from this address. Try again later."
THROTTLED_MESSAGE = "Too many sign-in attempts from this address. Wait a minute and try again."

_login = auth_views.LoginView.as_view(template_name="web/login.html", redirect_authenticated_user=True, next_page="web:dashboard")


class _LoginScope:
    throttle_scope = "login"


def login(request, *args, **kwargs):
    throttle = LoginThrottle()
    if not throttle.allow_request(request, _LoginScope()):
        response = render(request, "web/locked_out.html", {"message": THROTTLED_MESSAGE}, status=429)
        wait = throttle.wait()
        if wait:
            response["Retry-After"] = str(int(wait) + 1)
        return response
    return _login(request, *args, **kwargs)


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' AXES_LOCKOUT_CALLABLE: 429, as the JSON error envelope under /api/."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "locked_out", "message": LOCKED_MESSAGE}}, status=429)
    return render(request, "web/locked_out.html", {"message": LOCKED_MESSAGE}, status=429)
