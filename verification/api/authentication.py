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


class SigningTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if header and not header.startswith(KEYWORD + " "):
            return None  # another scheme (Token, Basic) is not ours
        raw = signing_token_from(authorization=header, query_token=request.query_params.get("token", ""))
        if raw is None:
            return None
        token = signing_token_authenticate(raw=raw)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked signing token.")
        return CustomerPrincipal(customer_id=token.customer_id, token_id=token.id), token

    def authenticate_header(self, request):
        return KEYWORD


class SigningTokenScheme(OpenApiAuthenticationExtension):
    target_class = "verification.api.authentication.SigningTokenAuthentication"
    name = "signingToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "`Signing <token>`: a customer's own signing token"}
