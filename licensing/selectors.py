"""Reads of licensing; `sellable_assets` is the one definition of what may be sold (DESIGN.md invariant 1)."""

import datetime
import difflib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from creators.models import CreatorProfile, MediaAsset

from .models import (
    AuditEvent,
    Consent,
    LicenseTerms,
    LicenseTermsVersion,
    Permission,
    Release,
    SelfIdentification,
    Use,
)

# Self-identified groups smaller than this are never shown, alone or as a difference of two shown figures.
K_ANONYMITY = 5


def _approved_releases(kind: str, *, biometric: bool = False) -> Coalesce:
    releases = Release.objects.filter(assets=OuterRef("pk"), kind=kind, status=Release.Status.APPROVED)
    if biometric:
        releases = releases.filter(biometric_consent=True)
    counted = releases.order_by().values("assets").annotate(total=Count("pk")).values("total")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0), output_field=IntegerField())


def sellable_assets(
    *,
    uses: Iterable[str] = (),
    terms: LicenseTerms | None = None,
    face_recognition: bool = False,
    accept_constrained: bool = False,
    as_of: datetime.datetime | None = None,
) -> QuerySet[MediaAsset]:
    """Assets that may be sold for all of `uses` (and under `terms`, whose own uses count too).

    Sellable means: ingest is ready and the asset not erased; its consent is active and allows each use
    (a constrained use only when the caller will carry the constraint to the buyer) and accepted the text of
    `terms` in force (now, or at `as_of` for a version sealed then); a reviewer said how many identifiable
    people it shows, each of whom has an approved model release, and an approved property release exists
    where one is required; no release covering it has been revoked. For face recognition, every approved model release must include the
    separate biometric consent, still within its retention period.
    """
    wanted = set(uses) | set(terms.uses if terms else [])
    unknown = wanted - set(Use.values)
    if unknown:
        raise ValueError(f"Unknown uses: {sorted(unknown)}")
    granted = [Permission.ALLOWED, Permission.CONSTRAINED] if accept_constrained else [Permission.ALLOWED]
    consent = Consent.objects.filter(asset=OuterRef("pk"), status=Consent.Status.ACTIVE)
    for use in wanted:
        consent = consent.filter(**{f"{use}__in": granted})
    if terms is not None:
        consent = consent.filter(accepted_terms=terms)
        text = terms_text_in_force(terms=terms, as_of=as_of)
        if text is not None:
            consent = consent.filter(accepted_terms_versions=text)
    active_consent = Consent.objects.filter(asset=OuterRef("pk"), status=Consent.Status.ACTIVE)
    # A person who signed and then withdrew; a request cancelled before anyone signed blocks nothing.
    revoked = Release.objects.filter(
        assets=OuterRef("pk"), status=Release.Status.REVOKED, signed_on__isnull=False
    )
    assets = (
        MediaAsset.objects.filter(status=MediaAsset.Status.READY, erased_at__isnull=True)
        .filter(Exists(consent))
        .exclude(Exists(revoked))
        .annotate(
            # No default from the detectors: until a reviewer has counted, nobody knows who is in it.
            people=Subquery(active_consent.values("identifiable_people")[:1], output_field=IntegerField()),
            property_required=Exists(active_consent.filter(property_release_required=True)),
            approved_model_releases=_approved_releases(Release.Kind.MODEL),
            approved_property_releases=_approved_releases(Release.Kind.PROPERTY),
        )
        .filter(people__isnull=False, approved_model_releases__gte=F("people"))
        .exclude(property_required=True, approved_property_releases=0)
    )
    if face_recognition:
        biometric = _approved_releases(Release.Kind.MODEL, biometric=True)
        assets = assets.annotate(biometric_releases=biometric).filter(
            biometric_releases=F("approved_model_releases")
        )
        expired = Release.objects.filter(
            assets=OuterRef("pk"),
            kind=Release.Kind.MODEL,
            status=Release.Status.APPROVED,
            biometric_retention_until__lt=timezone.localdate(),
        )
        assets = assets.exclude(Exists(expired))
    return assets


