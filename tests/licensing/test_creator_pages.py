"""The creator's licensing pages: releases (ask, upload, follow, fix, withdraw, erase) and consent in bulk."""

import datetime
import io
import re
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image, ImageDraw

from creators.models import MediaAsset
from licensing import services
from licensing.models import Consent, LicenseTerms, Permission, Release, SelfIdentification, Use
from licensing.signals import assets_withdrawn
from licensing.views.creator import CONSENT_PAGE_SIZE
from tests.factories import ConsentFactory, CreatorFactory, MediaAssetFactory, ReleaseFactory

pytestmark = pytest.mark.django_db

SHOOT = (datetime.date(2026, 5, 1), datetime.date(2026, 5, 3))
IN_SHOOT = datetime.datetime(2026, 5, 2, 10, 30, tzinfo=datetime.UTC)


# --- Helpers ------------------------------------------------------------------------------------------------


def png_bytes(size: tuple[int, int] = (300, 400)) -> bytes:
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).line([(20, 300), (280, 40)], fill="black", width=4)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def scan(name: str = "release.png", content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes() if content is None else content)


def stored_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def asset_of(user, **fields) -> MediaAsset:
    return MediaAssetFactory(creator=user.creator_profile, **fields)


def online_form(*assets: MediaAsset, **changes: object) -> dict[str, object]:
    return {
        "kind": "model",
        "method": "online",
        "assets": [str(asset.public_id) for asset in assets],
        "legal_name": "Maria Model",
        "email": "maria@example.com",
        "property_description": "",
        "shoot_start": SHOOT[0].isoformat(),
        "shoot_end": SHOOT[1].isoformat(),
    } | changes


def paper_form(*assets: MediaAsset, **changes: object) -> dict[str, object]:
    return (
        online_form(
            *assets,
            method="paper",
            signed_name="Maria Model",
            signed_on=SHOOT[1].isoformat(),
            date_of_birth="1990-04-01",
            address="1 Rua Augusta, Lisboa",
            phone="",
            witness_name="Wendy Witness",
            guardian_name="",
            scan=scan(),
        )
        | changes
    )


def consent_form(*assets: MediaAsset, **changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "assets": [str(asset.public_id) for asset in assets],
        "terms": [terms.pk for terms in LicenseTerms.objects.all()],
        "page": "1",
    }
    for use in Use.values:
        form[use] = Permission.ALLOWED
        form[f"{use}_constraint"] = ""
    return form | changes


def online_release(user, *assets: MediaAsset, **fields) -> Release:
    return ReleaseFactory(
        creator=user.creator_profile,
        method="online",
        status=fields.pop("status", "awaiting_signature"),
        assets=list(assets) or [asset_of(user)],
        **fields,
    )


@pytest.fixture
def withdrawals():
    """Every assets_withdrawn signal sent during the test, as its keyword arguments."""
    received: list[dict] = []

    def record(sender, **kwargs):  # type: ignore[no-untyped-def]
        received.append(kwargs)

    assets_withdrawn.connect(record, weak=False, dispatch_uid="test-creator-pages-withdrawals")
    yield received
    assets_withdrawn.disconnect(dispatch_uid="test-creator-pages-withdrawals")


@pytest.fixture
def logged_in(client, creator):
    client.force_login(creator)
    return client


# --- Who sees what ------------------------------------------------------------------------------------------


def page_urls(release: Release) -> list[str]:
    return [
        reverse("licensing:release-list"),
        reverse("licensing:release-new"),
        reverse("licensing:release-detail", args=[release.public_id]),
        reverse("licensing:consent-manage"),
    ]


def test_each_page_renders_for_its_creator(logged_in, creator):
    release = online_release(creator)

    for url in page_urls(release):
        response = logged_in.get(url)
        assert response.status_code == 200, url
        assert 'href="/creator/releases/"' in response.content.decode()


