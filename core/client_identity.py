"""What the site's limits count by: the client's address and the email a login names, in forms an attacker
cannot vary at will.

The client's address is read here rather than with django-ipware: ipware's `proxy_count` counts the proxies
named inside `X-Forwarded-For` and trusts a header of one address even when no proxy is trusted, so a client
that sends the header picks its own address.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The address of the client that reached the first trusted proxy (or the site, when none is trusted).

    Each proxy appends the address it was reached from to `X-Forwarded-For`, so with N trusted proxies the
    client is the Nth entry from the right; everything left of it was written by the client and is ignored.
    A header shorter than the chain, or an entry that is no address, means the request did not come through
    the proxies as configured: the peer's own address is counted then, never the header's.
    """
    peer = request.META.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return peer
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < trusted:
        return peer
    try:
        return str(ipaddress.ip_address(forwarded[-trusted]))
    except ValueError:
        return peer


def normalised_email(email: str) -> str:
    """One spelling per mailbox for counting: surrounding spaces dropped, case folded."""
    return email.strip().casefold()


def login_email(request: HttpRequest, credentials: dict[str, str] | None) -> str:
    """The email a login attempt names, normalised (django-axes' AXES_USERNAME_CALLABLE)."""
    typed = (credentials or {}).get("username") or request.POST.get("username", "")
    return normalised_email(str(typed))
