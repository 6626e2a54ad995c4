"""Buying a license (checkout), the licenses a buyer's organizations hold, their files, and certificates."""

from collections.abc import Iterator
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from datasets.models import BundleFile, Dataset
from datasets.selectors import version_files_servable, version_replaced_for_holders
from licensing.models import Use
from marketplace import payments, selectors
from marketplace.downloads import download_links, download_token_read
from marketplace.forms import CheckoutStartForm
from marketplace.models import LicenseGrant, Order
from marketplace.selectors import certificate_document
from marketplace.services import orders
from marketplace.views.signed_in import signed_in_user


@login_required
@require_POST
def checkout_start(request: HttpRequest) -> HttpResponse:
    """From a tier's "Buy" button on a dataset page: an order at the server's price, then its payment page."""
    form = CheckoutStartForm(request.POST)
    if not form.is_valid():
        raise Http404("No such dataset or tier.")
    dataset = get_object_or_404(Dataset, slug=form.cleaned_data["dataset"], is_public=True)
    try:
        order = orders.order_create(
            buyer=signed_in_user(request), dataset=dataset, terms_slug=form.cleaned_data["tier"]
        )
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", None) or [str(error)]))
        return redirect("datasets:detail", slug=dataset.slug)
    if order.method == Order.Method.TEST:
        return redirect("checkout", public_id=order.public_id)
    success = request.build_absolute_uri(reverse("checkout-done", args=[order.public_id]))
    cancel = request.build_absolute_uri(reverse("datasets:detail", args=[dataset.slug]))
    try:
        return redirect(payments.checkout_session_create(order=order, success_url=success, cancel_url=cancel))
    except ValidationError as error:  # the payment provider cannot be reached: the order waits
        messages.error(request, " ".join(error.messages))
        return redirect("license-list")


def _own_order(request: HttpRequest, public_id: UUID) -> Order:
    return get_object_or_404(selectors.orders_of_buyer(user=signed_in_user(request)), public_id=public_id)