def terms_text_in_force(
    *, terms: LicenseTerms, as_of: datetime.datetime | None = None
) -> LicenseTermsVersion | None:
    """The newest text of the terms published by `as_of` (now by default): what a sale under them carries."""
    texts = terms.versions.order_by("-version")
    return (texts.filter(published_at__lte=as_of) if as_of is not None else texts).first()


@dataclass(frozen=True)
class Sellability:
    """Why an asset can or cannot be sold, in words a creator or reviewer can act on."""

    sellable: bool
    problems: list[str]


def asset_sellability(*, asset: MediaAsset) -> Sellability:
    problems = []
    if asset.erased_at is not None:
        problems.append("The asset was erased.")
    elif asset.status != MediaAsset.Status.READY:
        problems.append(
            "Ingest has not finished."
            if asset.status != MediaAsset.Status.REJECTED
            else "Ingest rejected the file."
        )
    # The active consent decides while a broader one waits for review beside it; else the latest says why not.
    consents = Consent.objects.filter(asset=asset)
    consent = (
        consents.filter(status=Consent.Status.ACTIVE).first() or consents.order_by("-given_at", "-pk").first()
    )
    if consent is None:
        problems.append("No consent has been given.")
    elif consent.status != Consent.Status.ACTIVE:
        problems.append(f"The consent is {consent.get_status_display().lower()}.")
    releases = list(Release.objects.filter(assets=asset).values_list("kind", "status"))
    if Release.objects.filter(assets=asset, status=Release.Status.REVOKED, signed_on__isnull=False).exists():
        problems.append("A release covering it was revoked.")
    approved_models = sum(
        1 for kind, status in releases if kind == Release.Kind.MODEL and status == Release.Status.APPROVED
    )
    people = consent.identifiable_people if consent is not None else None
    detected = asset.people_detected
    if people is None:
        if consent is not None and consent.status == Consent.Status.ACTIVE:
            problems.append("A reviewer has not said how many identifiable people it shows.")
        if detected > approved_models:
            problems.append(
                f"The detectors found {detected} {'person' if detected == 1 else 'people'}, "
                f"{approved_models} approved model release{'s' if approved_models != 1 else ''}."
            )
    elif approved_models < people:
        problems.append(
            f"{people} identifiable {'person' if people == 1 else 'people'}, "
            f"{approved_models} approved model release{'s' if approved_models != 1 else ''}."
        )
    if (
        consent is not None
        and consent.property_release_required
        and not any(
            kind == Release.Kind.PROPERTY and status == Release.Status.APPROVED for kind, status in releases
        )
    ):
        problems.append("It needs an approved property release.")
    if not problems and not sellable_assets().filter(pk=asset.pk).exists():
        problems.append("It is not sellable.")
    return Sellability(sellable=not problems, problems=problems)


def license_terms_current() -> QuerySet[LicenseTerms]:
    return LicenseTerms.objects.prefetch_related("versions")


def releases_for_creator(*, creator: CreatorProfile) -> QuerySet[Release]:
    return (
        Release.objects.filter(creator=creator)
        .annotate(asset_count=Count("assets"))
        .order_by("-created_at", "-pk")
    )


def consents_for_creator(*, creator: CreatorProfile) -> QuerySet[Consent]:
    return (
        Consent.objects.filter(asset__creator=creator)
        .select_related("asset", "replaces")
        .prefetch_related("accepted_terms", "accepted_terms_versions__terms")
    )


def review_queue_releases(*, kind: str = "", flagged_dates: bool = False) -> QuerySet[Release]:
    releases = (
        Release.objects.filter(status=Release.Status.SUBMITTED)
        .select_related("creator")
        .annotate(asset_count=Count("assets"))
        .order_by("submitted_at", "pk")
    )
    if kind:
        releases = releases.filter(kind=kind)
    if flagged_dates:
        releases = releases.exclude(capture_time_outside_shoot=[])
    return releases


