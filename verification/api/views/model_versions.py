"""REST API views: model versions: list, register, activate, train.

Thin views: validate input, call one service or selector, serialize the output.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from verification.api.pagination import Pagination
from verification.api.permissions import (
    IsAdmin,
    IsBackOfficeReadOrAdmin,
)
from verification.api.serializers import (
    JobOutput,
    ModelVersionOutput,
)
from verification.api.views.base import paginated
from verification.errors import DomainError
from verification.roles import db_user
from verification.selectors import queries
from verification.services import model_versions as model_services


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
        mv = model_services.model_version_register(
            checkpoint_path=data.validated_data["checkpoint_path"], registered_by=db_user(request.user)
        )
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
