"""The public signing page: a person opens the link, reads the release, fills it in and draws their signature."""

import base64
import datetime
import io
import time
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from django.urls import reverse
from django.utils import timezone
from PIL import Image, ImageDraw

from licensing import services
from licensing.models import AuditEvent, Release, SelfIdentification
from tests.factories import CreatorFactory, MediaAssetFactory

pytestmark = pytest.mark.django_db

SHOOT = (datetime.date(2026, 5, 1), datetime.date(2026, 5, 3))
BROWSER = "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36"


def png(*, ink: object = "black", background: object = "white", size: tuple[int, int] = (600, 200)) -> bytes:
    """A signature as the pad sends it: a dark stroke on a white page (no stroke: a blank pad)."""
    image = Image.new("RGBA", size, background)
    if ink is not None:
        ImageDraw.Draw(image).line([(30, 150), (160, 40), (300, 160), (560, 50)], fill=ink, width=5)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def data_url(content: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(content).decode()}"


def years_ago(years: int, days: int = 0) -> datetime.date:
    # relativedelta, not date.replace: on 29 February, the same day `years` ago may not exist.
    return timezone.localdate() - relativedelta(years=years) - datetime.timedelta(days=days)


def stored_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def request_release(kind: str = Release.Kind.MODEL, **subject: str) -> Release:
    creator = CreatorFactory(display_name="Pat Photographer")
    profile = creator.creator_profile
    asset = MediaAssetFactory(creator=profile)
    return services.release_request_online(
        creator=profile,
        subject=services.ReleaseSubject(
            kind=kind,
            legal_name=subject.get("legal_name", "Maria Model"),
            email=subject.get("email", "maria@example.com"),
            property_description=subject.get("property_description", ""),
        ),
        asset_ids=[asset.pk],
        shoot_start=SHOOT[0],
        shoot_end=SHOOT[1],
        actor=creator,
    )


def sign_url(release: Release) -> str:
    return reverse("licensing:release-sign", args=[services.release_signing_token(release=release)])


def filled(release: Release, **changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "signed_name": release.legal_name,
        "address": "1 Rua Augusta, Lisboa",
        "email": "maria@example.com",
        "phone": "",
        "signature": data_url(png()),
        "witness_name": "Wendy Witness",
        "witness_signature": data_url(png(ink="navy")),
    }
    if release.kind == Release.Kind.MODEL:
        form |= {
            "date_of_birth": "1990-04-01",
            "guardian_name": "",
            "guardian_signature": "",
            "age_range": "",
            "gender": "",
            "ethnicity": "",
        }
    return form | changes


def sign(client, release: Release, url: str | None = None, **changes: object):
    return client.post(
        url or sign_url(release),
        filled(release, **changes),
        REMOTE_ADDR="203.0.113.7",
        HTTP_USER_AGENT=BROWSER,
    )


@pytest.fixture
def release(media_root) -> Release:
    return request_release()


# --- The page ---------------------------------------------------------------------------------------------


def test_anyone_with_the_link_reads_the_release_without_logging_in(client, release):
    response = client.get(sign_url(release))

    assert response.status_code == 200
    page = response.content.decode()
    assert "MODEL RELEASE" in page
    assert "I, Maria Model, give Pat Photographer" in page
    assert 'name="signature"' in page and 'name="witness_signature"' in page
    assert 'name="guardian_signature"' in page
    assert "js/signature.js" in page


def test_the_signing_page_is_kept_out_of_caches_referrers_and_search_engines(client, release):
    response = client.get(sign_url(release))

    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "same-origin"
    assert "noindex" in response["X-Robots-Tag"]


def test_the_person_sees_only_their_own_release(client, release):
    other = request_release(legal_name="Otto Other", email="otto@example.com")

    page = client.get(sign_url(release)).content.decode()

    assert "Otto Other" not in page and "otto@example.com" not in page
    assert str(other.public_id) not in page


def test_the_biometric_consent_is_separate_and_not_ticked(client, release):
    page = client.get(sign_url(release)).content.decode()

    checkbox = page[
        page.index('name="biometric_consent"') - 200 : page.index('name="biometric_consent"') + 200
    ]
    assert "checked" not in checkbox
    assert "Face recognition (separate, optional)" in page


