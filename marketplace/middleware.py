"""Requests refused before any view runs."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, QueryDict
from django.template import loader

from marketplace.views.errors import api_error, is_api_request

NUL = "\x00"
# Bodies whose fields Django parses into request.POST; any other body is left to its view's parser.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _holds_nul(data: QueryDict) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in data.lists())


class RejectNulBytesMiddleware:
    """A NUL byte in the path, the query or a form field answers 400.

    No legitimate client sends one, PostgreSQL refuses it in any text, and file paths end at it: refused at
    the door, it reaches neither a query nor a storage name. Form fields are read only where Django would
    parse them anyway (a POST of a form), so an upload's body is not read before its view decides on it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path or _holds_nul(request.GET) or self._form_holds_nul(request):
            return self._refusal(request)
        return self.get_response(request)

    @staticmethod
    def _form_holds_nul(request: HttpRequest) -> bool:
        if request.method != "POST" or request.content_type not in FORM_TYPES or is_api_request(request):
            return False
        return _holds_nul(request.POST)

    @staticmethod
    def _refusal(request: HttpRequest) -> HttpResponse:
        message = "The request holds a NUL byte, which no address, query or field may contain."
        if is_api_request(request):
            return api_error(status=400, code="bad_request", message=message)
        return HttpResponse(loader.render_to_string("400.html", {"message": message}, request), status=400)
