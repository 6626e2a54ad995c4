"""Every write of licensing: releases, their signing and review, consent, withdrawal, erasure, license terms.

Each transition locks its row, checks the move against the model's TRANSITIONS, records who and when, writes
an audit entry in the same transaction, and tells the layers above once it has committed.
"""

import datetime
import hashlib
import hmac
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models import Max, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from core.actor import Actor
from core.transitions import transition
from creators.models import CreatorProfile, MediaAsset
from creators.services import asset_erase, stored_files_delete

from .audit import audit_event_record
from .models import Consent, LicenseTerms, LicenseTermsVersion, Permission, Release, SelfIdentification, Use
from .signals import assets_erased, assets_withdrawn, biometric_retention_ending, review_decided

SIGNING_SALT = "licensing.release-signing"
SIGNING_LINK_DAYS = 14
ADULT_AGE = 18
# BIPA: biometric identifiers are destroyed within three years of the person's last interaction.
BIOMETRIC_RETENTION_MAX_DAYS = 3 * 365
SIGNATURE_MAX_BYTES = 512 * 1024
SIGNATURE_MAX_SIDE = 2400
SCAN_MAX_BYTES = 20 * 1024 * 1024
SCAN_IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png"}
RELEASE_WORDING_TEMPLATE = {
    Release.Kind.MODEL: "licensing/wording/model_release.txt",
    Release.Kind.PROPERTY: "licensing/wording/property_release.txt",
}
REPLACED_BY_NEW_CONSENT = "Replaced by a newer consent from the creator."
SIGNATURE_FIELDS = ("signature", "witness_signature", "guardian_signature")


# --- Transitions and who may make them ---------------------------------------------------------------------


def _require_reviewer(user: Actor) -> None:
    if not user.is_reviewer:
        raise PermissionDenied("Only reviewers can do this.")


def _require_not_own(reviewer: Actor, creator: CreatorProfile, what: str) -> None:
    """Separation of duties: a reviewer who is also a creator never decides on their own work."""
    if creator.user_id == getattr(reviewer, "pk", None):
        raise PermissionDenied(f"You cannot decide on your own {what}: another reviewer has to.")


# --- License terms ---------------------------------------------------------------------------------------------


