"""REST API views: 1:N identification (admins and analysts)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from verification.api.inputs import SignatureInput, signature_from_request
from verification.api.pagination import Pagination
from verification.api.permissions import IsBackOffice
from verification.api.views.base import SIGNATURE_PARSERS, paginated
from verification.errors import not_found
from verification.models import Identification
from verification.roles import db_user
from verification.selectors.documents import candidate_get
from verification.selectors.identifications import identification_get, identification_list
from verification.services.identifications import identification_run


class IdentificationInput(SignatureInput):
    candidate = serializers.IntegerField(required=False, help_text="A signature found on a document (/api/documents/)")
    top_k = serializers.IntegerField(required=False, default=5)
    case_reference = serializers.CharField(required=False, allow_blank=True, max_length=128)


class IdentificationOutput(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", default=None, read_only=True)

    class Meta:
        model = Identification
        fields = ["id", "outcome", "candidates", "top_k", "case_reference", "source", "model_version", "timings"]
        fields += ["requested_by", "created_at"]


class IdentificationListApi(APIView):
    permission_classes = [IsBackOffice]
    pagination_class = Pagination
    parser_classes = SIGNATURE_PARSERS
    throttle_scope = "verification"

    @extend_schema(responses=IdentificationOutput(many=True))
    def get(self, request):
        return paginated(self, request, identification_list(), IdentificationOutput)

    @extend_schema(
        request={"multipart/form-data": IdentificationInput, "application/json": IdentificationInput},
        responses={201: IdentificationOutput},
    )
    def post(self, request):
        candidate_id = request.data.get("candidate") if hasattr(request.data, "get") else None
        if candidate_id not in (None, ""):
            signature = {"candidate": candidate_get(candidate_id=candidate_id)}
        else:
            signature = signature_from_request(request.data)
        data = IdentificationInput(data={k: request.data[k] for k in ("top_k", "case_reference") if k in request.data})
        data.is_valid(raise_exception=True)
        identification = identification_run(
            **signature,
            top_k=data.validated_data["top_k"],
            case_reference=data.validated_data.get("case_reference", ""),
            requested_by=db_user(request.user),
        )
        return Response(IdentificationOutput(identification).data, status=status.HTTP_201_CREATED)


class IdentificationDetailApi(APIView):
    permission_classes = [IsBackOffice]

    @extend_schema(responses=IdentificationOutput)
    def get(self, request, identification_id):
        return Response(IdentificationOutput(identification_get(identification_id=identification_id)).data)


class IdentificationPreviewApi(APIView):
    permission_classes = [IsBackOffice]

    @extend_schema(responses={(200, "image/png"): bytes})
    def get(self, request, identification_id):
        identification = identification_get(identification_id=identification_id)
        if identification.preview_png is None:
            raise not_found("preview")
        return HttpResponse(bytes(identification.preview_png), content_type="image/png")
