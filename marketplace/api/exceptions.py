"""One error format for the whole API.

Every error answers `{"error": {"status": ..., "code": ..., "message": ..., "fields": {...}}}`. Services raise
Django's ValidationError and PermissionDenied; they are mapped here, so no view translates errors itself:
ValidationError -> 400 (409 when its code says the request conflicts with the current state),
PermissionDenied -> 403, Http404 and a model's DoesNotExist -> 404; the database out of reach (a restart)
-> 503 with Retry-After, as the site's pages answer it.
"""

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

# ValidationError codes that mean "legal input, but not in the object's current state".
CONFLICT_CODES = frozenset({"conflict", "invalid_transition"})


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state of the resource."


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "unavailable"
    default_detail = "The service is briefly unavailable; try again in a few seconds."
    retry_after_seconds = 10  # a database restart takes seconds


def _as_api_exception(exc: Exception) -> Exception:
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail: Any = exc.message_dict
            codes = {error.code for errors in exc.error_dict.values() for error in errors}
        else:
            detail = exc.messages
            codes = {error.code for error in exc.error_list}
        return Conflict(detail) if codes & CONFLICT_CODES else exceptions.ValidationError(detail)
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        return exceptions.NotFound()
    if isinstance(exc, OperationalError | InterfaceError):
        return DatabaseUnavailable()
    return exc


def _first_message(detail: Any) -> str:
    """The first human-readable message in a DRF error detail, prefixed by its field name."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            message = _first_message(value)
            return message if key in ("detail", "non_field_errors") else f"{key}: {message}"
        return ""
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else ""
    return str(detail)


def error_body(
    *, status: int, code: str, message: str, fields: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The API's error document; also answered for requests refused before any API view runs."""
    return {"error": {"status": status, "code": code, "message": message, "fields": fields or {}}}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    exc = _as_api_exception(exc)
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return None  # an unexpected exception: a bug, left to Django's 500 handling and error reporting
    codes = exc.get_codes()
    detail = exc.detail
    response.data = error_body(
        status=response.status_code,
        code=codes if isinstance(codes, str) else exc.default_code,
        message=_first_message(detail),
        fields={k: v for k, v in detail.items() if k != "non_field_errors"}
        if isinstance(detail, dict)
        else {},
    )
    if isinstance(exc, DatabaseUnavailable):
        response["Retry-After"] = str(exc.retry_after_seconds)
    return response
