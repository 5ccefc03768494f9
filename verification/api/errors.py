"""One exception handler: every error leaves the API as ``{"error": {"code", "message", ...}}``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from verification.errors import DomainError


def error_response(code: str, message: str, http_status: int, **extra) -> Response:
    body = {"error": {"code": code, "message": message, **extra}}
    return Response(body, status=http_status)


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            msg = _first_message(value)
            return msg if key == "non_field_errors" else f"{key}: {msg}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc, context):
    set_rollback()
    if isinstance(exc, DomainError):
        response = error_response(exc.code, exc.message, exc.status, **exc.extra)
        if exc.extra.get("retry_after"):
            response["Retry-After"] = str(int(exc.extra["retry_after"]))
        return response
    if isinstance(exc, RequestDataTooBig):
        return error_response("too_large", "The request body is larger than the configured limit", 413)
    if isinstance(exc, Http404):
        return error_response("not_found", "Not found", 404)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        return error_response("invalid", _first_message(exc.detail), 400, fields=exc.detail)
    if isinstance(exc, exceptions.ParseError):
        return error_response("malformed_request", str(exc.detail), 400)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return error_response("unsupported_media_type", str(exc.detail), 415)
    if isinstance(exc, exceptions.APIException):
        code = exc.default_code if isinstance(exc.default_code, str) else "error"
        response = error_response(code, str(exc.detail), exc.status_code)
        if getattr(exc, "auth_header", None):  # set by APIView for 401s
            response["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            response["Retry-After"] = str(int(exc.wait))
        return response
    return None  # a bug: let Django log it and answer 500
