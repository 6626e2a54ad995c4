"""A buyer buys a license through the test checkout, downloads a file and checks the certificate."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from marketplace.models import LicenseGrant
from tests.marketplace.test_orders import put_on_sale

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_buyer_buys_downloads_and_verifies(page, phone_page, screenshot, buyer, password):
    put_on_sale()
    page.goto("/datasets/city-life/")
    page.get_by_role("button", name="Log in to buy").first.click()
    page.get_by_label("Email").fill(buyer.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("button", name="Buy the Research").click()
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    expect(page.get_by_text("$250.00").first).to_be_visible()
    screenshot(page, "01-checkout")
    page.get_by_role("button", name="Pay $250.00 (test)").click()

    expect(page.get_by_role("heading", name="City life, version 1")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Paid.")
    screenshot(page, "02-license")
    with page.expect_download() as download:
        page.get_by_role("link", name="SHA256SUMS", exact=True).click()
    assert download.value.suggested_filename == "SHA256SUMS"
    assert b"shards/city-life-v1-photos-000000.tar" in Path(download.value.path()).read_bytes()

    page.get_by_role("link", name="Verify page").click()
    expect(page.get_by_text("Valid.")).to_be_visible()
    screenshot(page, "03-certificate")
    grant = LicenseGrant.objects.get()

    phone_page.goto(f"/certificates/{grant.public_id}/")
    expect(phone_page.get_by_text("Valid.")).to_be_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone_page, "04-certificate-phone")