def test_a_property_release_asks_for_neither_birth_date_nor_self_identification(client, media_root):
    release = request_release(
        Release.Kind.PROPERTY, legal_name="Olga Owner", property_description="The blue house, Rua Augusta 1"
    )

    page = client.get(sign_url(release)).content.decode()

    assert "PROPERTY RELEASE" in page and "The blue house, Rua Augusta 1" in page
    assert 'name="date_of_birth"' not in page
    assert 'name="gender"' not in page and 'name="biometric_consent"' not in page


# --- Signing ----------------------------------------------------------------------------------------------


def test_signing_submits_the_release_with_its_evidence_and_signatures(client, release, media_root):
    response = sign(client, release, age_range="30_44", gender="woman")

    assert response.status_code == 302
    assert response["Location"] == reverse("licensing:release-signed")
    release.refresh_from_db()
    assert release.status == Release.Status.SUBMITTED
    assert release.signed_ip == "203.0.113.7"
    assert release.signed_user_agent == BROWSER
    assert timezone.now() - release.signed_at < datetime.timedelta(minutes=1)
    assert release.signed_on == timezone.localdate()
    assert len(release.wording_sha256) == 64
    assert (release.witness_name, release.address) == ("Wendy Witness", "1 Rua Augusta, Lisboa")
    for field in (release.signature, release.witness_signature):
        assert (media_root / field.name).read_bytes().startswith(b"\x89PNG")
    assert not release.guardian_signature
    assert AuditEvent.objects.filter(
        action="release.signed_online", object_id=str(release.public_id)
    ).exists()
    described = SelfIdentification.objects.get(release=release)
    assert (described.age_range, described.gender) == ("30_44", "woman")


def test_the_thank_you_page_reveals_nothing_about_the_release(client, release):
    sign(client, release)

    response = client.get(reverse("licensing:release-signed"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "the release is signed" in page
    assert "Maria Model" not in page and "Pat Photographer" not in page


def test_a_minor_signs_with_a_parent_or_guardian(client, release, media_root):
    response = sign(
        client,
        release,
        date_of_birth=years_ago(16).isoformat(),
        guardian_name="Gina Guardian",
        guardian_signature=data_url(png(ink="darkgreen")),
    )

    assert response.status_code == 302
    release.refresh_from_db()
    assert release.status == Release.Status.SUBMITTED
    assert release.guardian_name == "Gina Guardian"
    assert (media_root / release.guardian_signature.name).exists()


def test_the_biometric_consent_is_recorded_with_its_retention_date(client, release):
    until = timezone.localdate() + datetime.timedelta(days=700)

    sign(client, release, biometric_consent="on", biometric_retention_until=until.isoformat())

    release.refresh_from_db()
    assert (release.biometric_consent, release.biometric_retention_until) == (True, until)


def test_a_property_owner_signs_without_a_birth_date(client, media_root):
    release = request_release(
        Release.Kind.PROPERTY, legal_name="Olga Owner", property_description="The blue house"
    )

    response = sign(client, release)

    assert response.status_code == 302
    release.refresh_from_db()
    assert release.status == Release.Status.SUBMITTED
    assert release.date_of_birth is None


# --- Bad input: a form error, and nothing changes -----------------------------------------------------------

THREE_YEARS_AND_A_MONTH = datetime.timedelta(days=3 * 365 + 31)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"signature": ""}, "signature", "Draw your signature in the box"),
        ({"signature": data_url(png(ink=None))}, "signature", "is empty"),
        ({"signature": data_url(png(ink=None, background=(0, 0, 0, 0)))}, "signature", "is empty"),
        ({"signature": data_url(b"\xff\xd8\xff\xe0 a jpeg", "image/jpeg")}, "signature", "could not be read"),
        ({"signature": "data:text/html,<script>alert(1)</script>"}, "signature", "could not be read"),
        ({"signature": "data:image/png;base64,not base64 at all!"}, "signature", "could not be read"),
        ({"signature": data_url(b"GIF89a pretending")}, "signature", "could not be read"),
        ({"signature": data_url(b"\x89PNG\r\n\x1a\n truncated")}, "signature", "could not be read"),
        ({"signature": data_url(png(size=(3000, 100)))}, "signature", "too large"),
        ({"signature": data_url(b"\x89PNG\r\n\x1a\n" + b"\0" * 600_000)}, "signature", "too large"),
        ({"witness_signature": ""}, "witness_signature", "Draw witness"),
        ({"witness_name": ""}, "witness_name", "A witness must sign too"),
        ({"witness_name": "maria model"}, "witness_name", "someone other than the person"),
        ({"witness_name": "Pat Photographer"}, "witness_name", "someone other than the person"),
        ({"signed_name": "Someone Else"}, "signed_name", "exactly as the release names you"),
        ({"signed_name": ""}, "signed_name", "Type your full name"),
        ({"date_of_birth": ""}, "date_of_birth", "Give your date of birth"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "not possible"),
        ({"address": "", "email": "", "phone": ""}, "address", "at least one way to reach you"),
        ({"date_of_birth": years_ago(17, days=-1).isoformat()}, "guardian_name", "under 18"),
        (
            {"date_of_birth": years_ago(15).isoformat(), "guardian_name": "Gina Guardian"},
            "guardian_signature",
            "Draw the parent or guardian's signature",
        ),
        ({"biometric_consent": "on"}, "biometric_retention_until", "until when"),
        (
            {
                "biometric_consent": "on",
                "biometric_retention_until": (timezone.localdate() + THREE_YEARS_AND_A_MONTH).isoformat(),
            },
            "biometric_retention_until",
            "at most three years",
        ),
        ({"age_range": "toddler"}, "age_range", "Select a valid choice"),
    ],
)
def test_bad_input_is_marked_on_the_form_and_changes_nothing(
    client, release, media_root, changes, field, message
):
    response = sign(client, release, **changes)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message.lower() in " ".join(errors[field]).lower()
    release.refresh_from_db()
    assert release.status == Release.Status.AWAITING_SIGNATURE
    assert not release.signature and release.signed_at is None
    assert stored_files(media_root) == []
    assert not SelfIdentification.objects.exists()


