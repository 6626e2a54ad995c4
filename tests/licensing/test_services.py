"""The licensing services: signing links, online and paper releases, review, consent, withdrawal, erasure."""

import dataclasses
import datetime
import io
import time
import zipfile
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from licensing.models import AuditEvent, Consent, LicenseTerms, Permission, Release, SelfIdentification, Use
from licensing.services import (
    NARROWED,
    REPLACED_BY_NEW_CONSENT,
    SCAN_MAX_BYTES,
    SIGNING_LINK_DAYS,
    ReleaseSubject,
    SelfDescription,
    Signer,
    UsePermission,
    assets_erase,
    consent_approve,
    consent_reject,
    consents_give,
    consents_withdraw,
    release_approve,
    release_erase,
    release_for_signing,
    release_link_renew,
    release_reject,
    release_request_online,
    release_resubmit,
    release_revoke,
    release_sign_online,
    release_signing_token,
    release_upload_paper,
)
from licensing.signals import assets_withdrawn, review_decided
from marketplace.celery import app as celery_app
from tests.factories import ConsentFactory, CreatorFactory, MediaAssetFactory, ReleaseFactory

pytestmark = pytest.mark.django_db

SHOOT = (datetime.date(2026, 5, 1), datetime.date(2026, 5, 3))


# --- Helpers ------------------------------------------------------------------------------------------------


def drawn_png(*, ink: object = "black", pad: object = (0, 0, 0, 0)) -> bytes:
    """A signature as a signature pad sends it: a stroke on a (by default transparent) PNG."""
    image = Image.new("RGBA", (400, 150), pad)
    if ink is not None:
        ImageDraw.Draw(image).line([(20, 110), (120, 30), (220, 120), (380, 40)], fill=ink, width=6)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def image_bytes(image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), "white").save(buffer, image_format)
    return buffer.getvalue()


def signer_for(release: Release, **changes: object) -> Signer:
    signer = Signer(
        signed_name=release.legal_name,
        date_of_birth=datetime.date(1990, 4, 1),
        address="1 Rua Augusta, Lisboa",
        email="",
        phone="",
        signature_png=drawn_png(),
        witness_name="Wendy Witness",
        witness_signature_png=drawn_png(),
    )
    return dataclasses.replace(signer, **changes)  # type: ignore[arg-type]


def all_allowed(**changes: UsePermission) -> dict[str, UsePermission]:
    return {use: UsePermission(Permission.ALLOWED) for use in Use.values} | changes


def stored_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def last_audit() -> AuditEvent:
    return AuditEvent.objects.order_by("-sequence").first()


@pytest.fixture
def profile(creator):
    return creator.creator_profile


@pytest.fixture
def asset(profile):
    return MediaAssetFactory(creator=profile)


@pytest.fixture
def awaiting(creator, profile, asset):
    """A model release for Maria Model, asked for online and not signed yet."""
    return release_request_online(
        creator=profile,
        subject=ReleaseSubject(kind=Release.Kind.MODEL, legal_name="Maria Model", email="maria@example.com"),
        asset_ids=[asset.pk],
        shoot_start=SHOOT[0],
        shoot_end=SHOOT[1],
        actor=creator,
    )


@pytest.fixture
def withdrawals():
    """Every assets_withdrawn signal sent during the test, as its keyword arguments."""
    received: list[dict] = []

    def record(sender, **kwargs):  # type: ignore[no-untyped-def]
        received.append(kwargs)

    assets_withdrawn.connect(record, weak=False, dispatch_uid="test-withdrawals")
    yield received
    assets_withdrawn.disconnect(dispatch_uid="test-withdrawals")