def test_anonymous_visitors_are_sent_to_log_in(client, creator):
    release = online_release(creator)

    for url in page_urls(release):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_buyers_cannot_open_the_creator_pages(client, buyer, creator):
    release = online_release(creator)
    client.force_login(buyer)

    for url in page_urls(release):
        assert client.get(url).status_code == 403, url


def test_another_creators_release_is_not_found_and_cannot_be_acted_on(logged_in, media_root):
    other = CreatorFactory()
    release = ReleaseFactory(creator=other.creator_profile, status="rejected", assets=[asset_of(other)])
    urls = {
        "release-detail": {},
        "release-renew-link": {},
        "release-resubmit": {"scan": scan()},
        "release-revoke": {"reason": "Because.", "confirm": "on"},
        "release-erase": {"confirm": "on"},
    }

    for name, data in urls.items():
        url = reverse(f"licensing:{name}", args=[release.public_id])
        response = logged_in.get(url) if name == "release-detail" else logged_in.post(url, data)
        assert response.status_code == 404, name

    release.refresh_from_db()
    assert (release.status, release.erased_at, release.link_generation) == ("rejected", None, 0)
    assert stored_files(media_root) == []


def test_the_list_shows_only_the_creators_own_releases(logged_in, creator):
    online_release(creator, legal_name="Maria Model")
    other = CreatorFactory()
    ReleaseFactory(creator=other.creator_profile, legal_name="Otto Other", assets=[asset_of(other)])

    page = logged_in.get(reverse("licensing:release-list")).content.decode()

    assert "Maria Model" in page
    assert "Otto Other" not in page


def test_the_list_shows_why_a_release_was_rejected(logged_in, creator):
    ReleaseFactory(
        creator=creator.creator_profile,
        status="rejected",
        rejection_reason=Release.RejectionReason.SCAN_UNREADABLE,
        review_note="The bottom half is cut off.",
        assets=[asset_of(creator)],
    )

    page = logged_in.get(reverse("licensing:release-list")).content.decode()

    assert "Rejected" in page
    assert "The scan cannot be read" in page
    assert "The bottom half is cut off." in page


def test_a_release_page_never_shows_what_the_person_said_about_themselves(logged_in, creator):
    release = ReleaseFactory(creator=creator.creator_profile, assets=[asset_of(creator)])
    SelfIdentification.objects.create(release=release, age_range="30_44", gender="Agender-7", ethnicity="Zqx")

    page = logged_in.get(reverse("licensing:release-detail", args=[release.public_id])).content.decode()

    assert "Agender-7" not in page and "Zqx" not in page and "30-44" not in page


def test_the_consent_page_lists_only_the_creators_own_assets(logged_in, creator):
    asset_of(creator, title="My own photo")
    other = CreatorFactory()
    ConsentFactory(asset=asset_of(other, title="Their photo"))

    page = logged_in.get(reverse("licensing:consent-manage")).content.decode()

    assert "My own photo" in page
    assert "Their photo" not in page


@pytest.mark.parametrize("action", ["consent-give", "consent-withdraw", "assets-erase"])
def test_consent_actions_refuse_another_creators_assets(logged_in, creator, action):
    theirs = ConsentFactory(asset=asset_of(CreatorFactory()))
    mine = asset_of(creator)
    data = consent_form(mine, theirs.asset, confirm="ERASE")

    response = logged_in.post(reverse(f"licensing:{action}"), data)

    assert response.status_code == 400
    assert "not yours" in response.content.decode()
    theirs.refresh_from_db()
    theirs.asset.refresh_from_db()
    assert (theirs.status, theirs.asset.erased_at) == ("active", None)
    assert not Consent.objects.filter(asset=mine).exists()


# --- Release files ------------------------------------------------------------------------------------------


@pytest.fixture
def signed_release(creator, media_root) -> Release:
    release = ReleaseFactory(creator=creator.creator_profile, assets=[asset_of(creator)])
    release.signature.save("signature.png", ContentFile(png_bytes()), save=False)
    release.scan.save("scan.pdf", ContentFile(b"%PDF-1.4\n%%EOF\n"), save=True)
    return release


