"""Journeys 3 to 5 in a real browser, with a real Celery worker doing what the site queues.

3. A reviewer curates a dataset, prices it, builds its first version and puts it in the catalog.
4. A buyer finds it, buys a license with the keyboard, downloads a file and checks its certificate.
5. A creator withdraws consent for one photo; the buyer is told and gets the new version; the creator's
   earnings show the sale.

Every page passed is screenshotted and checked for unlabelled fields; the pages a buyer passes on a phone
also for sideways overflow. Each journey starts its worker once its starting data is made: the ingest tasks
that data queued then find their assets ingested already, rather than taking them back to "processing"
while a version is built.
"""

import hashlib
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from datasets.models import DatasetVersion
from datasets.templatetags.prices import price
from marketplace.models import LicenseGrant
from marketplace.selectors import creator_earnings_from_order
from tests.conftest import WorkerProcess
from tests.e2e.journeys import (
    assert_fits_the_width,
    check_page,
    log_in,
    open_from_the_menu,
    press_with_keyboard,
)
from tests.e2e.test_dataset_pages import _expect_previews_loaded, _published_dataset, _sellable_photos
from tests.marketplace.revocation_helpers import buy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A first build and a rebuild by the worker, with a few photos: seconds, on a busy machine tens of them.
WORKER_TIMEOUT = 90
# One photo a shard, so the build writes several and its progress moves shard by shard.
SHARD_BYTES = 100_000


def _check_on_phone(page: Page, screenshot, step: str) -> None:
    """A page in the phone-sized window: checked as every page is, and for sideways scrolling."""
    check_page(page, screenshot, step)
    assert_fits_the_width(page)


def _status(version: DatasetVersion) -> str:
    version.refresh_from_db(fields=["status"])
    return version.status


@contextmanager
def _paused(worker: WorkerProcess) -> Iterator[None]:
    """The worker stopped where it is (SIGSTOP) until the block ends, then carrying on."""
    worker.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        worker.process.send_signal(signal.SIGCONT)


def _holds_version(buyer, number: int) -> bool:
    return LicenseGrant.objects.filter(
        version__number=number, organization__memberships__user=buyer, status=LicenseGrant.Status.ACTIVE
    ).exists()


# --- Journey 3 --------------------------------------------------------------------------------------------


def test_a_reviewer_curates_builds_and_publishes_a_dataset(
    page, screenshot, start_worker, creator, reviewer, password
):
    _sellable_photos(creator, 6)
    log_in(page, reviewer, password)

    open_from_the_menu(page, "Curation")
    expect(page.get_by_role("heading", name="Datasets", level=1)).to_be_visible()
    check_page(page, screenshot, "01-curation-list")
    page.get_by_role("button", name="New dataset").click()

    page.get_by_label("Title").fill("Harbour mornings")
    page.get_by_label("Short name").fill("harbour-mornings")
    page.get_by_label("Description").fill("Mornings by the water, photographed by the people who made them.")
    page.get_by_label("Intended uses").fill("Training scene classifiers.")
    page.get_by_role("checkbox", name=re.compile("^Research")).check()
    page.get_by_label("Price (US$) under Research").fill("250")
    page.get_by_role("checkbox", name=re.compile("^Commercial training")).check()
    page.get_by_label("Price (US$) under Commercial training").fill("900")
    check_page(page, screenshot, "02-new-dataset")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page.get_by_text("6 sellable items")).to_be_visible()
    check_page(page, screenshot, "03-saved")

    page.get_by_label("What changed since the last version").fill("The first version.")
    page.get_by_role("button", name="Build a new version").click()
    expect(page.get_by_role("status")).to_contain_text("Version 1 holds 6 items")
    card = page.locator("#version-1")
    expect(card.locator(".badge")).to_have_text("Waiting to build")
    screenshot(page, "04-build-queued")
    worker = start_worker(DATASET_SHARD_BYTES=str(SHARD_BYTES))
    version = DatasetVersion.objects.get(dataset__slug="harbour-mornings")
    # The card polls itself every 2 s; a build of a few photos takes less. The worker is paused as soon as
    # it is under way, so that a poll surely finds the build in progress.
    worker.wait_for(lambda: _status(version) != DatasetVersion.Status.DRAFT, timeout=WORKER_TIMEOUT)
    with _paused(worker):
        assert _status(version) == DatasetVersion.Status.BUILDING, "the build ended before it could be seen"
        expect(card.locator("progress")).to_be_visible()
        # Making the delivery files ("Making delivery files ...: 2 of 6"), or writing shards ("4 of 6 items").
        expect(card).to_contain_text(re.compile(r"\d of 6"))
        screenshot(page, "05-building")
    expect(card.locator(".badge")).to_have_text("Published", timeout=WORKER_TIMEOUT * 1000)
    expect(card.locator("progress")).to_have_count(0)
    version.refresh_from_db()
    assert (version.items_done, version.item_count) == (6, 6)
    check_page(page, screenshot, "06-built")

    page.get_by_role("button", name="Make public").click()
    expect(page.get_by_role("status")).to_contain_text("The dataset is in the catalog.")
    expect(page.get_by_text("In the catalog: buyers can find it.")).to_be_visible()
    check_page(page, screenshot, "07-public")

    page.get_by_role("link", name="Public page").click()
    expect(page.get_by_role("heading", name="Harbour mornings", exact=True)).to_be_visible()
    expect(page.get_by_text("$250.00")).to_be_visible()
    _expect_previews_loaded(page, 6)
    check_page(page, screenshot, "08-public-page")


