"""SKELETON: replaced by the helper that owns this module."""

from django.http import HttpResponse


def release_list(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def release_new(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def release_detail(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def release_renew_link(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def release_resubmit(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def release_revoke(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def release_erase(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def release_file(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def consent_manage(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def consent_give(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def consent_withdraw(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def assets_erase(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)