@transaction.atomic
def license_terms_version_publish(
    *, terms: LicenseTerms, text: str, actor: Actor | None = None
) -> LicenseTermsVersion:
    """Publish a new text for a family of terms; earlier versions stay as they were, forever."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": "The license text is empty."})
    LicenseTerms.objects.select_for_update().get(pk=terms.pk)
    latest = terms.versions.aggregate(latest=Max("version"))["latest"] or 0
    version = LicenseTermsVersion.objects.create(
        terms=terms,
        version=latest + 1,
        text=text,
        text_sha256=hashlib.sha256(text.encode()).hexdigest(),
    )
    audit_event_record(
        actor=actor,
        action="license_terms.published",
        object_type="license_terms_version",
        object_id=version.pk,
        after={"terms": terms.slug, "version": version.version, "text_sha256": version.text_sha256},
    )
    return version


@transaction.atomic
def terms_version_accept(*, creator: CreatorProfile, terms_version: LicenseTermsVersion, actor: Actor) -> int:
    """The creator accepts a newer text of terms they consented under, for all their assets at once; returns
    how many consents now carry it. Nothing else changes, so nothing goes to review and nobody is told."""
    if terms_version != terms_version.terms.versions.order_by("-version").first():
        raise ValidationError("A newer text of these terms has been published since; accept that one.")
    consents = list(
        Consent.objects.select_for_update()
        .filter(asset__creator=creator, status__in=Consent.LIVE, accepted_terms=terms_version.terms)
        .exclude(accepted_terms_versions=terms_version)
        .order_by("pk")
    )
    if not consents:
        raise ValidationError(f"None of your consents is given under {terms_version.terms.name}.")
    Consent.accepted_terms_versions.through.objects.bulk_create(
        Consent.accepted_terms_versions.through(
            consent_id=consent.pk, licensetermsversion_id=terms_version.pk
        )
        for consent in consents
    )
    audit_event_record(
        actor=actor,
        action="license_terms.accepted",
        object_type="license_terms_version",
        object_id=terms_version.pk,
        after={
            "terms": terms_version.terms.slug,
            "version": terms_version.version,
            "creator": creator.pk,
            "consents": [str(consent.public_id) for consent in consents],
        },
    )
    return len(consents)


# --- Releases: asking, signing, paper -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseSubject:
    """Who or what a release is about, as the creator describes it."""

    kind: str
    legal_name: str
    email: str = ""
    property_description: str = ""


def _creator_assets(creator: CreatorProfile, asset_ids: Iterable[int]) -> list[MediaAsset]:
    wanted = set(asset_ids)
    if not wanted:
        raise ValidationError({"assets": "Choose at least one photo or video from the shoot."})
    assets = list(
        MediaAsset.objects.filter(creator=creator, pk__in=wanted, erased_at__isnull=True).exclude(
            status=MediaAsset.Status.REJECTED
        )
    )
    if len(assets) != len(wanted):
        raise ValidationError({"assets": "Some of the chosen assets are not yours or cannot be released."})
    return assets


def _shoot_date_errors(start: datetime.date, end: datetime.date) -> dict[str, str]:
    if end < start:
        return {"shoot_end": "The shoot cannot end before it starts."}
    if start > timezone.localdate():
        return {"shoot_start": "The shoot cannot start in the future."}
    return {}


def _captured_outside(assets: Iterable[MediaAsset], start: datetime.date, end: datetime.date) -> list[int]:
    outside = []
    for asset in assets:
        if asset.capture_time is None:
            continue
        captured = (
            timezone.localtime(asset.capture_time).date()
            if timezone.is_aware(asset.capture_time)
            else (asset.capture_time.date())
        )
        if not start <= captured <= end:
            outside.append(asset.pk)
    return sorted(outside)


def _subject_errors(subject: ReleaseSubject) -> dict[str, str]:
    errors = {}
    if subject.kind not in Release.Kind.values:
        errors["kind"] = "Choose a model release or a property release."
    if not subject.legal_name.strip():
        errors["legal_name"] = "Give the person's (or owner's) full legal name."
    if subject.kind == Release.Kind.PROPERTY and not subject.property_description.strip():
        errors["property_description"] = "Describe the property or artwork."
    return errors


def _refuse(errors: dict[str, str]) -> None:
    """Every rule a release broke, reported at once, so the page and the API can mark each field together."""
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def release_request_online(
    *,
    creator: CreatorProfile,
    subject: ReleaseSubject,
    asset_ids: Iterable[int],
    shoot_start: datetime.date,
    shoot_end: datetime.date,
    actor: Actor,
) -> Release:
    """Start a release the person signs online, through a link the creator sends them."""
    _refuse({**_subject_errors(subject), **_shoot_date_errors(shoot_start, shoot_end)})
    assets = _creator_assets(creator, asset_ids)
    release = Release.objects.create(
        creator=creator,
        kind=subject.kind,
        status=Release.Status.AWAITING_SIGNATURE,
        method=Release.Method.ONLINE,
        legal_name=subject.legal_name.strip(),
        email=subject.email.strip(),
        property_description=subject.property_description.strip(),
        shoot_start=shoot_start,
        shoot_end=shoot_end,
        capture_time_outside_shoot=_captured_outside(assets, shoot_start, shoot_end),
    )
    release.assets.set(assets)
    audit_event_record(
        actor=actor,
        action="release.requested",
        object_type="release",
        object_id=release.public_id,
        after={"status": release.status, "kind": release.kind, "assets": sorted(a.pk for a in assets)},
    )
    return release


def release_signing_token(*, release: Release) -> str:
    """The secret part of the signing link: names this release and this generation of its link."""
    return signing.dumps(
        {"release": str(release.public_id), "link": release.link_generation}, salt=SIGNING_SALT
    )


def release_for_signing(*, token: str) -> Release:
    """The release a signing link opens; refuses a forged, expired, replaced or already used link."""
    try:
        claims = signing.loads(token, salt=SIGNING_SALT, max_age=datetime.timedelta(days=SIGNING_LINK_DAYS))
        release = Release.objects.select_related("creator").get(public_id=uuid.UUID(claims["release"]))
    except signing.SignatureExpired as error:
        raise PermissionDenied(
            "This signing link has expired. Ask the photographer for a new one."
        ) from error
    except (signing.BadSignature, Release.DoesNotExist, KeyError, ValueError, TypeError) as error:
        raise PermissionDenied("This signing link is not valid.") from error
    if claims.get("link") != release.link_generation:
        raise PermissionDenied(
            "This signing link was replaced by a newer one. Use the latest link you received."
        )
    if release.status != Release.Status.AWAITING_SIGNATURE:
        raise PermissionDenied("This release has already been signed or was withdrawn.")
    return release


@transaction.atomic
def release_link_renew(*, release: Release, actor: Actor) -> Release:
    """Issue a new signing link (older links stop working); a rejected online release goes back to the person."""
    release = Release.objects.select_for_update().select_related("creator").get(pk=release.pk)
    _check_creator_or_reviewer(actor, release.creator)
    if release.method != Release.Method.ONLINE:
        raise ValidationError("A paper release is not signed through a link.", code="invalid_transition")
    before = release.status
    if release.status != Release.Status.AWAITING_SIGNATURE:
        transition(
            release, subject=f"This {release._meta.verbose_name}", target=Release.Status.AWAITING_SIGNATURE
        )
    release.link_generation += 1
    release.save(update_fields=["status", "link_generation", "updated_at"])
    audit_event_record(
        actor=actor,
        action="release.link_renewed",
        object_type="release",
        object_id=release.public_id,
        before={"status": before},
        after={"status": release.status, "link": release.link_generation},
    )
    return release


@dataclass(frozen=True)
class Signer:
    """What the person (and witness, and guardian) give when signing; signatures are PNG bytes."""

    signed_name: str
    date_of_birth: datetime.date | None
    address: str
    email: str
    phone: str
    signature_png: bytes
    witness_name: str
    witness_signature_png: bytes
    guardian_name: str = ""
    guardian_signature_png: bytes = b""
    biometric_consent: bool = False
    biometric_retention_until: datetime.date | None = None


@dataclass(frozen=True)
class SelfDescription:
    age_range: str = ""
    gender: str = ""
    ethnicity: str = ""

    def is_empty(self) -> bool:
        return not (self.age_range or self.gender.strip() or self.ethnicity.strip())


def _is_minor(date_of_birth: datetime.date | None, on: datetime.date) -> bool:
    if date_of_birth is None:
        return False
    years = on.year - date_of_birth.year - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))
    return years < ADULT_AGE


# What a property release must not carry: it is about a thing, so no one's birth date or face is in it.
PROPERTY_RELEASE_REFUSES = {
    "date_of_birth": "A property release carries no date of birth; leave it empty.",
    "biometric_consent": "A property release carries no biometric consent; only a model release can.",
    "biometric_retention_until": "A property release keeps no face data; leave this date empty.",
}


def _signer_errors(
    release: Release, signer: Signer, signed_on: datetime.date, *, online: bool
) -> dict[str, str]:
    """Every rule on who signs a release and what they give: the one place the page and the API both use."""
    errors: dict[str, str] = {}
    if not signer.signed_name.strip():
        errors["signed_name"] = "Type your full name as your signature."
    elif online and signer.signed_name.strip().casefold() != release.legal_name.casefold():
        errors["signed_name"] = f"Type your name exactly as the release names you: {release.legal_name}."
    if release.kind == Release.Kind.PROPERTY:
        given = {
            "date_of_birth": signer.date_of_birth is not None,
            "biometric_consent": signer.biometric_consent,
            "biometric_retention_until": signer.biometric_retention_until is not None,
        }
        errors |= {field: PROPERTY_RELEASE_REFUSES[field] for field, present in given.items() if present}
    elif release.kind == Release.Kind.MODEL:
        if signer.date_of_birth is None:
            errors["date_of_birth"] = "Give your date of birth."
        elif signer.date_of_birth >= signed_on or signer.date_of_birth.year < signed_on.year - 120:
            errors["date_of_birth"] = "This date of birth is not possible."
        errors |= _biometric_errors(signer, signed_on)
    if not (signer.address.strip() or signer.email.strip() or signer.phone.strip()):
        errors["address"] = "Give at least one way to reach you: address, email or phone."
    witness = signer.witness_name.strip().casefold()
    if not witness:
        errors["witness_name"] = "A witness must sign too."
    elif witness in {
        release.legal_name.casefold(),
        signer.signed_name.strip().casefold(),
        release.creator.display_name.casefold(),
        release.creator.user.get_full_name().casefold(),
    }:
        errors["witness_name"] = "The witness must be someone other than the person and the photographer."
    if _is_minor(signer.date_of_birth, signed_on) and not signer.guardian_name.strip():
        errors["guardian_name"] = "A person under 18 needs a parent or guardian to sign as well."
    return errors


def _biometric_errors(signer: Signer, signed_on: datetime.date) -> dict[str, str]:
    retention = signer.biometric_retention_until
    if not signer.biometric_consent:
        # A date without the tick is ambiguous, and BIPA wants the consent itself in writing: ask, never guess.
        if retention is not None:
            return {"biometric_retention_until": "Tick the biometric consent too, or leave this date empty."}
        return {}
    if retention is None:
        return {"biometric_retention_until": "Say until when face data may be kept."}
    if not signed_on < retention <= signed_on + datetime.timedelta(days=BIOMETRIC_RETENTION_MAX_DAYS):
        return {"biometric_retention_until": "Face data may be kept for at most three years after signing."}
    return {}


def _signature_file(png: bytes, field: str, label: str) -> ContentFile:
    """A drawn signature, checked to be a real, non-empty PNG and re-encoded without any metadata."""
    if not png:
        raise ValidationError({field: f"Draw the {label} in the box."})
    if len(png) > SIGNATURE_MAX_BYTES:
        raise ValidationError({field: f"The {label} image is too large."})
    try:
        with Image.open(io.BytesIO(png), formats=["PNG"]) as image:
            if max(image.size) > SIGNATURE_MAX_SIDE:
                raise ValidationError({field: f"The {label} image is too large."})
            image.load()
            # Ink is a dark, opaque stroke: judged as the signature shows on white paper, so a blank pad, a
            # fully transparent one and a light stroke on a transparent one all have none.
            on_paper = Image.alpha_composite(
                Image.new("RGBA", image.size, "white"), image.convert("RGBA")
            ).convert("L")
            ink = on_paper.point(lambda level: 255 if level < 160 else 0)
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise ValidationError({field: f"The {label} could not be read; draw it again."}) from error
    if not ink.getbbox():
        raise ValidationError({field: f"The {label} is empty; draw it in the box."})
    clean = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGBA").save(clean, "PNG", optimize=True)
    return ContentFile(clean.getvalue(), name=f"{field}.png")


def _wording_sha256(release: Release) -> str:
    text = render_to_string(RELEASE_WORDING_TEMPLATE[Release.Kind(release.kind)], {"release": release})
    return hashlib.sha256(text.encode()).hexdigest()


@transaction.atomic
def release_sign_online(
    *,
    release: Release,
    signer: Signer,
    self_description: SelfDescription | None,
    ip_address: str | None,
    user_agent: str,
) -> Release:
    """The person signs through their link: the release is completed, evidenced, and sent for review."""
    release = Release.objects.select_for_update().select_related("creator__user").get(pk=release.pk)
    if release.status != Release.Status.AWAITING_SIGNATURE:
        raise PermissionDenied("This release has already been signed or was withdrawn.")
    today = timezone.localdate()
    _refuse(_signer_errors(release, signer, today, online=True))
    if self_description is not None:
        _check_self_description(self_description)
    files = {
        "signature": _signature_file(signer.signature_png, "signature", "signature"),
        "witness_signature": _signature_file(
            signer.witness_signature_png, "witness_signature", "witness's signature"
        ),
    }
    if _is_minor(signer.date_of_birth, today):
        files["guardian_signature"] = _signature_file(
            signer.guardian_signature_png, "guardian_signature", "parent or guardian's signature"
        )
    _fill_signer(release, signer, today)
    release.signed_at = timezone.now()
    release.signed_ip = ip_address
    release.signed_user_agent = user_agent[:500]
    release.wording_sha256 = _wording_sha256(release)
    # Signing again after a rejection: the earlier signatures go, so no old signature image outlives the release.
    replaced = [str(getattr(release, field).name) for field in SIGNATURE_FIELDS if getattr(release, field)]
    release.guardian_signature = ""
    for field, content in files.items():
        getattr(release, field).save(content.name, content, save=False)
    _submit(release, actor=None, action="release.signed_online")
    transaction.on_commit(lambda: stored_files_delete(replaced))
    if self_description is not None and not self_description.is_empty():
        _self_identification_save(release, self_description)
    return release


def _fill_signer(release: Release, signer: Signer, signed_on: datetime.date) -> None:
    release.signed_name = signer.signed_name.strip()
    release.date_of_birth = signer.date_of_birth
    release.address = signer.address.strip()
    release.email = signer.email.strip() or release.email
    release.phone = signer.phone.strip()
    release.witness_name = signer.witness_name.strip()
    release.guardian_name = signer.guardian_name.strip()
    release.signed_on = release.witness_signed_on = signed_on
    release.biometric_consent = signer.biometric_consent
    release.biometric_retention_until = signer.biometric_retention_until


def _submit(release: Release, *, actor: Actor | None, action: str) -> None:
    before = transition(
        release, subject=f"This {release._meta.verbose_name}", target=Release.Status.SUBMITTED
    )
    release.submitted_at = timezone.now()
    release.capture_time_outside_shoot = _captured_outside(
        release.assets.all(), release.shoot_start, release.shoot_end
    )
    release.rejection_reason = ""
    release.save()
    audit_event_record(
        actor=actor,
        action=action,
        object_type="release",
        object_id=release.public_id,
        before={"status": before},
        after={
            "status": release.status,
            "method": release.method,
            "signed_at": release.signed_at,
            # A keyed digest, not the address: the log outlives an erasure request and must not keep it.
            "evidence_digest": _evidence_digest(release),
            "wording_sha256": release.wording_sha256,
            "biometric_consent": release.biometric_consent,
            "capture_time_outside_shoot": release.capture_time_outside_shoot,
        },
    )


def _check_self_description(description: SelfDescription) -> None:
    if description.age_range and description.age_range not in SelfIdentification.AgeRange.values:
        raise ValidationError({"age_range": "Choose an age range from the list, or leave it empty."})


def _evidence_digest(release: Release) -> str | None:
    """Ties the audit entry to the signing evidence on the release without copying personal data into it."""
    if release.signed_at is None:
        return None
    evidence = f"{release.signed_at.isoformat()}|{release.signed_ip}|{release.signed_user_agent}"
    return hmac.new(settings.SECRET_KEY.encode(), evidence.encode(), hashlib.sha256).hexdigest()


def _self_identification_save(release: Release, description: SelfDescription) -> None:
    SelfIdentification.objects.update_or_create(
        release=release,
        defaults={
            "age_range": description.age_range,
            "gender": description.gender.strip()[:60],
            "ethnicity": description.ethnicity.strip()[:100],
        },
    )


def _scan_file(scan: UploadedFile) -> ContentFile:
    """A scanned paper release: a PDF, JPEG or PNG, decided from its content, under a generated name."""
    if scan.size is None or scan.size == 0:
        raise ValidationError({"scan": "The scan is empty."})
    if scan.size > SCAN_MAX_BYTES:
        raise ValidationError({"scan": "The scan is larger than 20 MB."})
    data = scan.read()
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-2048:]:
            raise ValidationError({"scan": "The PDF is incomplete; scan it again."})
        return ContentFile(data, name="scan.pdf")
    try:
        with Image.open(io.BytesIO(data), formats=list(SCAN_IMAGE_FORMATS)) as image:
            image_format = str(image.format)
            image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise ValidationError({"scan": "Upload the scan as a PDF, JPEG or PNG."}) from error
    return ContentFile(data, name=f"scan.{SCAN_IMAGE_FORMATS[image_format]}")


@transaction.atomic
def release_upload_paper(
    *,
    creator: CreatorProfile,
    subject: ReleaseSubject,
    asset_ids: Iterable[int],
    shoot_start: datetime.date,
    shoot_end: datetime.date,
    signer: Signer,
    signed_on: datetime.date | None,
    scan: UploadedFile | None,
    actor: Actor,
) -> Release:
    """Record a release signed on paper from its scan; it goes straight to review."""
    today = timezone.localdate()
    errors = {**_subject_errors(subject), **_shoot_date_errors(shoot_start, shoot_end)}
    if signed_on is None:
        errors["signed_on"] = "Give the date the release was signed."
    elif signed_on > today:
        errors["signed_on"] = "The signing date cannot be in the future."
    if scan is None:
        errors["scan"] = "Upload the scan of the signed release: a PDF, JPEG or PNG."
    release = Release(
        creator=creator,
        kind=subject.kind,
        status=Release.Status.AWAITING_SIGNATURE,
        method=Release.Method.PAPER,
        legal_name=subject.legal_name.strip(),
        property_description=subject.property_description.strip(),
        shoot_start=shoot_start,
        shoot_end=shoot_end,
    )
    errors |= _signer_errors(release, signer, signed_on or today, online=False)
    # Neither None passes: each missing one is among the errors.
    if errors or signed_on is None or scan is None:
        raise ValidationError(errors)
    assets = _creator_assets(creator, asset_ids)
    content = _scan_file(scan)
    _fill_signer(release, signer, signed_on)
    release.scan.save(str(content.name), content, save=False)
    release.save()
    release.assets.set(assets)
    _submit(release, actor=actor, action="release.uploaded_paper")
    return release


@transaction.atomic
def release_resubmit(*, release: Release, actor: Actor, scan: UploadedFile | None = None) -> Release:
    """Send a rejected paper release back to review, with a better scan when the old one was the problem."""
    release = Release.objects.select_for_update().select_related("creator").get(pk=release.pk)
    _check_creator_or_reviewer(actor, release.creator)
    if release.method == Release.Method.ONLINE:
        raise ValidationError(
            "An online release is fixed by sending the person a new signing link.", code="invalid_transition"
        )
    # Checked before the scan is stored, so a refused resubmission leaves no file behind.
    if Release.Status.SUBMITTED not in Release.TRANSITIONS[release.status]:
        raise ValidationError(
            f"This release is {release.get_status_display().lower()}; it cannot be submitted again.",
            code="invalid_transition",
        )
    replaced = []
    if scan is not None:
        content = _scan_file(scan)
        replaced = [str(release.scan.name)] if release.scan else []
        release.scan.save(str(content.name), content, save=False)
    _submit(release, actor=actor, action="release.resubmitted")
    transaction.on_commit(lambda: stored_files_delete(replaced))
    return release


# --- Review -------------------------------------------------------------------------------------------------


def _notify_creator(
    *, creator_user_id: int, subject: str, approved: bool, reason: str, note: str, path: str
) -> None:
    transaction.on_commit(
        lambda: review_decided.send(
            sender=Release,
            creator_user_id=creator_user_id,
            subject=subject,
            approved=approved,
            reason=reason,
            note=note,
            path=path,
        )
    )


def _check_rejection(reason: str, reasons: type[models.TextChoices], note: str) -> None:
    if reason not in reasons.values:
        raise ValidationError({"reason": "Choose a reason for the rejection."})
    if reason == "other" and not note.strip():
        raise ValidationError({"note": "Say what the problem is, so the creator can fix it."})


def _decide(
    item: Release | Consent,
    *,
    reviewer: Actor,
    target: str,
    reason: str = "",
    note: str = "",
    after: dict[str, Any] | None = None,
    subject: str,
    creator_user_id: int,
    path: str,
) -> None:
    """A reviewer's decision on a locked release or consent: recorded, audited, and sent to the creator."""
    before = transition(item, subject=f"This {item._meta.verbose_name}", target=target)
    item.reviewed_by_id, item.reviewed_at = reviewer.pk, timezone.now()
    item.rejection_reason, item.review_note = reason, note.strip()
    item.save()
    noun = "release" if isinstance(item, Release) else "consent"
    approved = not reason
    audit_event_record(
        actor=reviewer,
        action=f"{noun}.{'approved' if approved else 'rejected'}",
        object_type=noun,
        object_id=item.public_id,
        before={"status": before},
        after={
            "status": item.status,
            **({"reason": reason} if reason else {}),
            "note": item.review_note,
            **(after or {}),
        },
    )
    _notify_creator(
        creator_user_id=creator_user_id,
        subject=subject,
        approved=approved,
        reason=item.get_rejection_reason_display() if reason else "",
        note=item.review_note,
        path=path,
    )


