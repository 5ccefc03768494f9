"""Websocket authentication: the Django session (browsers), or ``?token=`` carrying either a
DRF API token (back office) or a customer's signing token."""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware

from verification.roles import CustomerPrincipal


@database_sync_to_async
def _user_for_token(raw: str):
    from verification.services.customers import signing_token_authenticate
    from verification.services.users import api_token_user

    user = api_token_user(key=raw)  # an expired API token is refused here too
    if user is not None:
        return user
    signing = signing_token_authenticate(raw=raw)
    if signing is not None:
        return CustomerPrincipal(customer_id=signing.customer_id, token_id=signing.id)
    return None


class QueryTokenAuthMiddleware(BaseMiddleware):
    """Runs inside AuthMiddlewareStack: a valid ``?token=`` replaces the session user."""

    async def __call__(self, scope, receive, send):
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        raw = (params.get("token") or [""])[0]
        if raw:
            user = await _user_for_token(raw)
            if user is not None:
                scope = dict(scope, user=user)
            else:
                from django.contrib.auth.models import AnonymousUser

                scope = dict(scope, user=AnonymousUser())
        return await super().__call__(scope, receive, send)


def SigWebAuthMiddlewareStack(inner):
    return AuthMiddlewareStack(QueryTokenAuthMiddleware(inner))
