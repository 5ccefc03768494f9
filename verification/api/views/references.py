"""REST API views: references and enrollment.

Thin views: validate input, call one service or selector, serialize the output.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from verification.api.inputs import SignatureInput, signature_from_request
from verification.api.pagination import Pagination
from verification.api.permissions import (
    IsAdmin,
    IsAdminOrCustomer,
    IsBackOffice,
    IsBackOfficeOrCustomer,
)
from verification.api.serializers import (
    CustomerEnrollmentOutput,
    CustomerJobOutput,
    EnrollmentOutput,
    JobOutput,
    ReferenceCreatedOutput,
    ReferenceOutput,
)
from verification.api.views.base import SIGNATURE_PARSERS, paginated, scope_of, serializer_for, signing_token_of
from verification.errors import DomainError, not_found
from verification.ids import MAX_ID
from verification.roles import db_user
from verification.selectors import queries
from verification.selectors.enrollments import (
    enrollment_get_active,
    enrollment_get_latest,
    enrollment_list,
    link_enrollment_ready,
)
from verification.services import enrollments as enrollment_services
from verification.services import references as reference_services


class ReferenceListApi(APIView):
    pagination_class = Pagination
    permission_classes = [IsAdminOrCustomer]
    parser_classes = SIGNATURE_PARSERS
    throttle_scope = "reference"

    @extend_schema(responses=ReferenceOutput(many=True))
    def get(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id, scope=scope_of(request))
        return paginated(self, request, queries.reference_list(customer=customer), ReferenceOutput)

    @extend_schema(
        request={"multipart/form-data": SignatureInput, "application/json": SignatureInput},
        responses={202: ReferenceCreatedOutput},
    )
    def post(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id, scope=scope_of(request))
        signature = signature_from_request(request.data)
        ref, job = reference_services.reference_create(
            customer=customer, created_by=db_user(request.user), signing_token=signing_token_of(request), **signature
        )
        job.refresh_from_db()
        ref.refresh_from_db()
        job_out = serializer_for(request, JobOutput, CustomerJobOutput)
        # the signing page enrolls when the server says this link has sent all its samples
        ready = link_enrollment_ready(signing_token=signing_token_of(request))
        return Response(
            {
                "reference": ReferenceOutput(ref).data,
                "job": job_out(job).data,
                "enrollment_ready": ready,
                "warning": (ref.quality or {}).get("pace_warning"),
            },
            status=status.HTTP_202_ACCEPTED,
        )


class ReferenceApprovalApi(APIView):
    """Admins: approve or reject a reference that a signing link sent after enrollment."""

    permission_classes = [IsAdmin]
    decision = "approve"

    class ReferenceDecisionInput(serializers.Serializer):
        note = serializers.CharField(required=False, allow_blank=True, max_length=500)

    @extend_schema(request=ReferenceDecisionInput, responses=ReferenceOutput)
    def post(self, request, reference_id):
        ref = queries.reference_get(reference_id=reference_id)
        data = self.ReferenceDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        service = reference_services.reference_approve if self.decision == "approve" else reference_services.reference_reject
        actor_kw = "approved_by" if self.decision == "approve" else "rejected_by"
        ref = service(reference=ref, note=data.validated_data.get("note", ""), **{actor_kw: db_user(request.user)})
        return Response(ReferenceOutput(ref).data)


class ReferencePreviewApi(APIView):
    permission_classes = [IsBackOfficeOrCustomer]

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request, reference_id):
        ref = queries.reference_get(reference_id=reference_id, scope=scope_of(request))
        if ref.preview_png is None:
            raise not_found("preview")
        return HttpResponse(bytes(ref.preview_png), content_type="image/png")


class EnrollmentApi(APIView):
    permission_classes = [IsAdminOrCustomer]
    throttle_scope = "reference"

    class EnrollmentStartInput(serializers.Serializer):
        reference_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, allow_empty=False
        )
        threshold = serializers.FloatField(required=False, allow_null=True, min_value=0.0, max_value=1.0)

    @extend_schema(
        responses=inline_serializer(
            "EnrollmentStatus", {"active": EnrollmentOutput(allow_null=True), "latest": EnrollmentOutput(allow_null=True)}
        )
    )
    def get(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id, scope=scope_of(request))
        active = enrollment_get_active(customer=customer)
        latest = enrollment_get_latest(customer=customer)
        out = serializer_for(request, EnrollmentOutput, CustomerEnrollmentOutput)
        return Response(
            {
                "active": out(active).data if active else None,
                "latest": out(latest).data if latest else None,
            }
        )

    @extend_schema(
        request=EnrollmentStartInput,
        responses={202: inline_serializer("EnrollmentStarted", {"enrollment": EnrollmentOutput(), "job": JobOutput()})},
    )
    def post(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id, scope=scope_of(request))
        data = self.EnrollmentStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        threshold = data.validated_data.get("threshold")
        if threshold is not None and scope_of(request) is not None:
            raise DomainError("only an admin can set a per-enrollment threshold", code="permission_denied", status=403)
        enrollment, job = enrollment_services.enrollment_start(
            customer=customer,
            reference_ids=data.validated_data.get("reference_ids"),
            threshold=threshold,
            created_by=db_user(request.user),
            signing_token=signing_token_of(request),
        )
        enrollment.refresh_from_db()
        job.refresh_from_db()
        enrollment_out, job_out = (
            serializer_for(request, EnrollmentOutput, CustomerEnrollmentOutput),
            serializer_for(request, JobOutput, CustomerJobOutput),
        )
        return Response(
            {"enrollment": enrollment_out(enrollment).data, "job": job_out(job).data}, status=status.HTTP_202_ACCEPTED
        )


class EnrollmentRevokeApi(APIView):
    permission_classes = [IsAdmin]

    class EnrollmentRevokeInput(serializers.Serializer):
        note = serializers.CharField(required=False, allow_blank=True, max_length=500)

    @extend_schema(request=EnrollmentRevokeInput, responses=EnrollmentOutput)
    def post(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id)
        data = self.EnrollmentRevokeInput(data=request.data)
        data.is_valid(raise_exception=True)
        enrollment = enrollment_get_active(customer=customer)
        if enrollment is None:
            raise DomainError("this customer has no active enrollment", code="no_active_enrollment", status=409)
        enrollment = enrollment_services.enrollment_revoke(
            enrollment=enrollment, revoked_by=db_user(request.user), note=data.validated_data.get("note", "")
        )
        return Response(EnrollmentOutput(enrollment).data)


class EnrollmentListApi(APIView):
    pagination_class = Pagination
    permission_classes = [IsBackOffice]

    @extend_schema(
        parameters=[OpenApiParameter("customer", int), OpenApiParameter("status", str)], responses=EnrollmentOutput(many=True)
    )
    def get(self, request):
        return paginated(self, request, enrollment_list(filters=request.query_params), EnrollmentOutput)