def _release_decision_context(release: Release) -> dict[str, Any]:
    return {
        "subject": f"{release.get_kind_display()} for {release.legal_name}",
        "creator_user_id": release.creator.user_id,
        "path": reverse("licensing:release-detail", kwargs={"public_id": release.public_id}),
    }


def _consent_decision_context(consent: Consent) -> dict[str, Any]:
    return {
        "subject": f"Consent for “{consent.asset}”",
        "creator_user_id": consent.asset.creator.user_id,
        "path": reverse("creators:media-detail", kwargs={"public_id": consent.asset.public_id}),
    }


@transaction.atomic
def release_approve(*, release: Release, reviewer: Actor, note: str = "") -> Release:
    _require_reviewer(reviewer)
    release = Release.objects.select_for_update().select_related("creator").get(pk=release.pk)
    _require_not_own(reviewer, release.creator, "release")
    _decide(
        release,
        reviewer=reviewer,
        target=Release.Status.APPROVED,
        note=note,
        **_release_decision_context(release),
    )
    return release


@transaction.atomic
def release_reject(*, release: Release, reviewer: Actor, reason: str, note: str = "") -> Release:
    _require_reviewer(reviewer)
    _check_rejection(reason, Release.RejectionReason, note)
    release = Release.objects.select_for_update().select_related("creator").get(pk=release.pk)
    _require_not_own(reviewer, release.creator, "release")
    _decide(
        release,
        reviewer=reviewer,
        target=Release.Status.REJECTED,
        reason=reason,
        note=note,
        **_release_decision_context(release),
    )
    return release


