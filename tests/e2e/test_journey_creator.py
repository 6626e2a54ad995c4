"""The creator's journeys end to end: Chromium against the live server, with a real Celery worker behind it.

1. A creator signs up, uploads photos and a video, describes them, has a model sign a release online, gives
   consent, and sees ingest finish.
2. A reviewer rejects one release and approves the rest; the creator fixes the rejected one and sends it back;
   the reviewer approves it.
"""

import datetime
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFilter
from playwright.sync_api import Locator, Page, expect

from creators.models import MediaAsset
from creators.services import asset_upload
from licensing import services
from licensing.models import Consent, Release
from marketplace.models import User
from tests.creators.hostile_corpus import encode_video
from tests.e2e.journeys import (
    CAMERA_CORPUS,
    PHONE_VIEWPORT,
    assert_fits_the_width,
    check_page,
    check_page_on_a_phone,
    fill_in_the_release_as_the_model,
    log_in,
    open_from_the_menu,
    open_the_emailed_sign_up_link,
    press_with_keyboard,
    tab_to,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CAMERA_CORPUS.exists(), reason="the shared camera corpus is not beside the project"
    ),
]

# Five photos of the corpus, with what each shows; the video is made by the test.
CAPTIONS = {
    "jpg/Reconyx_HC500_Hyperfire.jpg": "A snowy forest path at dawn, seen from a trail camera.",
    "heic/IMG_5195.HEIC": "Wild purple phlox among leaves on a forest floor.",
    "jpg/Canon_PowerShot_S40.jpg": "A pink frangipani flower against glossy leaves.",
    "jpg/Samsung_Digimax_i50_MP3.jpg": "A chandelier in a hotel lobby, slightly out of focus.",
    "jpg/Nikon_D70.jpg": "Long grass leaves backlit by the sun.",
    "harbour-walk.mp4": "A short test clip of the walk along the harbour.",
}
PASSPHRASE = "a-long-and-unusual-passphrase"


def _slow_uploads(page: Page) -> None:
    """A slow uplink (about 1 Mbit/s), so the progress of each upload can be seen as it happens."""
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 125_000},
    )


