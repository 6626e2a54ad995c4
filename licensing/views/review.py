"""Reviewer pages: the queue, a release beside its evidence, a consent beside its asset, takedowns, the audit log."""

import json
from collections.abc import Callable
from functools import wraps
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.actor import signed_in_actor
from core.forms import add_service_errors
from creators.models import DuplicateFlag, MediaAsset
from creators.selectors import asset_duplicates

from .. import selectors, services
from ..audit import audit_chain_verify
from ..models import Consent, Permission, Release, Use
from ..review_forms import (
    ApproveForm,
    AuditFilterForm,
    ConsentApproveForm,
    ConsentQueueFilterForm,
    ConsentRejectForm,
    ReleaseQueueFilterForm,
    ReleaseRejectForm,
    TakedownForm,
)

QUEUE_PAGE_SIZE = 25
AUDIT_PAGE_SIZE = 50
# Pages a reviewer can open for an audit entry's object, by the object type the services record.
AUDIT_OBJECT_PAGES = {"release": "licensing:review-release", "consent": "licensing:review-consent"}
AUDIT_OBJECT_TYPES = ("release", "consent", "asset", "license_terms_version")
PERMISSION_LABELS = dict(Permission.choices)


def reviewer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page for reviewers only: others are refused, anonymous visitors are sent to log in."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not getattr(request.user, "is_reviewer", False):
            raise PermissionDenied("Only reviewers can open the review pages.")
        return view(request, *args, **kwargs)

    return wrapper


# --- Queue -----------------------------------------------------------------------------------------------


@reviewer_required
def queue(request: HttpRequest) -> HttpResponse:
    tab = "consents" if request.GET.get("tab") == "consents" else "releases"
    release_filters = ReleaseQueueFilterForm(request.GET if tab == "releases" else None)
    consent_filters = ConsentQueueFilterForm(request.GET if tab == "consents" else None)
    items: QuerySet[Any]
    if tab == "releases":
        criteria = release_filters.cleaned_data if release_filters.is_valid() else {}
        items = selectors.review_queue_releases(**criteria).prefetch_related(
            Prefetch("assets", queryset=MediaAsset.objects.order_by("pk"))
        )
    else:
        criteria = consent_filters.cleaned_data if consent_filters.is_valid() else {}
        items = selectors.review_queue_consents(**criteria)
    context = {
        "tab": tab,
        "counts": selectors.review_queue_counts(),
        "filters": release_filters if tab == "releases" else consent_filters,
        "filtered": any(criteria.values()),
        "page": Paginator(items, QUEUE_PAGE_SIZE).get_page(request.GET.get("page")),
    }
    return render(request, "licensing/review/queue.html", context)


def _next_in_queue(request: HttpRequest, *, prefer: str) -> HttpResponse:
    """The oldest item still waiting, of the kind just decided first, so the queue can be cleared in one go."""
    waiting = {
        "release": selectors.review_queue_releases().values_list("public_id", flat=True).first(),
        "consent": selectors.review_queue_consents().values_list("public_id", flat=True).first(),
    }
    for kind in sorted(waiting, key=lambda kind: kind != prefer):
        if waiting[kind] is not None:
            return redirect(f"licensing:review-{kind}", public_id=waiting[kind])
    messages.info(request, "The queue is empty: nothing is waiting for review.")
    return redirect("licensing:review-queue")


# --- Deciding --------------------------------------------------------------------------------------------


def _is_stale(error: ValidationError) -> bool:
    """The item was decided (or withdrawn) since the page was loaded: not the reviewer's input at fault."""
    return not hasattr(error, "error_dict") and any(e.code == "invalid_transition" for e in error.error_list)


def _decision_forms(
    request: HttpRequest,
    approve_class: type[forms.Form],
    reject_class: type[forms.Form],
    approve_initial: dict[str, Any] | None = None,
) -> tuple[str, forms.Form, forms.Form]:
    decision = request.POST.get("decision", "") if request.method == "POST" else ""
    approve = approve_class(
        request.POST if decision == "approve" else None, prefix="approve", initial=approve_initial
    )
    reject = reject_class(request.POST if decision == "reject" else None, prefix="reject")
    return decision, approve, reject


