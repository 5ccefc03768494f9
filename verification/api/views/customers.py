"""REST API views: customers, their signing links and re-enrollment.

Thin views: validate input, call one service or selector, serialize the output.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from verification.api.pagination import Pagination
from verification.api.permissions import (
    IsAdmin,
    IsBackOfficeOrCustomer,
    IsBackOfficeReadOrAdmin,
)
from verification.api.serializers import (
    CustomerOutput,
    ReenrollmentOpenedOutput,
    SigningTokenCreatedOutput,
)
from verification.api.views.base import paginated, scope_of
from verification.models import Customer, SigningToken
from verification.roles import db_user
from verification.selectors import queries
from verification.services import customers as customer_services
from verification.services import enrollments as enrollment_services


class CustomerListApi(APIView):
    pagination_class = Pagination  # lists are pages: the schema documents {count, next, previous, results}
    permission_classes = [IsBackOfficeReadOrAdmin]

    class CustomerCreateInput(serializers.Serializer):
        external_ref = serializers.CharField(max_length=128)
        name = serializers.CharField(max_length=200)
        consent_at = serializers.DateTimeField(required=False, allow_null=True)

    @extend_schema(
        parameters=[OpenApiParameter("q", str), OpenApiParameter("status", str), OpenApiParameter("external_ref", str)],
        responses=CustomerOutput(many=True),
    )
    def get(self, request):
        return paginated(self, request, queries.customer_list(filters=request.query_params), CustomerOutput)

    @extend_schema(request=CustomerCreateInput, responses={201: CustomerOutput})
    def post(self, request):
        data = self.CustomerCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_services.customer_create(**data.validated_data, created_by=db_user(request.user))
        return Response(CustomerOutput(customer).data, status=status.HTTP_201_CREATED)


class CustomerDetailApi(APIView):
    class CustomerUpdateInput(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False)
        consent_at = serializers.DateTimeField(required=False, allow_null=True)
        status = serializers.ChoiceField(choices=[Customer.Status.ACTIVE, Customer.Status.SUSPENDED], required=False)

    def get_permissions(self):
        return [IsBackOfficeOrCustomer()] if self.request.method == "GET" else [IsAdmin()]

    @extend_schema(responses=CustomerOutput)
    def get(self, request, customer_id):
        return Response(CustomerOutput(queries.customer_get(customer_id=customer_id, scope=scope_of(request))).data)

    @extend_schema(request=CustomerUpdateInput, responses=CustomerOutput)
    def patch(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id)
        data = self.CustomerUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        customer = customer_services.customer_update(customer=customer, updated_by=db_user(request.user), **data.validated_data)
        return Response(CustomerOutput(customer).data)

    @extend_schema(responses={204: None})
    def delete(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id)
        customer_services.customer_delete(customer=customer, deleted_by=db_user(request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomerEraseApi(APIView):
    permission_classes = [IsAdmin]

    class CustomerEraseInput(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, max_length=500)

    @extend_schema(
        request=CustomerEraseInput,
        responses=inline_serializer("Erased", {"customer": CustomerOutput(), "erased": serializers.DictField()}),
    )
    def post(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id)
        data = self.CustomerEraseInput(data=request.data)
        data.is_valid(raise_exception=True)
        summary = customer_services.customer_erase_biometrics(
            customer=customer, erased_by=db_user(request.user), reason=data.validated_data.get("reason", "")
        )
        customer.refresh_from_db()
        return Response({"customer": CustomerOutput(customer).data, "erased": summary})


class SigningTokenApi(APIView):
    pagination_class = Pagination
    """Admins: list a customer's signing tokens (never the tokens themselves), make one, revoke all."""

    permission_classes = [IsAdmin]

    class SigningTokenInput(serializers.Serializer):
        purpose = serializers.ChoiceField(
            choices=SigningToken.Purpose.choices,
            required=False,
            help_text="enroll: single use, may send references and start one enrollment; verify: verifies only. "
            "Default: enroll while the customer may enroll through a link "
            "(first enrollment or an open re-enrollment), else verify",
        )
        ttl_hours = serializers.IntegerField(required=False, min_value=1, max_value=24 * 365)

    class SigningTokenOutput(serializers.Serializer):
        id = serializers.IntegerField()
        prefix = serializers.CharField()
        purpose = serializers.CharField()
        consumed_at = serializers.DateTimeField(allow_null=True)
        created_at = serializers.DateTimeField()
        expires_at = serializers.DateTimeField()
        revoked_at = serializers.DateTimeField(allow_null=True)
        last_used_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(responses=SigningTokenOutput(many=True))
    def get(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id)
        return paginated(self, request, queries.signing_token_list(customer=customer), self.SigningTokenOutput)

    @extend_schema(request=SigningTokenInput, responses={201: SigningTokenCreatedOutput})
    def post(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id)
        data = self.SigningTokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        token, raw = customer_services.signing_token_create(
            customer=customer,
            created_by=db_user(request.user),
            ttl_hours=data.validated_data.get("ttl_hours"),
            purpose=data.validated_data.get("purpose"),
        )
        return Response(
            {
                "token": raw,
                "prefix": token.prefix,
                "purpose": token.purpose,
                "expires_at": token.expires_at,
                "customer": customer.id,
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(responses=inline_serializer("SigningTokensRevoked", {"revoked": serializers.IntegerField()}))
    def delete(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id)
        return Response(
            {"revoked": customer_services.signing_token_revoke_all(customer=customer, revoked_by=db_user(request.user))}
        )


class ReenrollmentApi(APIView):
    """Admins: allow one more enrollment through an enroll link (closed when it starts)."""

    permission_classes = [IsAdmin]

    class ReenrollmentInput(serializers.Serializer):
        note = serializers.CharField(required=False, allow_blank=True, max_length=500)

    @extend_schema(request=ReenrollmentInput, responses=ReenrollmentOpenedOutput)
    def post(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id)
        data = self.ReenrollmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        customer = enrollment_services.reenrollment_open(
            customer=customer, opened_by=db_user(request.user), note=data.validated_data.get("note", "")
        )
        return Response({"customer": CustomerOutput(customer).data, "reenrollment_opened_at": customer.reenrollment_opened_at})