# --- Journey 4 --------------------------------------------------------------------------------------------


def test_a_buyer_finds_buys_downloads_and_verifies(
    page, phone_page, screenshot, start_worker, creator, reviewer, buyer, password
):
    _sellable_photos(creator, 3)
    _published_dataset(reviewer)
    start_worker()

    page.goto("/")
    check_page(page, screenshot, "01-home")
    open_from_the_menu(page, "Datasets")
    page.get_by_label("Search datasets").fill("street")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".catalog-card")).to_have_count(1)
    check_page(page, screenshot, "02-search")
    page.get_by_role("link", name="Street scenes").click()

    expect(page.get_by_role("heading", name="Street scenes", exact=True)).to_be_visible()
    _expect_previews_loaded(page, 3)
    expect(page.get_by_role("heading", name="Categories")).to_be_visible()
    expect(page.locator(".chart .bars").first).to_be_visible()
    check_page(page, screenshot, "03-dataset")

    page.get_by_role("button", name="Log in to buy").first.click()
    page.get_by_label("Email").fill(buyer.email)
    page.get_by_label("Password").fill(password)
    check_page(page, screenshot, "04-login")
    page.get_by_label("Password").press("Enter")

    # The purchase, with the keyboard only.
    press_with_keyboard(page, page.get_by_role("button", name="Buy the Research tier for $250.00"))
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    check_page(page, screenshot, "05-checkout")
    press_with_keyboard(page, page.get_by_role("button", name="Pay $250.00 (test)"))

    expect(page.get_by_role("status")).to_contain_text("Paid.")
    check_page(page, screenshot, "06-license")
    open_from_the_menu(page, "My licenses")
    expect(page.get_by_role("heading", name="My licenses")).to_be_visible()
    check_page(page, screenshot, "07-my-licenses")
    page.get_by_role("link", name="Street scenes").click()

    row = page.get_by_role("row", name=re.compile("README.md"))
    listed_sha256 = row.locator(".digest").inner_text().strip()
    with page.expect_download() as download:
        row.get_by_role("link", name="README.md").click()
    assert download.value.suggested_filename == "README.md"
    assert hashlib.sha256(Path(download.value.path()).read_bytes()).hexdigest() == listed_sha256

    page.get_by_role("link", name="Verify page").click()
    expect(page.get_by_role("status")).to_contain_text("Valid.")
    expect(page.get_by_text("its signature checks out")).to_be_visible()
    check_page(page, screenshot, "08-certificate")

    # The same steps on a phone: the catalog, the dataset, a checkout and My licenses.
    log_in(phone_page, buyer, password)
    phone_page.goto("/datasets/")
    expect(phone_page.locator(".catalog-card")).to_have_count(1)
    _check_on_phone(phone_page, screenshot, "09-phone-catalog")
    phone_page.get_by_role("link", name="Street scenes").click()
    _expect_previews_loaded(phone_page, 3)
    _check_on_phone(phone_page, screenshot, "10-phone-dataset")
    phone_page.get_by_role("button", name="Buy the Commercial training tier for $1,200.00").click()
    expect(phone_page.get_by_role("heading", name="Checkout")).to_be_visible()
    _check_on_phone(phone_page, screenshot, "11-phone-checkout")
    phone_page.get_by_role("button", name="Pay $1,200.00 (test)").click()
    expect(phone_page.get_by_role("status")).to_contain_text("Paid.")
    _check_on_phone(phone_page, screenshot, "12-phone-license")
    phone_page.goto("/account/licenses/")
    expect(phone_page.get_by_role("link", name="Street scenes")).to_have_count(2)
    _check_on_phone(phone_page, screenshot, "13-phone-my-licenses")