def test_the_signatures_drawn_come_back_with_a_form_error(client, release):
    drawn = data_url(png())

    response = sign(client, release, signature=drawn, witness_name="")

    assert response.status_code == 400
    assert drawn in response.content.decode()


# --- Links that no longer work ----------------------------------------------------------------------------


def test_a_link_cannot_be_used_twice(client, release):
    url = sign_url(release)
    sign(client, release, url=url)
    release.refresh_from_db()
    signed_at = release.signed_at

    opened = client.get(url)
    again = sign(client, release, url=url, witness_name="Someone New")

    assert opened.status_code == again.status_code == 403
    assert "already been signed" in opened.content.decode()
    release.refresh_from_db()
    assert (release.signed_at, release.witness_name) == (signed_at, "Wendy Witness")


def test_an_expired_link_is_refused_and_changes_nothing(client, release, media_root, monkeypatch):
    issued = time.time() - datetime.timedelta(days=services.SIGNING_LINK_DAYS, hours=1).total_seconds()
    with monkeypatch.context() as patched:
        patched.setattr(time, "time", lambda: issued)
        url = sign_url(release)

    opened = client.get(url)
    posted = sign(client, release, url=url)

    assert opened.status_code == posted.status_code == 403
    assert "expired" in opened.content.decode()
    assert "Ask the photographer" in opened.content.decode()
    release.refresh_from_db()
    assert release.status == Release.Status.AWAITING_SIGNATURE
    assert stored_files(media_root) == []


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "eyJyZWxlYXNlIjoiMSIsImxpbmsiOjB9:1abcde:forgedsignatureforgedsignature",
    ],
)
def test_a_forged_link_is_refused(client, release, token):
    response = client.get(reverse("licensing:release-sign", args=[token]))

    assert response.status_code == 403
    assert "not valid" in response.content.decode()


def test_a_tampered_link_is_refused_and_changes_nothing(client, release):
    token = services.release_signing_token(release=release)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    response = sign(client, release, url=reverse("licensing:release-sign", args=[tampered]))

    assert response.status_code == 403
    release.refresh_from_db()
    assert release.status == Release.Status.AWAITING_SIGNATURE


def test_a_replaced_link_is_refused(client, release):
    old = sign_url(release)
    services.release_link_renew(release=release, actor=release.creator.user)
    release.refresh_from_db()

    assert client.get(old).status_code == 403
    assert "replaced by a newer one" in client.get(old).content.decode()
    assert client.get(sign_url(release)).status_code == 200


def test_the_link_of_a_revoked_release_is_refused(client, release):
    url = sign_url(release)
    services.release_revoke(release=release, actor=release.creator.user, reason="Changed her mind.")

    assert client.get(url).status_code == 403
