import io

import pytest
from django.core.files.base import ContentFile
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from licensing.models import LicenseTerms, Release
from licensing.services import license_terms_version_publish
from tests.e2e.journeys import fill_in_the_release_as_the_model, log_in
from tests.factories import ConsentFactory, MediaAssetFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _thumbnail(colour: str) -> ContentFile:
    image = Image.new("RGB", (320, 240), colour)
    ImageDraw.Draw(image).ellipse([110, 50, 210, 170], fill="#f2d0b5")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return ContentFile(buffer.getvalue(), name="thumbnail.jpg")


def test_a_creator_asks_for_a_release_online_and_the_person_signs_it(
    page, browser, live_server, screenshot, creator, password, media_root
):
    assets = []
    for number, colour in enumerate(["#4a7a9c", "#9c6b4a", "#5c8a4f"], start=1):
        asset = MediaAssetFactory(creator=creator.creator_profile, title=f"Portrait on the quay {number}")
        asset.thumbnail.save("thumbnail.jpg", _thumbnail(colour))
        assets.append(asset)
    log_in(page, creator, password)

    page.get_by_role("link", name="Releases").first.click()
    page.get_by_role("button", name="New release").click()
    page.locator(f'input[name=assets][value="{assets[0].public_id}"]').check()
    page.locator(f'input[name=assets][value="{assets[1].public_id}"]').check()
    page.get_by_label("Full legal name").fill("Maria Model")
    page.get_by_label("Their email").fill("maria@example.com")
    page.get_by_label("First day of the shoot").fill("2026-05-01")
    page.get_by_label("Last day of the shoot").fill("2026-05-03")
    expect(page.get_by_role("heading", name="The signed paper release")).to_be_hidden()
    screenshot(page, "01-new-release")
    page.get_by_role("button", name="Create the release").click()

    link = page.get_by_label("Link").input_value()
    assert "/sign/" in link
    screenshot(page, "02-signing-link")

    person = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    person.set_default_timeout(15_000)
    signing = person.new_page()
    signing.goto(link)
    expect(signing.get_by_role("heading", name="Model release from")).to_be_visible()
    expect(signing.get_by_text("I, Maria Model, give")).to_be_visible()
    expect(signing.get_by_role("heading", name="Parent or guardian")).to_be_hidden()
    fill_in_the_release_as_the_model(signing)
    assert signing.locator("input[name=signature]").input_value().startswith("data:image/png;base64,")
    screenshot(signing, "03-signing-page")
    signing.get_by_role("button", name="Sign the release").click()

    expect(signing.get_by_role("heading", name="Thank you, the release is signed")).to_be_visible()
    screenshot(signing, "04-signed")
    person.close()

    page.reload()
    expect(page.locator(".page-head .badge")).to_have_text("Submitted for review")
    screenshot(page, "05-submitted")
    release = Release.objects.get()
    assert release.status == Release.Status.SUBMITTED
    assert set(release.assets.all()) == set(assets[:2])
    assert release.signed_user_agent and release.signed_ip == "127.0.0.1"
    assert (media_root / release.signature.name).exists()
    assert (media_root / release.witness_signature.name).exists()

    page.get_by_role("link", name="Consent").first.click()
    expect(page.locator(".consent-card")).to_have_count(3)
    screenshot(page, "06-consent")


def test_a_creator_who_cancels_the_withdrawal_dialog_withdraws_nothing(page, screenshot, creator, password):
    asset = MediaAssetFactory(creator=creator.creator_profile, title="Harbour at dawn")
    consent = ConsentFactory(asset=asset, status="active")
    page.on("pageerror", lambda error: pytest.fail(f"script error on the page: {error}"))
    log_in(page, creator, password)
    page.goto("/creator/consent/")
    page.get_by_label(f"Select {asset}").check()

    page.get_by_role("button", name="Withdraw consent for the selected items").click()
    confirmation = page.get_by_role("dialog")
    expect(confirmation).to_contain_text("They stop being sold at once")
    screenshot(page, "01-withdrawal-dialog")
    confirmation.get_by_role("button", name="Cancel").click()

    expect(confirmation).to_be_hidden()
    expect(page.get_by_role("status")).to_have_count(0)
    consent.refresh_from_db()
    assert consent.status == "active"


def test_a_creator_reads_what_changed_in_the_terms_and_accepts_them_for_every_asset(
    page, screenshot, creator, password
):
    research = LicenseTerms.objects.get(slug="research")
    consents = [
        ConsentFactory(asset=MediaAssetFactory(creator=creator.creator_profile), accepted_terms=[research])
        for _ in range(2)
    ]
    current = research.versions.order_by("-version").first()
    newer = license_terms_version_publish(
        terms=research, text=current.text.replace("within 30 days", "within 14 days")
    )
    log_in(page, creator, password)
    page.goto("/creator/consent/")
    page.get_by_role("link", name="See what changed and accept").click()

    expect(page.get_by_role("heading", name=f"Research: version {newer.version}")).to_be_visible()
    expect(page.locator(".diff-added").first).to_contain_text("within 14 days")
    expect(page.locator(".diff-removed").first).to_contain_text("within 30 days")
    screenshot(page, "01-terms-changes")
    page.get_by_role("button", name=f"Accept version {newer.version} for your 2 items").click()

    expect(page.get_by_role("status")).to_contain_text("You accepted")
    expect(page.get_by_text("Nothing to do.")).to_be_visible()
    screenshot(page, "02-accepted")
    assert all(consent.accepted_terms_versions.filter(pk=newer.pk).exists() for consent in consents)
