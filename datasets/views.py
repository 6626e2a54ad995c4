"""Curation pages for reviewers: datasets, their saved selections, what they match, and freezing versions."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from creators.forms import add_service_errors
from licensing.views.review import reviewer_required

from . import selectors, services
from .forms import DatasetForm
from .models import Dataset


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
                license_terms=form.cleaned_data["license_terms"],
                actor=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Saved. The selection below is what a version built now would hold.")
            return redirect("datasets:curation-edit", slug=saved.slug)
    context: dict[str, Any] = {"form": form, "dataset": dataset}
    if dataset is not None:
        selection = selectors.dataset_selection(dataset=dataset)
        context["stats"] = selectors.selection_statistics(assets=selection)
        context["sample"] = selection[:12]
        context["versions"] = dataset.versions.order_by("-number")
    return render(request, "datasets/curation_edit.html", context, status=400 if form.errors else 200)


@reviewer_required
@require_POST
def version_freeze(request: HttpRequest, slug: str) -> HttpResponse:
    dataset = get_object_or_404(Dataset, slug=slug)
    try:
        version = services.version_create(dataset=dataset, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"Version {version.number} holds {version.item_count} item{'s' if version.item_count != 1 else ''}, "
            "frozen as they are sellable now.",
        )
    return redirect("datasets:curation-edit", slug=dataset.slug)
