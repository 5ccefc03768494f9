"""REST API views: validate input, call one service or selector, serialize the output."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from verification.api.pagination import Pagination
from verification.api.parsers import SignatureJSONParser
from verification.api.permissions import (
    IsAdmin,
    IsAdminOrCustomer,
    IsBackOffice,
    IsBackOfficeOrCustomer,
    IsBackOfficeReadOrAdmin,
)
from verification.api.serializers import (
    AuditEventOutput,
    CustomerEnrollmentOutput,
    CustomerJobOutput,
    CustomerOutput,
    CustomerVerificationOutput,
    EnrollmentOutput,
    JobOutput,
    ModelVersionOutput,
    ReferenceOutput,
    ReviewOutput,
    SignatureInput,
    VerificationCreatedOutput,
    VerificationOutput,
    signature_from_request,
)
from verification.errors import DomainError, not_found
from verification.ids import MAX_ID, id_parse
from verification.models import Customer, Review, SigningToken, Verification
from verification.roles import customer_scope, db_user, role_of
from verification.selectors import queries
from verification.selectors.audit import audit_event_csv_rows, audit_event_list
from verification.selectors.enrollments import enrollment_get_active, enrollment_get_latest, enrollment_list
from verification.services import customers as customer_services
from verification.services import enrollments as enrollment_services
from verification.services import model_versions as model_services
from verification.services import verifications as verification_services

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


def _scope(request) -> int | None:
    return customer_scope(request.user)


def _signing_token(request) -> SigningToken | None:
    """The signing link a customer request came with (None for back-office users)."""
    return request.auth if isinstance(request.auth, SigningToken) else None


def _out(request, back_office, customer):
    """The serializer for this viewer: a customer sees decisions only (verification.payloads)."""
    return customer if _scope(request) is not None else back_office


# ---------------------------------------------------------------- API tokens and who am I


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
        user = authenticate(request=request._request, username=data.validated_data["username"], password=data.validated_data["password"])
        if getattr(request._request, "axes_locked_out", False):
            raise DomainError("Too many failed logins: this account or address is locked for a while", code="locked_out", status=429)
        if user is None or not user.is_active:
            raise DomainError("Unable to log in with the provided credentials", code="invalid_credentials", status=400)
        token = api_token_issue(user=user)
        return Response({"token": token.key, "expires_at": api_token_expires_at(token)})


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=inline_serializer("Me", {"role": serializers.CharField(), "username": serializers.CharField(allow_null=True), "customer": serializers.IntegerField(allow_null=True)}))
    def get(self, request):
        role = role_of(request.user)
        if role is None:
            raise DomainError("this account has no SigWeb role", code="permission_denied", status=403)
        return Response({"role": role, "username": getattr(request.user, "username", None), "customer": _scope(request)})


# ---------------------------------------------------------------- customers


class CustomerListApi(APIView):
    pagination_class = Pagination  # lists are pages: the schema documents {count, next, previous, results}
    permission_classes = [IsBackOfficeReadOrAdmin]

    class CustomerCreateInput(serializers.Serializer):
        external_ref = serializers.CharField(max_length=128)
        name = serializers.CharField(max_length=200)
        consent_at = serializers.DateTimeField(required=False, allow_null=True)

    @extend_schema(parameters=[OpenApiParameter("q", str), OpenApiParameter("status", str), OpenApiParameter("external_ref", str)], responses=CustomerOutput(many=True))
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
        return Response(CustomerOutput(queries.customer_get(customer_id=customer_id, scope=_scope(request))).data)

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

    @extend_schema(request=CustomerEraseInput, responses=inline_serializer("Erased", {"customer": CustomerOutput(), "erased": serializers.DictField()}))
    def post(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id)
        data = self.CustomerEraseInput(data=request.data)
        data.is_valid(raise_exception=True)
        summary = customer_services.customer_erase_biometrics(customer=customer, erased_by=db_user(request.user), reason=data.validated_data.get("reason", ""))
        customer.refresh_from_db()
        return Response({"customer": CustomerOutput(customer).data, "erased": summary})


class SigningTokenApi(APIView):
    pagination_class = Pagination
    """Admins: list a customer's signing tokens (never the tokens themselves), make one, revoke all."""

    permission_classes = [IsAdmin]

    class SigningTokenInput(serializers.Serializer):
        purpose = serializers.ChoiceField(
            choices=SigningToken.Purpose.choices, required=False,
            help_text="enroll: single use, may send references and start one enrollment; verify: verifies only. "
            "Default: enroll while the customer may enroll through a link (first enrollment or an open re-enrollment), else verify",
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

    @extend_schema(request=SigningTokenInput, responses={201: inline_serializer("SigningTokenCreated", {"token": serializers.CharField(), "prefix": serializers.CharField(), "purpose": serializers.CharField(), "expires_at": serializers.DateTimeField(), "customer": serializers.IntegerField()})})
    def post(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id)
        data = self.SigningTokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        token, raw = customer_services.signing_token_create(
            customer=customer, created_by=db_user(request.user), ttl_hours=data.validated_data.get("ttl_hours"),
            purpose=data.validated_data.get("purpose"),
        )
        return Response(
            {"token": raw, "prefix": token.prefix, "purpose": token.purpose, "expires_at": token.expires_at, "customer": customer.id},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(responses=inline_serializer("SigningTokensRevoked", {"revoked": serializers.IntegerField()}))
    def delete(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id)
        return Response({"revoked": customer_services.signing_token_revoke_all(customer=customer, revoked_by=db_user(request.user))})


class ReenrollmentApi(APIView):
    """Admins: allow one more enrollment through an enroll link (closed when it starts)."""

    permission_classes = [IsAdmin]

    class ReenrollmentInput(serializers.Serializer):
        note = serializers.CharField(required=False, allow_blank=True, max_length=500)

    @extend_schema(request=ReenrollmentInput, responses=inline_serializer("ReenrollmentOpened", {"customer": CustomerOutput(), "reenrollment_opened_at": serializers.DateTimeField()}))
    def post(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id)
        data = self.ReenrollmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        customer = enrollment_services.reenrollment_open(customer=customer, opened_by=db_user(request.user), note=data.validated_data.get("note", ""))
        return Response({"customer": CustomerOutput(customer).data, "reenrollment_opened_at": customer.reenrollment_opened_at})


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


# ---------------------------------------------------------------- references and enrollment


class ReferenceListApi(APIView):
    pagination_class = Pagination
    permission_classes = [IsAdminOrCustomer]
    parser_classes = SIGNATURE_PARSERS
    throttle_scope = "reference"

    @extend_schema(responses=ReferenceOutput(many=True))
    def get(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id, scope=_scope(request))
        return paginated(self, request, queries.reference_list(customer=customer), ReferenceOutput)

    @extend_schema(request={"multipart/form-data": SignatureInput, "application/json": SignatureInput}, responses={202: inline_serializer("ReferenceCreated", {"reference": ReferenceOutput(), "job": JobOutput()})})
    def post(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id, scope=_scope(request))
        signature = signature_from_request(request.data)
        ref, job = enrollment_services.reference_create(
            customer=customer, created_by=db_user(request.user), signing_token=_signing_token(request), **signature
        )
        job.refresh_from_db()
        ref.refresh_from_db()
        job_out = _out(request, JobOutput, CustomerJobOutput)
        return Response({"reference": ReferenceOutput(ref).data, "job": job_out(job).data}, status=status.HTTP_202_ACCEPTED)


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
        service = enrollment_services.reference_approve if self.decision == "approve" else enrollment_services.reference_reject
        actor_kw = "approved_by" if self.decision == "approve" else "rejected_by"
        ref = service(reference=ref, note=data.validated_data.get("note", ""), **{actor_kw: db_user(request.user)})
        return Response(ReferenceOutput(ref).data)


class ReferencePreviewApi(APIView):
    permission_classes = [IsBackOfficeOrCustomer]

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request, reference_id):
        ref = queries.reference_get(reference_id=reference_id, scope=_scope(request))
        if ref.preview_png is None:
            raise not_found("preview")
        return HttpResponse(bytes(ref.preview_png), content_type="image/png")


class EnrollmentApi(APIView):
    permission_classes = [IsAdminOrCustomer]
    throttle_scope = "reference"

    class EnrollmentStartInput(serializers.Serializer):
        reference_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, allow_empty=False)
        threshold = serializers.FloatField(required=False, allow_null=True, min_value=0.0, max_value=1.0)

    @extend_schema(responses=inline_serializer("EnrollmentStatus", {"active": EnrollmentOutput(allow_null=True), "latest": EnrollmentOutput(allow_null=True)}))
    def get(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id, scope=_scope(request))
        active = enrollment_get_active(customer=customer)
        latest = enrollment_get_latest(customer=customer)
        out = _out(request, EnrollmentOutput, CustomerEnrollmentOutput)
        return Response({
            "active": out(active).data if active else None,
            "latest": out(latest).data if latest else None,
        })

    @extend_schema(request=EnrollmentStartInput, responses={202: inline_serializer("EnrollmentStarted", {"enrollment": EnrollmentOutput(), "job": JobOutput()})})
    def post(self, request, customer_id):
        customer = queries.customer_get(customer_id=customer_id, scope=_scope(request))
        data = self.EnrollmentStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        threshold = data.validated_data.get("threshold")
        if threshold is not None and _scope(request) is not None:
            raise DomainError("only an admin can set a per-enrollment threshold", code="permission_denied", status=403)
        enrollment, job = enrollment_services.enrollment_start(
            customer=customer, reference_ids=data.validated_data.get("reference_ids"), threshold=threshold,
            created_by=db_user(request.user), signing_token=_signing_token(request),
        )
        enrollment.refresh_from_db()
        job.refresh_from_db()
        enrollment_out, job_out = _out(request, EnrollmentOutput, CustomerEnrollmentOutput), _out(request, JobOutput, CustomerJobOutput)
        return Response({"enrollment": enrollment_out(enrollment).data, "job": job_out(job).data}, status=status.HTTP_202_ACCEPTED)


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
        enrollment = enrollment_services.enrollment_revoke(enrollment=enrollment, revoked_by=db_user(request.user), note=data.validated_data.get("note", ""))
        return Response(EnrollmentOutput(enrollment).data)