def test_journey_1_a_creator_signs_up_uploads_gets_a_release_signed_and_gives_consent(
    page, browser, live_server, screenshot, live_worker, tmp_path
):
    video = tmp_path / "harbour-walk.mp4"
    encode_video(video, container="mp4", codec="mpeg4", seconds=3, size=(320, 240))
    files = [CAMERA_CORPUS / name for name in CAPTIONS if name != video.name] + [video]

    # Sign up, from the home page.
    page.goto("/")
    page.get_by_role("button", name="Join as a creator").click()
    page.get_by_label("Email").fill("ines@example.com")
    page.get_by_label("Name shown to others").fill("Inês Duarte")
    page.get_by_label("Country (two-letter code, creators)").fill("PT")
    page.get_by_label("Password", exact=True).fill(PASSPHRASE)
    page.get_by_label("Password again").fill(PASSPHRASE)
    check_page(page, screenshot, "01-sign-up")
    check_page_on_a_phone(page, screenshot, "01-sign-up")
    press_with_keyboard(page, page.get_by_role("button", name="Create account"))
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    open_the_emailed_sign_up_link(page, live_worker, "ines@example.com")
    expect(page.get_by_role("status")).to_contain_text("Your Creator account is ready")
    check_page(page, screenshot, "02-signed-up")

    # Upload five photos and a video, watching them go.
    open_from_the_menu(page, "Upload")
    page.get_by_label("Category for these files").select_option("nature")
    page.get_by_label("Tags for these files").fill("outdoors, spring")
    check_page(page, screenshot, "03-upload")
    check_page_on_a_phone(page, screenshot, "03-upload")
    tab_to(page, page.get_by_label("Drop files here or choose them"))
    _slow_uploads(page)
    page.set_input_files("#files", [str(path) for path in files])
    expect(page.locator("#upload-progress")).to_be_visible()
    expect(page.locator("#overall-progress")).to_be_visible()
    expect(page.locator(".upload-item progress")).to_have_count(len(files))
    expect(page.locator("#overall-text")).to_have_text(
        re.compile(rf"^([1-9]|[1-9]\d)% of {len(files)} files")
    )
    check_page(page, screenshot, "04-uploading")
    expect(page.locator(".upload-ok")).to_have_count(len(files), timeout=60_000)
    expect(page.locator("#overall-progress")).to_have_attribute("value", "100")
    check_page(page, screenshot, "05-uploaded")

    # Describe each one.
    page.get_by_role("button", name="See my media").click()
    expect(page.locator(".media-card")).to_have_count(len(files))
    check_page(page, screenshot, "06-my-media")
    captions = {name.rsplit("/", 1)[-1]: caption for name, caption in CAPTIONS.items()}
    detail_links = [link.get_attribute("href") for link in page.locator(".media-card a.media-title").all()]
    for number, href in enumerate(detail_links, start=1):
        page.goto(str(href))
        file_facts = page.get_by_role("row", name=re.compile(r"^File ")).get_by_role("cell").inner_text()
        page.get_by_label("Caption").fill(captions[file_facts.split(" · ")[0]])
        if number == 1:
            check_page(page, screenshot, "07-describe")
            check_page_on_a_phone(page, screenshot, "07-describe")
            press_with_keyboard(page, page.get_by_role("button", name="Save"))
        else:
            page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_contain_text("Saved")
    check_page(page, screenshot, "08-described")
    assert set(MediaAsset.objects.values_list("caption", flat=True)) == set(CAPTIONS.values())

    # Ask the model for a release online.
    open_from_the_menu(page, "Releases")
    check_page(page, screenshot, "09-releases")
    page.get_by_role("button", name="New release").click()
    today = timezone.localdate()
    pick = page.locator("input[name=assets]")
    expect(pick).to_have_count(len(files))
    for index in range(4):
        pick.nth(index).check()
    page.get_by_label("Full legal name").fill("Maria Model")
    page.get_by_label("Their email").fill("maria@example.com")
    page.get_by_label("First day of the shoot").fill(f"{today - datetime.timedelta(days=1):%Y-%m-%d}")
    page.get_by_label("Last day of the shoot").fill(f"{today:%Y-%m-%d}")
    check_page(page, screenshot, "10-new-release")
    check_page_on_a_phone(page, screenshot, "10-new-release")
    page.get_by_role("button", name="Create the release").click()
    link = page.get_by_label("Link").input_value()
    check_page(page, screenshot, "11-signing-link")
    check_page_on_a_phone(page, screenshot, "11-signing-link")

    # The model signs on her own phone.
    phone = browser.new_context(viewport=PHONE_VIEWPORT, device_scale_factor=2, is_mobile=True)
    phone.set_default_timeout(15_000)
    signing = phone.new_page()
    signing.goto(link)
    expect(signing.get_by_role("heading", name="Model release from Inês Duarte")).to_be_visible()
    fill_in_the_release_as_the_model(signing)
    check_page(signing, screenshot, "12-model-signs-phone")
    assert_fits_the_width(signing)
    signing.get_by_role("button", name="Sign the release").click()
    expect(signing.get_by_role("heading", name="Thank you, the release is signed")).to_be_visible()
    check_page(signing, screenshot, "13-model-signed-phone")
    assert_fits_the_width(signing)
    phone.close()

    page.reload()
    expect(page.locator(".page-head .badge")).to_have_text("Submitted for review")
    check_page(page, screenshot, "14-release-submitted")

    # Consent: which uses, under which terms.
    open_from_the_menu(page, "Consent")
    page.get_by_label("Select all on this page").check()
    expect(page.locator("#selected-count")).to_have_text("6 selected")
    for use in ["Data mining", "AI inference", "AI training"]:
        page.get_by_role("group", name=use, exact=True).get_by_label("Allowed", exact=True).check()
    generative = page.get_by_role("group", name="Generative AI training", exact=True)
    generative.get_by_label("Allowed with a constraint").check()
    page.get_by_label("Generative AI training: the constraint, in words").fill(
        "Never to imitate the photographer's style."
    )
    page.get_by_role("checkbox", name=re.compile(r"^Research")).check()
    page.get_by_role("checkbox", name=re.compile(r"^Commercial training")).check()
    check_page(page, screenshot, "15-consent")
    check_page_on_a_phone(page, screenshot, "15-consent")
    page.get_by_role("button", name="Give consent for the selected items").click()
    expect(page.get_by_role("status")).to_contain_text("Consent given for 6 items")
    check_page(page, screenshot, "16-consent-given")

    # Ingest finishes in the worker; the grid says so.
    open_from_the_menu(page, "My media")
    expect(page.locator(".media-card .badge-ready")).to_have_count(len(files), timeout=90_000)
    check_page(page, screenshot, "17-ingested")
    check_page_on_a_phone(page, screenshot, "17-ingested")

    creator = User.objects.get(email="ines@example.com").creator_profile
    assets = MediaAsset.objects.filter(creator=creator)
    assert sorted(assets.values_list("status", flat=True)) == ["ready"] * len(files)
    assert all(asset.thumbnail and asset.preview for asset in assets)
    assert assets.get(kind="video").duration_seconds
    assert len(re.findall(r"asset_ingest\S*\] succeeded", live_worker.log())) >= len(files)
    release = Release.objects.get(creator=creator)
    assert (release.status, release.signed_name, release.assets.count()) == ("submitted", "Maria Model", 4)
    consents = Consent.objects.filter(asset__creator=creator)
    assert sorted(consents.values_list("status", flat=True)) == ["pending"] * len(files)
    assert {consent.constraint("ai_generative_training") for consent in consents} == {
        "Never to imitate the photographer's style."
    }