@transaction.atomic
def release_revoke(*, release: Release, actor: Actor, reason: str) -> Release:
    """The person withdraws (or a takedown): every asset the release covered stops being sellable at once."""
    release = Release.objects.select_for_update().get(pk=release.pk)
    _check_creator_or_reviewer(actor, release.creator)
    was_approved = release.status == Release.Status.APPROVED
    before = transition(release, subject=f"This {release._meta.verbose_name}", target=Release.Status.REVOKED)
    release.revoked_at, release.revocation_reason = timezone.now(), reason.strip()
    release.save(update_fields=["status", "revoked_at", "revocation_reason", "updated_at"])
    asset_ids = sorted(release.assets.values_list("pk", flat=True))
    audit_event_record(
        actor=actor,
        action="release.revoked",
        object_type="release",
        object_id=release.public_id,
        before={"status": before},
        after={"status": release.status, "reason": release.revocation_reason, "assets": asset_ids},
    )
    if was_approved:
        _announce_withdrawal(asset_ids, f"A {release.get_kind_display().lower()} was revoked.")
    return release


# --- Releases: the end of a biometric consent's retention ------------------------------------------------

# The creator and the person are told this long before a biometric consent's retention period ends.
BIOMETRIC_NOTICE_DAYS = 30
BIOMETRIC_ENDED_REASON = "A person's biometric consent reached the end of its retention period."


