"""What the API views share: parsers, pagination, who is asking, the 404 view."""

from __future__ import annotations

from django.views.decorators.csrf import csrf_exempt
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from verification.api.pagination import Pagination
from verification.api.parsers import SignatureJSONParser
from verification.models import SigningToken
from verification.roles import customer_scope

SIGNATURE_PARSERS = [SignatureJSONParser, MultiPartParser]


@csrf_exempt  # any method: a POST to an unknown path is a 404 too, not a CSRF page
def api_not_found(request, *args, **kwargs):
    """Unknown /api/ paths (and ids that are not numbers): the JSON error envelope, status 404."""
    from django.http import JsonResponse

    return JsonResponse({"error": {"code": "not_found", "message": "Not found"}}, status=404)


def paginated(view: APIView, request, queryset, serializer_class) -> Response:
    paginator = getattr(view, "pagination_class", None) or Pagination
    paginator = paginator()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


def scope_of(request) -> int | None:
    return customer_scope(request.user)


def signing_token_of(request) -> SigningToken | None:
    """The signing link a customer request came with (None for back-office users)."""
    return request.auth if isinstance(request.auth, SigningToken) else None


def serializer_for(request, back_office, customer):
    """The serializer for this viewer: a customer sees decisions only (verification.payloads)."""
    return customer if scope_of(request) is not None else back_office
