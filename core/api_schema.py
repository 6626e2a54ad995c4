"""What every app's API views tell the OpenAPI schema about their errors.

The error format is made by one exception handler in the top layer (marketplace/api/exceptions.py); its
description lives here, in the lowest app, so that the views of every app can name it without importing upward.
"""

from collections.abc import Mapping

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers


class ApiErrorSerializer(serializers.Serializer):
    """The body of every error answer of the API (schema only)."""

    error = inline_serializer(
        "ApiErrorBody",
        fields={
            "status": serializers.IntegerField(help_text="The HTTP status, repeated."),
            "code": serializers.CharField(
                help_text="Stable and machine-readable, e.g. `invalid`, `not_found`."
            ),
            "message": serializers.CharField(help_text="The first problem, in words, prefixed by its field."),
            "fields": serializers.DictField(
                child=serializers.JSONField(),
                help_text="Each bad field's messages: a list of strings, or for a nested object or a list, "
                "an object of the same shape keyed by its fields or positions. Empty when no field is to blame.",
            ),
        },
    )


# What each error status means in this API; an operation can say more about its own case.
ERROR_MEANINGS = {
    400: "The input is invalid: `fields` names each bad field.",
    401: "No credentials, or a token that is invalid, expired or revoked.",
    403: "Not allowed for this account, or a browser session without its CSRF token.",
    404: "Nothing with this id among the objects this account can see.",
    409: "Valid input that conflicts with the object's current state.",
    429: "Too many requests: wait as many seconds as the Retry-After header says.",
}

# Any request can carry a bad token, and every view is throttled.
ALWAYS_POSSIBLE = (401, 429)


def error_responses(
    *status_codes: int, meanings: Mapping[int, str] | None = None
) -> dict[int, OpenApiResponse]:
    """The error answers of an operation, in the API's error format: these codes, plus 401 and 429."""
    own = meanings or {}
    return {
        code: OpenApiResponse(ApiErrorSerializer, description=own.get(code, ERROR_MEANINGS[code]))
        for code in sorted({*status_codes, *ALWAYS_POSSIBLE, *own})
    }