# --- Journey 5 --------------------------------------------------------------------------------------------


def test_a_creator_withdraws_consent_and_the_buyer_is_told(
    page, phone_page, screenshot, start_worker, creator, reviewer, buyer, password
):
    photos = _sellable_photos(creator, 3)
    sale = buy(_published_dataset(reviewer), buyer).order
    worker = start_worker()
    withdrawn = photos[0]

    log_in(page, creator, password)
    open_from_the_menu(page, "Consent")
    check_page(page, screenshot, "01-consent")
    page.get_by_label(f"Select {withdrawn}").check()
    page.get_by_label("Reason (optional)").fill("I no longer want this photo used.")
    page.get_by_role("button", name="Withdraw consent for the selected items").click()
    confirmation = page.get_by_role("dialog")
    expect(confirmation).to_contain_text("Withdraw consent for the selected items?")
    check_page(page, screenshot, "02-confirm-withdrawal")
    confirmation.get_by_role("button", name="Withdraw consent").click()
    expect(page.get_by_role("status")).to_contain_text("Consent withdrawn for 1 item")
    check_page(page, screenshot, "03-withdrawn")

    # The worker supersedes version 1, builds version 2 without the photo, and gives it to the buyer.
    worker.wait_for(lambda: _holds_version(buyer, 2), timeout=WORKER_TIMEOUT)

    log_in(phone_page, buyer, password)
    phone_page.goto("/account/licenses/")
    banner = phone_page.get_by_test_id("revocation-banner")
    expect(banner).to_contain_text("1 sample of street-scenes-v1 was withdrawn")
    _check_on_phone(phone_page, screenshot, "04-phone-revocation-notice")
    banner.get_by_role("link", name="open version 2").click()
    expect(phone_page.get_by_role("heading", name="Street scenes, version 2")).to_be_visible()
    expect(phone_page.get_by_text("Nothing: a free upgrade of your license on version 1")).to_be_visible()
    _check_on_phone(phone_page, screenshot, "05-phone-new-version")
    phone_page.goto("/datasets/street-scenes/")
    expect(phone_page.get_by_text("street-scenes-v2").first).to_be_visible()
    _expect_previews_loaded(phone_page, 2)
    _check_on_phone(phone_page, screenshot, "06-phone-dataset-v2")

    open_from_the_menu(page, "Earnings")
    share = price(creator_earnings_from_order(creator=creator.creator_profile, order=sale))
    row = page.get_by_role("row", name=re.compile("Street scenes"))
    expect(row).to_have_count(1)
    expect(row).to_contain_text(share)
    check_page(page, screenshot, "07-earnings")