def _scanned_release(name: str, *, legible: bool = True) -> SimpleUploadedFile:
    """A scan of a signed paper release; an illegible one is blurred past reading, as a shaky phone photo is."""
    scan = Image.new("RGB", (850, 1100), "white")
    draw = ImageDraw.Draw(scan)
    draw.text((60, 60), "MODEL RELEASE", fill="black")
    draw.text((60, 100), f"Signed by {name}", fill="black")
    for line in range(12):
        draw.line([(60, 140 + line * 40), (790, 140 + line * 40)], fill=(170, 170, 170), width=2)
    draw.line([(80, 900), (200, 870), (260, 910), (380, 860)], fill="navy", width=4)
    if not legible:
        scan = scan.filter(ImageFilter.GaussianBlur(12))
    buffer = io.BytesIO()
    scan.save(buffer, "PNG")
    return SimpleUploadedFile("scan.png", buffer.getvalue(), content_type="image/png")


def _ink_in(image: Locator) -> int:
    """How many of a loaded image's pixels are near black: the text of a legible scan, none in a blurred one."""
    # Visible is not loaded: the next release's scan may still be on its way when its heading shows.
    expect(image).to_have_js_property("complete", True)
    return image.evaluate(
        """image => {
          const canvas = document.createElement("canvas");
          canvas.width = image.naturalWidth;
          canvas.height = image.naturalHeight;
          const context = canvas.getContext("2d");
          context.drawImage(image, 0, 0);
          const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
          let ink = 0;
          for (let i = 0; i < pixels.length; i += 4) {
            if (pixels[i] < 60 && pixels[i + 1] < 60 && pixels[i + 2] < 60) ink += 1;
          }
          return ink;
        }"""
    )


def _paper_release(creator: User, asset: MediaAsset, name: str, *, legible: bool = True) -> Release:
    """A model release signed on paper for one ingested photo, its shoot the day the photo was taken."""
    shoot = asset.capture_time.date() if asset.capture_time else timezone.localdate()
    return services.release_upload_paper(
        creator=creator.creator_profile,
        subject=services.ReleaseSubject(kind="model", legal_name=name),
        asset_ids=[asset.pk],
        shoot_start=shoot,
        shoot_end=shoot,
        signer=services.Signer(
            signed_name=name,
            date_of_birth=datetime.date(1970, 3, 14),
            address="12 St James's Square, London",
            email="",
            phone="",
            signature_png=b"",
            witness_name="Wendy Witness",
            witness_signature_png=b"",
        ),
        signed_on=shoot,
        scan=_scanned_release(name, legible=legible),
        actor=creator,
    )