def _biometric_consents_live() -> QuerySet[Release]:
    """Approved model releases whose biometric consent is still on: the ones face recognition sells under."""
    return Release.objects.filter(
        kind=Release.Kind.MODEL,
        status=Release.Status.APPROVED,
        biometric_consent=True,
        biometric_ended_at__isnull=True,
    )


def _biometric_locked(release_id: int) -> Release | None:
    # Only the release's row: the creator's is not this job's to hold.
    return (
        _biometric_consents_live()
        .select_for_update(of=("self",))
        .select_related("creator")
        .filter(pk=release_id)
        .first()
    )


def _biometric_notify(release: Release, *, ended: bool) -> None:
    """Record that the creator and the person are told (once), and tell them once this commits."""
    release.biometric_notice_sent_at = timezone.now()
    audit_event_record(
        actor=None,
        action="release.biometric_notice_sent",
        object_type="release",
        object_id=release.public_id,
        after={
            "retention_until": release.biometric_retention_until,
            "ended": ended,
            "person_told": bool(release.email),
        },
    )
    context = {
        "creator_user_id": release.creator.user_id,
        "person_email": release.email,
        "person_name": release.legal_name,
        "retention_until": release.biometric_retention_until,
        "ended": ended,
        "path": reverse("licensing:release-detail", kwargs={"public_id": release.public_id}),
    }
    transaction.on_commit(lambda: biometric_retention_ending.send(sender=Release, **context))


def releases_biometric_notify_due() -> int:
    """Tell the creator and the person, once, that a biometric consent's retention ends within
    BIOMETRIC_NOTICE_DAYS. Returns how many releases were told of.

    One transaction per release, so that one failing holds back no other notice.
    """
    today = timezone.localdate()
    due = _biometric_consents_live().filter(
        biometric_notice_sent_at__isnull=True,
        biometric_retention_until__gte=today,
        biometric_retention_until__lte=today + datetime.timedelta(days=BIOMETRIC_NOTICE_DAYS),
    )
    return sum(
        _release_biometric_notify(release_id)
        for release_id in due.order_by("pk").values_list("pk", flat=True)
    )


