"""The Content-Security-Policy header (django-csp), with the media bucket's origin where pages need it.

With object storage, the site's file views redirect to presigned URLs on the bucket (thumbnails, previews,
clips) and the upload page posts large files straight to it: images, media and connections must be allowed
there. The origin is read from the storage actually configured when the response is made, so the policy
cannot name one bucket while files come from another.
"""

from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

S3_BACKEND = "storages.backends.s3.S3Storage"
# Where the browser reaches the bucket: redirected images and video, and direct uploads.
STORAGE_DIRECTIVES = ("img-src", "media-src", "connect-src")


def storage_origins(storage: Mapping[str, Any]) -> list[str]:
    """The origins presigned URLs of the storage point to; none for files served by the site itself."""
    if storage["BACKEND"] != S3_BACKEND:
        return []
    options = storage.get("OPTIONS", {})
    endpoint = options.get("endpoint_url")
    if endpoint:  # an S3-compatible store: boto3 addresses the bucket as a path on the endpoint
        parts = urlsplit(endpoint)
        return [f"{parts.scheme}://{parts.netloc}"]
    bucket, region = options["bucket_name"], options.get("region_name")
    regional = [f"https://{bucket}.s3.{region}.amazonaws.com"] if region else []
    return [f"https://{bucket}.s3.amazonaws.com", *regional]


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, adding the media bucket's origin to the policy in settings."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        origins = storage_origins(cast(Mapping[str, Any], settings.STORAGES["default"]))
        if origins:
            update = dict(parts.update or {})
            for directive in STORAGE_DIRECTIVES:
                update[directive] = [*update.get(directive, []), *origins]
            parts.update = update
        return parts
