"""Deployment check: the Content-Security-Policy that keeps an injected tag from running is sent and strict."""

from typing import Any

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.utils.module_loading import import_string

# What lets markup run script or style the page wrote itself, which is what the policy is there to refuse.
UNSAFE_SOURCES = {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:", "http:", "https:"}


def _sources(directives: dict[str, Any], directive: str) -> set[str]:
    """A directive's sources, or default-src's when the directive is absent (as browsers fall back)."""
    value = directives.get(directive, directives.get("default-src"))
    if value is None:
        return {"*"}  # no default-src: anything goes
    return {value} if isinstance(value, str) else set(value)


@register(Tags.security, deploy=True)
def content_security_policy_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not any(issubclass(import_string(path), CSPMiddleware) for path in settings.MIDDLEWARE):
        return [
            Warning(
                "No Content-Security-Policy header is sent.",
                hint="Add 'marketplace.csp.ContentSecurityPolicyMiddleware' to MIDDLEWARE.",
                id="marketplace.W001",
            )
        ]
    policy = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
    directives = policy.get("DIRECTIVES") or {}
    if not directives:
        return [
            Warning(
                "CONTENT_SECURITY_POLICY has no directives, so the header is empty.",
                id="marketplace.W002",
            )
        ]
    warnings: list[CheckMessage] = []
    for directive in ("script-src", "style-src"):
        unsafe = sorted(_sources(directives, directive) & UNSAFE_SOURCES)
        if unsafe:
            warnings.append(
                Warning(
                    f"The Content-Security-Policy's {directive} allows {', '.join(unsafe)}: markup an attacker "
                    "stores in a page can run.",
                    hint="Move the script or style into a file under static/ and allow only 'self'.",
                    id="marketplace.W003",
                )
            )
    return warnings