@transaction.atomic
def _release_biometric_notify(release_id: int) -> bool:
    release = _biometric_locked(release_id)
    # Told already by a run that held the lock first, or no longer live (revoked, ended) since the search.
    if release is None or release.biometric_notice_sent_at is not None:
        return False
    _biometric_notify(release, ended=False)
    release.save(update_fields=["biometric_notice_sent_at", "updated_at"])
    return True


def releases_biometric_end_due() -> int:
    """End every biometric consent whose retention period is over: the consent goes off, the release records
    when, and its assets are announced as withdrawn from face recognition. Returns how many ended.

    Safe to run again: an ended consent is no longer live, so nothing is ended or announced twice.
    """
    due = _biometric_consents_live().filter(biometric_retention_until__lt=timezone.localdate())
    return sum(
        _release_biometric_end(release_id) for release_id in due.order_by("pk").values_list("pk", flat=True)
    )


@transaction.atomic
def _release_biometric_end(release_id: int) -> bool:
    release = _biometric_locked(release_id)
    if release is None:
        return False  # ended by a run that held the lock first, or revoked since the search
    if release.biometric_notice_sent_at is None:
        # Approved too late, or the notices did not run: they learn of the end rather than of nothing.
        _biometric_notify(release, ended=True)
    release.biometric_consent = False
    release.biometric_ended_at = timezone.now()
    release.save(
        update_fields=["biometric_consent", "biometric_ended_at", "biometric_notice_sent_at", "updated_at"]
    )
    asset_ids = sorted(release.assets.values_list("pk", flat=True))
    audit_event_record(
        actor=None,
        action="release.biometric_ended",
        object_type="release",
        object_id=release.public_id,
        before={"biometric_consent": True, "biometric_retention_until": release.biometric_retention_until},
        after={
            "biometric_consent": False,
            "biometric_ended_at": release.biometric_ended_at,
            "assets": asset_ids,
        },
    )
    if asset_ids:
        _announce_withdrawal(asset_ids, BIOMETRIC_ENDED_REASON)
    return True


@transaction.atomic
def release_erase(*, release: Release, actor: Actor) -> Release:
    """An erasure request: revoke, delete the signatures and scan, blank personal data; keep a minimal entry."""
    release = Release.objects.select_for_update().get(pk=release.pk)
    _check_creator_or_reviewer(actor, release.creator)
    if release.erased_at is not None:
        return release
    if release.status != Release.Status.REVOKED:
        release_revoke(release=release, actor=actor, reason="Erasure requested.")
        release.refresh_from_db()
    stored = [
        str(f.name)
        for f in (release.signature, release.witness_signature, release.guardian_signature, release.scan)
        if f
    ]
    for field in (
        "legal_name",
        "address",
        "email",
        "phone",
        "property_description",
        "guardian_name",
        "signed_name",
        "witness_name",
        "signed_user_agent",
    ):
        setattr(release, field, "")
    for file_field in ("signature", "witness_signature", "guardian_signature", "scan"):
        setattr(release, file_field, "")
    release.date_of_birth = None
    release.signed_ip = None
    release.erased_at = timezone.now()
    release.save()
    SelfIdentification.objects.filter(release=release).delete()
    audit_event_record(
        actor=actor, action="release.erased", object_type="release", object_id=release.public_id
    )
    transaction.on_commit(lambda: stored_files_delete(stored))
    return release


# --- Consent --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsePermission:
    permission: str
    constraint: str = ""


def _check_permissions(permissions: dict[str, UsePermission]) -> None:
    errors = {}
    for use in Use.values:
        choice = permissions.get(use)
        if choice is None or choice.permission not in Permission.values:
            errors[use] = f"Say whether {Use(use).label.lower()} is allowed."
        elif choice.permission == Permission.CONSTRAINED and not choice.constraint.strip():
            errors[f"{use}_constraint"] = "Describe the constraint in words."
    if errors:
        raise ValidationError(errors)


PERMISSION_RANK = {Permission.NOT_ALLOWED: 0, Permission.CONSTRAINED: 1, Permission.ALLOWED: 2}
NARROWED = "The creator narrowed their consent."


@dataclass(frozen=True)
class ConsentScope:
    """What a consent grants: a permission per use (with its constraint), the terms families, and whether a
    property release is required. Compared to tell a narrower consent from a broader one."""

    uses: tuple[tuple[str, str, str], ...]  # (use, permission, constraint), in Use order
    terms: frozenset[int]
    property_release_required: bool

    @classmethod
    def requested(
        cls, permissions: dict[str, UsePermission], terms: Iterable[LicenseTerms], property_required: bool
    ) -> "ConsentScope":
        return cls(
            uses=tuple(
                (
                    use,
                    permissions[use].permission,
                    permissions[use].constraint.strip()
                    if permissions[use].permission == Permission.CONSTRAINED
                    else "",
                )
                for use in Use.values
            ),
            terms=frozenset(t.pk for t in terms),
            property_release_required=property_required,
        )

    @classmethod
    def of(cls, consent: Consent) -> "ConsentScope":
        return cls(
            uses=tuple((use, consent.permission(use), consent.constraint(use)) for use in Use.values),
            terms=frozenset(t.pk for t in consent.accepted_terms.all()),
            property_release_required=consent.property_release_required,
        )

    def meet(self, other: "ConsentScope") -> "ConsentScope":
        """What both grant: per use the lesser permission, the common terms, either's property requirement."""
        uses = []
        for (use, mine, my_constraint), (_, theirs, their_constraint) in zip(
            self.uses, other.uses, strict=True
        ):
            if PERMISSION_RANK[Permission(mine)] != PERMISSION_RANK[Permission(theirs)]:
                lesser = min((mine, my_constraint), (theirs, their_constraint), key=_rank)
                uses.append((use, *lesser))
            elif mine == Permission.CONSTRAINED and my_constraint != their_constraint:
                # Two different constraints: neither is within the other, so neither stands until reviewed.
                uses.append((use, Permission.NOT_ALLOWED.value, ""))
            else:
                uses.append((use, mine, my_constraint))
        return ConsentScope(
            uses=tuple(uses),
            terms=self.terms & other.terms,
            property_release_required=self.property_release_required or other.property_release_required,
        )

    def within(self, other: "ConsentScope") -> bool:
        """Whether this grants nothing the other does not."""
        return self.meet(other) == self


