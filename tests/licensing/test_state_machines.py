"""Every move of the release and consent state machines: allowed ones go through their service, others change nothing."""

import datetime
import io
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from licensing.models import AuditEvent, Consent, LicenseTerms, Permission, Release, Use
from licensing.services import (
    Signer,
    UsePermission,
    consent_approve,
    consent_reject,
    consents_give,
    consents_withdraw,
    release_approve,
    release_link_renew,
    release_reject,
    release_resubmit,
    release_revoke,
    release_sign_online,
)
from tests.factories import ConsentFactory, MediaAssetFactory, ReleaseFactory

pytestmark = pytest.mark.django_db

RELEASE_STATES = list(Release.Status)
CONSENT_STATES = list(Consent.Status)


def _png() -> bytes:
    image = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(10, 80), (150, 20), (290, 70)], fill="black", width=5)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _scan() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 280), "white").save(buffer, "PDF")
    return SimpleUploadedFile("release.pdf", buffer.getvalue())


def _sign(release: Release, creator: Any, reviewer: Any) -> Release:
    signer = Signer(
        signed_name=release.legal_name,
        date_of_birth=datetime.date(1990, 4, 1),
        address="1 Rua Augusta, Lisboa",
        email="",
        phone="",
        signature_png=_png(),
        witness_name="Wendy Witness",
        witness_signature_png=_png(),
    )
    return release_sign_online(
        release=release, signer=signer, self_description=None, ip_address=None, user_agent=""
    )


def _move_release_to(target: str, source: str) -> tuple[str, Callable[[Release, Any, Any], Any]]:
    """The service that moves a release into `target` (from `source`), and the method the release is signed by."""
    if target == Release.Status.AWAITING_SIGNATURE:
        return Release.Method.ONLINE, lambda release, creator, reviewer: release_link_renew(
            release=release, actor=creator
        )
    if target == Release.Status.SUBMITTED:
        if source == Release.Status.AWAITING_SIGNATURE:
            return Release.Method.ONLINE, _sign
        return Release.Method.PAPER, lambda release, creator, reviewer: release_resubmit(
            release=release, actor=creator, scan=_scan()
        )
    if target == Release.Status.APPROVED:
        return Release.Method.PAPER, lambda release, creator, reviewer: release_approve(
            release=release, reviewer=reviewer
        )
    if target == Release.Status.REJECTED:
        return Release.Method.PAPER, lambda release, creator, reviewer: release_reject(
            release=release, reviewer=reviewer, reason=Release.RejectionReason.SIGNATURE_MISSING
        )
    return Release.Method.PAPER, lambda release, creator, reviewer: release_revoke(
        release=release, actor=creator, reason="The person withdrew."
    )


# Renewing the link of a release awaiting its signature keeps it there: a new link, not a move.
RELEASE_MOVES = [
    (source, target)
    for source, target in itertools.product(RELEASE_STATES, RELEASE_STATES)
    if (source, target) != (Release.Status.AWAITING_SIGNATURE, Release.Status.AWAITING_SIGNATURE)
]
RELEASE_ALLOWED = [(s, t) for s, t in RELEASE_MOVES if t in Release.TRANSITIONS[s]]
RELEASE_REFUSED = [(s, t) for s, t in RELEASE_MOVES if t not in Release.TRANSITIONS[s]]


@pytest.fixture
def release_in(creator, media_root):  # type: ignore[no-untyped-def]
    def make(status: str, method: str) -> Release:
        profile = creator.creator_profile
        return ReleaseFactory(
            creator=profile,
            status=status,
            method=method,
            assets=[MediaAssetFactory(creator=profile)],
            scan="releases/old/scan.pdf" if method == Release.Method.PAPER else "",
        )

    return make


def _row(release: Release) -> dict:
    return Release.objects.filter(pk=release.pk).values().get()