@pytest.fixture
def eager_tasks():
    """Tasks run in-process when enqueued; that a real worker runs them is the email tests' concern."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def decisions():
    """Every review_decided signal sent during the test, as its keyword arguments."""
    received: list[dict] = []

    def record(sender, **kwargs):  # type: ignore[no-untyped-def]
        received.append(kwargs)

    review_decided.connect(record, weak=False, dispatch_uid="test-decisions")
    yield received
    review_decided.disconnect(dispatch_uid="test-decisions")


# --- Signing links --------------------------------------------------------------------------------------------


def test_a_signing_link_opens_its_release(awaiting):
    token = release_signing_token(release=awaiting)

    assert release_for_signing(token=token) == awaiting


def test_a_signing_link_not_signed_with_the_site_key_is_refused(awaiting):
    forged = signing.dumps(
        {"release": str(awaiting.public_id), "link": awaiting.link_generation},
        key="not-the-site-key",
        salt="licensing.release-signing",
    )

    with pytest.raises(PermissionDenied, match="not valid"):
        release_for_signing(token=forged)


def test_a_tampered_signing_link_is_refused(awaiting):
    token = release_signing_token(release=awaiting)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    with pytest.raises(PermissionDenied, match="not valid"):
        release_for_signing(token=tampered)


def test_a_signing_link_older_than_its_lifetime_is_refused(awaiting, monkeypatch):
    issued = time.time() - datetime.timedelta(days=SIGNING_LINK_DAYS, hours=1).total_seconds()
    with monkeypatch.context() as patched:
        patched.setattr(time, "time", lambda: issued)
        token = release_signing_token(release=awaiting)

    with pytest.raises(PermissionDenied, match="expired"):
        release_for_signing(token=token)


def test_a_signing_link_within_its_lifetime_still_works(awaiting, monkeypatch):
    issued = time.time() - datetime.timedelta(days=SIGNING_LINK_DAYS - 1).total_seconds()
    with monkeypatch.context() as patched:
        patched.setattr(time, "time", lambda: issued)
        token = release_signing_token(release=awaiting)

    assert release_for_signing(token=token) == awaiting


def test_a_renewed_link_replaces_the_older_one(awaiting, creator):
    old_token = release_signing_token(release=awaiting)

    renewed = release_link_renew(release=awaiting, actor=creator)

    with pytest.raises(PermissionDenied, match="replaced"):
        release_for_signing(token=old_token)
    assert release_for_signing(token=release_signing_token(release=renewed)) == awaiting


def test_a_used_signing_link_is_refused(awaiting, media_root):
    token = release_signing_token(release=awaiting)
    release_sign_online(
        release=awaiting, signer=signer_for(awaiting), self_description=None, ip_address=None, user_agent=""
    )

    with pytest.raises(PermissionDenied, match="already been signed"):
        release_for_signing(token=token)


def test_the_link_of_a_revoked_request_is_refused(awaiting, creator):
    token = release_signing_token(release=awaiting)
    release_revoke(release=awaiting, actor=creator, reason="Asked the wrong person.")

    with pytest.raises(PermissionDenied):
        release_for_signing(token=token)


def test_a_rejected_online_release_goes_back_to_the_person_with_a_new_link(creator, profile, asset, reviewer):
    release = ReleaseFactory(creator=profile, method="online", status="rejected", assets=[asset])

    renewed = release_link_renew(release=release, actor=creator)

    assert (renewed.status, renewed.link_generation) == (Release.Status.AWAITING_SIGNATURE, 1)
    assert release_for_signing(token=release_signing_token(release=renewed)) == release


def test_a_paper_release_has_no_signing_link_to_renew(creator, profile, asset):
    release = ReleaseFactory(creator=profile, method="paper", status="rejected", assets=[asset])

    with pytest.raises(ValidationError) as error:
        release_link_renew(release=release, actor=creator)

    assert error.value.code == "invalid_transition"


# --- Asking for a release -------------------------------------------------------------------------------------


def test_asking_for_a_release_records_it_awaiting_signature(awaiting, asset):
    assert (awaiting.status, awaiting.method) == (Release.Status.AWAITING_SIGNATURE, Release.Method.ONLINE)
    assert list(awaiting.assets.all()) == [asset]
    assert last_audit().action == "release.requested"


def test_a_release_cannot_cover_another_creators_assets(creator, profile):
    someone_elses = MediaAssetFactory()

    with pytest.raises(ValidationError) as error:
        release_request_online(
            creator=profile,
            subject=ReleaseSubject(kind=Release.Kind.MODEL, legal_name="Maria Model"),
            asset_ids=[someone_elses.pk],
            shoot_start=SHOOT[0],
            shoot_end=SHOOT[1],
            actor=creator,
        )

    assert "assets" in error.value.message_dict
    assert not Release.objects.exists()


def test_assets_captured_outside_the_shoot_dates_are_flagged(creator, profile):
    inside = MediaAssetFactory(creator=profile)
    outside = MediaAssetFactory(
        creator=profile, capture_time=datetime.datetime(2026, 4, 20, 12, 0, tzinfo=datetime.UTC)
    )
    undated = MediaAssetFactory(creator=profile, capture_time=None)

    release = release_request_online(
        creator=profile,
        subject=ReleaseSubject(kind=Release.Kind.MODEL, legal_name="Maria Model"),
        asset_ids=[inside.pk, outside.pk, undated.pk],
        shoot_start=SHOOT[0],
        shoot_end=SHOOT[1],
        actor=creator,
    )

    assert release.capture_time_outside_shoot == [outside.pk]


def test_no_asset_is_flagged_when_every_capture_falls_within_the_shoot(awaiting):
    assert awaiting.capture_time_outside_shoot == []


# --- Signing online -------------------------------------------------------------------------------------------


def test_signing_online_submits_the_release_with_its_evidence(awaiting, media_root):
    signed = release_sign_online(
        release=awaiting,
        signer=signer_for(awaiting),
        self_description=None,
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0 (test)",
    )

    signed.refresh_from_db()
    assert signed.status == Release.Status.SUBMITTED
    assert (signed.signed_name, signed.signed_ip, signed.signed_user_agent) == (
        "Maria Model",
        "203.0.113.7",
        "Mozilla/5.0 (test)",
    )
    assert signed.signed_at is not None and signed.submitted_at is not None
    assert len(signed.wording_sha256) == 64
    assert last_audit().action == "release.signed_online"


def test_signing_online_stores_both_signatures_as_png(awaiting, media_root):
    signed = release_sign_online(
        release=awaiting, signer=signer_for(awaiting), self_description=None, ip_address=None, user_agent=""
    )

    for field in (signed.signature, signed.witness_signature):
        assert field.name.startswith(f"releases/{signed.public_id}/")
        with Image.open(media_root / field.name) as image:
            assert image.format == "PNG"
    assert len(stored_files(media_root)) == 2


def test_a_minor_signs_with_a_guardian(awaiting, media_root):
    sixteen = timezone.localdate() - relativedelta(years=16)
    signer = signer_for(
        awaiting, date_of_birth=sixteen, guardian_name="Gloria Guardian", guardian_signature_png=drawn_png()
    )

    signed = release_sign_online(
        release=awaiting, signer=signer, self_description=None, ip_address=None, user_agent=""
    )

    assert signed.status == Release.Status.SUBMITTED
    assert signed.guardian_signature and signed.is_minor_at_signing


def test_biometric_consent_with_a_retention_date_is_recorded(awaiting, media_root):
    until = timezone.localdate() + datetime.timedelta(days=365)

    signed = release_sign_online(
        release=awaiting,
        signer=signer_for(awaiting, biometric_consent=True, biometric_retention_until=until),
        self_description=None,
        ip_address=None,
        user_agent="",
    )

    assert (signed.biometric_consent, signed.biometric_retention_until) == (True, until)


def _today_plus(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


REFUSED_SIGNINGS = {
    "minor without a guardian": (
        lambda release: signer_for(release, date_of_birth=_today_plus(-16 * 365)),
        "guardian_name",
    ),
    "witness is the model": (lambda release: signer_for(release, witness_name="maria model"), "witness_name"),
    "witness is the creator": (
        lambda release: signer_for(release, witness_name=release.creator.display_name),
        "witness_name",
    ),
    "no witness": (lambda release: signer_for(release, witness_name=" "), "witness_name"),
    "biometric consent without retention": (
        lambda release: signer_for(release, biometric_consent=True),
        "biometric_retention_until",
    ),
    "biometric retention beyond three years": (
        lambda release: signer_for(
            release, biometric_consent=True, biometric_retention_until=_today_plus(3 * 365 + 1)
        ),
        "biometric_retention_until",
    ),
    "biometric retention in the past": (
        lambda release: signer_for(
            release, biometric_consent=True, biometric_retention_until=_today_plus(-1)
        ),
        "biometric_retention_until",
    ),
    "no signature drawn": (lambda release: signer_for(release, signature_png=b""), "signature"),
    "blank white pad": (
        lambda release: signer_for(release, signature_png=drawn_png(ink=None, pad="white")),
        "signature",
    ),
    "blank transparent pad": (
        lambda release: signer_for(release, signature_png=drawn_png(ink=None)),
        "signature",
    ),
    "white stroke on a transparent pad": (
        lambda release: signer_for(release, signature_png=drawn_png(ink="white")),
        "signature",
    ),
    "signature is a JPEG": (
        lambda release: signer_for(release, signature_png=image_bytes("JPEG")),
        "signature",
    ),
    "signature is not an image": (
        lambda release: signer_for(release, signature_png=b"<svg onload=alert(1)>"),
        "signature",
    ),
    "blank witness signature": (
        lambda release: signer_for(release, witness_signature_png=drawn_png(ink=None)),
        "witness_signature",
    ),
    "typed name differs from the release": (
        lambda release: signer_for(release, signed_name="Mario Model"),
        "signed_name",
    ),
    "no way to reach the person": (lambda release: signer_for(release, address=""), "address"),
    "no date of birth": (lambda release: signer_for(release, date_of_birth=None), "date_of_birth"),
}


@pytest.mark.parametrize("case", REFUSED_SIGNINGS, ids=list(REFUSED_SIGNINGS))
def test_an_invalid_online_signature_is_refused_and_leaves_nothing(case, awaiting, media_root):
    make_signer, field = REFUSED_SIGNINGS[case]
    audit_entries = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as error:
        release_sign_online(
            release=awaiting,
            signer=make_signer(awaiting),
            self_description=None,
            ip_address=None,
            user_agent="",
        )

    assert field in error.value.message_dict
    awaiting.refresh_from_db()
    assert awaiting.status == Release.Status.AWAITING_SIGNATURE
    assert stored_files(media_root) == []
    assert AuditEvent.objects.count() == audit_entries


def test_an_invalid_self_description_is_refused_before_any_signature_is_stored(awaiting, media_root):
    with pytest.raises(ValidationError) as error:
        release_sign_online(
            release=awaiting,
            signer=signer_for(awaiting),
            self_description=SelfDescription(age_range="ancient"),
            ip_address=None,
            user_agent="",
        )

    assert "age_range" in error.value.message_dict
    assert stored_files(media_root) == []


def test_a_self_description_is_kept_apart_from_the_release(awaiting, media_root):
    release_sign_online(
        release=awaiting,
        signer=signer_for(awaiting),
        self_description=SelfDescription(age_range="30_44", gender=" Woman ", ethnicity="Portuguese"),
        ip_address=None,
        user_agent="",
    )

    described = SelfIdentification.objects.get(release=awaiting)
    assert (described.age_range, described.gender, described.ethnicity) == ("30_44", "Woman", "Portuguese")


def test_an_empty_self_description_stores_nothing(awaiting, media_root):
    release_sign_online(
        release=awaiting,
        signer=signer_for(awaiting),
        self_description=SelfDescription(),
        ip_address=None,
        user_agent="",
    )

    assert not SelfIdentification.objects.exists()


def test_signing_again_after_a_rejection_replaces_the_earlier_signatures(
    awaiting, creator, reviewer, media_root, django_capture_on_commit_callbacks
):
    sixteen = timezone.localdate() - relativedelta(years=16)
    minor = signer_for(
        awaiting, date_of_birth=sixteen, guardian_name="Gloria Guardian", guardian_signature_png=drawn_png()
    )
    first = release_sign_online(
        release=awaiting, signer=minor, self_description=None, ip_address=None, user_agent=""
    )
    earlier = stored_files(media_root)
    release_reject(release=first, reviewer=reviewer, reason=Release.RejectionReason.DATES_MISMATCH)
    release_link_renew(release=first, actor=creator)

    with django_capture_on_commit_callbacks(execute=True):
        again = release_sign_online(
            release=first, signer=signer_for(first), self_description=None, ip_address=None, user_agent=""
        )

    assert len(earlier) == 3
    assert not any(path.exists() for path in earlier)
    assert not again.guardian_signature
    assert stored_files(media_root) == sorted(
        media_root / field.name for field in (again.signature, again.witness_signature)
    )


def test_signing_a_release_twice_is_refused(awaiting, media_root):
    release_sign_online(
        release=awaiting, signer=signer_for(awaiting), self_description=None, ip_address=None, user_agent=""
    )

    with pytest.raises(PermissionDenied):
        release_sign_online(
            release=awaiting,
            signer=signer_for(awaiting),
            self_description=None,
            ip_address=None,
            user_agent="",
        )


# --- Paper releases -------------------------------------------------------------------------------------------


def _upload_paper(creator, profile, asset, scan: SimpleUploadedFile, **signer_changes: object) -> Release:
    subject = ReleaseSubject(kind=Release.Kind.MODEL, legal_name="Paulo Paper")
    signer = dataclasses.replace(
        signer_for(Release(legal_name="Paulo Paper"), signed_name="Paulo Paper"),
        **signer_changes,  # type: ignore[arg-type]
    )
    return release_upload_paper(
        creator=profile,
        subject=subject,
        asset_ids=[asset.pk],
        shoot_start=SHOOT[0],
        shoot_end=SHOOT[1],
        signer=signer,
        signed_on=SHOOT[1],
        scan=scan,
        actor=creator,
    )


def _pdf() -> bytes:
    return image_bytes("PDF")


@pytest.mark.parametrize(
    ("content", "suffix"), [(_pdf(), "pdf"), (image_bytes("JPEG"), "jpg"), (image_bytes("PNG"), "png")]
)
def test_a_scanned_paper_release_goes_straight_to_review(
    creator, profile, asset, media_root, content, suffix
):
    release = _upload_paper(creator, profile, asset, SimpleUploadedFile("release.any", content))

    assert (release.status, release.method) == (Release.Status.SUBMITTED, Release.Method.PAPER)
    assert release.scan.name.endswith(f".{suffix}")
    assert (media_root / release.scan.name).read_bytes() == content
    assert last_audit().action == "release.uploaded_paper"


def _zip_of_a_pdf() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("release.pdf", _pdf())
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"<html><body>I agree</body></html>", id="html"),
        pytest.param(_zip_of_a_pdf(), id="zip"),
        pytest.param(b"", id="empty"),
        pytest.param(_pdf()[:-200], id="truncated-pdf"),
        pytest.param(b"%PDF-1.4\n" + b"0" * SCAN_MAX_BYTES + b"\n%%EOF\n", id="oversize"),
    ],
)
def test_a_refused_scan_leaves_no_release_and_no_file(creator, profile, asset, media_root, content):
    with pytest.raises(ValidationError) as error:
        _upload_paper(creator, profile, asset, SimpleUploadedFile("release.pdf", content))

    assert "scan" in error.value.message_dict
    assert not Release.objects.exists()
    assert stored_files(media_root) == []


def test_a_paper_release_of_a_minor_needs_a_guardian(creator, profile, asset, media_root):
    with pytest.raises(ValidationError) as error:
        _upload_paper(
            creator,
            profile,
            asset,
            SimpleUploadedFile("release.pdf", _pdf()),
            date_of_birth=SHOOT[1].replace(year=SHOOT[1].year - 15),
        )

    assert "guardian_name" in error.value.message_dict
    assert stored_files(media_root) == []


def test_a_paper_release_signed_in_the_future_is_refused(creator, profile, asset, media_root):
    with pytest.raises(ValidationError) as error:
        release_upload_paper(
            creator=profile,
            subject=ReleaseSubject(kind=Release.Kind.MODEL, legal_name="Paulo Paper"),
            asset_ids=[asset.pk],
            shoot_start=SHOOT[0],
            shoot_end=SHOOT[1],
            signer=signer_for(Release(legal_name="Paulo Paper")),
            signed_on=_today_plus(1),
            scan=SimpleUploadedFile("release.pdf", _pdf()),
            actor=creator,
        )

    assert "signed_on" in error.value.message_dict


def test_resubmitting_with_a_new_scan_replaces_the_old_one(
    creator, profile, asset, reviewer, media_root, django_capture_on_commit_callbacks
):
    release = _upload_paper(creator, profile, asset, SimpleUploadedFile("release.pdf", _pdf()))
    old_scan = media_root / release.scan.name
    release_reject(release=release, reviewer=reviewer, reason=Release.RejectionReason.SCAN_UNREADABLE)

    with django_capture_on_commit_callbacks(execute=True):
        resubmitted = release_resubmit(
            release=release, actor=creator, scan=SimpleUploadedFile("better.jpg", image_bytes("JPEG"))
        )

    assert resubmitted.status == Release.Status.SUBMITTED
    assert resubmitted.scan.name.endswith(".jpg")
    assert not old_scan.exists()
    assert stored_files(media_root) == [media_root / resubmitted.scan.name]


def test_a_refused_resubmission_stores_no_scan(creator, profile, asset, media_root):
    release = ReleaseFactory(creator=profile, status="approved", assets=[asset])

    with pytest.raises(ValidationError):
        release_resubmit(release=release, actor=creator, scan=SimpleUploadedFile("x.pdf", _pdf()))

    assert stored_files(media_root) == []


# --- Reviewing releases ---------------------------------------------------------------------------------------


def test_approving_a_release_records_the_reviewer(profile, asset, reviewer):
    release = ReleaseFactory(creator=profile, status="submitted", assets=[asset])

    approved = release_approve(release=release, reviewer=reviewer, note=" Looks right. ")

    assert (approved.status, approved.reviewed_by, approved.review_note) == (
        Release.Status.APPROVED,
        reviewer,
        "Looks right.",
    )
    assert (last_audit().action, last_audit().actor_id) == ("release.approved", reviewer.pk)


def test_only_a_reviewer_approves_a_release(creator, profile, asset):
    release = ReleaseFactory(creator=profile, status="submitted", assets=[asset])

    with pytest.raises(PermissionDenied):
        release_approve(release=release, reviewer=creator)

    release.refresh_from_db()
    assert release.status == Release.Status.SUBMITTED


def test_a_rejection_needs_a_reason_from_the_list(profile, asset, reviewer):
    release = ReleaseFactory(creator=profile, status="submitted", assets=[asset])

    with pytest.raises(ValidationError) as error:
        release_reject(release=release, reviewer=reviewer, reason="i do not like it")

    assert "reason" in error.value.message_dict


def test_a_rejection_for_another_reason_needs_a_note(profile, asset, reviewer):
    release = ReleaseFactory(creator=profile, status="submitted", assets=[asset])

    with pytest.raises(ValidationError) as error:
        release_reject(release=release, reviewer=reviewer, reason=Release.RejectionReason.OTHER, note=" ")

    assert "note" in error.value.message_dict


def test_the_creator_hears_of_a_decision_only_after_it_commits(
    profile, asset, reviewer, decisions, django_capture_on_commit_callbacks
):
    release = ReleaseFactory(creator=profile, status="submitted", assets=[asset])

    with django_capture_on_commit_callbacks() as callbacks:
        release_reject(
            release=release, reviewer=reviewer, reason=Release.RejectionReason.NAME_MISMATCH, note="Check it."
        )
        assert decisions == []
    for callback in callbacks:
        callback()

    (decision,) = decisions
    assert decision["creator_user_id"] == profile.user_id
    assert (decision["approved"], decision["reason"], decision["note"]) == (
        False,
        "The names do not match",
        "Check it.",
    )
    assert str(release.public_id) in decision["path"]


def test_a_decision_on_a_release_is_emailed_to_the_creator(
    profile, asset, reviewer, mailoutbox, eager_tasks, django_capture_on_commit_callbacks
):
    release = ReleaseFactory(creator=profile, status="submitted", assets=[asset], legal_name="Maria Model")

    with django_capture_on_commit_callbacks(execute=True):
        release_approve(release=release, reviewer=reviewer)

    (email,) = mailoutbox
    assert email.to == [profile.user.email]
    assert email.subject == "Model release for Maria Model: approved"
    assert f"/creator/releases/{release.public_id}/" in email.body


def test_a_decision_on_a_consent_is_emailed_to_the_creator(
    profile, asset, reviewer, mailoutbox, eager_tasks, django_capture_on_commit_callbacks
):
    consent = ConsentFactory(asset=asset, status="pending")

    with django_capture_on_commit_callbacks(execute=True):
        consent_reject(consent=consent, reviewer=reviewer, reason=Consent.RejectionReason.NOT_OWNED)

    (email,) = mailoutbox
    assert email.to == [profile.user.email]
    assert "needs changes" in email.subject
    assert "The creator does not appear to hold the rights" in email.body


# --- Revoking and erasing releases ----------------------------------------------------------------------------


def test_revoking_an_approved_release_withdraws_its_assets_in_its_own_transaction(
    creator, profile, withdrawals, django_capture_on_commit_callbacks
):
    first, second = MediaAssetFactory(creator=profile), MediaAssetFactory(creator=profile)
    release = ReleaseFactory(creator=profile, status="approved", assets=[second, first])

    with django_capture_on_commit_callbacks():
        release_revoke(release=release, actor=creator, reason="The model asked.")
        # Before the commit: the layers above act in the same transaction, so no sale slips in between.
        (withdrawal,) = withdrawals
    assert withdrawal["asset_ids"] == sorted([first.pk, second.pk])
    release.refresh_from_db()
    assert (release.status, release.revocation_reason) == (Release.Status.REVOKED, "The model asked.")


def test_revoking_a_release_never_approved_announces_nothing(
    creator, profile, asset, withdrawals, django_capture_on_commit_callbacks
):
    release = ReleaseFactory(creator=profile, status="submitted", assets=[asset])

    with django_capture_on_commit_callbacks(execute=True):
        release_revoke(release=release, actor=creator, reason="Wrong person.")

    assert withdrawals == []


def test_another_creator_cannot_revoke_a_release(profile, asset):
    release = ReleaseFactory(creator=profile, status="approved", assets=[asset])

    with pytest.raises(PermissionDenied):
        release_revoke(release=release, actor=CreatorFactory(), reason="Mine now.")

    release.refresh_from_db()
    assert release.status == Release.Status.APPROVED


def test_a_reviewer_revokes_any_release(profile, asset, reviewer):
    release = ReleaseFactory(creator=profile, status="approved", assets=[asset])

    release_revoke(release=release, actor=reviewer, reason="Takedown.")

    release.refresh_from_db()
    assert release.status == Release.Status.REVOKED


@pytest.fixture
def signed_release(awaiting, media_root):
    release_sign_online(
        release=awaiting,
        signer=signer_for(awaiting, phone="+351 900 000 000", email="maria@example.com"),
        self_description=SelfDescription(age_range="30_44", gender="woman"),
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0",
    )
    awaiting.refresh_from_db()
    return awaiting


def test_erasing_a_release_blanks_personal_data_and_keeps_the_row(
    signed_release, creator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        release_erase(release=signed_release, actor=creator)

    erased = Release.objects.get(pk=signed_release.pk)
    assert erased.erased_at is not None
    assert erased.status == Release.Status.REVOKED
    personal = (erased.legal_name, erased.email, erased.phone, erased.address, erased.signed_name)
    assert personal == ("", "", "", "", "")
    assert (erased.date_of_birth, erased.signed_ip, erased.witness_name) == (None, None, "")
    assert not (erased.signature or erased.witness_signature)


def test_erasing_a_release_deletes_its_signature_files(
    signed_release, creator, media_root, django_capture_on_commit_callbacks
):
    assert len(stored_files(media_root)) == 2

    with django_capture_on_commit_callbacks(execute=True):
        release_erase(release=signed_release, actor=creator)

    assert stored_files(media_root) == []


def test_erasing_a_release_deletes_the_self_identification(signed_release, creator):
    release_erase(release=signed_release, actor=creator)

    assert not SelfIdentification.objects.exists()


def test_erasing_a_release_leaves_a_minimal_audit_entry(signed_release, creator):
    release_erase(release=signed_release, actor=creator)

    entry = last_audit()
    assert (entry.action, entry.object_id, entry.before, entry.after) == (
        "release.erased",
        str(signed_release.public_id),
        {},
        {},
    )
    assert "Maria" not in str(list(AuditEvent.objects.values_list("before", "after")))


# --- Consent --------------------------------------------------------------------------------------------------


def test_giving_consent_puts_each_asset_up_for_review(creator, profile):
    assets = [MediaAssetFactory(creator=profile) for _ in range(3)]
    research = LicenseTerms.objects.get(slug="research")

    given = consents_give(
        creator=profile,
        asset_ids=[a.pk for a in assets],
        permissions=all_allowed(ai_generative_training=UsePermission(Permission.NOT_ALLOWED)),
        terms=[research],
        actor=creator,
    )

    assert sorted(c.asset_id for c in given) == sorted(a.pk for a in assets)
    for consent in given:
        consent.refresh_from_db()
        assert consent.status == Consent.Status.PENDING
        assert (consent.ai_training, consent.ai_generative_training) == ("allowed", "notAllowed")
        assert list(consent.accepted_terms.all()) == [research]
        assert consent.given_by == creator
    assert AuditEvent.objects.filter(action="consent.given").count() == 3


def test_giving_consent_again_replaces_the_live_consent(creator, profile, asset):
    earlier = ConsentFactory(asset=asset, status="pending")

    (newer,) = consents_give(
        creator=profile,
        asset_ids=[asset.pk],
        permissions=all_allowed(),
        terms=LicenseTerms.objects.all(),
        actor=creator,
    )

    earlier.refresh_from_db()
    assert earlier.status == Consent.Status.REPLACED
    replaced = AuditEvent.objects.get(action="consent.replaced", object_id=earlier.public_id)
    assert replaced.after["reason"] == REPLACED_BY_NEW_CONSENT
    assert newer.status == Consent.Status.PENDING


def test_narrowing_consents_announces_only_those_that_were_active(creator, profile, withdrawals):
    was_active, was_pending, had_none = (MediaAssetFactory(creator=profile) for _ in range(3))
    ConsentFactory(asset=was_active, status="active")
    ConsentFactory(asset=was_pending, status="pending")

    consents_give(
        creator=profile,
        asset_ids=[was_active.pk, was_pending.pk, had_none.pk],
        permissions=all_allowed(ai_generative_training=UsePermission(Permission.NOT_ALLOWED)),
        terms=LicenseTerms.objects.all(),
        actor=creator,
    )

    assert [(w["asset_ids"], w["reason"]) for w in withdrawals] == [([was_active.pk], NARROWED)]


def test_a_narrower_consent_replaces_the_active_one_at_once_keeping_the_review(
    creator, profile, asset, reviewer, withdrawals
):
    active = ConsentFactory(
        asset=asset, status="active", reviewed_by=reviewer, identifiable_people=1, people_note="One model."
    )

    (narrower,) = consents_give(
        creator=profile,
        asset_ids=[asset.pk],
        permissions=all_allowed(ai_training=UsePermission(Permission.CONSTRAINED, "No biometric models.")),
        terms=LicenseTerms.objects.all(),
        actor=creator,
    )

    active.refresh_from_db()
    assert active.status == Consent.Status.REPLACED
    assert (narrower.status, narrower.replaces, narrower.reviewed_by) == (
        Consent.Status.ACTIVE,
        active,
        reviewer,
    )
    assert (narrower.ai_training, narrower.ai_training_constraint) == ("constrained", "No biometric models.")
    assert (narrower.identifiable_people, narrower.people_note) == (1, "One model.")
    assert [w["asset_ids"] for w in withdrawals] == [[asset.pk]]


@pytest.mark.parametrize(
    "broader",
    [
        {"permissions": {}, "terms": "all", "property": False},  # the same
        {"permissions": {"ai_generative_training": "allowed"}, "terms": "all", "property": False},
        {"permissions": {}, "terms": "all+exclusive", "property": False},
        {"permissions": {}, "terms": "all", "property": False, "drop_property": True},
    ],
    ids=["the same", "a use added", "a tier added", "no property release required any more"],
)
def test_the_same_or_a_broader_consent_announces_nothing_and_keeps_the_active_one(
    creator, profile, asset, withdrawals, broader
):
    families = list(LicenseTerms.objects.filter(exclusive=False)) or list(LicenseTerms.objects.all())[:1]
    active = ConsentFactory(
        asset=asset,
        status="active",
        ai_generative_training="notAllowed",
        accepted_terms=families,
        property_release_required=not broader.get("drop_property", False),
    )
    if broader.get("drop_property"):
        active.property_release_required = True
        active.save(update_fields=["property_release_required"])
    permissions = all_allowed(ai_generative_training=UsePermission(Permission.NOT_ALLOWED))
    for use, permission in broader["permissions"].items():
        permissions[use] = UsePermission(permission)
    terms = families if broader["terms"] == "all" else list(LicenseTerms.objects.all())

    recorded = consents_give(
        creator=profile,
        asset_ids=[asset.pk],
        permissions=permissions,
        terms=terms,
        property_release_required=False,
        actor=creator,
    )

    active.refresh_from_db()
    assert active.status == Consent.Status.ACTIVE
    assert withdrawals == []
    if recorded:
        (request,) = recorded
        assert (request.status, request.replaces) == (Consent.Status.PENDING, active)


def test_approving_a_broader_consent_replaces_the_active_one_without_a_notice(
    creator, profile, asset, reviewer, withdrawals
):
    active = ConsentFactory(asset=asset, status="active", ai_generative_training="notAllowed")
    (broader,) = consents_give(
        creator=profile,
        asset_ids=[asset.pk],
        permissions=all_allowed(),
        terms=LicenseTerms.objects.all(),
        actor=creator,
    )

    consent_approve(consent=broader, reviewer=reviewer, identifiable_people=0)

    active.refresh_from_db()
    broader.refresh_from_db()
    assert (active.status, broader.status) == (Consent.Status.REPLACED, Consent.Status.ACTIVE)
    assert withdrawals == []


def test_a_consent_both_narrower_and_broader_withdraws_at_once_and_asks_for_the_rest(
    creator, profile, asset, withdrawals
):
    active = ConsentFactory(asset=asset, status="active", ai_generative_training="notAllowed")

    narrower, request = consents_give(
        creator=profile,
        asset_ids=[asset.pk],
        permissions=all_allowed(data_mining=UsePermission(Permission.NOT_ALLOWED)),
        terms=LicenseTerms.objects.all(),
        actor=creator,
    )

    assert (narrower.status, narrower.data_mining, narrower.ai_generative_training) == (
        Consent.Status.ACTIVE,
        "notAllowed",
        "notAllowed",
    )
    assert (request.status, request.replaces, request.ai_generative_training) == (
        Consent.Status.PENDING,
        narrower,
        "allowed",
    )
    active.refresh_from_db()
    assert active.status == Consent.Status.REPLACED
    assert [w["asset_ids"] for w in withdrawals] == [[asset.pk]]


def test_a_changed_constraint_withdraws_the_old_one_at_once(creator, profile, asset, withdrawals):
    ConsentFactory(
        asset=asset, status="active", ai_training="constrained", ai_training_constraint="No faces."
    )

    narrower, request = consents_give(
        creator=profile,
        asset_ids=[asset.pk],
        permissions=all_allowed(ai_training=UsePermission(Permission.CONSTRAINED, "Faces blurred.")),
        terms=LicenseTerms.objects.all(),
        actor=creator,
    )

    # Neither constraint is within the other: the old one ends now, the new one waits for a reviewer.
    assert (narrower.ai_training, request.ai_training_constraint) == ("notAllowed", "Faces blurred.")
    assert [w["asset_ids"] for w in withdrawals] == [[asset.pk]]


def test_consent_cannot_be_given_for_another_creators_asset(creator, profile):
    someone_elses = MediaAssetFactory()

    with pytest.raises(ValidationError):
        consents_give(
            creator=profile,
            asset_ids=[someone_elses.pk],
            permissions=all_allowed(),
            terms=LicenseTerms.objects.all(),
            actor=creator,
        )

    assert not Consent.objects.exists()


def test_a_constrained_use_needs_its_constraint_in_words(creator, profile, asset):
    with pytest.raises(ValidationError) as error:
        consents_give(
            creator=profile,
            asset_ids=[asset.pk],
            permissions=all_allowed(ai_training=UsePermission(Permission.CONSTRAINED, " ")),
            terms=LicenseTerms.objects.all(),
            actor=creator,
        )

    assert "ai_training_constraint" in error.value.message_dict


def test_every_use_needs_an_answer(creator, profile, asset):
    permissions = all_allowed()
    del permissions[Use.DATA_MINING]

    with pytest.raises(ValidationError) as error:
        consents_give(
            creator=profile,
            asset_ids=[asset.pk],
            permissions=permissions,
            terms=LicenseTerms.objects.all(),
            actor=creator,
        )

    assert Use.DATA_MINING in error.value.message_dict


def test_consent_needs_at_least_one_set_of_terms(creator, profile, asset):
    with pytest.raises(ValidationError) as error:
        consents_give(
            creator=profile, asset_ids=[asset.pk], permissions=all_allowed(), terms=[], actor=creator
        )

    assert "terms" in error.value.message_dict


def test_keys_beyond_the_four_uses_cannot_set_other_fields(creator, profile, asset):
    permissions = all_allowed() | {"status": UsePermission("active")}

    (consent,) = consents_give(
        creator=profile,
        asset_ids=[asset.pk],
        permissions=permissions,
        terms=LicenseTerms.objects.all(),
        actor=creator,
    )

    consent.refresh_from_db()
    assert consent.status == Consent.Status.PENDING


@pytest.mark.parametrize("faces", [0, 2])
def test_approving_consent_needs_the_reviewers_count_of_people(profile, reviewer, faces):
    consent = ConsentFactory(asset=MediaAssetFactory(creator=profile, face_count=faces), status="pending")

    with pytest.raises(ValidationError) as error:
        consent_approve(consent=consent, reviewer=reviewer, identifiable_people=None)

    assert "identifiable_people" in error.value.message_dict
    consent.refresh_from_db()
    assert consent.status == Consent.Status.PENDING


def test_fewer_people_than_detected_faces_needs_a_note(profile, reviewer):
    consent = ConsentFactory(asset=MediaAssetFactory(creator=profile, face_count=2), status="pending")

    with pytest.raises(ValidationError) as error:
        consent_approve(consent=consent, reviewer=reviewer, identifiable_people=0)

    assert "people_note" in error.value.message_dict
    consent.refresh_from_db()
    assert consent.status == Consent.Status.PENDING


def test_fewer_people_than_detected_faces_with_a_note_is_accepted(profile, reviewer):
    consent = ConsentFactory(asset=MediaAssetFactory(creator=profile, face_count=2), status="pending")

    approved = consent_approve(
        consent=consent, reviewer=reviewer, identifiable_people=0, people_note="Faces on a poster."
    )

    assert (approved.identifiable_people, approved.people_note) == (0, "Faces on a poster.")


def test_more_people_than_detected_faces_needs_no_note(profile, reviewer):
    consent = ConsentFactory(asset=MediaAssetFactory(creator=profile, face_count=0), status="pending")

    approved = consent_approve(consent=consent, reviewer=reviewer, identifiable_people=1)

    assert approved.identifiable_people == 1


def test_a_negative_number_of_people_is_refused(profile, reviewer):
    consent = ConsentFactory(asset=MediaAssetFactory(creator=profile), status="pending")

    with pytest.raises(ValidationError) as error:
        consent_approve(consent=consent, reviewer=reviewer, identifiable_people=-1)

    assert "identifiable_people" in error.value.message_dict


def test_only_a_reviewer_approves_consent(creator, asset):
    consent = ConsentFactory(asset=asset, status="pending")

    with pytest.raises(PermissionDenied):
        consent_approve(consent=consent, reviewer=creator, identifiable_people=0)


def _reviewer_who_creates(reviewer):  # type: ignore[no-untyped-def]
    from tests.factories import CreatorProfileFactory

    return CreatorProfileFactory(user=reviewer)


@pytest.mark.parametrize(
    "decide",
    [
        lambda item, reviewer: consent_approve(consent=item, reviewer=reviewer, identifiable_people=0),
        lambda item, reviewer: consent_reject(
            consent=item, reviewer=reviewer, reason=Consent.RejectionReason.DUPLICATE
        ),
    ],
    ids=["approve", "reject"],
)
def test_a_reviewer_never_decides_on_their_own_consent(reviewer, decide):
    own = ConsentFactory(asset=MediaAssetFactory(creator=_reviewer_who_creates(reviewer)), status="pending")
    entries = AuditEvent.objects.count()

    with pytest.raises(PermissionDenied, match="your own consent"):
        decide(own, reviewer)

    own.refresh_from_db()
    assert own.status == Consent.Status.PENDING and AuditEvent.objects.count() == entries


@pytest.mark.parametrize(
    "decide",
    [
        lambda item, reviewer: release_approve(release=item, reviewer=reviewer),
        lambda item, reviewer: release_reject(
            release=item, reviewer=reviewer, reason=Release.RejectionReason.NAME_MISMATCH
        ),
    ],
    ids=["approve", "reject"],
)
def test_a_reviewer_never_decides_on_their_own_release(reviewer, decide):
    own = ReleaseFactory(creator=_reviewer_who_creates(reviewer), status="submitted")

    with pytest.raises(PermissionDenied, match="your own release"):
        decide(own, reviewer)

    own.refresh_from_db()
    assert own.status == Release.Status.SUBMITTED


def test_a_takedown_cannot_include_the_reviewers_own_assets(reviewer):
    own = ConsentFactory(asset=MediaAssetFactory(creator=_reviewer_who_creates(reviewer)), status="active")
    theirs = ConsentFactory(status="active")

    with pytest.raises(ValidationError, match="your own assets"):
        consents_withdraw(asset_ids=[own.asset_id, theirs.asset_id], actor=reviewer)

    # Their own alone is their withdrawal as its creator, not a takedown.
    consents_withdraw(asset_ids=[own.asset_id], actor=reviewer)
    own.refresh_from_db()
    assert own.withdrawal_reason == "Withdrawn by the creator."


# --- Withdrawing consent ----------------------------------------------------------------------------------------


def test_a_creator_withdraws_consent_for_their_own_asset(creator, asset):
    consent = ConsentFactory(asset=asset, status="active")

    withdrawn = consents_withdraw(asset_ids=[asset.pk], actor=creator)

    consent.refresh_from_db()
    assert withdrawn == 1
    assert (consent.status, consent.withdrawn_by, consent.withdrawal_reason) == (
        Consent.Status.WITHDRAWN,
        creator,
        "Withdrawn by the creator.",
    )
    assert last_audit().action == "consent.withdrawn"


def test_a_creator_cannot_withdraw_consent_for_another_creators_asset(creator):
    consent = ConsentFactory(status="active")

    with pytest.raises(PermissionDenied):
        consents_withdraw(asset_ids=[consent.asset_id], actor=creator)

    consent.refresh_from_db()
    assert consent.status == Consent.Status.ACTIVE


def test_a_mixed_withdrawal_including_another_creators_asset_changes_nothing(creator, asset):
    mine = ConsentFactory(asset=asset, status="active")
    theirs = ConsentFactory(status="active")

    with pytest.raises(PermissionDenied):
        consents_withdraw(asset_ids=[asset.pk, theirs.asset_id], actor=creator)

    mine.refresh_from_db()
    assert mine.status == Consent.Status.ACTIVE


def test_a_reviewer_takes_down_anyones_asset(reviewer):
    consent = ConsentFactory(status="active")

    consents_withdraw(asset_ids=[consent.asset_id], actor=reviewer)

    consent.refresh_from_db()
    assert (consent.status, consent.withdrawal_reason) == (
        Consent.Status.WITHDRAWN,
        "Taken down by a reviewer.",
    )


def test_withdrawal_is_announced_once_with_the_active_assets_in_its_own_transaction(
    creator, profile, withdrawals, django_capture_on_commit_callbacks
):
    active = [MediaAssetFactory(creator=profile) for _ in range(3)]
    pending = MediaAssetFactory(creator=profile)
    for asset in active:
        ConsentFactory(asset=asset, status="active")
    ConsentFactory(asset=pending, status="pending")

    with django_capture_on_commit_callbacks():
        consents_withdraw(
            asset_ids=[pending.pk, *(a.pk for a in active)], actor=creator, reason="Changed my mind"
        )
        (withdrawal,) = withdrawals
    assert withdrawal["asset_ids"] == sorted(a.pk for a in active)
    assert withdrawal["reason"] == "Changed my mind"


def test_withdrawing_assets_without_a_live_consent_does_nothing(creator, asset, withdrawals):
    ConsentFactory(asset=asset, status="rejected")

    assert consents_withdraw(asset_ids=[asset.pk], actor=creator) == 0
    assert withdrawals == []


def test_withdrawing_nothing_is_refused(creator):
    with pytest.raises(ValidationError):
        consents_withdraw(asset_ids=[], actor=creator)


def test_withdrawing_an_unknown_asset_is_refused(creator):
    with pytest.raises(ValidationError):
        consents_withdraw(asset_ids=[987654], actor=creator)


# --- Erasing assets ---------------------------------------------------------------------------------------------


@pytest.fixture
def stored_asset(profile, media_root):
    """An asset whose original and derivatives really exist in storage."""
    names = {
        field: default_storage.save(f"{field}s/erase-me.jpg", ContentFile(image_bytes("JPEG")))
        for field in ("original", "thumbnail", "preview")
    }
    asset = MediaAssetFactory(
        creator=profile, title="Sunset", caption="At the pier", metadata={"lens": "50mm"}, **names
    )
    ConsentFactory(asset=asset, status="active")
    return asset


def test_erasing_assets_deletes_their_stored_files(
    stored_asset, creator, media_root, django_capture_on_commit_callbacks
):
    assert len(stored_files(media_root)) == 3

    with django_capture_on_commit_callbacks(execute=True):
        assets_erase(asset_ids=[stored_asset.pk], actor=creator)

    assert stored_files(media_root) == []


def test_erasing_an_asset_blanks_what_describes_it_and_keeps_the_row(stored_asset, creator):
    assets_erase(asset_ids=[stored_asset.pk], actor=creator)

    stored_asset.refresh_from_db()
    assert stored_asset.erased_at is not None
    assert (stored_asset.title, stored_asset.caption, stored_asset.original_name, stored_asset.metadata) == (
        "",
        "",
        "",
        {},
    )
    assert not (stored_asset.original or stored_asset.thumbnail or stored_asset.preview)


def test_erasing_an_asset_withdraws_its_consent_and_is_audited(stored_asset, creator):
    assets_erase(asset_ids=[stored_asset.pk], actor=creator)

    assert stored_asset.consents.get().status == Consent.Status.WITHDRAWN
    assert last_audit().action == "asset.erased"


def test_another_creator_cannot_erase_an_asset(stored_asset, media_root):
    with pytest.raises(PermissionDenied):
        assets_erase(asset_ids=[stored_asset.pk], actor=CreatorFactory())

    stored_asset.refresh_from_db()
    assert stored_asset.erased_at is None
    assert len(stored_files(media_root)) == 3
