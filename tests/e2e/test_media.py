import pytest
from playwright.sync_api import expect

from creators.models import MediaAsset
from tests.creators.hostile_corpus import encode_video
from tests.e2e.journeys import CAMERA_CORPUS, log_in, open_from_the_menu
from tests.media_corpus import upright_picture

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.mark.skipif(not CAMERA_CORPUS.exists(), reason="the shared camera corpus is not beside the project")
def test_a_creator_uploads_photos_and_a_video_and_sees_them_processed(
    page, screenshot, start_worker, creator, password, tmp_path
):
    video = tmp_path / "street-scene.mp4"
    encode_video(video, container="mp4", codec="mpeg4", seconds=3, size=(320, 240))
    files = [
        CAMERA_CORPUS / "jpg" / "Reconyx_HC500_Hyperfire.jpg",
        CAMERA_CORPUS / "heic" / "IMG_5195.HEIC",
        video,
    ]
    bad = tmp_path / "notes.jpg"
    bad.write_text("<html><script>alert(1)</script></html>")
    start_worker()
    log_in(page, creator, password)

    open_from_the_menu(page, "Upload")
    page.get_by_label("Category for these files").select_option("street")
    page.get_by_label("Tags for these files").fill("street, test")
    page.set_input_files("#files", [*map(str, files), str(bad)])

    expect(page.locator(".upload-ok")).to_have_count(3, timeout=30_000)
    expect(page.locator(".upload-failed")).to_have_count(1)
    expect(page.locator(".upload-failed")).to_contain_text("web page")
    expect(page.locator("#overall-progress")).to_have_attribute("value", "100")
    screenshot(page, "01-uploaded")

    page.get_by_role("button", name="See my media").click()
    expect(page.locator(".media-card .badge-ready")).to_have_count(3, timeout=60_000)
    screenshot(page, "02-my-media")
    assert MediaAsset.objects.filter(status="ready").count() == 3

    page.locator(".media-card a.media-title").first.click()
    page.get_by_label("Caption").fill("A night street in the rain.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    screenshot(page, "03-detail")
    assert MediaAsset.objects.filter(caption="A night street in the rain.").count() == 1


def test_a_large_video_uploads_in_chunks_and_resumes_after_a_dropped_connection(
    page, screenshot, start_worker, creator, password, tmp_path, settings
):
    settings.UPLOAD_CHUNKED_ABOVE_BYTES = 20_000
    settings.UPLOAD_CHUNK_BYTES = 16_384
    video = tmp_path / "long-take.mp4"
    content = encode_video(video, container="mp4", codec="mpeg4", seconds=6, size=(320, 240))
    assert len(content) > 3 * settings.UPLOAD_CHUNK_BYTES
    dropped = []

    def drop_the_second_chunk_once(route):
        second_chunk = "bytes 16384-" in (route.request.headers.get("content-range") or "")
        if route.request.method == "PUT" and second_chunk and not dropped:
            dropped.append(route.request.url)
            return route.abort("connectionreset")
        return route.continue_()

    start_worker()
    log_in(page, creator, password)
    page.route("**/api/v1/uploads/**", drop_the_second_chunk_once)
    page.goto("/creator/media/upload/")
    page.set_input_files("#files", str(video))

    expect(page.locator(".upload-status")).to_contain_text("Connection lost; resuming", timeout=10_000)
    screenshot(page, "01-resuming")
    expect(page.locator(".upload-ok")).to_have_count(1, timeout=30_000)
    screenshot(page, "02-uploaded")

    assert dropped, "the test did drop a chunk"
    asset = MediaAsset.objects.get()
    assert (asset.kind, asset.original_bytes) == ("video", len(content))


def test_with_object_storage_a_large_photo_goes_straight_to_the_bucket(
    page, screenshot, creator, password, s3_bucket, settings, tmp_path
):
    settings.UPLOAD_CHUNKED_ABOVE_BYTES = 1_000
    photo = tmp_path / "harbour.jpg"
    upright_picture((1600, 1200)).save(photo, "JPEG", quality=90)  # a few hundred KB: chunked
    log_in(page, creator, password)
    posted_to = []
    page.on("request", lambda request: posted_to.append(f"{request.method} {request.url}"))

    page.goto("/creator/media/upload/")
    page.set_input_files("#files", str(photo))

    expect(page.locator(".upload-ok")).to_have_count(1, timeout=30_000)
    screenshot(page, "direct-uploaded")
    assert any(entry.startswith(f"POST {s3_bucket.endpoint}") for entry in posted_to), "\n".join(posted_to)
    asset = MediaAsset.objects.get()
    assert asset.original_bytes == photo.stat().st_size
    assert s3_bucket.object_keys() == [asset.original.name]