def test_the_creator_sees_the_signatures_and_scan(logged_in, signed_release):
    response = logged_in.get(reverse("licensing:release-file", args=[signed_release.public_id, "signature"]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert response["Cache-Control"].startswith("private")
    assert response["Content-Type"] == "image/png"
    scan_response = logged_in.get(reverse("licensing:release-file", args=[signed_release.public_id, "scan"]))
    assert scan_response["Content-Type"] == "application/pdf"


def test_a_reviewer_sees_the_signatures(client, reviewer, signed_release):
    client.force_login(reviewer)

    response = client.get(reverse("licensing:release-file", args=[signed_release.public_id, "signature"]))

    assert response.status_code == 200


@pytest.mark.parametrize("who", ["another_creator", "buyer"])
def test_nobody_else_sees_the_signatures(client, request, signed_release, who):
    user = CreatorFactory() if who == "another_creator" else request.getfixturevalue("buyer")
    client.force_login(user)

    response = client.get(reverse("licensing:release-file", args=[signed_release.public_id, "signature"]))

    assert response.status_code == 403


def test_anonymous_visitors_are_sent_to_log_in_for_a_signature(client, signed_release):
    response = client.get(reverse("licensing:release-file", args=[signed_release.public_id, "signature"]))

    assert response.status_code == 302


@pytest.mark.parametrize("field", ["witness_signature", "legal_name", "original"])
def test_a_missing_or_unknown_file_is_not_found(logged_in, signed_release, field):
    response = logged_in.get(reverse("licensing:release-file", args=[signed_release.public_id, field]))

    assert response.status_code == 404


# --- Asking for a release -----------------------------------------------------------------------------------


def test_the_new_release_page_offers_only_assets_a_release_can_cover(logged_in, creator):
    ready = asset_of(creator, title="Ready one")
    asset_of(creator, title="Refused by ingest", status="rejected")
    asset_of(creator, title="Erased one", erased_at=timezone.now())
    asset_of(CreatorFactory(), title="Not mine")

    page = logged_in.get(reverse("licensing:release-new")).content.decode()

    assert str(ready.public_id) in page
    assert "Ready one" in page
    assert "Refused by ingest" not in page and "Erased one" not in page and "Not mine" not in page


def test_an_online_request_leads_to_the_signing_link(logged_in, creator):
    inside = asset_of(creator, capture_time=IN_SHOOT)
    outside = asset_of(creator, capture_time=IN_SHOOT - datetime.timedelta(days=30))

    response = logged_in.post(reverse("licensing:release-new"), online_form(inside, outside))

    release = Release.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("licensing:release-detail", args=[release.public_id])
    assert (release.status, release.method, release.legal_name) == (
        "awaiting_signature",
        "online",
        "Maria Model",
    )
    assert set(release.assets.all()) == {inside, outside}
    assert release.capture_time_outside_shoot == [outside.pk]

    detail = logged_in.get(response["Location"])
    page = detail.content.decode()
    link = re.search(r'value="(http://testserver/sign/[^"]+/)"', page)
    assert link, page
    assert services.release_for_signing(token=link.group(1).rsplit("/", 2)[-2]) == release
    assert "mailto:maria%40example.com?subject=" in page
    assert "captured outside the shoot" in page
    assert "Outside the shoot's dates" in page


def test_a_property_release_is_asked_for_with_its_description(logged_in, creator):
    asset = asset_of(creator)

    logged_in.post(
        reverse("licensing:release-new"),
        online_form(asset, kind="property", legal_name="Olga Owner", property_description="The blue house"),
    )

    release = Release.objects.get()
    assert (release.kind, release.property_description) == ("property", "The blue house")


def test_a_new_release_can_start_from_a_chosen_asset(logged_in, creator):
    asset = asset_of(creator)

    page = logged_in.get(reverse("licensing:release-new"), {"asset": str(asset.public_id)}).content.decode()

    assert re.search(rf'value="{asset.public_id}"\s+checked', page)


def test_a_paper_release_is_uploaded_and_sent_to_review(logged_in, creator, media_root):
    asset = asset_of(creator)

    response = logged_in.post(reverse("licensing:release-new"), paper_form(asset))

    assert response.status_code == 302
    release = Release.objects.get()
    assert (release.status, release.method) == ("submitted", "paper")
    assert (release.signed_name, release.witness_name) == ("Maria Model", "Wendy Witness")
    assert release.signed_on == SHOOT[1]
    assert (media_root / release.scan.name).read_bytes() == png_bytes()


def test_a_paper_release_records_the_biometric_consent_written_on_it(logged_in, creator):
    until = SHOOT[1] + datetime.timedelta(days=365)

    logged_in.post(
        reverse("licensing:release-new"),
        paper_form(asset_of(creator), biometric_consent="on", biometric_retention_until=until.isoformat()),
    )

    release = Release.objects.get()
    assert (release.biometric_consent, release.biometric_retention_until) == (True, until)


def _minor_birth_date() -> str:
    return SHOOT[1].replace(year=SHOOT[1].year - 15).isoformat()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"shoot_end": "2026-04-30"}, "shoot_end", "cannot end before it starts"),
        ({"shoot_start": "2999-01-01", "shoot_end": "2999-01-02"}, "shoot_start", "future"),
        ({"assets": []}, "assets", "Choose at least one"),
        ({"assets": "someone else's"}, "assets", "not yours"),
        ({"legal_name": "  "}, "legal_name", "full legal name"),
        ({"kind": "pet"}, "kind", "valid choice"),
        ({"kind": "property"}, "property_description", "Describe the property"),
        ({"shoot_start": "yesterday"}, "shoot_start", "valid date"),
    ],
)
@pytest.mark.parametrize("form", [online_form, paper_form])
def test_bad_release_input_is_marked_on_the_form_and_saves_nothing(
    logged_in, creator, media_root, form, changes, field, message
):
    if changes.get("assets") == "someone else's":
        changes = {"assets": [str(asset_of(CreatorFactory()).public_id)]}
    data = form(asset_of(creator), **changes)

    response = logged_in.post(reverse("licensing:release-new"), data)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message.lower() in " ".join(errors[field]).lower()
    assert not Release.objects.exists()
    assert stored_files(media_root) == []


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"scan": SimpleUploadedFile("release.pdf", b"<html><script>alert(1)</script></html>")},
            "scan",
            "PDF, JPEG or PNG",
        ),
        (
            {"scan": SimpleUploadedFile("release.png", b"<html><body>not a scan</body></html>")},
            "scan",
            "PDF, JPEG or PNG",
        ),
        ({"scan": SimpleUploadedFile("release.pdf", b"%PDF-1.4 cut short")}, "scan", "incomplete"),
        ({"scan": SimpleUploadedFile("release.png", b"")}, "scan", "empty"),
        ({"scan": ""}, "scan", "Upload the scan"),
        ({"signed_on": ""}, "signed_on", "date the release was signed"),
        ({"signed_on": "2999-01-01"}, "signed_on", "future"),
        ({"signed_name": ""}, "signed_name", "Type your full name"),
        ({"witness_name": ""}, "witness_name", "witness must sign"),
        ({"witness_name": "MARIA MODEL"}, "witness_name", "someone other than"),
        ({"date_of_birth": _minor_birth_date()}, "guardian_name", "under 18"),
        ({"address": "", "email": "", "phone": ""}, "address", "one way to reach"),
        ({"biometric_consent": "on"}, "biometric_retention_until", "until when"),
        (
            {"biometric_consent": "on", "biometric_retention_until": "2029-06-01"},
            "biometric_retention_until",
            "at most three years",
        ),
    ],
)
def test_bad_paper_release_input_is_marked_on_the_form_and_saves_nothing(
    logged_in, creator, media_root, changes, field, message
):
    response = logged_in.post(reverse("licensing:release-new"), paper_form(asset_of(creator), **changes))

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message.lower() in " ".join(errors[field]).lower()
    assert not Release.objects.exists()
    assert stored_files(media_root) == []


