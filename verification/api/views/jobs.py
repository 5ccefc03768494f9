"""REST API views: jobs.

Thin views: validate input, call one service or selector, serialize the output.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from verification.api.pagination import Pagination
from verification.api.permissions import (
    IsBackOfficeOrCustomer,
)
from verification.api.serializers import (
    CustomerJobOutput,
    JobOutput,
)
from verification.api.views.base import paginated, scope_of, serializer_for
from verification.selectors import queries


class JobListApi(APIView):
    pagination_class = Pagination
    permission_classes = [IsBackOfficeOrCustomer]

    @extend_schema(
        parameters=[OpenApiParameter("kind", str), OpenApiParameter("status", str), OpenApiParameter("customer", int)],
        responses=JobOutput(many=True),
    )
    def get(self, request):
        return paginated(
            self,
            request,
            queries.job_list(filters=request.query_params, scope=scope_of(request)),
            serializer_for(request, JobOutput, CustomerJobOutput),
        )


class JobDetailApi(APIView):
    permission_classes = [IsBackOfficeOrCustomer]

    @extend_schema(responses=JobOutput)
    def get(self, request, job_id):
        return Response(
            serializer_for(request, JobOutput, CustomerJobOutput)(queries.job_get(job_id=job_id, scope=scope_of(request))).data
        )
