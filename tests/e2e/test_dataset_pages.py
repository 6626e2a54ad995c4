import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from creators.models import MediaAsset
from creators.services import asset_ingest, asset_upload
from datasets import build
from datasets.models import DatasetVersion
from datasets.services import dataset_save, dataset_set_public, version_build_start, version_create
from licensing.models import LicenseTerms
from marketplace.demo_media import demo_photos
from tests.factories import ConsentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sellable_photos(creator, count: int) -> list[MediaAsset]:
    """Real photos through upload and ingest, so the page shows real watermarked previews."""
    assets = []
    for name, category, content in demo_photos(count):
        asset = asset_upload(
            creator=creator.creator_profile, upload=SimpleUploadedFile(name, content), category=category
        )
        asset_ingest(asset_id=asset.pk)
        ConsentFactory(asset=asset, identifiable_people=0)
        assets.append(MediaAsset.objects.get(pk=asset.pk))
    return assets


def _published_dataset(reviewer) -> DatasetVersion:
    dataset = dataset_save(
        dataset=None,
        values={
            "slug": "street-scenes",
            "title": "Street scenes",
            "description": "Everyday scenes photographed by the people who made them, each with consent on record.",
            "intended_uses": "Training and evaluating scene classifiers.",
        },
        offers={
            LicenseTerms.objects.get(slug="research"): 25_000,
            LicenseTerms.objects.get(slug="commercial"): 120_000,
        },
        actor=reviewer,
    )
    version = version_create(dataset=dataset, actor=reviewer, change_note="The first release.")
    build.version_build(version_id=version.pk)  # the real build, in process: its datasheet is on the page
    dataset_set_public(dataset=dataset, public=True)
    version.refresh_from_db()
    return version


def _expect_previews_loaded(page, count: int) -> None:
    previews = page.locator(".dataset-previews img")
    expect(previews).to_have_count(count)
    for index in range(count):
        previews.nth(index).scroll_into_view_if_needed()
        expect(previews.nth(index)).to_have_js_property("complete", True)
        assert previews.nth(index).evaluate("img => img.naturalWidth") > 0


def test_a_visitor_reads_a_public_dataset_page(page, phone_page, screenshot, media_root, creator, reviewer):
    _sellable_photos(creator, 6)
    _published_dataset(reviewer)

    page.goto("/datasets/street-scenes/")

    expect(page.get_by_role("heading", name="Street scenes", exact=True)).to_be_visible()
    expect(page.get_by_text("$250.00")).to_be_visible()
    expect(page.get_by_text("$1,200.00")).to_be_visible()
    expect(page.get_by_role("heading", name="Datasheet: Street scenes, version 1")).to_be_visible()
    expect(page.get_by_role("link", name="Croissant metadata (JSON-LD)")).to_be_visible()
    _expect_previews_loaded(page, 6)
    screenshot(page, "01-desktop")

    phone_page.goto("/datasets/street-scenes/")
    expect(phone_page.get_by_text("$250.00")).to_be_visible()
    _expect_previews_loaded(phone_page, 6)
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen
    screenshot(phone_page, "02-phone")


def test_a_reviewer_follows_a_build_on_the_curation_page(page, screenshot, creator, reviewer, password):
    _sellable_photos(creator, 2)
    version = _published_dataset(reviewer)
    building = version_create(dataset=version.dataset, actor=reviewer, change_note="Two photos more.")
    version_build_start(version=building)
    DatasetVersion.objects.filter(pk=building.pk).update(deliveries_done=1)
    page.goto("/account/login/")
    page.get_by_label("Email").fill(reviewer.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()

    page.goto("/curation/street-scenes/")
    card = page.locator("#version-2")
    expect(card.get_by_text("Making delivery files")).to_contain_text(": 1 of 2")
    screenshot(page, "01-making-deliveries")
    DatasetVersion.objects.filter(pk=building.pk).update(
        deliveries_done=2, items_done=1, bytes_done=building.total_bytes // 2
    )
    expect(card.get_by_text("1 of 2 items")).to_be_visible(timeout=6000)  # the card polls every 2 s
    DatasetVersion.objects.filter(pk=building.pk).update(items_done=2, shards_done=1)
    expect(card.get_by_text("2 of 2 items")).to_be_visible(timeout=6000)  # the card polls every 2 s
    screenshot(page, "01-building")

    page.get_by_text("Withdraw version 1").click()
    page.get_by_label("Why it is withdrawn").fill("A model release turned out to be forged.")
    page.get_by_role("button", name="Withdraw", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Withdraw the version").click()
    expect(page.get_by_role("status")).to_contain_text("Version 1 is withdrawn")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "02-withdrawn-phone")
