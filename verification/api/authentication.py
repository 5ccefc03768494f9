"""``Authorization: Signing <token>`` (or ``?token=<token>``): a customer acting on its own record."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from verification.roles import CustomerPrincipal
from verification.services.customers import signing_token_authenticate

KEYWORD = "Signing"


def signing_token_from(*, authorization: str = "", query_token: str = "") -> str | None:
    parts = (authorization or "").split()
    if len(parts) == 2 and parts[0] == KEYWORD:
        return parts[1]
    return query_token or None


class ExpiringTokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``Authorization: Token <key>``, refused (401) once the token is older than
    ``SIGWEB_API_TOKEN_TTL_DAYS``; ``POST /api/auth/token/`` then issues a new one."""

    def authenticate_credentials(self, key):
        from verification.services.users import api_token_expired

        user, token = super().authenticate_credentials(key)
        if api_token_expired(token):
            raise exceptions.AuthenticationFailed("The API token has expired; request a new one at /api/auth/token/.")
        return user, token


class SigningTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if header and not header.startswith(KEYWORD + " "):
            return None  # another scheme (Token, Basic) is not ours
        # ?token= is taken out of the query string by verification.middleware.QueryTokenMiddleware
        query_token = getattr(request._request, "sigweb_query_token", None)
        if query_token is None:
            query_token = request.query_params.get("token", "")
        raw = signing_token_from(authorization=header, query_token=query_token)
        if raw is None:
            return None
        token = signing_token_authenticate(raw=raw)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked signing token.")
        return CustomerPrincipal(customer_id=token.customer_id, token_id=token.id), token

    def authenticate_header(self, request):
        return KEYWORD


class ExpiringTokenScheme(OpenApiAuthenticationExtension):
    target_class = "verification.api.authentication.ExpiringTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`: a back-office API token (expires after SIGWEB_API_TOKEN_TTL_DAYS)",
        }


class SigningTokenScheme(OpenApiAuthenticationExtension):
    target_class = "verification.api.authentication.SigningTokenAuthentication"
    name = "signingToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Signing <token>`: a customer's own signing token",
        }
