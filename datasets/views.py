"""Dataset pages: curation for reviewers (selection, prices, versions) and the public page of a dataset."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import ValidationError as ParamsError

from core.actor import signed_in_actor
from core.files import NO_AI_HEADERS
from core.forms import add_service_errors
from core.markup import markdown_to_safe_html
from creators.models import MediaAsset
from licensing.models import LicenseTerms, Use
from licensing.views.review import reviewer_required

from . import selectors, services
from .catalog_api import catalog_params
from .forms import DatasetForm, VersionBuildForm, VersionWithdrawForm, VisibilityForm
from .models import Dataset, DatasetVersion, MediaType, Offer
from .packaging.description import CROISSANT_NAME, DATASHEET_NAME
from .templatetags import prices

PREVIEW_GRID_SIZE = 24
# Public previews may sit in shared caches for an hour; a reviewer's preview of a hidden dataset may not.
PUBLIC_PREVIEW_CACHE = "public, max-age=3600"
PRIVATE_PREVIEW_CACHE = "private, max-age=600"


# --- Curation ----------------------------------------------------------------------------------------------


@reviewer_required
def curation_list(request: HttpRequest) -> HttpResponse:
    datasets = Dataset.objects.annotate(version_count=Count("versions")).order_by("title")
    return render(request, "datasets/curation_list.html", {"datasets": datasets})


@reviewer_required
def curation_edit(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    dataset = get_object_or_404(Dataset, slug=slug) if slug else None
    form = DatasetForm(request.POST or None, instance=dataset)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.dataset_save(
                dataset=dataset,
                values=form.selection_values(),
                offers=form.offers(),
                actor=signed_in_actor(request),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Saved. The selection below is what a version built now would hold.")
            return redirect("datasets:curation-edit", slug=saved.slug)
    context: dict[str, Any] = {"form": form, "dataset": dataset}
    if dataset is not None:
        # A failed save left the instance with the values typed: what the page shows comes from the database.
        dataset.refresh_from_db()
        selection = selectors.dataset_selection(dataset=dataset)
        context["stats"] = selectors.selection_statistics(assets=selection)
        context["sample"] = selection[:12]
        context["versions"] = dataset.versions.select_related("superseded_by").order_by("-number")
        context["build_form"] = VersionBuildForm()
        context["withdraw_form"] = VersionWithdrawForm()
        context["in_catalog"] = dataset.in_catalog
    return render(request, "datasets/curation_edit.html", context, status=400 if form.errors else 200)


def _version(slug: str, number: int) -> DatasetVersion:
    return get_object_or_404(
        DatasetVersion.objects.select_related("dataset"), dataset__slug=slug, number=number
    )


def _version_card_url(slug: str, number: int) -> str:
    """The curation page scrolled to a version's card, where its build's progress shows below the long form."""
    return f"{reverse('datasets:curation-edit', args=[slug])}#version-{number}"


def _message_errors(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _message_form_errors(request: HttpRequest, form: VersionBuildForm | VersionWithdrawForm) -> None:
    for errors in form.errors.values():
        for message in errors:
            messages.error(request, str(message))


@reviewer_required
@require_POST
def version_build(request: HttpRequest, slug: str) -> HttpResponse:
    dataset = get_object_or_404(Dataset, slug=slug)
    form = VersionBuildForm(request.POST)
    if not form.is_valid():
        _message_form_errors(request, form)
        return redirect("datasets:curation-edit", slug=dataset.slug)
    try:
        version = services.version_build_request(
            dataset=dataset, actor=signed_in_actor(request), change_note=form.cleaned_data["change_note"]
        )
    except PermissionDenied as refusal:
        messages.error(request, str(refusal))
    except ValidationError as error:
        _message_errors(request, error)
    else:
        messages.success(
            request,
            f"Version {version.number} holds {version.item_count} item{'s' if version.item_count != 1 else ''}, "
            "frozen as they are sellable now; its bundle is being built.",
        )
        return redirect(_version_card_url(dataset.slug, version.number))
    return redirect("datasets:curation-edit", slug=dataset.slug)


@reviewer_required
@require_GET
def version_card(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """One version's card on the curation page, which polls itself while the version is being built."""
    version = _version(slug, number)
    context = {"version": version, "dataset": version.dataset, "withdraw_form": VersionWithdrawForm()}
    return render(request, "datasets/includes/version_card.html", context)


