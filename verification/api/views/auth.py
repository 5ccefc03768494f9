"""REST API views: aPI tokens and who am I.

Thin views: validate input, call one service or selector, serialize the output.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from verification.api.serializers import MeOutput
from verification.api.views.base import scope_of
from verification.errors import DomainError
from verification.roles import role_of


class TokenObtainApi(APIView):
    """``POST /api/auth/token/`` (username, password): the back-office API token.

    Failed attempts count towards django-axes' lockout (by user name and by address); while
    locked out even the right password gets 429. An expired token is replaced by a new one.
    """

    authentication_classes: list = []
    permission_classes: list = []
    throttle_scope = "token"

    class TokenInput(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})

    class TokenOutput(serializers.Serializer):
        token = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=TokenInput, responses={200: TokenOutput}, auth=[])
    def post(self, request):
        from django.contrib.auth import authenticate

        from verification.services.users import api_token_expires_at, api_token_issue

        data = self.TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        # axes reads the client address from the Django request and marks it when locked out
        user = authenticate(
            request=request._request, username=data.validated_data["username"], password=data.validated_data["password"]
        )
        if getattr(request._request, "axes_locked_out", False):
            raise DomainError(
                "Too many failed logins: this account or address is locked for a while", code="locked_out", status=429
            )
        if user is None or not user.is_active:
            raise DomainError("Unable to log in with the provided credentials", code="invalid_credentials", status=400)
        token = api_token_issue(user=user)
        return Response({"token": token.key, "expires_at": api_token_expires_at(token)})


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeOutput)
    def get(self, request):
        role = role_of(request.user)
        if role is None:
            raise DomainError("this account has no SigWeb role", code="permission_denied", status=403)
        return Response({"role": role, "username": getattr(request.user, "username", None), "customer": scope_of(request)})
