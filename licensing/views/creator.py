"""Creator pages of licensing: releases (ask, upload, follow, fix, withdraw, erase) and consent per asset, in bulk."""

from dataclasses import dataclass
from urllib.parse import quote
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F, QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.actor import signed_in_actor
from core.files import stored_file_response
from core.forms import add_service_errors
from creators import selectors as creator_selectors
from creators.models import CreatorProfile, MediaAsset
from creators.views import creator_required

from .. import selectors, services
from ..forms import (
    AssetsEraseForm,
    ConsentGiveForm,
    ConsentWithdrawForm,
    ReleaseEraseForm,
    ReleaseNewForm,
    ReleaseResubmitForm,
    ReleaseRevokeForm,
)
from ..models import Consent, LicenseTermsVersion, Permission, Release, Use

CONSENT_PAGE_SIZE = 24
RELEASE_PAGE_SIZE = 50
RELEASE_FILES = {
    "signature": "Signature",
    "witness_signature": "Witness's signature",
    "guardian_signature": "Parent or guardian's signature",
    "scan": "Scan of the paper release",
}


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _eligible_assets(creator: CreatorProfile) -> QuerySet[MediaAsset]:
    """The creator's assets a release or a consent may cover: not erased, not refused by ingest."""
    return creator_selectors.assets_of_creator(creator=creator).exclude(status=MediaAsset.Status.REJECTED)


def _eligible_ids(creator: CreatorProfile) -> dict[str, int]:
    return {str(public_id): pk for public_id, pk in _eligible_assets(creator).values_list("public_id", "pk")}


def _own_release(creator: CreatorProfile, public_id: UUID) -> Release:
    return get_object_or_404(
        selectors.releases_for_creator(creator=creator).prefetch_related("assets"), public_id=public_id
    )


# --- Releases ------------------------------------------------------------------------------------------------


@creator_required
def release_list(request: HttpRequest, creator: CreatorProfile) -> HttpResponse:
    releases = selectors.releases_for_creator(creator=creator)
    page = Paginator(releases, RELEASE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "licensing/creator/release_list.html", {"page": page})


