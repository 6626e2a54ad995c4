from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_schema import error_responses
from marketplace.models import User


class MeSerializer(serializers.ModelSerializer):
    is_reviewer = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = ("id", "email", "display_name", "role", "is_reviewer", "date_joined")
        read_only_fields = fields


class MeView(APIView):
    """The account the request is authenticated as: the first call to try a new token with."""

    @extend_schema(operation_id="me_retrieve", responses={200: MeSerializer, **error_responses()})
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)