class EnrollmentListApi(APIView):
    pagination_class = Pagination
    permission_classes = [IsBackOffice]

    @extend_schema(parameters=[OpenApiParameter("customer", int), OpenApiParameter("status", str)], responses=EnrollmentOutput(many=True))
    def get(self, request):
        return paginated(self, request, enrollment_list(filters=request.query_params), EnrollmentOutput)


# ---------------------------------------------------------------- verifications and reviews


class VerificationListApi(APIView):
    pagination_class = Pagination
    parser_classes = SIGNATURE_PARSERS
    throttle_scope = "verification"

    def get_permissions(self):
        return [IsBackOfficeOrCustomer()] if self.request.method == "GET" else [IsAdminOrCustomer()]

    @extend_schema(
        parameters=[OpenApiParameter(n, t) for n, t in [("customer", int), ("decision", str), ("status", str), ("channel", str), ("reviewed", bool), ("created_after", OpenApiTypes.DATETIME), ("created_before", OpenApiTypes.DATETIME)]],
        responses=VerificationOutput(many=True),
    )
    def get(self, request):
        out = _out(request, VerificationOutput, CustomerVerificationOutput)
        return paginated(self, request, queries.verification_list(filters=request.query_params, scope=_scope(request)), out)

    @extend_schema(
        parameters=[OpenApiParameter("wait", float, description="Wait up to this many seconds for the result (200) instead of answering 202 at once")],
        request={"multipart/form-data": SignatureInput, "application/json": SignatureInput},
        responses={200: VerificationCreatedOutput, 202: VerificationCreatedOutput},
    )
    def post(self, request):
        customer_id = request.data.get("customer") if hasattr(request.data, "get") else None
        scope = _scope(request)
        if customer_id in (None, "") and scope is not None:
            customer_id = scope
        if customer_id in (None, ""):
            raise DomainError("customer is required", code="invalid")
        customer = queries.customer_get(customer_id=id_parse(customer_id, field="customer"), scope=scope)
        wait = _wait_seconds(request)
        signature = signature_from_request(request.data)
        channel = request.data.get("channel") or (Verification.Channel.CUSTOMER if scope is not None else Verification.Channel.API)
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
        verification_out, job_out = _out(request, VerificationOutput, CustomerVerificationOutput), _out(request, JobOutput, CustomerJobOutput)
        body = {"verification": verification_out(verification).data, "job": job_out(verification.job).data if verification.job else None}
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
        out = _out(request, VerificationOutput, CustomerVerificationOutput)
        return Response(out(queries.verification_get(verification_id=verification_id, scope=_scope(request))).data)


