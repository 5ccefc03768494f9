"""REST API views: verifications and their reviews.

Thin views: validate input, call one service or selector, serialize the output.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from verification.api.document_serializers import VerificationDocumentOutput
from verification.api.inputs import SignatureInput, signature_from_request
from verification.api.pagination import Pagination
from verification.api.permissions import (
    IsBackOffice,
    IsBackOfficeCandidateOrAdminOrCustomer,
    IsBackOfficeOrCustomer,
)
from verification.api.serializers import (
    CustomerJobOutput,
    CustomerVerificationOutput,
    JobOutput,
    ReviewOutput,
    VerificationCreatedOutput,
    VerificationOutput,
)
from verification.api.views.base import SIGNATURE_PARSERS, paginated, scope_of, serializer_for
from verification.errors import DomainError, not_found
from verification.ids import id_parse
from verification.models import Review, Verification
from verification.roles import db_user
from verification.selectors import documents as document_selectors
from verification.selectors import queries
from verification.services import verifications as verification_services


class VerificationListApi(APIView):
    pagination_class = Pagination
    parser_classes = SIGNATURE_PARSERS
    throttle_scope = "verification"

    def get_permissions(self):
        if self.request.method == "GET":
            return [IsBackOfficeOrCustomer()]
        return [IsBackOfficeCandidateOrAdminOrCustomer()]

    @extend_schema(
        parameters=[
            OpenApiParameter(n, t)
            for n, t in [
                ("customer", int),
                ("decision", str),
                ("status", str),
                ("channel", str),
                ("reviewed", bool),
                ("created_after", OpenApiTypes.DATETIME),
                ("created_before", OpenApiTypes.DATETIME),
            ]
        ],
        responses=VerificationOutput(many=True),
    )
    def get(self, request):
        out = serializer_for(request, VerificationOutput, CustomerVerificationOutput)
        return paginated(self, request, queries.verification_list(filters=request.query_params, scope=scope_of(request)), out)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "wait", float, description="Wait up to this many seconds for the result (200) instead of answering 202 at once"
            )
        ],
        request={"multipart/form-data": SignatureInput, "application/json": SignatureInput},
        responses={200: VerificationCreatedOutput, 202: VerificationCreatedOutput},
    )
    def post(self, request):
        customer_id = request.data.get("customer") if hasattr(request.data, "get") else None
        scope = scope_of(request)
        if customer_id in (None, "") and scope is not None:
            customer_id = scope
        if customer_id in (None, ""):
            raise DomainError("customer is required", code="invalid")
        customer = queries.customer_get(customer_id=id_parse(customer_id, field="customer"), scope=scope)
        wait = _wait_seconds(request)
        candidate_id = request.data.get("candidate") if hasattr(request.data, "get") else None
        if candidate_id not in (None, ""):
            signature = {"candidate": document_selectors.candidate_get(candidate_id=candidate_id)}
        else:
            signature = signature_from_request(request.data)
        channel = request.data.get("channel") or (
            Verification.Channel.CUSTOMER if scope is not None else Verification.Channel.API
        )
        if scope is not None:
            channel = Verification.Channel.CUSTOMER
        verification = verification_services.verification_create(
            customer=customer, channel=channel, requested_by=db_user(request.user), **signature
        )
        if wait > 0:
            verification = queries.verification_wait(verification=verification, timeout=wait)
        else:
            verification = queries.verification_get(verification_id=verification.id)
        done = verification.status != Verification.Status.PENDING
        verification_out, job_out = (
            serializer_for(request, VerificationOutput, CustomerVerificationOutput),
            serializer_for(request, JobOutput, CustomerJobOutput),
        )
        body = {
            "verification": verification_out(verification).data,
            "job": job_out(verification.job).data if verification.job else None,
        }
        return Response(body, status=status.HTTP_200_OK if done and wait > 0 else status.HTTP_202_ACCEPTED)


def _wait_seconds(request) -> float:
    raw = request.query_params.get("wait", "0")
    try:
        wait = float(raw)
    except ValueError:
        raise DomainError("wait must be a number of seconds", code="invalid") from None
    if wait != wait or wait < 0:
        raise DomainError("wait must be a number of seconds", code="invalid")
    return min(wait, settings.SIGWEB_MAX_WAIT_SECONDS)


class VerificationDetailApi(APIView):
    permission_classes = [IsBackOfficeOrCustomer]

    @extend_schema(responses=VerificationOutput)
    def get(self, request, verification_id):
        out = serializer_for(request, VerificationOutput, CustomerVerificationOutput)
        data = out(queries.verification_get(verification_id=verification_id, scope=scope_of(request))).data
        if scope_of(request) is None:  # back office: the page and box the signature was cut from
            link = document_selectors.verification_document_get(verification_id=data["id"])
            data["document_source"] = VerificationDocumentOutput(link).data if link else None
        return Response(data)


class VerificationPreviewApi(APIView):
    permission_classes = [IsBackOfficeOrCustomer]

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request, verification_id):
        v = queries.verification_get(verification_id=verification_id, scope=scope_of(request))
        if v.preview_png is None:
            raise not_found("preview")
        return HttpResponse(bytes(v.preview_png), content_type="image/png")


class VerificationFlaggedApi(APIView):
    pagination_class = Pagination
    permission_classes = [IsBackOffice]

    @extend_schema(
        parameters=[OpenApiParameter("reviewed", bool), OpenApiParameter("customer", int), OpenApiParameter("decision", str)],
        responses=VerificationOutput(many=True),
    )
    def get(self, request):
        return paginated(self, request, queries.verification_list_flagged(filters=request.query_params), VerificationOutput)


class VerificationReviewApi(APIView):
    pagination_class = Pagination
    permission_classes = [IsBackOffice]

    class ReviewInput(serializers.Serializer):
        verdict = serializers.ChoiceField(choices=Review.Verdict.choices)
        note = serializers.CharField(required=False, allow_blank=True, max_length=4000)
        correction = serializers.BooleanField(
            required=False,
            default=False,
            help_text="Replace the current verdict (needs a note); without it a second verdict is a 409",
        )

    @extend_schema(responses=ReviewOutput(many=True))
    def get(self, request, verification_id):
        v = queries.verification_get(verification_id=verification_id)
        return paginated(self, request, queries.review_list(verification=v), ReviewOutput)

    @extend_schema(request=ReviewInput, responses={201: ReviewOutput, 200: ReviewOutput})
    def post(self, request, verification_id):
        v = queries.verification_get(verification_id=verification_id)
        data = self.ReviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        review = verification_services.review_create(verification=v, analyst=db_user(request.user), **data.validated_data)
        corrected = review.corrected_at is not None and data.validated_data["correction"]
        return Response(ReviewOutput(review).data, status=status.HTTP_200_OK if corrected else status.HTTP_201_CREATED)


class ReviewListApi(APIView):
    pagination_class = Pagination
    permission_classes = [IsBackOffice]

    @extend_schema(
        parameters=[OpenApiParameter("verdict", str), OpenApiParameter("verification", int), OpenApiParameter("analyst", int)],
        responses=ReviewOutput(many=True),
    )
    def get(self, request):
        return paginated(self, request, queries.review_list(filters=request.query_params), ReviewOutput)