def _apply(request: HttpRequest, form: forms.Form, decide: Callable[[dict[str, Any]], object]) -> str:
    """Run a decision from a valid form: "done", "stale" (told with a message) or "invalid" (errors on form)."""
    if not form.is_valid():
        return "invalid"
    try:
        decide(form.cleaned_data)
    except ValidationError as error:
        if _is_stale(error):
            messages.error(request, f"Not saved: {' '.join(error.messages)}")
            return "stale"
        add_service_errors(form, error)
        return "invalid"
    return "done"


def _takedown_form(request: HttpRequest, asset: MediaAsset) -> TakedownForm:
    # One form per asset on a page: ids of their own, so each label names its own field.
    return TakedownForm(initial={"next": request.path}, auto_id=f"takedown-{asset.pk}-%s")


@reviewer_required
def release_review(request: HttpRequest, public_id: UUID) -> HttpResponse:
    release = get_object_or_404(
        Release.objects.select_related("creator__user", "reviewed_by"), public_id=public_id
    )
    decision, approve, reject = _decision_forms(request, ApproveForm, ReleaseRejectForm)
    outcome = ""
    if decision == "approve":
        outcome = _apply(
            request,
            approve,
            lambda data: services.release_approve(
                release=release, reviewer=signed_in_actor(request), note=data["note"]
            ),
        )
    elif decision == "reject":
        outcome = _apply(
            request,
            reject,
            lambda data: services.release_reject(
                release=release, reviewer=signed_in_actor(request), reason=data["reason"], note=data["note"]
            ),
        )
    if outcome == "done":
        verdict = "approved" if decision == "approve" else "rejected; the creator is told why"
        messages.success(request, f"{release} {verdict}.")
        return _next_in_queue(request, prefer="release")
    if outcome == "stale":
        return redirect("licensing:review-release", public_id=release.public_id)
    assets = list(
        release.assets.select_related("creator")
        .prefetch_related(
            Prefetch(
                "duplicate_flags",
                queryset=DuplicateFlag.objects.select_related("other__creator").order_by("distance"),
            )
        )
        .order_by("pk")
    )
    outside = set(release.capture_time_outside_shoot)
    context = {
        "release": release,
        "assets": [
            (asset, asset.pk in outside, _credentials(asset), _takedown_form(request, asset))
            for asset in assets
        ],
        "outside_count": len(outside),
        "scan_is_pdf": str(release.scan.name).lower().endswith(".pdf") if release.scan else False,
        "approve_form": approve,
        "reject_form": reject,
        "pending": release.status == Release.Status.SUBMITTED,
    }
    status = 400 if approve.errors or reject.errors else 200
    return render(request, "licensing/review/release_review.html", context, status=status)


@reviewer_required
def consent_review(request: HttpRequest, public_id: UUID) -> HttpResponse:
    consent = get_object_or_404(
        Consent.objects.select_related(
            "asset__creator__user", "reviewed_by", "withdrawn_by"
        ).prefetch_related("accepted_terms"),
        public_id=public_id,
    )
    asset = consent.asset
    # No initial count: the detectors' figure is shown beside the form as a hint, and a reviewer who has not
    # looked must not be able to approve by default.
    decision, approve, reject = _decision_forms(request, ConsentApproveForm, ConsentRejectForm)
    outcome = ""
    if decision == "approve":
        outcome = _apply(
            request,
            approve,
            lambda data: services.consent_approve(
                consent=consent,
                reviewer=signed_in_actor(request),
                identifiable_people=data["identifiable_people"],
                people_note=data["people_note"],
                note=data["note"],
            ),
        )
    elif decision == "reject":
        outcome = _apply(
            request,
            reject,
            lambda data: services.consent_reject(
                consent=consent, reviewer=signed_in_actor(request), reason=data["reason"], note=data["note"]
            ),
        )
    if outcome == "done":
        verdict = "approved" if decision == "approve" else "rejected; the creator is told why"
        messages.success(request, f"Consent for “{asset}” {verdict}.")
        return _next_in_queue(request, prefer="consent")
    if outcome == "stale":
        return redirect("licensing:review-consent", public_id=consent.public_id)
    context = {
        "consent": consent,
        "asset": asset,
        "camera": _camera(asset),
        "credentials": _credentials(asset),
        "duplicates": asset_duplicates(asset=asset),
        "uses": [
            (
                label,
                consent.permission(use),
                PERMISSION_LABELS.get(consent.permission(use), ""),
                consent.constraint(use),
            )
            for use, label in Use.choices
        ],
        "releases": Release.objects.filter(assets=asset).order_by("kind", "-created_at"),
        "sellability": selectors.asset_sellability(asset=asset),
        "approve_form": approve,
        "reject_form": reject,
        "takedown_form": _takedown_form(request, asset),
        "pending": consent.status == Consent.Status.PENDING,
    }
    status = 400 if approve.errors or reject.errors else 200
    return render(request, "licensing/review/consent_review.html", context, status=status)


