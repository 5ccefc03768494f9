"""Back-office accounts: analysts (the ``analysts`` group) and admins (staff)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from verification.errors import DomainError
from verification.roles import ANALYSTS_GROUP
from verification.services.audit import audit_record


def analyst_create(
    *, username: str, password: str | None = None, email: str = "", admin: bool = False
) -> tuple[object, str, str]:
    """Create (or update) an analyst, or an admin with ``admin=True``; returns (user, password, api token)."""
    if not username:
        raise DomainError("username is required", code="invalid")
    password = password or secrets.token_urlsafe(12)
    User = get_user_model()
    with transaction.atomic():
        user, _ = User.objects.get_or_create(username=username, defaults={"email": email})
        user.set_password(password)
        if email:
            user.email = email
        if admin:
            user.is_staff = True
            user.is_superuser = True
        user.save()
        group, _ = Group.objects.get_or_create(name=ANALYSTS_GROUP)
        if not admin:
            user.groups.add(group)
        token = api_token_issue(user=user)
    return user, password, token.key


# ---------------------------------------------------------------- API tokens (back office)


def api_token_expired(token: Token) -> bool:
    """A token is valid for ``SIGWEB_API_TOKEN_TTL_DAYS`` after it was issued."""
    return token.created <= timezone.now() - timedelta(days=settings.SIGWEB_API_TOKEN_TTL_DAYS)


def api_token_issue(*, user) -> Token:
    """The user's API token; an expired one is replaced by a new key (audited)."""
    with transaction.atomic():
        token = Token.objects.select_for_update().filter(user=user).first()
        if token is not None and not api_token_expired(token):
            return token
        replaced = token is not None
        if token is not None:
            token.delete()
        token = Token.objects.create(user=user)
        audit_record(
            action="api_token.issue",
            actor=user,
            details={"user": user.username, "replaced_expired": replaced, "expires_at": api_token_expires_at(token).isoformat()},
        )
    return token


def api_token_expires_at(token: Token):
    return token.created + timedelta(days=settings.SIGWEB_API_TOKEN_TTL_DAYS)


def api_token_user(*, key: str):
    """The active user behind an API token key, or None (unknown, expired or inactive)."""
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or api_token_expired(token) or not token.user.is_active:
        return None
    return token.user