def _rank(choice: tuple[str, str]) -> int:
    return PERMISSION_RANK[Permission(choice[0])]


def _terms_texts_in_force(terms: Iterable[LicenseTerms]) -> list[LicenseTermsVersion]:
    """The newest published text of each family: what a consent given now accepts."""
    texts = []
    for family in terms:
        text = family.versions.order_by("-version").first()
        if text is not None:
            texts.append(text)
    return texts


def _consent_record(
    *,
    asset: MediaAsset,
    scope: ConsentScope,
    texts: list[LicenseTermsVersion],
    actor: Actor,
    replaces: Consent | None,
    status: str = Consent.Status.PENDING,
) -> Consent:
    consent = Consent(
        asset=asset,
        status=status,
        given_by_id=actor.pk if actor else None,
        property_release_required=scope.property_release_required,
        replaces=replaces,
    )
    # Only the four uses: no other key of what the caller sent can reach a field such as `status`.
    for use, permission, constraint in scope.uses:
        setattr(consent, use, permission)
        setattr(consent, f"{use}_constraint", constraint)
    if status == Consent.Status.ACTIVE and replaces is not None:
        # A narrowing takes nothing new to review: the reviewer's decision on what remains stands.
        consent.reviewed_by, consent.reviewed_at = replaces.reviewed_by, replaces.reviewed_at
        consent.identifiable_people, consent.people_note = replaces.identifiable_people, replaces.people_note
    consent.save()
    consent.accepted_terms.set(sorted(scope.terms))
    consent.accepted_terms_versions.set([text for text in texts if text.terms_id in scope.terms])
    audit_event_record(
        actor=actor,
        action="consent.narrowed" if status == Consent.Status.ACTIVE else "consent.given",
        object_type="consent",
        object_id=consent.public_id,
        after={
            "asset": asset.pk,
            "status": consent.status,
            "uses": {use: permission for use, permission, _ in scope.uses},
            "terms": sorted(
                f"{text.terms.slug} v{text.version}" for text in consent.accepted_terms_versions.all()
            ),
            "property_release_required": scope.property_release_required,
            **({"replaces": str(replaces.public_id)} if replaces is not None else {}),
        },
    )
    return consent


def _replace(consent: Consent, *, actor: Actor, reason: str) -> None:
    """A consent steps aside for its successor, saved next (one active and one pending consent per asset)."""
    before = transition(consent, subject=f"This {consent._meta.verbose_name}", target=Consent.Status.REPLACED)
    consent.save(update_fields=["status"])
    audit_event_record(
        actor=actor,
        action="consent.replaced",
        object_type="consent",
        object_id=consent.public_id,
        before={"status": before},
        after={"status": consent.status, "asset": consent.asset_id, "reason": reason},
    )


@transaction.atomic
def consents_give(
    *,
    creator: CreatorProfile,
    asset_ids: Iterable[int],
    permissions: dict[str, UsePermission],
    terms: Iterable[LicenseTerms],
    property_release_required: bool = False,
    actor: Actor,
) -> list[Consent]:
    """Give consent for many assets at once, or change it; returns the consents recorded.

    A first consent waits for review. Against an active consent, the same consent changes nothing; what it
    no longer grants is withdrawn at once (a narrower consent replaces the active one, announced as a
    withdrawal of those assets); what it grants beyond the active one waits for review beside it. A request
    still waiting for review is replaced by the new one.
    """
    _check_permissions(permissions)
    accepted = list(terms)
    if not accepted:
        raise ValidationError({"terms": "Accept at least one set of license terms."})
    requested = ConsentScope.requested(permissions, accepted, property_release_required)
    texts = _terms_texts_in_force(accepted)
    assets = sorted(_creator_assets(creator, asset_ids), key=lambda asset: asset.pk)
    live: dict[tuple[int, str], Consent] = {
        (consent.asset_id, consent.status): consent
        for consent in Consent.objects.select_for_update()
        .filter(asset__in=assets, status__in=Consent.LIVE)
        .prefetch_related("accepted_terms")
        .order_by("pk")
    }
    recorded, narrowed = [], []
    for asset in assets:
        waiting = live.get((asset.pk, Consent.Status.PENDING))
        if waiting is not None:
            _replace(waiting, actor=actor, reason=REPLACED_BY_NEW_CONSENT)
        active = live.get((asset.pk, Consent.Status.ACTIVE))
        if active is None:
            recorded.append(
                _consent_record(asset=asset, scope=requested, texts=texts, actor=actor, replaces=None)
            )
            continue
        current = ConsentScope.of(active)
        kept = current.meet(requested)
        if kept != current:
            _replace(active, actor=actor, reason=NARROWED)
            narrower = _consent_record(
                asset=asset,
                scope=kept,
                texts=list(active.accepted_terms_versions.all()),
                actor=actor,
                replaces=active,
                status=Consent.Status.ACTIVE,
            )
            recorded.append(narrower)
            narrowed.append(asset.pk)
            active = narrower
        if requested != kept:
            recorded.append(
                _consent_record(asset=asset, scope=requested, texts=texts, actor=actor, replaces=active)
            )
    if narrowed:
        _announce_withdrawal(narrowed, NARROWED)
    return recorded