def _camera(asset: MediaAsset) -> str:
    metadata: dict[str, Any] = asset.metadata or {}
    # Images keep their EXIF camera under "camera"; videos keep make and model at the top level.
    camera = metadata["camera"] if isinstance(metadata.get("camera"), dict) else metadata
    parts = [camera.get("make"), camera.get("model"), camera.get("lens")]
    return " · ".join(str(part) for part in parts if part)


def _credentials(asset: MediaAsset) -> dict[str, Any]:
    """The C2PA manifest's verdict, as ingest recorded it; empty when the file carried none."""
    found = (asset.metadata or {}).get("content_credentials")
    return found if isinstance(found, dict) and found.get("has_manifest") else {}


# --- Takedown --------------------------------------------------------------------------------------------


@reviewer_required
@require_POST
def asset_takedown(request: HttpRequest, public_id: UUID) -> HttpResponse:
    asset = get_object_or_404(MediaAsset, public_id=public_id)
    form = TakedownForm(request.POST)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=False):
        back = reverse("licensing:review-queue")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"Not taken down: {error}")
        return redirect(back)
    try:
        withdrawn = services.consents_withdraw(
            asset_ids=[asset.pk], actor=signed_in_actor(request), reason=form.cleaned_data["reason"]
        )
    except ValidationError as error:
        messages.error(request, f"Not taken down: {' '.join(error.messages)}")
    else:
        if withdrawn:
            messages.success(
                request, f"“{asset}” is taken down: its consent is withdrawn and buyers are told."
            )
        else:
            messages.info(request, f"“{asset}” had no live consent; nothing was withdrawn.")
    return redirect(back)


# --- Audit log -------------------------------------------------------------------------------------------


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str) if value else ""


def _object_url(object_type: str, object_id: str) -> str:
    if object_type not in AUDIT_OBJECT_PAGES:
        return ""
    try:
        public_id = UUID(object_id)
    except ValueError:
        return ""
    return reverse(AUDIT_OBJECT_PAGES[object_type], kwargs={"public_id": public_id})


@reviewer_required
def audit_log(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        report = audit_chain_verify()
        if report.broken is None:
            messages.success(
                request,
                f"The chain is intact: {report.checked} entr{'y' if report.checked == 1 else 'ies'} checked; "
                f"the newest is {report.last_sequence}, hash {report.last_hash}.",
            )
        else:
            messages.error(
                request, f"The chain is broken at entry {report.broken.sequence}: {report.broken.problem}."
            )
        return redirect(request.get_full_path())
    filters = AuditFilterForm(request.GET)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    page = Paginator(
        selectors.audit_events(
            object_type=criteria.get("object_type", "").strip(),
            object_id=criteria.get("object_id", "").strip(),
        ),
        AUDIT_PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    rows = [
        {
            "event": event,
            "before": _compact(event.before),
            "after": _compact(event.after),
            "url": _object_url(event.object_type, event.object_id),
        }
        for event in page
    ]
    context = {"filters": filters, "page": page, "rows": rows, "object_types": AUDIT_OBJECT_TYPES}
    return render(request, "licensing/review/audit_log.html", context)
