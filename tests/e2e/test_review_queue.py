import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from creators.models import DuplicateFlag, MediaAsset
from creators.services import asset_ingest, asset_upload
from licensing import services
from licensing.models import Consent, LicenseTerms, Release, Use
from marketplace.demo_media import demo_photos
from tests.e2e.journeys import log_in as _log_in
from tests.e2e.journeys import open_from_the_menu

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _ingested_photos(creator, count: int) -> list[MediaAsset]:
    """Real photos through upload and ingest, so the pages show real thumbnails and watermarked previews."""
    assets = []
    for name, category, content in demo_photos(count):
        asset = asset_upload(
            creator=creator.creator_profile, upload=SimpleUploadedFile(name, content), category=category
        )
        asset_ingest(asset_id=asset.pk)
        assets.append(MediaAsset.objects.get(pk=asset.pk))
    return assets


def _scanned_release() -> SimpleUploadedFile:
    scan = Image.new("RGB", (850, 1100), "white")
    draw = ImageDraw.Draw(scan)
    draw.text((60, 60), "MODEL RELEASE", fill="black")
    for line in range(12):
        draw.line([(60, 140 + line * 40), (790, 140 + line * 40)], fill=(170, 170, 170), width=2)
    draw.line([(80, 900), (200, 870), (260, 910), (380, 860)], fill="navy", width=4)
    buffer = io.BytesIO()
    scan.save(buffer, "PNG")
    return SimpleUploadedFile("scan.png", buffer.getvalue(), content_type="image/png")


def test_a_reviewer_clears_the_queue(page, screenshot, media_root, creator, reviewer, password):
    nature, street, food = _ingested_photos(creator, 3)
    MediaAsset.objects.filter(pk=food.pk).update(face_count=1)
    DuplicateFlag.objects.create(asset=street, other=nature, kind="near", distance=9, cross_account=False)
    today = timezone.localdate()
    release = services.release_upload_paper(
        creator=creator.creator_profile,
        subject=services.ReleaseSubject(kind="model", legal_name="Ada Lovelace"),
        asset_ids=[food.pk],
        shoot_start=today - datetime.timedelta(days=2),
        shoot_end=today,
        signer=services.Signer(
            signed_name="Ada Lovelace",
            date_of_birth=datetime.date(1990, 12, 10),
            address="12 St James's Square, London",
            email="ada@example.com",
            phone="",
            signature_png=b"",
            witness_name="Charles Babbage",
            witness_signature_png=b"",
        ),
        signed_on=today,
        scan=_scanned_release(),
        actor=creator,
    )
    services.consents_give(
        creator=creator.creator_profile,
        asset_ids=[street.pk, food.pk],
        permissions={
            **{use: services.UsePermission("allowed") for use in Use.values},
            Use.GENERATIVE_AI_TRAINING: services.UsePermission("constrained", "Never to imitate this style."),
        },
        terms=LicenseTerms.objects.all(),
        actor=creator,
    )
    _log_in(page, reviewer, password)

    open_from_the_menu(page, "Review queue")
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    expect(page.locator(".queue-row")).to_have_count(1)
    expect(page.get_by_role("link", name="Consents 2")).to_be_visible()
    screenshot(page, "01-queue")

    page.get_by_role("link", name="Consents 2").click()
    expect(page.locator(".queue-row")).to_have_count(2)
    expect(page.locator(".queue-row").first).to_contain_text("Duplicate")
    screenshot(page, "02-queue-consents")

    page.get_by_role("link", name="Releases 1").click()
    page.get_by_role("link", name="Model release: Ada Lovelace").click()
    expect(page.get_by_role("heading", name="Model release: Ada Lovelace")).to_be_visible()
    scan = page.get_by_alt_text("The scanned paper release")
    expect(scan).to_be_visible()
    expect(scan).to_have_js_property("complete", True)
    assert scan.evaluate("img => img.naturalWidth") == 850
    screenshot(page, "03-release")

    page.get_by_role("button", name="Reject").click()
    expect(page.get_by_text("Choose a reason for the rejection.").first).to_be_visible()
    screenshot(page, "04-reject-needs-a-reason")
    page.get_by_label("Rejection reason").select_option(label="The witness is missing or not independent")
    page.get_by_label("What the creator should fix").fill("The witness must not work on the shoot.")
    page.get_by_role("button", name="Reject").click()

    expect(page.get_by_role("status")).to_contain_text("rejected; the creator is told why")
    expect(page.get_by_role("heading", name="Consent:")).to_be_visible()
    screenshot(page, "05-first-consent")
    # Nothing is filled in for the reviewer: approving without counting the people is refused.
    expect(page.get_by_label("Identifiable people")).to_have_value("")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Say how many identifiable people the asset shows").first).to_be_visible()
    page.get_by_label("Identifiable people").fill("0")
    page.get_by_role("button", name="Approve").click()

    expect(page.get_by_role("status")).to_contain_text("approved")
    expect(page.get_by_label("Identifiable people")).to_have_value("")
    page.get_by_label("Identifiable people").fill("1")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "06-second-consent-phone")
    page.get_by_role("button", name="Approve").click()

    expect(page.get_by_role("status").last).to_contain_text("The queue is empty")
    expect(page.locator(".queue-row")).to_have_count(0)
    screenshot(page, "07-queue-empty-phone")

    page.set_viewport_size({"width": 1280, "height": 860})
    open_from_the_menu(page, "Audit log")
    page.get_by_role("button", name="Verify chain").click()
    expect(page.get_by_role("status")).to_contain_text("The chain is intact: 6 entries checked;")
    expect(page.locator(".audit-table tbody tr").first).to_contain_text("consent.approved")
    screenshot(page, "08-audit-log")

    release.refresh_from_db()
    assert (release.status, release.rejection_reason) == (Release.Status.REJECTED, "witness_invalid")
    assert set(Consent.objects.values_list("status", "identifiable_people")) == {("active", 0), ("active", 1)}
