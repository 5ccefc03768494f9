"""REST API views: documents (pages), their signature candidates, and the images of both.

Admins and analysts only; a customer's signing link gets 403.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from verification.api.document_serializers import DocumentDetailOutput, DocumentInput, DocumentOutput
from verification.api.pagination import Pagination
from verification.api.permissions import IsBackOffice
from verification.api.views.base import paginated
from verification.roles import db_user
from verification.selectors import documents as document_selectors
from verification.services.document_uploads import document_files_read
from verification.services.documents import document_create


class DocumentListApi(APIView):
    pagination_class = Pagination
    permission_classes = [IsBackOffice]
    parser_classes = [MultiPartParser]
    throttle_scope = "document"

    @extend_schema(responses=DocumentOutput(many=True))
    def get(self, request):
        return paginated(self, request, document_selectors.document_list(), DocumentOutput)

    @extend_schema(request={"multipart/form-data": DocumentInput}, responses={202: DocumentDetailOutput})
    def post(self, request):
        files = document_files_read(request.FILES.getlist("file"))
        document = document_create(files=files, created_by=db_user(request.user))
        return Response(
            DocumentDetailOutput(document_selectors.document_get(document_id=document.id)).data, status=status.HTTP_202_ACCEPTED
        )


class DocumentDetailApi(APIView):
    permission_classes = [IsBackOffice]

    @extend_schema(responses=DocumentDetailOutput)
    def get(self, request, document_id):
        return Response(DocumentDetailOutput(document_selectors.document_get(document_id=document_id)).data)


class DocumentPageImageApi(APIView):
    permission_classes = [IsBackOffice]

    @extend_schema(responses={(200, "image/jpeg"): OpenApiTypes.BINARY})
    def get(self, request, document_id, number):
        page = document_selectors.document_page_get(document_id=document_id, number=number)
        return HttpResponse(bytes(page.image), content_type="image/jpeg")


class CandidateCropApi(APIView):
    permission_classes = [IsBackOffice]

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request, candidate_id):
        candidate = document_selectors.candidate_get(candidate_id=candidate_id)
        return HttpResponse(bytes(candidate.crop_png), content_type="image/png")