def test_an_oversized_scan_is_refused_and_saves_nothing(logged_in, creator, media_root):
    too_big = b"%PDF-1.4\n" + b"0" * services.SCAN_MAX_BYTES + b"\n%%EOF\n"

    response = logged_in.post(
        reverse("licensing:release-new"),
        paper_form(asset_of(creator), scan=SimpleUploadedFile("release.pdf", too_big)),
    )

    assert response.status_code == 400
    assert "larger than 20 MB" in " ".join(response.context["form"].errors["scan"])
    assert not Release.objects.exists()
    assert stored_files(media_root) == []


def test_a_paper_release_for_a_minor_with_a_guardian_is_accepted(logged_in, creator):
    data = paper_form(asset_of(creator), date_of_birth=_minor_birth_date(), guardian_name="Gina Guardian")

    response = logged_in.post(reverse("licensing:release-new"), data)

    assert response.status_code == 302
    assert Release.objects.get().guardian_name == "Gina Guardian"


# --- Following up a release ---------------------------------------------------------------------------------


def test_the_detail_page_shows_the_evidence_of_an_online_signature(logged_in, creator):
    release = online_release(
        creator,
        status="submitted",
        signed_at=timezone.now(),
        signed_ip="203.0.113.7",
        signed_user_agent="Mozilla/5.0 TestBrowser",
        wording_sha256="a" * 64,
    )

    page = logged_in.get(reverse("licensing:release-detail", args=[release.public_id])).content.decode()

    assert "Submitted for review" in page
    assert "203.0.113.7" in page and "Mozilla/5.0 TestBrowser" in page and "a" * 64 in page
    assert "/sign/" not in page