@reviewer_required
@require_POST
def version_retry(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _version(slug, number)
    try:
        services.version_build_retry(version=version)
    except ValidationError as error:
        _message_errors(request, error)
    else:
        messages.success(request, f"Version {version.number} is queued to build again.")
        return redirect(_version_card_url(slug, number))
    return redirect("datasets:curation-edit", slug=slug)


@reviewer_required
@require_POST
def version_withdraw(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _version(slug, number)
    form = VersionWithdrawForm(request.POST)
    if not form.is_valid():
        _message_form_errors(request, form)
        return redirect("datasets:curation-edit", slug=slug)
    try:
        services.version_withdraw(version=version, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        _message_errors(request, error)
    else:
        messages.success(request, f"Version {version.number} is withdrawn; its buyers are told why.")
    return redirect("datasets:curation-edit", slug=slug)


@reviewer_required
@require_POST
def dataset_visibility(request: HttpRequest, slug: str) -> HttpResponse:
    dataset = get_object_or_404(Dataset, slug=slug)
    form = VisibilityForm(request.POST)
    form.is_valid()  # a single optional checkbox: every input is valid
    public = form.cleaned_data["public"]
    try:
        services.dataset_set_public(dataset=dataset, public=public)
    except ValidationError as error:
        _message_errors(request, error)
    else:
        messages.success(request, "The dataset is in the catalog." if public else "The dataset is hidden.")
    return redirect("datasets:curation-edit", slug=slug)


# --- The public page --------------------------------------------------------------------------------------


def _stored_document(version: DatasetVersion, path: str) -> bytes | None:
    document = selectors.version_document(version=version, path=path)
    if document is None:
        return None
    try:
        with default_storage.open(document.storage_name, "rb") as stored:
            return stored.read()
    except FileNotFoundError:
        return None


# The self-identification a release may carry, as the charts title it.
SELF_IDENTIFICATION_TITLES = {
    "age_range": "Age of the people shown",
    "gender": "Gender",
    "ethnicity": "Ethnicity",
}


@dataclass(frozen=True)
class OfferRow:
    terms: LicenseTerms
    price: str
    permits: str


def _offer_rows(offers: Iterable[Offer]) -> list[OfferRow]:
    """Each priced tier with what it lets a buyer do, in words."""
    rows = []
    for offer in offers:
        terms = offer.terms
        uses = [Use(use).label for use in terms.uses if use in Use.values]
        permits = [
            f"Permits: {', '.join(uses)}." if uses else "Permits no AI use.",
            "Commercial use." if terms.commercial else "Non-commercial use only.",
            "May generate people's likeness."
            if terms.likeness_generation
            else "No generating people's likeness.",
        ]
        rows.append(OfferRow(terms=terms, price=prices.price(offer.price_cents), permits=" ".join(permits)))
    return rows


def _consent_chart(consent: dict[str, tuple[int, int]]) -> dict[str, int]:
    """Samples whose consent allows each use, with or without a constraint, by the use's name."""
    return {Use(use).label: allowed + constrained for use, (allowed, constrained) in consent.items()}


def dataset_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A dataset as buyers see it; a reviewer may also preview one that is not in the catalog."""
    dataset = get_object_or_404(selectors.viewable_datasets(user=request.user), slug=slug)
    version = selectors.latest_published_version(dataset=dataset)
    context: dict[str, Any] = {
        "dataset": dataset,
        "version": version,
        "in_catalog": dataset.is_public and version is not None,
        "offers": _offer_rows(selectors.dataset_offers(dataset=dataset)),
        "history": selectors.dataset_version_history(dataset=dataset),
    }
    if version is not None:
        stats = selectors.published_version_statistics(version=version)
        datasheet = _stored_document(version, DATASHEET_NAME)
        context |= {
            "stats": stats,
            "media_types": {
                label: count for label, count in (("Photos", stats.photos), ("Videos", stats.videos)) if count
            },
            "consent_chart": _consent_chart(stats.consent),
            "self_identification_charts": [
                (SELF_IDENTIFICATION_TITLES.get(field, field), counts)
                for field, counts in stats.self_identification.items()
                if counts
            ],
            "previews": selectors.version_preview_items(version=version, limit=PREVIEW_GRID_SIZE),
            "datasheet_html": markdown_to_safe_html(datasheet.decode("utf-8", "replace"))
            if datasheet
            else "",
            "has_croissant": selectors.version_document(version=version, path=CROISSANT_NAME) is not None,
        }
    return render(request, "datasets/dataset_detail.html", context)


@require_GET
def dataset_preview(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    """A sample's watermarked preview, through the site whatever the storage, so the no-AI headers go with it."""
    dataset = get_object_or_404(selectors.viewable_datasets(user=request.user), slug=slug)
    asset = selectors.preview_asset(dataset=dataset, key=key)
    if asset is None:
        raise Http404
    try:
        with asset.preview.open("rb") as stored:
            content = stored.read()
    except FileNotFoundError:
        raise Http404 from None
    response = HttpResponse(content, content_type="image/jpeg")
    for header, value in NO_AI_HEADERS.items():
        response[header] = value
    response["Cache-Control"] = PUBLIC_PREVIEW_CACHE if dataset.in_catalog else PRIVATE_PREVIEW_CACHE
    return response


@require_GET
def dataset_croissant(request: HttpRequest, slug: str) -> HttpResponse:
    """The latest published version's croissant.json, for dataset hubs to fetch from any origin."""
    dataset = get_object_or_404(selectors.viewable_datasets(user=request.user), slug=slug)
    version = selectors.latest_published_version(dataset=dataset)
    content = _stored_document(version, CROISSANT_NAME) if version is not None else None
    if content is None:
        raise Http404
    response = HttpResponse(content, content_type="application/ld+json")
    response["Access-Control-Allow-Origin"] = "*"
    return response


# --- The catalog ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FacetOption:
    value: str
    label: str
    count: int
    checked: bool


@dataclass(frozen=True)
class FacetGroup:
    name: str  # the parameter it sets
    title: str
    options: list[FacetOption]
    multiple: bool  # checkboxes (any of them) or radio buttons (one)

    @property
    def active(self) -> bool:
        return any(option.checked and option.value for option in self.options)


# The facets in the order the page shows them; category has many values, so its group starts folded.
CATALOG_FACETS = (
    ("category", "Category"),
    ("media_type", "Media"),
    ("tier", "License tier"),
    ("size", "Size"),
)
PRICE_PARAMETER = "price"  # the page picks a price bucket; the API takes min_price and max_price


def _price_bucket_as_range(params: QueryDict) -> QueryDict:
    """The page's price bucket turned into the catalog's min_price/max_price (inclusive, in cents)."""
    bucket = next((b for b in selectors.PRICE_BUCKETS if b.slug == params.get(PRICE_PARAMETER)), None)
    if bucket is None:
        return params
    params = params.copy()
    params.pop(PRICE_PARAMETER)
    params.pop("min_price", None)
    params.pop("max_price", None)
    if bucket.low is not None:
        params["min_price"] = str(bucket.low)
    if bucket.high is not None:
        params["max_price"] = str(bucket.high - 1)
    return params


def _chosen_price_bucket(query: selectors.CatalogQuery) -> str:
    for bucket in selectors.PRICE_BUCKETS:
        high = None if bucket.high is None else bucket.high - 1
        if (query.min_price, query.max_price) == (bucket.low, high):
            return bucket.slug
    return ""


def _facet_groups(
    query: selectors.CatalogQuery, facets: dict[str, list[selectors.FacetValue]]
) -> list[FacetGroup]:
    """Each facet's values with their counts; a chosen value stays listed (at 0) so it can be unticked."""
    chosen = {
        "category": query.categories,
        "media_type": query.media_types,
        "tier": query.tiers,
        "size": query.sizes,
    }
    labels = {
        "category": dict(MediaAsset.Category.choices),
        "media_type": dict(MediaType.choices),
        "tier": {},
        "size": {bucket.slug: bucket.label for bucket in selectors.SIZE_BUCKETS},
    }
    groups = []
    for name, title in CATALOG_FACETS:
        options = [
            FacetOption(value.value, value.label, value.count, value.value in chosen[name])
            for value in facets[name]
        ]
        listed = {option.value for option in options}
        options += [
            FacetOption(value, labels[name].get(value, value), 0, True)
            for value in chosen[name]
            if value not in listed
        ]
        groups.append(FacetGroup(name=name, title=title, options=options, multiple=True))
    price = _chosen_price_bucket(query)
    price_options = [FacetOption("", "Any price", 0, not price)] + [
        FacetOption(value.value, value.label, value.count, value.value == price) for value in facets["price"]
    ]
    groups.append(FacetGroup(name=PRICE_PARAMETER, title="Price", options=price_options, multiple=False))
    return groups


def _catalog_cards(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    media_labels = dict(MediaType.choices)
    return [
        {
            **row,
            "media_label": media_labels.get(row["media_type"], row["media_type"]),
            "price_from": prices.price(row["cheapest"]) if row["cheapest"] is not None else "",
        }
        for row in rows
    ]


@require_GET
def catalog(request: HttpRequest) -> HttpResponse:
    """The catalog: search, filters with counts, sort, and a link to the next page; no script needed."""
    try:
        query, after = catalog_params(_price_bucket_as_range(request.GET))
    except ParamsError as error:
        context: dict[str, Any] = {"errors": _params_messages(error.detail), "facet_groups": [], "cards": []}
        return render(request, "datasets/catalog.html", context, status=400)
    page = selectors.catalog_page(query=query, after=after)
    next_params = request.GET.copy()
    if page.next_cursor:
        next_params["cursor"] = page.next_cursor
    first_params = request.GET.copy()
    first_params.pop("cursor", None)
    context = {
        "query": query,
        # The first choice is no choice: best match when searching, newest otherwise, so a search typed on
        # a page sorted by default is ranked.
        "sort_choices": [("", "Best match" if query.text else "Newest")]
        + [
            (value, label)
            for value, label in selectors.CatalogSort.choices
            if value != selectors.CatalogSort.RELEVANCE
            and (query.text or value != selectors.CatalogSort.NEWEST)
        ],
        "facet_groups": _facet_groups(query, page.facets or {}),
        "cards": _catalog_cards(page.rows),
        "next_url": f"?{next_params.urlencode()}" if page.next_cursor else "",
        "first_url": f"?{first_params.urlencode()}" if after is not None else "",
        "filtered": bool(query.categories or query.media_types or query.tiers or query.sizes)
        or query.face_recognition
        or query.min_price is not None
        or query.max_price is not None,
    }
    return render(request, "datasets/catalog.html", context)


def _params_messages(detail: Any) -> list[str]:
    """What was wrong with the parameters, one sentence each, for the page to show."""
    if isinstance(detail, dict):
        return [
            f"{name}: {message}"
            for name, messages in detail.items()
            for message in _params_messages(messages)
        ]
    if isinstance(detail, list):
        return [message for item in detail for message in _params_messages(item)]
    return [str(detail)]