def test_every_release_state_has_its_row_in_the_table():
    assert set(Release.TRANSITIONS) == set(RELEASE_STATES)
    assert set().union(*Release.TRANSITIONS.values()) <= set(RELEASE_STATES)


@pytest.mark.parametrize(("source", "target"), RELEASE_ALLOWED, ids=[f"{s}->{t}" for s, t in RELEASE_ALLOWED])
def test_an_allowed_release_move_goes_through_its_service(source, target, release_in, creator, reviewer):
    method, service = _move_release_to(target, source)
    release = release_in(source, method)
    entries = AuditEvent.objects.count()

    service(release, creator, reviewer)

    release.refresh_from_db()
    assert release.status == target
    assert AuditEvent.objects.count() == entries + 1
    assert AuditEvent.objects.order_by("-sequence").first().object_id == str(release.public_id)


@pytest.mark.parametrize(("source", "target"), RELEASE_REFUSED, ids=[f"{s}->{t}" for s, t in RELEASE_REFUSED])
def test_a_refused_release_move_changes_nothing(source, target, release_in, creator, reviewer):
    method, service = _move_release_to(target, source)
    release = release_in(source, method)
    before, entries = _row(release), AuditEvent.objects.count()

    with pytest.raises(ValidationError) as error:
        service(release, creator, reviewer)

    assert error.value.code == "invalid_transition"
    assert _row(release) == before
    assert AuditEvent.objects.count() == entries


def test_renewing_the_link_of_a_release_awaiting_its_signature_keeps_it_waiting(release_in, creator):
    release = release_in(Release.Status.AWAITING_SIGNATURE, Release.Method.ONLINE)

    renewed = release_link_renew(release=release, actor=creator)

    assert (renewed.status, renewed.link_generation) == (Release.Status.AWAITING_SIGNATURE, 1)


# --- Consent ----------------------------------------------------------------------------------------------------


NARROWER = {
    **{use: UsePermission(Permission.ALLOWED) for use in Use.values},
    Use.GENERATIVE_AI_TRAINING: UsePermission(Permission.NOT_ALLOWED),
}


def _move_consent_to(target: str) -> Callable[[Consent, Any, Any], Any]:
    if target == Consent.Status.ACTIVE:
        return lambda consent, creator, reviewer: consent_approve(
            consent=consent, reviewer=reviewer, identifiable_people=0
        )
    if target == Consent.Status.REPLACED:
        # A narrower consent replaces the active one at once.
        return lambda consent, creator, reviewer: consents_give(
            creator=creator.creator_profile,
            asset_ids=[consent.asset_id],
            permissions=NARROWER,
            terms=LicenseTerms.objects.all(),
            actor=creator,
        )
    if target == Consent.Status.REJECTED:
        return lambda consent, creator, reviewer: consent_reject(
            consent=consent, reviewer=reviewer, reason=Consent.RejectionReason.DUPLICATE
        )
    return lambda consent, creator, reviewer: consents_withdraw(asset_ids=[consent.asset_id], actor=creator)


# No service moves a consent into pending: giving consent again makes a new one (tested below).
CONSENT_MOVES = [
    (source, target)
    for source, target in itertools.product(CONSENT_STATES, CONSENT_STATES)
    if target != Consent.Status.PENDING
]
CONSENT_ALLOWED = [(s, t) for s, t in CONSENT_MOVES if t in Consent.TRANSITIONS[s]]
CONSENT_REFUSED = [(s, t) for s, t in CONSENT_MOVES if t not in Consent.TRANSITIONS[s]]


@pytest.fixture
def consent_in(creator):  # type: ignore[no-untyped-def]
    def make(status: str) -> Consent:
        return ConsentFactory(asset=MediaAssetFactory(creator=creator.creator_profile), status=status)

    return make


def _consent_row(consent: Consent) -> dict:
    return Consent.objects.filter(pk=consent.pk).values().get()