def review_queue_consents(
    *, with_faces: bool = False, with_duplicates: bool = False, ai_generated: bool = False
) -> QuerySet[Consent]:
    consents = (
        Consent.objects.filter(status=Consent.Status.PENDING)
        .select_related("asset__creator")
        .prefetch_related("accepted_terms")
        .annotate(duplicate_flags=Count("asset__duplicate_flags", distinct=True))
        .order_by("given_at", "pk")
    )
    if with_faces:
        consents = consents.filter(Q(asset__face_count__gt=0) | Q(asset__person_count__gt=0))
    if with_duplicates:
        consents = consents.filter(duplicate_flags__gt=0)
    if ai_generated:
        consents = consents.filter(asset__ai_generated=True)
    return consents


def review_queue_counts() -> dict[str, int]:
    pending = Consent.objects.filter(status=Consent.Status.PENDING)
    return {
        "releases": Release.objects.filter(status=Release.Status.SUBMITTED).count(),
        "consents": pending.count(),
        "with_faces": pending.filter(Q(asset__face_count__gt=0) | Q(asset__person_count__gt=0)).count(),
        "with_duplicates": pending.filter(asset__duplicate_flags__isnull=False).distinct().count(),
        "ai_generated": pending.filter(asset__ai_generated=True).count(),
    }


def self_identification_aggregate(*, asset_ids: Iterable[int]) -> dict[str, dict[str, int]]:
    """Counts of what the people in these assets said of themselves; a group under K_ANONYMITY is left out.

    Each person counts once however many of the assets show them. Small groups are merged into one
    "fewer than 5 each" figure only when that figure is itself at least K_ANONYMITY.
    """
    # A subquery, not a join plus DISTINCT: DISTINCT over values_list(field) would count each value only once.
    releases = Release.objects.filter(assets__in=list(asset_ids), status=Release.Status.APPROVED)
    people = SelfIdentification.objects.filter(release__in=releases.values("pk"))
    result: dict[str, dict[str, int]] = {}
    for field in ("age_range", "gender", "ethnicity"):
        counts = Counter(
            value.strip().casefold() if field != "age_range" else value
            for value in people.values_list(field, flat=True)
            if value and value.strip()
        )
        shown = {value: count for value, count in counts.items() if count >= K_ANONYMITY}
        hidden = sum(count for count in counts.values() if count < K_ANONYMITY)
        if hidden >= K_ANONYMITY:
            shown["other groups"] = hidden
        result[field] = dict(sorted(shown.items(), key=lambda item: -item[1]))
    return result


def audit_events(*, object_type: str = "", object_id: str = "") -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.order_by("-sequence")
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    return events


@dataclass(frozen=True)
class TermsUpdate:
    """A newer text of terms a creator consented under, and what changed since the text they accepted."""

    newest: LicenseTermsVersion
    accepted: LicenseTermsVersion | None
    consents: int
    changes: list[tuple[str, str]]  # ("added" | "removed" | "same" | "gap", line)


def terms_updates_for_creator(*, creator: CreatorProfile) -> list[TermsUpdate]:
    """Each family of terms the creator's live consents accept whose newest text some of them do not."""
    updates = []
    for family in (
        LicenseTerms.objects.filter(consents__asset__creator=creator).distinct().order_by("position")
    ):
        newest = terms_text_in_force(terms=family)
        if newest is None:
            continue
        behind = Consent.objects.filter(
            asset__creator=creator, status__in=Consent.LIVE, accepted_terms=family
        ).exclude(accepted_terms_versions=newest)
        count = behind.count()
        if not count:
            continue
        accepted = (
            LicenseTermsVersion.objects.filter(terms=family, consents__in=behind).order_by("-version").first()
        )
        updates.append(
            TermsUpdate(
                newest=newest,
                accepted=accepted,
                consents=count,
                changes=_text_changes(accepted.text if accepted else "", newest.text),
            )
        )
    return updates


def _text_changes(before: str, after: str) -> list[tuple[str, str]]:
    """The lines that changed, with three lines of context around each change."""
    changes = []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=3):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            changes.append(("gap", "…"))
        elif line.startswith("+"):
            changes.append(("added", line[1:]))
        elif line.startswith("-"):
            changes.append(("removed", line[1:]))
        else:
            changes.append(("same", line[1:]))
    return changes
