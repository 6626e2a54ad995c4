"""Download links for the files of a license: short-lived, checked again when used, and never streamed through
a Django worker when storage is S3 (a presigned GET goes straight to the bucket)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from datasets.models import BundleFile

from .models import LicenseGrant

LINK_SALT = "marketplace.download"  # namespaces the signed links; not a secret


@dataclass(frozen=True)
class DownloadLink:
    path: str  # in the bundle, as SHA256SUMS lists it
    size: int
    sha256: str
    url: str  # absolute for object storage; a path on this site otherwise
    expires_at: datetime


def download_links(
    *, grant: LicenseGrant, files: list[BundleFile], absolute: Callable[[str], str] = str
) -> list[DownloadLink]:
    """A link for each file, good for DOWNLOAD_LINK_SECONDS; `absolute` turns a path on this site into a URL."""
    expires_at = timezone.now() + timedelta(seconds=settings.DOWNLOAD_LINK_SECONDS)
    return [
        DownloadLink(
            path=file.path,
            size=file.byte_size,
            sha256=file.sha256,
            url=_url(grant, file, absolute),
            expires_at=expires_at,
        )
        for file in files
    ]


def _url(grant: LicenseGrant, file: BundleFile, absolute: Callable[[str], str]) -> str:
    filename = PurePosixPath(file.path).name
    try:
        default_storage.path(file.storage_name)
    except NotImplementedError:  # object storage: a presigned GET, the file never passes through the site
        return default_storage.url(  # type: ignore[call-arg]
            file.storage_name,
            parameters={"ResponseContentDisposition": f'attachment; filename="{filename}"'},
            expire=settings.DOWNLOAD_LINK_SECONDS,
        )
    token = signing.dumps({"grant": grant.public_id.hex, "file": file.pk}, salt=LINK_SALT, compress=True)
    return absolute(reverse("download", args=[token]))


def download_token_read(token: str) -> tuple[str, int] | None:
    """The grant's public id (hex) and the file id a link names, if it is genuine and not expired."""
    try:
        value = signing.loads(token, salt=LINK_SALT, max_age=settings.DOWNLOAD_LINK_SECONDS)
    except signing.BadSignature:  # SignatureExpired included
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("grant"), str)
        or not isinstance(value.get("file"), int)
    ):
        return None
    return value["grant"], value["file"]