def test_a_new_link_replaces_the_old_one(logged_in, client, creator):
    release = online_release(creator)
    old = services.release_signing_token(release=release)

    response = logged_in.post(reverse("licensing:release-renew-link", args=[release.public_id]), follow=True)

    assert "new signing link" in " ".join(messages_of(response))
    release.refresh_from_db()
    assert release.link_generation == 1
    assert client.get(reverse("licensing:release-sign", args=[old])).status_code == 403


def test_a_rejected_online_release_goes_back_to_the_person(logged_in, creator):
    release = online_release(creator, status="rejected", rejection_reason="signature_missing")

    page = logged_in.get(reverse("licensing:release-detail", args=[release.public_id])).content.decode()
    assert "A signature is missing or illegible" in page
    response = logged_in.post(reverse("licensing:release-renew-link", args=[release.public_id]))

    assert response.status_code == 302
    release.refresh_from_db()
    assert release.status == Release.Status.AWAITING_SIGNATURE
    assert "/sign/" in logged_in.get(response["Location"]).content.decode()


def test_a_link_cannot_be_renewed_while_the_release_is_in_review(logged_in, creator):
    release = online_release(creator, status="submitted")

    response = logged_in.post(reverse("licensing:release-renew-link", args=[release.public_id]))

    assert response.status_code == 409
    assert "cannot become awaiting signature" in " ".join(messages_of(response))
    release.refresh_from_db()
    assert (release.status, release.link_generation) == ("submitted", 0)


@pytest.fixture
def rejected_paper(creator, media_root) -> Release:
    release = ReleaseFactory(
        creator=creator.creator_profile,
        status="rejected",
        rejection_reason="scan_unreadable",
        assets=[asset_of(creator)],
    )
    release.scan.save("scan.png", ContentFile(png_bytes((100, 100))), save=True)
    return release


def test_a_rejected_paper_release_is_sent_back_with_a_new_scan(logged_in, rejected_paper, media_root):
    response = logged_in.post(
        reverse("licensing:release-resubmit", args=[rejected_paper.public_id]), {"scan": scan()}
    )

    assert response.status_code == 302
    rejected_paper.refresh_from_db()
    assert rejected_paper.status == Release.Status.SUBMITTED
    assert (media_root / rejected_paper.scan.name).read_bytes() == png_bytes()


