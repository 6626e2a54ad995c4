"""The page a person opens from the link the creator sent them: read the release, fill it in, sign it."""

import html
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from core.forms import add_service_errors

from .. import services
from ..forms import SignForm
from ..models import Release

# The link carries a secret: it must not reach another site in a Referer header, and search engines must not
# keep it. Not "no-referrer": browsers then send the form with "Origin: null", which the CSRF check refuses.
PRIVATE_PAGE_HEADERS = {"Referrer-Policy": "same-origin", "X-Robots-Tag": "noindex, nofollow"}


NUMBERED_CLAUSE = re.compile(r"\d+\. ")


def _paragraphs(wording: str) -> list[str]:
    """The release's text, hard-wrapped for email width, as paragraphs that reflow on a narrow screen.

    Each numbered clause is a paragraph of its own. The text comes back plain: the page escapes it once.
    """
    paragraphs = []
    for block in re.split(r"\n\s*\n", html.unescape(wording).strip()):
        current: list[str] = []
        for line in block.splitlines():
            if current and NUMBERED_CLAUSE.match(line):
                paragraphs.append(" ".join(current))
                current = []
            current.append(line.strip())
        paragraphs.append(" ".join(current))
    return paragraphs


def _private(response: HttpResponse) -> HttpResponse:
    for header, value in PRIVATE_PAGE_HEADERS.items():
        response[header] = value
    return response


def _link_refused(request: HttpRequest, error: PermissionDenied) -> HttpResponse:
    return _private(
        render(request, "licensing/signing/link_invalid.html", {"reason": str(error)}, status=403)
    )


@never_cache
@require_http_methods(["GET", "POST"])
def release_sign(request: HttpRequest, token: str) -> HttpResponse:
    try:
        release = services.release_for_signing(token=token)
    except PermissionDenied as error:
        return _link_refused(request, error)
    form = SignForm(request.POST if request.method == "POST" else None, release=release)
    if request.method == "POST" and form.is_valid():
        try:
            services.release_sign_online(
                release=release,
                signer=form.signer(),
                self_description=form.self_description(),
                ip_address=request.META.get("REMOTE_ADDR") or None,
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        except PermissionDenied as error:
            return _link_refused(request, error)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return redirect("licensing:release-signed")
    wording = render_to_string(
        services.RELEASE_WORDING_TEMPLATE[Release.Kind(release.kind)], {"release": release}
    )
    context = {
        "release": release,
        "form": form,
        "wording": _paragraphs(wording),
        "today": timezone.localdate(),
        "adult_age": services.ADULT_AGE,
    }
    status = 400 if form.errors else 200
    return _private(render(request, "licensing/signing/sign.html", context, status=status))


@require_GET
def release_signed(request: HttpRequest) -> HttpResponse:
    return _private(render(request, "licensing/signing/signed.html"))
