"""The license terms, public: every published text at a stable address that bundles and certificates cite."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from licensing.models import LicenseTermsVersion


def terms_version(request: HttpRequest, slug: str, version: int) -> HttpResponse:
    terms_version = get_object_or_404(
        LicenseTermsVersion.objects.select_related("terms"), terms__slug=slug, version=version
    )
    newer = terms_version.terms.versions.filter(version__gt=version).order_by("-version").first()
    return render(request, "licensing/terms/version.html", {"terms_version": terms_version, "newer": newer})