def test_a_renamed_web_page_is_not_taken_as_a_new_scan(logged_in, rejected_paper, media_root):
    before = stored_files(media_root)

    response = logged_in.post(
        reverse("licensing:release-resubmit", args=[rejected_paper.public_id]),
        {"scan": SimpleUploadedFile("scan.jpg", b"<html><script>alert(1)</script></html>")},
    )

    assert response.status_code == 400
    assert "PDF, JPEG or PNG" in " ".join(response.context["resubmit_form"].errors["scan"])
    rejected_paper.refresh_from_db()
    assert rejected_paper.status == Release.Status.REJECTED
    assert stored_files(media_root) == before


def test_a_release_in_review_cannot_be_resubmitted(logged_in, creator, media_root):
    release = ReleaseFactory(creator=creator.creator_profile, status="submitted", assets=[asset_of(creator)])

    response = logged_in.post(
        reverse("licensing:release-resubmit", args=[release.public_id]), {"scan": scan()}
    )

    assert response.status_code == 409
    assert stored_files(media_root) == []


def test_the_person_withdraws_and_every_asset_stops_selling(
    logged_in, creator, withdrawals, django_capture_on_commit_callbacks
):
    assets = [asset_of(creator), asset_of(creator)]
    release = ReleaseFactory(creator=creator.creator_profile, status="approved", assets=assets)

    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(
            reverse("licensing:release-revoke", args=[release.public_id]),
            {"reason": "She called to withdraw.", "confirm": "on"},
        )

    assert response.status_code == 302
    release.refresh_from_db()
    assert (release.status, release.revocation_reason) == ("revoked", "She called to withdraw.")
    assert [call["asset_ids"] for call in withdrawals] == [sorted(asset.pk for asset in assets)]


@pytest.mark.parametrize("data", [{"reason": "Withdrawn."}, {"confirm": "on"}])
def test_revoking_needs_a_reason_and_a_confirmation(logged_in, creator, data):
    release = ReleaseFactory(creator=creator.creator_profile, assets=[asset_of(creator)])

    response = logged_in.post(reverse("licensing:release-revoke", args=[release.public_id]), data)

    assert response.status_code == 400
    release.refresh_from_db()
    assert release.status == Release.Status.APPROVED


def test_a_revoked_release_cannot_be_revoked_again(logged_in, creator):
    release = ReleaseFactory(creator=creator.creator_profile, status="revoked", assets=[asset_of(creator)])

    response = logged_in.post(
        reverse("licensing:release-revoke", args=[release.public_id]), {"reason": "Again.", "confirm": "on"}
    )

    assert response.status_code == 409


def test_erasing_a_release_removes_the_persons_data_and_files(
    logged_in, signed_release, media_root, django_capture_on_commit_callbacks
):
    SelfIdentification.objects.create(release=signed_release, gender="woman")

    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(
            reverse("licensing:release-erase", args=[signed_release.public_id]), {"confirm": "on"}
        )

    assert response.status_code == 302
    signed_release.refresh_from_db()
    assert signed_release.erased_at is not None
    assert (signed_release.status, signed_release.legal_name, signed_release.email) == ("revoked", "", "")
    assert stored_files(media_root) == []
    assert not SelfIdentification.objects.exists()
    page = logged_in.get(response["Location"]).content.decode()
    assert "Erased" in page


def test_erasing_a_release_needs_a_confirmation(logged_in, signed_release, media_root):
    response = logged_in.post(reverse("licensing:release-erase", args=[signed_release.public_id]), {})

    assert response.status_code == 400
    signed_release.refresh_from_db()
    assert signed_release.erased_at is None
    assert len(stored_files(media_root)) == 2


# --- Consent ------------------------------------------------------------------------------------------------


