"""REST API views: the audit trail: list and CSV export.

Thin views: validate input, call one service or selector, serialize the output.
"""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.views import APIView

from verification.api.pagination import Pagination
from verification.api.permissions import (
    IsAdmin,
)
from verification.api.serializers import (
    AuditEventOutput,
)
from verification.api.views.base import paginated
from verification.selectors.audit import audit_event_csv_rows, audit_event_list

AUDIT_FILTERS = [
    OpenApiParameter("customer", int, description="Customer id (kept after the customer is deleted)"),
    OpenApiParameter("action", str, description="Exact action, or a prefix ending in '.', e.g. 'enrollment.'"),
    OpenApiParameter("actor", int, description="User id of the back-office actor"),
    OpenApiParameter("created_after", OpenApiTypes.DATETIME),
    OpenApiParameter("created_before", OpenApiTypes.DATETIME),
]


class AuditEventListApi(APIView):
    pagination_class = Pagination
    permission_classes = [IsAdmin]

    @extend_schema(parameters=AUDIT_FILTERS, responses=AuditEventOutput(many=True))
    def get(self, request):
        return paginated(self, request, audit_event_list(filters=request.query_params), AuditEventOutput)


class AuditEventExportApi(APIView):
    """The audit trail as CSV (same filters as the list), streamed; admins only."""

    permission_classes = [IsAdmin]

    @extend_schema(parameters=AUDIT_FILTERS, responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request):
        qs = audit_event_list(filters=request.query_params)
        response = StreamingHttpResponse(audit_event_csv_rows(queryset=qs), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="sigweb-audit.csv"'
        return response