@creator_required
def release_new(request: HttpRequest, creator: CreatorProfile) -> HttpResponse:
    assets = list(
        _eligible_assets(creator).order_by(F("capture_time").desc(nulls_last=True), "-uploaded_at", "-pk")
    )
    ids = {str(asset.public_id): asset.pk for asset in assets}
    if request.method == "POST":
        form = ReleaseNewForm(request.POST, request.FILES, asset_ids=list(ids))
    else:
        form = ReleaseNewForm(asset_ids=list(ids), initial={"assets": request.GET.getlist("asset")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        chosen = [ids[value] for value in data["assets"]]
        try:
            if data["method"] == Release.Method.ONLINE:
                release = services.release_request_online(
                    creator=creator,
                    subject=form.subject(),
                    asset_ids=chosen,
                    shoot_start=data["shoot_start"],
                    shoot_end=data["shoot_end"],
                    actor=signed_in_actor(request),
                )
            else:
                release = services.release_upload_paper(
                    creator=creator,
                    subject=form.subject(),
                    asset_ids=chosen,
                    shoot_start=data["shoot_start"],
                    shoot_end=data["shoot_end"],
                    signer=form.paper_signer(),
                    signed_on=data["signed_on"],
                    scan=data["scan"],
                    actor=signed_in_actor(request),
                )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if release.method == Release.Method.ONLINE:
                messages.success(request, "The release is ready to sign. Send the person the link below.")
            else:
                messages.success(request, "The release is submitted; a reviewer will check it.")
            return redirect("licensing:release-detail", public_id=release.public_id)
    context = {"form": form, "assets": assets, "selected": set(form["assets"].value() or [])}
    return render(request, "licensing/creator/release_new.html", context, status=400 if form.errors else 200)


def _signing_link(request: HttpRequest, release: Release) -> str:
    token = services.release_signing_token(release=release)
    return request.build_absolute_uri(reverse("licensing:release-sign", args=[token]))


def _mailto(release: Release, link: str) -> str:
    subject = f"Please sign: {release.get_kind_display().lower()} for {release.creator.display_name}"
    body = (
        f"Hello {release.legal_name},\n\n"
        f"Please read and sign the {release.get_kind_display().lower()} for the photos and videos of our shoot "
        f"({release.shoot_start:%d %B %Y} to {release.shoot_end:%d %B %Y}). "
        f"The link works for {services.SIGNING_LINK_DAYS} days:\n\n{link}\n\n"
        f"A witness (not me) needs to be with you when you sign.\n\n{release.creator.display_name}"
    )
    return f"mailto:{quote(release.email)}?subject={quote(subject)}&body={quote(body)}"


def _release_page(
    request: HttpRequest, release: Release, *, status: int = 200, **forms: Form
) -> HttpResponse:
    awaiting = release.status == Release.Status.AWAITING_SIGNATURE and release.erased_at is None
    link = _signing_link(request, release) if awaiting and release.method == Release.Method.ONLINE else ""
    context = {
        "release": release,
        "assets": list(release.assets.all()),
        "outside": set(release.capture_time_outside_shoot),
        "signing_link": link,
        "mailto": _mailto(release, link) if link else "",
        "link_days": services.SIGNING_LINK_DAYS,
        "files": [(field, label) for field, label in RELEASE_FILES.items() if getattr(release, field)],
        "can_renew": release.method == Release.Method.ONLINE
        and release.erased_at is None
        and release.status in (Release.Status.AWAITING_SIGNATURE, Release.Status.REJECTED),
        "can_resubmit": release.method == Release.Method.PAPER and release.status == Release.Status.REJECTED,
        "can_revoke": release.status != Release.Status.REVOKED,
        "resubmit_form": forms.get("resubmit_form") or ReleaseResubmitForm(),
        "revoke_form": forms.get("revoke_form") or ReleaseRevokeForm(),
        "erase_form": forms.get("erase_form") or ReleaseEraseForm(),
    }
    return render(request, "licensing/creator/release_detail.html", context, status=status)


def _refused(request: HttpRequest, release: Release, error: ValidationError) -> HttpResponse:
    """A move the release's state does not allow (a stale page, a second tab): said plainly, as a 409."""
    for message in error.messages:
        messages.error(request, message)
    return _release_page(request, release, status=409)


@creator_required
def release_detail(request: HttpRequest, creator: CreatorProfile, public_id: UUID) -> HttpResponse:
    return _release_page(request, _own_release(creator, public_id))


@creator_required
@require_POST
def release_renew_link(request: HttpRequest, creator: CreatorProfile, public_id: UUID) -> HttpResponse:
    release = _own_release(creator, public_id)
    try:
        services.release_link_renew(release=release, actor=signed_in_actor(request))
    except ValidationError as error:
        return _refused(request, release, error)
    messages.success(request, "Here is a new signing link. Links sent before no longer work.")
    return redirect("licensing:release-detail", public_id=release.public_id)


@creator_required
@require_POST
def release_resubmit(request: HttpRequest, creator: CreatorProfile, public_id: UUID) -> HttpResponse:
    release = _own_release(creator, public_id)
    form = ReleaseResubmitForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.release_resubmit(
                release=release, actor=signed_in_actor(request), scan=form.cleaned_data["scan"]
            )
        except ValidationError as error:
            if not hasattr(error, "error_dict"):
                return _refused(request, release, error)
            add_service_errors(form, error)
        else:
            messages.success(request, "The release is submitted again; a reviewer will check it.")
            return redirect("licensing:release-detail", public_id=release.public_id)
    return _release_page(request, release, status=400, resubmit_form=form)


@creator_required
@require_POST
def release_revoke(request: HttpRequest, creator: CreatorProfile, public_id: UUID) -> HttpResponse:
    release = _own_release(creator, public_id)
    form = ReleaseRevokeForm(request.POST)
    if not form.is_valid():
        return _release_page(request, release, status=400, revoke_form=form)
    try:
        services.release_revoke(
            release=release, actor=signed_in_actor(request), reason=form.cleaned_data["reason"]
        )
    except ValidationError as error:
        return _refused(request, release, error)
    messages.success(request, "The release is revoked. The photos and videos it covered are no longer sold.")
    return redirect("licensing:release-detail", public_id=release.public_id)


@creator_required
@require_POST
def release_erase(request: HttpRequest, creator: CreatorProfile, public_id: UUID) -> HttpResponse:
    release = _own_release(creator, public_id)
    form = ReleaseEraseForm(request.POST)
    if not form.is_valid():
        return _release_page(request, release, status=400, erase_form=form)
    services.release_erase(release=release, actor=signed_in_actor(request))
    messages.success(request, "The person's data is erased; only a minimal record of the release remains.")
    return redirect("licensing:release-detail", public_id=release.public_id)


@login_required
def release_file(request: HttpRequest, public_id: UUID, field: str) -> HttpResponseBase:
    """A release's signature or scan, for its creator or a reviewer."""
    if field not in RELEASE_FILES:
        raise Http404
    release = get_object_or_404(Release.objects.select_related("creator"), public_id=public_id)
    if release.creator.user_id != request.user.pk and not getattr(request.user, "is_reviewer", False):
        raise PermissionDenied("Only the release's creator and reviewers can see it.")
    # Personal data, and a rejected release sent back with a new scan keeps this address: the browser asks again
    # every time, so that nobody judges a stale copy.
    return stored_file_response(getattr(release, field), max_age=0)


# --- Consent -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentRow:
    asset: MediaAsset
    consent: Consent | None
    sellability: selectors.Sellability

    def uses(self) -> list[tuple[str, str, str]]:
        """Each CAWG use with what the latest consent says of it, and its constraint."""
        if self.consent is None:
            return []
        return [
            (use.label, Permission(self.consent.permission(use)).label, self.consent.constraint(use))
            for use in Use
        ]


def _consent_rows(creator: CreatorProfile, assets: list[MediaAsset]) -> list[ConsentRow]:
    latest: dict[int, Consent] = {}
    consents = (
        selectors.consents_for_creator(creator=creator).filter(asset__in=assets).order_by("-given_at", "-pk")
    )
    for consent in consents:
        latest.setdefault(consent.asset_id, consent)
    return [
        ConsentRow(
            asset=asset, consent=latest.get(asset.pk), sellability=selectors.asset_sellability(asset=asset)
        )
        for asset in assets
    ]


def _page_number(request: HttpRequest) -> str:
    value = request.POST.get("page") or request.GET.get("page") or "1"
    return value if value.isdigit() else "1"


def _consent_page(
    request: HttpRequest,
    creator: CreatorProfile,
    *,
    status: int = 200,
    give_form: ConsentGiveForm | None = None,
    withdraw_form: ConsentWithdrawForm | None = None,
    erase_form: AssetsEraseForm | None = None,
) -> HttpResponse:
    assets = _eligible_assets(creator).order_by("-uploaded_at", "-pk")
    page = Paginator(assets, CONSENT_PAGE_SIZE).get_page(_page_number(request))
    context = {
        "page": page,
        "rows": _consent_rows(creator, list(page.object_list)),
        "terms_updates": selectors.terms_updates_for_creator(creator=creator),
        "give_form": give_form or ConsentGiveForm(asset_ids=[]),
        "withdraw_form": withdraw_form or ConsentWithdrawForm(asset_ids=[]),
        "erase_form": erase_form or AssetsEraseForm(asset_ids=[]),
        "selected": set(request.POST.getlist("assets")),
        "selection_errors": [
            error
            for form in (give_form, withdraw_form, erase_form)
            if form is not None
            for error in form.errors.get("assets", [])
        ],
    }
    return render(request, "licensing/creator/consent_manage.html", context, status=status)


def _back_to_consent(request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse('licensing:consent-manage')}?page={_page_number(request)}")


@creator_required
def consent_manage(request: HttpRequest, creator: CreatorProfile) -> HttpResponse:
    return _consent_page(request, creator)


@creator_required
@require_POST
def consent_give(request: HttpRequest, creator: CreatorProfile) -> HttpResponse:
    ids = _eligible_ids(creator)
    form = ConsentGiveForm(request.POST, asset_ids=list(ids))
    if form.is_valid():
        data = form.cleaned_data
        try:
            given = services.consents_give(
                creator=creator,
                asset_ids=[ids[value] for value in data["assets"]],
                permissions=form.permissions(),
                terms=data["terms"],
                property_release_required=data["property_release_required"],
                actor=signed_in_actor(request),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _consent_given_in_words(given))
            return _back_to_consent(request)
    return _consent_page(request, creator, status=400, give_form=form)


def _consent_given_in_words(given: list[Consent]) -> str:
    narrowed = sum(1 for consent in given if consent.status == Consent.Status.ACTIVE)
    waiting = len(given) - narrowed
    if not given:
        return "Nothing changed: the selected items already have this consent."
    said = []
    if narrowed:
        said.append(
            f"Narrowed at once for {_plural(narrowed, 'item', 'items')}: what you took away is withdrawn, and "
            "buyers who hold them are told."
        )
    if waiting:
        said.append(
            f"Consent given for {_plural(waiting, 'item', 'items')}. A reviewer checks it before anything new "
            "is sold; an earlier consent holds until then."
        )
    return " ".join(said)


@creator_required
def terms_updates(request: HttpRequest, creator: CreatorProfile) -> HttpResponse:
    """Newer texts of the license terms the creator consented under, each with what changed, to accept."""
    if request.method == "POST":
        text = get_object_or_404(LicenseTermsVersion, pk=request.POST.get("terms_version", ""))
        try:
            accepted = services.terms_version_accept(
                creator=creator, terms_version=text, actor=signed_in_actor(request)
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                f"You accepted {text} for {_plural(accepted, 'item', 'items')}. New dataset versions sold "
                "under it can include them.",
            )
        return redirect("licensing:terms-updates")
    context = {"updates": selectors.terms_updates_for_creator(creator=creator)}
    return render(request, "licensing/creator/terms_updates.html", context)


@creator_required
@require_POST
def consent_withdraw(request: HttpRequest, creator: CreatorProfile) -> HttpResponse:
    ids = _eligible_ids(creator)
    form = ConsentWithdrawForm(request.POST, asset_ids=list(ids))
    if form.is_valid():
        try:
            withdrawn = services.consents_withdraw(
                asset_ids=[ids[value] for value in form.cleaned_data["assets"]],
                actor=signed_in_actor(request),
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if withdrawn:
                messages.success(
                    request,
                    f"Consent withdrawn for {_plural(withdrawn, 'item', 'items')}. "
                    f"{'It is' if withdrawn == 1 else 'They are'} no longer sold, and buyers who hold "
                    f"{'it' if withdrawn == 1 else 'them'} are told.",
                )
            else:
                messages.info(request, "None of the selected items had consent to withdraw.")
            return _back_to_consent(request)
    return _consent_page(request, creator, status=400, withdraw_form=form)


@creator_required
@require_POST
def assets_erase(request: HttpRequest, creator: CreatorProfile) -> HttpResponse:
    ids = _eligible_ids(creator)
    form = AssetsEraseForm(request.POST, asset_ids=list(ids))
    if form.is_valid():
        try:
            erased = services.assets_erase(
                asset_ids=[ids[value] for value in form.cleaned_data["assets"]],
                actor=signed_in_actor(request),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                f"Erased {_plural(erased, 'item', 'items')}: consent is withdrawn, and the originals, previews "
                "and descriptions are deleted.",
            )
            return _back_to_consent(request)
    return _consent_page(request, creator, status=400, erase_form=form)