def test_the_consent_page_shows_each_assets_consent_and_what_keeps_it_from_selling(logged_in, creator):
    none = asset_of(creator, title="Never consented")
    active = ConsentFactory(asset=asset_of(creator, title="Consented", face_count=1)).asset
    ConsentFactory(
        asset=asset_of(creator, title="Taken back"),
        status="withdrawn",
        withdrawal_reason="Not for AI any more.",
        withdrawn_at=timezone.now(),
    )
    ConsentFactory(
        asset=asset_of(creator, title="Refused"),
        status="rejected",
        rejection_reason="not_owned",
        review_note="Credited to another agency.",
    )

    page = logged_in.get(reverse("licensing:consent-manage")).content.decode()

    assert "No consent yet" in page and "No consent has been given." in page
    assert "Withdrawn" in page and "Not for AI any more." in page
    assert "The creator does not appear to hold the rights" in page and "Credited to another agency." in page
    assert "1 identifiable person, 0 approved model releases." in page
    assert f"/creator/releases/new/?asset={active.public_id}" in page
    assert str(none.public_id) in page


def test_the_consent_page_shows_one_page_of_assets_at_a_time(logged_in, creator):
    assets = [asset_of(creator) for _ in range(CONSENT_PAGE_SIZE + 2)]

    first = logged_in.get(reverse("licensing:consent-manage"))
    second = logged_in.get(reverse("licensing:consent-manage"), {"page": 2})

    assert len(first.context["rows"]) == CONSENT_PAGE_SIZE
    assert {row.asset for row in second.context["rows"]} == set(assets[:2])


def test_a_sellable_asset_says_so(logged_in, creator):
    ConsentFactory(asset=asset_of(creator))

    page = logged_in.get(reverse("licensing:consent-manage")).content.decode()

    assert "Sellable" in page


def test_consent_for_three_assets_at_once_goes_to_review(logged_in, creator):
    assets = [asset_of(creator) for _ in range(3)]
    left_alone = asset_of(creator)
    research = LicenseTerms.objects.get(slug="research")
    data = consent_form(
        *assets,
        terms=[research.pk],
        ai_generative_training=Permission.NOT_ALLOWED,
        ai_training=Permission.CONSTRAINED,
        ai_training_constraint="Only for models that are not released publicly.",
        property_release_required="on",
    )

    response = logged_in.post(reverse("licensing:consent-give"), data)

    assert response.status_code == 302
    assert response["Location"] == reverse("licensing:consent-manage") + "?page=1"
    consents = Consent.objects.filter(asset__in=assets)
    assert consents.count() == 3
    for consent in consents:
        assert consent.status == Consent.Status.PENDING
        assert (consent.data_mining, consent.ai_generative_training) == ("allowed", "notAllowed")
        assert consent.ai_training_constraint == "Only for models that are not released publicly."
        assert list(consent.accepted_terms.all()) == [research]
        assert consent.property_release_required
        assert consent.given_by == creator
    assert not Consent.objects.filter(asset=left_alone).exists()
    assert "Consent given for 3 items" in " ".join(messages_of(logged_in.get(response["Location"])))


def test_giving_consent_again_replaces_the_live_one(logged_in, creator):
    earlier = ConsentFactory(asset=asset_of(creator), status="pending")

    logged_in.post(reverse("licensing:consent-give"), consent_form(earlier.asset, data_mining="notAllowed"))

    earlier.refresh_from_db()
    assert earlier.status == Consent.Status.REPLACED
    live = Consent.objects.get(asset=earlier.asset, status="pending")
    assert live.data_mining == "notAllowed"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"assets": []}, "assets", "Select at least one"),
        ({"ai_inference": Permission.CONSTRAINED}, "ai_inference_constraint", "Describe the constraint"),
        ({"terms": []}, "terms", "Accept at least one"),
        ({"data_mining": ""}, "data_mining", "Say whether data mining is allowed"),
        ({"data_mining": "maybe"}, "data_mining", "valid choice"),
        ({"terms": ["999999"]}, "terms", "valid choice"),
    ],
)
def test_bad_consent_input_is_marked_on_the_form_and_saves_nothing(
    logged_in, creator, changes, field, message
):
    assets = [asset_of(creator), asset_of(creator)]

    response = logged_in.post(reverse("licensing:consent-give"), consent_form(*assets, **changes))

    assert response.status_code == 400
    errors = response.context["give_form"].errors
    assert field in errors, errors
    assert message.lower() in " ".join(errors[field]).lower()
    assert not Consent.objects.exists()


