"""DRF throttles: what an attacker would repeat (logins, tokens, verifications, references, documents).

Rates come from ``settings.SIGWEB_THROTTLE_RATES`` (environment ``SIGWEB_THROTTLE_<SCOPE>``,
e.g. ``SIGWEB_THROTTLE_VERIFICATION=30/min``; ``off`` turns a scope off), read on every
request. Counts live in Django's cache: Redis when ``REDIS_URL`` is set, so every web
process shares them; process memory otherwise. A throttled request gets 429 with
``Retry-After`` and the JSON error envelope (code ``throttled``).
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from verification.roles import CustomerPrincipal

SCOPES = ("login", "token", "verification", "reference", "document")


def throttle_rate(scope: str) -> str | None:
    rate = settings.SIGWEB_THROTTLE_RATES.get(scope)
    return None if rate in (None, "", "off", "none", "0") else rate


class ScopedPostThrottle(SimpleRateThrottle):
    """The view's ``throttle_scope``, counted per caller (user, customer token or address),
    for writes only: reading lists and results is not throttled."""

    methods = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self):  # the rate is looked up per request (settings may change in tests)
        pass

    def allow_request(self, request, view):
        if request.method not in self.methods:
            return True
        self.scope = getattr(view, "throttle_scope", None)
        self.rate = throttle_rate(self.scope) if self.scope else None
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        user = getattr(request, "user", None)
        if isinstance(user, CustomerPrincipal):
            ident = f"customer-{user.customer_id}"
        elif user is not None and getattr(user, "is_authenticated", False):
            ident = f"user-{user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginThrottle(ScopedPostThrottle):
    """The web login form (not a DRF view): by client address."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": f"ip-{self.get_ident(request)}"}
