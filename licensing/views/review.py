"""SKELETON: replaced by the helper that owns this module."""

from django.http import HttpResponse


def queue(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def release_review(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def consent_review(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def asset_takedown(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def audit_log(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)
