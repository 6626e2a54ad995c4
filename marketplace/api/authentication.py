from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from marketplace.models import ApiToken, User
from marketplace.selectors import api_token_for_key
from marketplace.services import api_token_touch


def required_scope(view: Any, method: str) -> str:
    """The token scope a request to the view needs: what the view declares for the method in `token_scopes`
    (views in every app declare it as a plain dict, so no app imports this one), else `read` to read and
    `write` to change anything.

    Checked here, when the token is recognised, rather than in a permission class, because views that set
    their own `permission_classes` (reviewer-only ones, public ones) would skip a default permission.
    """
    declared = getattr(view, "token_scopes", {})
    method = method.upper()
    if method in declared:
        return str(declared[method])
    return ApiToken.Scope.READ if method in SAFE_METHODS else ApiToken.Scope.WRITE


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <key>` with a personal access token made on the account's tokens page."""

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the header as 'Authorization: Token <key>'.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("The token contains characters a token never has.") from exc
        token = api_token_for_key(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("This account is disabled.")
        needed = required_scope(request.parser_context.get("view"), request.method or "GET")
        if needed not in token.scopes:
            raise exceptions.PermissionDenied(
                f"This token lacks the '{needed}' scope this request needs; make a token with it at "
                "/account/tokens/."
            )
        api_token_touch(token=token, now=timezone.now())
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes the token header, so clients generated from it send it."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`, with a personal access token made at /account/tokens/.",
        }