@transaction.atomic
def consent_approve(
    *,
    consent: Consent,
    reviewer: Actor,
    identifiable_people: int | None,
    people_note: str = "",
    note: str = "",
) -> Consent:
    """A reviewer accepts a consent, saying how many identifiable people the asset shows (0 included: the
    detectors only point at people, they never decide that no one is there). An active consent the
    approved one broadens is replaced by it."""
    _require_reviewer(reviewer)
    consent = Consent.objects.select_for_update().select_related("asset__creator").get(pk=consent.pk)
    _require_not_own(reviewer, consent.asset.creator, "consent")
    if identifiable_people is None:
        raise ValidationError(
            {"identifiable_people": "Say how many identifiable people the asset shows (0 if no one)."}
        )
    if identifiable_people < 0:
        raise ValidationError({"identifiable_people": "The number of people cannot be negative."})
    detected = consent.asset.people_detected
    if identifiable_people < detected and not people_note.strip():
        raise ValidationError(
            {
                "people_note": f"The detectors found {detected} face(s) or person(s): say why fewer people "
                "are identifiable."
            }
        )
    active = (
        Consent.objects.select_for_update()
        .filter(asset_id=consent.asset_id, status=Consent.Status.ACTIVE)
        .exclude(pk=consent.pk)
        .first()
    )
    if active is not None and consent.status == Consent.Status.PENDING:
        narrowing = not ConsentScope.of(active).within(ConsentScope.of(consent))
        _replace(active, actor=reviewer, reason="A broader consent was approved.")
        if narrowing:
            _announce_withdrawal([consent.asset_id], NARROWED)
    consent.identifiable_people, consent.people_note = identifiable_people, people_note.strip()
    _decide(
        consent,
        reviewer=reviewer,
        target=Consent.Status.ACTIVE,
        note=note,
        after={"identifiable_people": identifiable_people, "people_note": consent.people_note},
        **_consent_decision_context(consent),
    )
    return consent


@transaction.atomic
def consent_reject(*, consent: Consent, reviewer: Actor, reason: str, note: str = "") -> Consent:
    _require_reviewer(reviewer)
    _check_rejection(reason, Consent.RejectionReason, note)
    consent = Consent.objects.select_for_update().select_related("asset__creator").get(pk=consent.pk)
    _require_not_own(reviewer, consent.asset.creator, "consent")
    _decide(
        consent,
        reviewer=reviewer,
        target=Consent.Status.REJECTED,
        reason=reason,
        note=note,
        **_consent_decision_context(consent),
    )
    return consent


def _check_creator_or_reviewer(actor: Actor, creator: CreatorProfile) -> None:
    if actor.is_reviewer or actor.pk == creator.user_id:
        return
    raise PermissionDenied("Only the creator or a reviewer can do this.")


def _withdraw_one(consent: Consent, *, actor: Actor, reason: str) -> None:
    before = transition(
        consent, subject=f"This {consent._meta.verbose_name}", target=Consent.Status.WITHDRAWN
    )
    consent.withdrawn_by_id = actor.pk if actor else None
    consent.withdrawn_at, consent.withdrawal_reason = timezone.now(), reason.strip()
    consent.save(update_fields=["status", "withdrawn_by", "withdrawn_at", "withdrawal_reason"])
    audit_event_record(
        actor=actor,
        action="consent.withdrawn",
        object_type="consent",
        object_id=consent.public_id,
        before={"status": before},
        after={"status": consent.status, "asset": consent.asset_id, "reason": consent.withdrawal_reason},
    )


def _announce_withdrawal(asset_ids: list[int], reason: str) -> None:
    """Tell the layers above, inside this transaction: the versions holding these assets go off sale in the
    same commit as the withdrawal, or not at all."""
    assets_withdrawn.send(sender=Consent, asset_ids=asset_ids, reason=reason, withdrawn_at=timezone.now())


@transaction.atomic
def consents_withdraw(*, asset_ids: Iterable[int], actor: Actor, reason: str = "") -> int:
    """Withdraw consent for one asset or many in one action; from the commit on, none of them is sellable.

    A creator withdraws for their own assets; a reviewer for anyone's (a takedown). Returns how many consents
    were withdrawn; assets without a live consent are skipped.
    """
    wanted = sorted(set(asset_ids))
    if not wanted:
        raise ValidationError({"assets": "Choose at least one asset."})
    assets = MediaAsset.objects.filter(pk__in=wanted).select_related("creator")
    if len(assets) != len(wanted):
        raise ValidationError({"assets": "Some of the chosen assets do not exist."})
    for asset in assets:
        _check_creator_or_reviewer(actor, asset.creator)
    own = {asset.pk for asset in assets if asset.creator.user_id == actor.pk}
    if own and len(own) != len(assets):
        raise ValidationError(
            {"assets": "A takedown cannot include your own assets: withdraw their consent as their creator."}
        )
    # Locked in id order, the same order every withdrawer and approver takes, so two of them cannot deadlock.
    live = list(
        Consent.objects.select_for_update()
        .filter(asset_id__in=wanted, status__in=Consent.LIVE)
        .order_by("pk")
    )
    reason = reason.strip() or ("Withdrawn by the creator." if own else "Taken down by a reviewer.")
    was_active = [c.asset_id for c in live if c.status == Consent.Status.ACTIVE]
    for consent in live:
        _withdraw_one(consent, actor=actor, reason=reason)
    if was_active:
        _announce_withdrawal(sorted(was_active), reason)
    return len(live)


@transaction.atomic
def assets_erase(*, asset_ids: Iterable[int], actor: Actor) -> int:
    """An erasure request: withdraw consent, delete originals and derivatives, blank what describes the assets."""
    wanted = sorted(set(asset_ids))
    consents_withdraw(asset_ids=wanted, actor=actor, reason="Erasure requested.")
    not_yet_erased = MediaAsset.objects.filter(pk__in=wanted, erased_at__isnull=True).values_list(
        "pk", flat=True
    )
    for asset_id in list(not_yet_erased):
        asset_erase(asset_id=asset_id)
        audit_event_record(actor=actor, action="asset.erased", object_type="asset", object_id=asset_id)
    assets_erased.send(sender=MediaAsset, asset_ids=wanted)
    return len(wanted)