def test_every_consent_state_has_its_row_in_the_table():
    assert set(Consent.TRANSITIONS) == set(CONSENT_STATES)
    assert set().union(*Consent.TRANSITIONS.values()) <= set(CONSENT_STATES)


@pytest.mark.parametrize(("source", "target"), CONSENT_ALLOWED, ids=[f"{s}->{t}" for s, t in CONSENT_ALLOWED])
def test_an_allowed_consent_move_goes_through_its_service(source, target, consent_in, creator, reviewer):
    consent = consent_in(source)
    entries = AuditEvent.objects.count()

    _move_consent_to(target)(consent, creator, reviewer)

    consent.refresh_from_db()
    assert consent.status == target
    # A narrowing records the replaced consent and its narrower successor.
    assert AuditEvent.objects.count() == entries + (2 if target == Consent.Status.REPLACED else 1)


# A bulk withdrawal skips assets without a live consent instead of failing, and giving consent again replaces
# only an active consent (tested below).
WITHDRAWING_NOTHING = [(s, t) for s, t in CONSENT_REFUSED if t == Consent.Status.WITHDRAWN]
REPLACING_NOTHING = [(s, t) for s, t in CONSENT_REFUSED if t == Consent.Status.REPLACED]
CONSENT_DECISIONS_REFUSED = [
    (s, t) for s, t in CONSENT_REFUSED if (s, t) not in WITHDRAWING_NOTHING + REPLACING_NOTHING
]


@pytest.mark.parametrize(
    ("source", "target"), CONSENT_DECISIONS_REFUSED, ids=[f"{s}->{t}" for s, t in CONSENT_DECISIONS_REFUSED]
)
def test_a_refused_consent_decision_changes_nothing(source, target, consent_in, creator, reviewer):
    consent = consent_in(source)
    before, entries = _consent_row(consent), AuditEvent.objects.count()

    with pytest.raises(ValidationError) as error:
        _move_consent_to(target)(consent, creator, reviewer)

    assert error.value.code == "invalid_transition"
    assert _consent_row(consent) == before
    assert AuditEvent.objects.count() == entries


@pytest.mark.parametrize(
    ("source", "target"), WITHDRAWING_NOTHING, ids=[f"{s}->{t}" for s, t in WITHDRAWING_NOTHING]
)
def test_withdrawing_a_consent_that_is_not_live_changes_nothing(
    source, target, consent_in, creator, reviewer
):
    consent = consent_in(source)
    before, entries = _consent_row(consent), AuditEvent.objects.count()

    withdrawn = _move_consent_to(target)(consent, creator, reviewer)

    assert withdrawn == 0
    assert _consent_row(consent) == before
    assert AuditEvent.objects.count() == entries


@pytest.mark.parametrize("source", [status for status in CONSENT_STATES if status != Consent.Status.ACTIVE])
def test_giving_consent_again_never_brings_an_old_consent_back_to_pending(source, consent_in, creator):
    old = consent_in(source)

    (new,) = consents_give(
        creator=creator.creator_profile,
        asset_ids=[old.asset_id],
        permissions={use: UsePermission(Permission.ALLOWED) for use in Use.values},
        terms=LicenseTerms.objects.all(),
        actor=creator,
    )

    old.refresh_from_db()
    assert new.pk != old.pk and new.status == Consent.Status.PENDING
    assert old.status == (Consent.Status.REPLACED if source == Consent.Status.PENDING else source)


def test_giving_the_same_consent_again_changes_nothing(consent_in, creator):
    active = consent_in(Consent.Status.ACTIVE)
    entries = AuditEvent.objects.count()

    recorded = consents_give(
        creator=creator.creator_profile,
        asset_ids=[active.asset_id],
        permissions={use: UsePermission(Permission.ALLOWED) for use in Use.values},
        terms=LicenseTerms.objects.all(),
        actor=creator,
    )

    active.refresh_from_db()
    assert recorded == [] and active.status == Consent.Status.ACTIVE
    assert AuditEvent.objects.count() == entries
