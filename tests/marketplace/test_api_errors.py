"""The API's one error format, for the exceptions services raise."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from marketplace.models import ApiToken


def _view_raising(exc: Exception):
    class Raising(APIView):
        permission_classes = [AllowAny]
        authentication_classes = []

        def get(self, request):
            raise exc

    return Raising.as_view()


@pytest.mark.parametrize(
    ("exc", "status", "code", "message", "fields"),
    [
        (ValidationError("Bad value."), 400, "invalid", "Bad value.", {}),
        (
            ValidationError({"title": "Too long."}),
            400,
            "invalid",
            "title: Too long.",
            {"title": ["Too long."]},
        ),
        (
            ValidationError("Already withdrawn.", code="invalid_transition"),
            409,
            "conflict",
            "Already withdrawn.",
            {},
        ),
        (
            ValidationError({"name": ValidationError("Taken.", code="conflict")}),
            409,
            "conflict",
            "name: Taken.",
            {"name": ["Taken."]},
        ),
        (PermissionDenied("Only reviewers review."), 403, "permission_denied", "Only reviewers review.", {}),
        (Http404(), 404, "not_found", "Not found.", {}),
        (ApiToken.DoesNotExist(), 404, "not_found", "Not found.", {}),
    ],
)
def test_service_exceptions_map_to_one_error_format(exc, status, code, message, fields):
    response = _view_raising(exc)(APIRequestFactory().get("/"))

    assert response.status_code == status
    assert response.data == {"error": {"status": status, "code": code, "message": message, "fields": fields}}


def test_an_unexpected_exception_is_not_dressed_up_as_a_client_error():
    with pytest.raises(ZeroDivisionError):
        _view_raising(ZeroDivisionError())(APIRequestFactory().get("/"))
