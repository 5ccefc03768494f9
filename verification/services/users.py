"""Back-office accounts: analysts (the ``analysts`` group) and admins (staff)."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from rest_framework.authtoken.models import Token

from verification.errors import DomainError
from verification.roles import ANALYSTS_GROUP


def analyst_create(*, username: str, password: str | None = None, email: str = "", admin: bool = False) -> tuple[object, str, str]:
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
        token, _ = Token.objects.get_or_create(user=user)
    return user, password, token.key
