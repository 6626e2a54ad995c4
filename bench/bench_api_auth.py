"""What the API layer costs per request: DRF with token authentication against a plain Django view doing the
same work (the same token lookup, the same JSON answer) through the same WSGI handler and middleware.
"""

from collections.abc import Callable
from io import BytesIO
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, JsonResponse
from django.test import override_settings
from django.urls import include, path

from bench.harness import Result, best_rate
from marketplace.api.views import MeSerializer
from marketplace.models import User
from marketplace.selectors import api_token_for_key
from marketplace.services import api_token_create

REQUESTS = 2000


def plain_me(request: HttpRequest) -> JsonResponse:
    """The baseline: /api/v1/me/ written as a bare Django view."""
    token = api_token_for_key(key=request.headers.get("Authorization", "").removeprefix("Token "))
    if token is None:
        return JsonResponse({"error": "unauthenticated"}, status=401)
    return JsonResponse(MeSerializer(token.user).data)


urlpatterns = [path("plain/me/", plain_me), path("", include("marketplace.urls"))]


def _environ(path: str, authorization: str) -> dict:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_AUTHORIZATION": authorization,
        "wsgi.url_scheme": "http",
        "wsgi.input": BytesIO(),
        "wsgi.errors": BytesIO(),
    }


def run() -> list[Result]:
    user = User.objects.create_user(email="bench@example.com", password=None, role=User.Role.BUYER)
    _, key = api_token_create(user=user, name="bench")
    handler = WSGIHandler()

    def get(path: str):
        def request() -> None:
            status: list[str] = []

            def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
                status.append(line)
                return lambda data: None

            b"".join(handler(_environ(path, f"Token {key}"), start_response))
            assert status[0].startswith("200"), status

        return request

    with override_settings(ROOT_URLCONF=__name__):
        plain = best_rate(get("/plain/me/"), count=REQUESTS)
        api = best_rate(get("/api/v1/me/"), count=REQUESTS)
    return [
        Result(
            name="api_me_request_vs_plain_django_view",
            ratio=api / plain,
            target=None,
            detail=f"{api:,.0f} DRF requests/s vs {plain:,.0f} plain-view requests/s, token auth on both",
        )
    ]