class VerificationPreviewApi(APIView):
    permission_classes = [IsBackOfficeOrCustomer]

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request, verification_id):
        v = queries.verification_get(verification_id=verification_id, scope=_scope(request))
        if v.preview_png is None:
            raise not_found("preview")
        return HttpResponse(bytes(v.preview_png), content_type="image/png")


class VerificationFlaggedApi(APIView):
    pagination_class = Pagination
    permission_classes = [IsBackOffice]

    @extend_schema(parameters=[OpenApiParameter("reviewed", bool), OpenApiParameter("customer", int), OpenApiParameter("decision", str)], responses=VerificationOutput(many=True))
    def get(self, request):
        return paginated(self, request, queries.verification_list_flagged(filters=request.query_params), VerificationOutput)


class VerificationReviewApi(APIView):
    pagination_class = Pagination
    permission_classes = [IsBackOffice]

    class ReviewInput(serializers.Serializer):
        verdict = serializers.ChoiceField(choices=Review.Verdict.choices)
        note = serializers.CharField(required=False, allow_blank=True, max_length=4000)
        correction = serializers.BooleanField(
            required=False, default=False,
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

    @extend_schema(parameters=[OpenApiParameter("verdict", str), OpenApiParameter("verification", int), OpenApiParameter("analyst", int)], responses=ReviewOutput(many=True))
    def get(self, request):
        return paginated(self, request, queries.review_list(filters=request.query_params), ReviewOutput)


# ---------------------------------------------------------------- jobs and model versions


class JobListApi(APIView):
    pagination_class = Pagination
    permission_classes = [IsBackOfficeOrCustomer]

    @extend_schema(parameters=[OpenApiParameter("kind", str), OpenApiParameter("status", str), OpenApiParameter("customer", int)], responses=JobOutput(many=True))
    def get(self, request):
        return paginated(self, request, queries.job_list(filters=request.query_params, scope=_scope(request)), _out(request, JobOutput, CustomerJobOutput))


class JobDetailApi(APIView):
    permission_classes = [IsBackOfficeOrCustomer]

    @extend_schema(responses=JobOutput)
    def get(self, request, job_id):
        return Response(_out(request, JobOutput, CustomerJobOutput)(queries.job_get(job_id=job_id, scope=_scope(request))).data)


class ModelVersionListApi(APIView):
    pagination_class = Pagination
    permission_classes = [IsBackOfficeReadOrAdmin]

    class ModelVersionRegisterInput(serializers.Serializer):
        checkpoint_path = serializers.CharField(max_length=500)

    @extend_schema(responses=ModelVersionOutput(many=True))
    def get(self, request):
        try:
            model_services.model_version_active()  # registers the shipped default on first use
        except DomainError:
            pass  # no loadable default checkpoint: list what is registered
        return paginated(self, request, queries.model_version_list(), ModelVersionOutput)

    @extend_schema(request=ModelVersionRegisterInput, responses={201: ModelVersionOutput})
    def post(self, request):
        data = self.ModelVersionRegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        mv = model_services.model_version_register(checkpoint_path=data.validated_data["checkpoint_path"], registered_by=db_user(request.user))
        return Response(ModelVersionOutput(mv).data, status=status.HTTP_201_CREATED)


class ModelVersionActivateApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses={202: JobOutput})
    def post(self, request, model_version_id):
        mv = queries.model_version_get(model_version_id=model_version_id)
        job = model_services.model_version_activate(model_version=mv, created_by=db_user(request.user))
        job.refresh_from_db()
        return Response(JobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class ModelTrainApi(APIView):
    permission_classes = [IsAdmin]

    class ModelTrainInput(serializers.Serializer):
        config = serializers.DictField(help_text="ml.train config values (see ml/ configs); 'out' defaults to a folder per job")

    @extend_schema(request=ModelTrainInput, responses={202: JobOutput})
    def post(self, request):
        data = self.ModelTrainInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = model_services.model_train_start(config=data.validated_data["config"], created_by=db_user(request.user))
        job.refresh_from_db()
        return Response(JobOutput(job).data, status=status.HTTP_202_ACCEPTED)
