"""The answers of requests that fail before or outside a view: in the API's JSON error format under /api/,
as pages elsewhere."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults
from django.views.decorators.csrf import requires_csrf_token

from marketplace.api.exceptions import DatabaseUnavailable, error_body

# What a client that met a database outage is told to wait before trying again: a restart takes seconds.
DATABASE_RETRY_AFTER_SECONDS = 10
API_PREFIX = "/api/"


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def api_error(*, status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(status=status, code=code, message=message), status=status)


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_request(request):
        return api_error(status=400, code="bad_request", message="The request is malformed.")
    return defaults.bad_request(request, exception)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_request(request):
        return api_error(
            status=403, code="permission_denied", message="You do not have permission to perform this action."
        )
    return defaults.permission_denied(request, exception)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """An address no route matches (a malformed id in an API path too) answers 404 in the caller's format."""
    if is_api_request(request):
        return api_error(status=404, code="not_found", message="Not found.")
    return defaults.page_not_found(request, exception)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 page, or a 503 when the database could not be reached, which passes by itself."""
    # Django calls this while it handles the exception, so the exception is the one being handled.
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        if is_api_request(request):
            response: HttpResponse = api_error(
                status=503, code="unavailable", message=str(DatabaseUnavailable.default_detail)
            )
        else:
            # Rendered without the request: its context processors would ask the database for the user.
            response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    if is_api_request(request):
        return api_error(
            status=500, code="error", message="Something went wrong on our side; it was reported."
        )
    return defaults.server_error(request)
