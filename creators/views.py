"""Creator pages: my media, upload, asset detail and edit, bulk edit, and the derivative files themselves."""

from collections.abc import Callable
from functools import wraps
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.files import NO_AI_HEADERS, stored_file_response

from . import selectors, services
from .api import creator_of
from .forms import AssetEditForm, AssetFilterForm, BulkEditForm, MetadataImportForm
from .models import CreatorProfile, MediaAsset

PAGE_SIZE = 48
FILE_VARIANTS = {"thumbnail", "preview", "preview_clip"}


def creator_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page for creators only; the view receives their profile."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return view(request, creator_of(request.user), *args, **kwargs)

    return wrapper


def _own_asset(creator: CreatorProfile, public_id: UUID) -> MediaAsset:
    return get_object_or_404(selectors.assets_of_creator(creator=creator), public_id=public_id)


@creator_required
def media_list(request: HttpRequest, creator: CreatorProfile) -> HttpResponse:
    filters = AssetFilterForm(request.GET or None)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    assets = selectors.asset_list_for_creator(creator=creator, **criteria)
    page = Paginator(assets, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filters": filters,
        "page": page,
        "counts": selectors.asset_status_counts(creator=creator),
        "bulk_form": BulkEditForm(asset_ids=[]),
        "query": request.GET.copy(),
    }
    return render(request, "creators/media_list.html", context)


@creator_required
def media_card(request: HttpRequest, creator: CreatorProfile, public_id: UUID) -> HttpResponse:
    """One card of the grid, which polls itself while its asset is being ingested."""
    asset = get_object_or_404(selectors.asset_list_for_creator(creator=creator), public_id=public_id)
    return render(request, "creators/includes/media_card.html", {"asset": asset})


@creator_required
def media_counts(request: HttpRequest, creator: CreatorProfile) -> HttpResponse:
    """The grid's status counts, which poll themselves while anything is still being ingested."""
    counts = selectors.asset_status_counts(creator=creator)
    return render(request, "creators/includes/status_counts.html", {"counts": counts})


@creator_required
def media_upload(request: HttpRequest, creator: CreatorProfile) -> HttpResponse:
    context = {
        "categories": MediaAsset.Category.choices,
        "chunked_above": settings.UPLOAD_CHUNKED_ABOVE_BYTES,
        # Empty without object storage: then large files go to the site in chunks.
        "direct_types": " ".join(sorted(services.DIRECT_UPLOAD_TYPES))
        if services.direct_uploads_available()
        else "",
    }
    return render(request, "creators/media_upload.html", context)


@creator_required
def media_detail(request: HttpRequest, creator: CreatorProfile, public_id: UUID) -> HttpResponse:
    asset = _own_asset(creator, public_id)
    initial = {
        "title": asset.title,
        "caption": asset.caption,
        "category": asset.category,
        "tags": sorted(tag.name for tag in asset.tags.all()),
    }
    form = AssetEditForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.asset_update(asset=asset, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Saved.")
            return redirect("creators:media-detail", public_id=asset.public_id)
    context = {"asset": asset, "form": form, "duplicates": selectors.asset_duplicates(asset=asset)}
    return render(request, "creators/media_detail.html", context, status=400 if form.errors else 200)


@creator_required
@require_POST
def media_delete(request: HttpRequest, creator: CreatorProfile, public_id: UUID) -> HttpResponse:
    asset = _own_asset(creator, public_id)
    services.asset_delete(asset=asset)
    messages.success(request, f"“{asset}” is deleted, with its original and previews.")
    return redirect("creators:media-list")


@creator_required
@require_POST
def media_bulk_edit(request: HttpRequest, creator: CreatorProfile) -> HttpResponse:
    own_ids = [
        str(value)
        for value in selectors.assets_of_creator(creator=creator).values_list("public_id", flat=True)
    ]
    form = BulkEditForm(request.POST, asset_ids=own_ids)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("creators:media-list")
    data = form.cleaned_data
    try:
        changed = services.assets_bulk_update(
            creator=creator,
            public_ids=[UUID(value) for value in data["ids"]],
            category=data["category"] or None,
            add_tags=data["add_tags"],
            remove_tags=data["remove_tags"],
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"Updated {changed} item{'s' if changed != 1 else ''}.")
    return redirect("creators:media-list")


@creator_required
def media_import_csv(request: HttpRequest, creator: CreatorProfile) -> HttpResponse:
    form = MetadataImportForm(*((request.POST, request.FILES) if request.method == "POST" else ()))
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            updated = services.assets_import_metadata_csv(
                creator=creator, csv_bytes=upload.read(services.CSV_MAX_BYTES + 1)
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error("file", message)
        else:
            messages.success(request, f"Updated {updated} item{'s' if updated != 1 else ''} from the CSV.")
            return redirect("creators:media-list")
    status = 400 if form.errors else 200
    return render(
        request, "creators/media_import.html", {"form": form, "columns": services.CSV_COLUMNS}, status=status
    )


@login_required
def asset_file(request: HttpRequest, public_id: UUID, variant: str) -> HttpResponseBase:
    """A derivative (thumbnail, watermarked preview, preview clip) for its creator or a reviewer."""
    if variant not in FILE_VARIANTS:
        raise Http404
    asset = get_object_or_404(MediaAsset.objects.select_related("creator"), public_id=public_id)
    if asset.creator.user_id != request.user.pk and not getattr(request.user, "is_reviewer", False):
        raise PermissionDenied("Only the asset's creator and reviewers can see it here.")
    response = stored_file_response(getattr(asset, variant), max_age=600)
    for header, value in NO_AI_HEADERS.items():
        response[header] = value
    return response