def test_journey_2_a_reviewer_rejects_a_release_and_the_creator_fixes_it(
    page, browser, live_server, screenshot, live_worker, creator, reviewer, password, tmp_path
):
    photos = ["jpg/Canon_PowerShot_S40.jpg", "jpg/Nikon_D70.jpg", "jpg/Samsung_Digimax_i50_MP3.jpg"]
    uploaded = [
        asset_upload(
            creator=creator.creator_profile,
            upload=SimpleUploadedFile(name.rsplit("/", 1)[-1], (CAMERA_CORPUS / name).read_bytes()),
            category="portraits",
        )
        for name in photos
    ]
    live_worker.wait_for(lambda: MediaAsset.objects.filter(status="ready").count() == len(photos))
    assets = [MediaAsset.objects.get(pk=asset.pk) for asset in uploaded]
    ada = _paper_release(creator, assets[0], "Ada Lovelace")
    grace = _paper_release(creator, assets[1], "Grace Hopper", legible=False)
    katherine = _paper_release(creator, assets[2], "Katherine Johnson")

    # The reviewer works through the queue: approves Ada's, rejects Grace's unreadable scan, approves the last.
    log_in(page, reviewer, password)
    open_from_the_menu(page, "Review queue")
    expect(page.locator(".queue-row")).to_have_count(3)
    check_page(page, screenshot, "01-queue")
    check_page_on_a_phone(page, screenshot, "01-queue")
    page.get_by_role("link", name="Model release: Ada Lovelace").click()
    expect(page.get_by_alt_text("The scanned paper release")).to_be_visible()
    check_page(page, screenshot, "02-first-release")
    page.get_by_role("button", name="Approve").click()

    expect(page.get_by_role("status")).to_contain_text("Model release: Ada Lovelace approved")
    expect(page.get_by_role("heading", name="Model release: Grace Hopper")).to_be_visible()
    assert _ink_in(page.get_by_alt_text("The scanned paper release")) == 0
    check_page(page, screenshot, "03-unreadable-scan")
    check_page_on_a_phone(page, screenshot, "03-unreadable-scan")
    reason = page.get_by_label("Rejection reason")
    reason.focus()
    page.keyboard.type("The scan")  # a closed select picks the option whose words are typed
    expect(reason).to_have_value("scan_unreadable")
    page.keyboard.press("Tab")
    page.keyboard.type("The scan is too blurred to read: scan the signed form again, flat and in focus.")
    expect(page.get_by_label("What the creator should fix")).to_be_focused()
    check_page(page, screenshot, "04-rejecting")
    press_with_keyboard(page, page.get_by_role("button", name="Reject"))

    expect(page.get_by_role("status")).to_contain_text("rejected; the creator is told why")
    expect(page.get_by_role("heading", name="Model release: Katherine Johnson")).to_be_visible()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status").last).to_contain_text("The queue is empty")
    check_page(page, screenshot, "05-queue-empty")

    # The worker emails the creator the reviewer's reason.
    live_worker.wait_for(lambda: any("too blurred to read" in mail for mail in live_worker.sent_emails()))
    rejection = next(mail for mail in live_worker.sent_emails() if "too blurred to read" in mail)
    assert creator.email in rejection and "The scan cannot be read" in rejection

    # The creator sees why, and sends a better scan.
    creator_context = browser.new_context(base_url=live_server.url, viewport=page.viewport_size)
    creator_context.set_default_timeout(15_000)
    creator_page = creator_context.new_page()
    log_in(creator_page, creator, password)
    open_from_the_menu(creator_page, "Releases")
    rejected = creator_page.locator(".release-item", has_text="Grace Hopper")
    expect(rejected.locator(".badge")).to_have_text("Rejected")
    expect(rejected.get_by_role("note")).to_contain_text("The scan cannot be read")
    expect(rejected.get_by_role("note")).to_contain_text("too blurred to read")
    check_page(creator_page, screenshot, "06-creator-sees-the-rejection")
    check_page_on_a_phone(creator_page, screenshot, "06-creator-sees-the-rejection")
    rejected.get_by_role("link", name="Fix it and send it again").click()
    expect(creator_page.get_by_role("heading", name="The reviewer sent it back")).to_be_visible()
    expect(creator_page.get_by_role("note")).to_contain_text("too blurred to read")
    better_scan = tmp_path / "grace-hopper-rescanned.png"
    better_scan.write_bytes(_scanned_release("Grace Hopper").read())
    creator_page.get_by_label("New scan").set_input_files(str(better_scan))
    check_page(creator_page, screenshot, "07-fixing")
    check_page_on_a_phone(creator_page, screenshot, "07-fixing")
    press_with_keyboard(creator_page, creator_page.get_by_role("button", name="Submit again"))
    expect(creator_page.get_by_role("status")).to_contain_text("submitted again")
    expect(creator_page.locator(".page-head .badge")).to_have_text("Submitted for review")
    check_page(creator_page, screenshot, "08-resubmitted")

    # Back in the queue, flagged as resubmitted; the reviewer approves it.
    open_from_the_menu(page, "Review queue")
    expect(page.locator(".queue-row")).to_have_count(1)
    expect(page.locator(".queue-row")).to_contain_text("Resubmitted")
    check_page(page, screenshot, "09-queue-resubmitted")
    page.get_by_role("link", name="Model release: Grace Hopper").click()
    scan = page.get_by_alt_text("The scanned paper release")
    expect(scan).to_have_js_property("complete", True)
    assert _ink_in(scan) > 0, "the reviewer is shown the new scan, not the one they rejected"
    check_page(page, screenshot, "10-new-scan")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status").last).to_contain_text("The queue is empty")

    creator_page.reload()
    expect(creator_page.locator(".page-head .badge")).to_have_text("Approved")
    check_page(creator_page, screenshot, "11-approved")
    creator_context.close()

    for release in (ada, grace, katherine):
        release.refresh_from_db()
        assert (release.status, release.reviewed_by) == (Release.Status.APPROVED, reviewer)
    live_worker.wait_for(lambda: len(live_worker.sent_emails()) == 4)