def test_the_selection_survives_a_form_error(logged_in, creator):
    chosen, other = asset_of(creator), asset_of(creator)

    response = logged_in.post(reverse("licensing:consent-give"), consent_form(chosen, terms=[]))

    page = response.content.decode()
    assert re.search(rf'value="{chosen.public_id}" data-select-item checked', page)
    assert not re.search(rf'value="{other.public_id}" data-select-item checked', page)


def test_withdrawing_in_bulk_tells_the_layers_above_once(
    logged_in, creator, withdrawals, django_capture_on_commit_callbacks
):
    active = [ConsentFactory(asset=asset_of(creator)) for _ in range(2)]
    pending = ConsentFactory(asset=asset_of(creator), status="pending")
    untouched = ConsentFactory(asset=asset_of(creator))
    chosen = [consent.asset for consent in [*active, pending]]

    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(
            reverse("licensing:consent-withdraw"), consent_form(*chosen, reason="Changed my mind.")
        )

    assert response.status_code == 302
    assert Consent.objects.filter(status="withdrawn").count() == 3
    assert Consent.objects.get(pk=untouched.pk).status == "active"
    assert Consent.objects.get(pk=active[0].pk).withdrawal_reason == "Changed my mind."
    assert len(withdrawals) == 1
    assert withdrawals[0]["asset_ids"] == sorted(consent.asset_id for consent in active)
    assert "Consent withdrawn for 3 items" in " ".join(messages_of(logged_in.get(response["Location"])))


def test_withdrawing_needs_a_selection(logged_in, creator, withdrawals):
    ConsentFactory(asset=asset_of(creator))

    response = logged_in.post(reverse("licensing:consent-withdraw"), consent_form(assets=[]))

    assert response.status_code == 400
    assert "Select at least one" in response.content.decode()
    assert Consent.objects.get().status == "active"
    assert withdrawals == []


def test_withdrawing_where_nothing_is_live_says_so(logged_in, creator):
    asset = asset_of(creator)

    response = logged_in.post(reverse("licensing:consent-withdraw"), consent_form(asset), follow=True)

    assert "None of the selected items had consent to withdraw." in messages_of(response)


def test_erasing_assets_withdraws_consent_and_deletes_them(
    logged_in, creator, withdrawals, django_capture_on_commit_callbacks
):
    consent = ConsentFactory(asset=asset_of(creator, title="Beach", caption="Sunset"))
    kept = asset_of(creator, title="Kept")

    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(
            reverse("licensing:assets-erase"), consent_form(consent.asset, confirm="ERASE")
        )

    assert response.status_code == 302
    consent.refresh_from_db()
    consent.asset.refresh_from_db()
    assert consent.status == Consent.Status.WITHDRAWN
    assert consent.asset.erased_at is not None
    assert (consent.asset.title, consent.asset.caption) == ("", "")
    assert MediaAsset.objects.get(pk=kept.pk).erased_at is None
    assert withdrawals[0]["asset_ids"] == [consent.asset_id]
    page = logged_in.get(response["Location"]).content.decode()
    assert str(consent.asset.public_id) not in page


@pytest.mark.parametrize("confirm", ["", "erase", "yes"])
def test_erasing_assets_needs_the_word_typed(logged_in, creator, confirm):
    consent = ConsentFactory(asset=asset_of(creator))

    response = logged_in.post(reverse("licensing:assets-erase"), consent_form(consent.asset, confirm=confirm))

    assert response.status_code == 400
    consent.refresh_from_db()
    consent.asset.refresh_from_db()
    assert (consent.status, consent.asset.erased_at) == ("active", None)
