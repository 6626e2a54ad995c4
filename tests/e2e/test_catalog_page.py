import io

import pytest
from django.core.files.base import ContentFile
from PIL import Image
from playwright.sync_api import expect

from datasets.models import VersionItem
from tests.datasets.test_catalog import catalog_dataset
from tests.factories import MediaAssetFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _with_preview(dataset, colour: str) -> None:
    """The dataset's version holds one sample whose watermarked preview the card shows."""
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), colour).save(buffer, "JPEG")
    asset = MediaAssetFactory()
    asset.preview.save(f"previews/{asset.public_id.hex}.jpg", ContentFile(buffer.getvalue()))
    version = dataset.versions.get()
    VersionItem.objects.create(
        version=version, asset=asset, key=asset.public_id.hex, position=0, sha256="0" * 64, byte_size=1,
        consent_id=version.public_id, creator_pseudonym="c",
    )  # fmt: skip


def test_search_filter_and_next_page(page, phone_page, media_root, screenshot):
    _with_preview(
        catalog_dataset(
            "Harbour at dawn",
            description="Fishing boats leaving the harbour.",
            category="travel",
            prices={"research": 25_000, "commercial": 90_000},
            items=120,
        ),
        "steelblue",
    )
    _with_preview(catalog_dataset("Harbour cranes", category="architecture", items=40), "darkorange")
    for n in range(26):
        catalog_dataset(f"Street set {n}", category="street", prices={"research": 10_000 + n * 1_000})

    page.goto("/")
    page.get_by_role("link", name="Datasets", exact=True).first.click()
    expect(page.get_by_role("heading", name="Datasets", level=1)).to_be_visible()
    expect(page.locator(".catalog-card")).to_have_count(24)
    screenshot(page, "catalog")

    page.get_by_label("Search datasets").fill("harbour")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".catalog-card")).to_have_count(2)
    card = page.locator(".catalog-card", has_text="Harbour at dawn")
    expect(card).to_contain_text("from $250.00")
    expect(card.locator("img")).to_have_js_property("complete", True)
    assert card.locator("img").evaluate("img => img.naturalWidth") > 0
    screenshot(page, "search")

    page.locator("summary", has_text="Category").click()  # folded: it has many values
    page.get_by_label("Architecture").check()
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator(".catalog-card")).to_have_count(1)
    expect(page.locator(".catalog-card")).to_contain_text("Harbour cranes")
    screenshot(page, "filtered")

    page.goto("/datasets/?category=street&sort=price_low")
    expect(page.locator(".catalog-card").first).to_contain_text("Street set 0")
    page.get_by_role("link", name="Next page →").click()
    expect(page.locator(".catalog-card")).to_have_count(2)
    expect(page.locator(".catalog-card").last).to_contain_text("Street set 25")
    expect(page.get_by_role("link", name="Next page →")).to_have_count(0)
    screenshot(page, "next-page")

    phone_page.goto("/datasets/?q=harbour")
    expect(phone_page.locator(".catalog-card")).to_have_count(2)
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone_page, "phone")