@login_required
def checkout(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The built-in test checkout: what Stripe's page would ask, and a button that pays without a card."""
    order = _own_order(request, public_id)
    if order.status == Order.Status.FULFILLED:
        return redirect("license-detail", public_id=order.grant.public_id)
    if request.method == "POST":
        try:
            grant = orders.order_pay_test(order=order, buyer=signed_in_user(request))
        except orders.SaleWithdrawn as withdrawn:
            messages.error(request, " ".join(withdrawn.messages))
            return redirect("license-list")
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Paid. Your license and its files are below.")
            return redirect("license-detail", public_id=grant.public_id)
    return render(request, "marketplace/checkout.html", {"order": order})


@login_required
@require_GET
def checkout_done(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Where Stripe sends the buyer back: fulfilled here if the webhook has not done it yet."""
    order = _own_order(request, public_id)
    if order.method == Order.Method.STRIPE and order.status == Order.Status.PENDING:
        order = payments.checkout_session_sync(order=order)
    if order.status == Order.Status.FULFILLED:
        return redirect("license-detail", public_id=order.grant.public_id)
    return render(request, "marketplace/checkout.html", {"order": order, "waiting": True})


@login_required
def license_list(request: HttpRequest) -> HttpResponse:
    grants = list(selectors.grants_of_member(user=signed_in_user(request)))
    pending = selectors.orders_of_buyer(user=signed_in_user(request)).filter(status=Order.Status.PENDING)
    revoked = selectors.revocations_of_grants(grant_ids=[grant.pk for grant in grants])
    revoked_licenses = [(grant, revoked[grant.pk]) for grant in grants if grant.pk in revoked]
    context = {"grants": grants, "pending": pending, "revoked_licenses": revoked_licenses}
    return render(request, "marketplace/licenses.html", context)


@login_required
def license_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    grant = selectors.grant_of_member(user=signed_in_user(request), public_id=public_id)
    if grant is None:
        raise Http404("No license of yours has this id.")
    links = []
    if grant.status == LicenseGrant.Status.ACTIVE:
        links = download_links(grant=grant, files=selectors.grant_files(grant=grant))
    revoked = selectors.revocations_of_grants(grant_ids=[grant.pk]).get(grant.pk)
    context = {
        "grant": grant,
        "links": links,
        "withheld": grant.version.files.count() - len(links) if links or revoked else 0,
        "replacement": version_replaced_for_holders(version=grant.version) if revoked else None,
        "link_minutes": settings.DOWNLOAD_LINK_SECONDS // 60,
        "revoked": revoked,
        "revoked_keys": selectors.revoked_sample_keys(grant=grant) if revoked else [],
    }
    return render(request, "marketplace/license_detail.html", context)


@login_required
@require_GET
def license_revoked_samples(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The keys of the license's samples to delete, one a line: what a script removes from a local copy."""
    grant = selectors.grant_of_member(user=signed_in_user(request), public_id=public_id)
    if grant is None:
        raise Http404("No license of yours has this id.")
    keys = selectors.revoked_sample_keys(grant=grant)
    response = HttpResponse("".join(f"{key}\n" for key in keys), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{grant.version.name}-revoked-samples.txt"'
    return response


@require_GET
def download(request: HttpRequest, token: str) -> HttpResponseBase:
    """A file of a license, through a signed link that expires: checked again now, whoever holds the link."""
    named = download_token_read(token)
    if named is None:
        raise PermissionDenied(
            "This download link is not valid or has expired; open your license page again."
        )
    grant_hex, file_id = named
    # One filter() call: the same grant must be the one named and the active one.
    file = BundleFile.objects.filter(
        pk=file_id,
        version__grants__public_id=UUID(hex=grant_hex),
        version__grants__status=LicenseGrant.Status.ACTIVE,
    ).first()
    if file is not None and not version_files_servable(version=file.version).filter(pk=file.pk).exists():
        # Withheld since the link was made: a withdrawn sample's shard, or a version replaced for its holders.
        file = None
    if file is None:
        raise PermissionDenied("This license no longer gives access to this file.")
    filename = file.path.rsplit("/", 1)[-1]
    if settings.DOWNLOADS_ACCEL_REDIRECT_PREFIX:
        # nginx sends the file from its internal location (Range requests included); this worker is free.
        accel = HttpResponse(content_type="application/octet-stream")
        accel["X-Accel-Redirect"] = settings.DOWNLOADS_ACCEL_REDIRECT_PREFIX + file.storage_name
        accel["Content-Disposition"] = f'attachment; filename="{filename}"'
        return accel
    response: HttpResponseBase
    requested = _byte_range(request.headers.get("Range", ""), file.byte_size)
    if requested is None:
        # FileResponse hands the open file to the server's file wrapper (sendfile where it can).
        response = FileResponse(
            default_storage.open(file.storage_name, "rb"), as_attachment=True, filename=filename
        )
    elif requested == _UNSATISFIABLE:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{file.byte_size}"
        return response
    else:
        # A resumed download: the rest of the file from where the client's copy stops.
        start, end = requested
        response = StreamingHttpResponse(
            _file_range(file.storage_name, start, end), status=206, content_type="application/octet-stream"
        )
        response["Content-Range"] = f"bytes {start}-{end}/{file.byte_size}"
        response["Content-Length"] = str(end - start + 1)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Accept-Ranges"] = "bytes"
    return response


_UNSATISFIABLE = (-1, -1)
RANGE_CHUNK_BYTES = 1024 * 1024


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The one byte range a `Range: bytes=START-[END]` header asks for, inclusive; None to send everything.

    Other forms (several ranges, suffixes, other units) are answered with the whole file, as RFC 9110 lets
    a server do.
    """
    unit, _, spec = header.partition("=")
    first, dash, last = spec.strip().partition("-")
    if unit.strip() != "bytes" or not dash or not first.isdigit() or (last and not last.isdigit()):
        return None
    start, end = int(first), min(int(last) if last else size - 1, size - 1)
    if start >= size or end < start:
        return _UNSATISFIABLE
    return start, end


def _file_range(name: str, start: int, end: int) -> Iterator[bytes]:
    with default_storage.open(name, "rb") as stored:
        stored.seek(start)
        remaining = end - start + 1
        while remaining > 0:
            chunk = stored.read(min(RANGE_CHUNK_BYTES, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


def _certificate_grant(public_id: UUID) -> LicenseGrant:
    grant = selectors.grant_by_public_id(public_id=public_id)
    if grant is None:
        raise Http404("No license has this id.")
    return grant


@require_GET
def certificate(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The public page a certificate's verify URL opens: who holds what, and whether the signature holds."""
    grant = _certificate_grant(public_id)
    return render(
        request,
        "marketplace/certificate.html",
        {
            "grant": grant,
            "signing_key": selectors.certificate_signing_key(grant),
            "uses": [Use(use).label for use in grant.uses if use in Use.values],
        },
    )


@require_GET
def certificate_json(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The certificate as its holder keeps it (see certificate_document)."""
    grant = _certificate_grant(public_id)
    response = HttpResponse(certificate_document(grant), content_type="application/json")
    response["Content-Disposition"] = f'inline; filename="license-{grant.public_id}.json"'
    return response
