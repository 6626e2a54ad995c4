"""SKELETON: replaced by the helper that owns this module."""

from django.http import HttpResponse


def release_signed(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def release_sign(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)
