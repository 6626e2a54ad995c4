"""A damaged JPEG is refused with a 400, never a 500; markup hidden in a photo's text segments is refused in any
encoding; and every photo of the real camera corpus and the metadata corpus still passes."""

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from creators.ingest.images import probe_image
from creators.ingest.limits import MediaLimits
from creators.ingest.sniff import reject_embedded_markup
from creators.models import MediaAsset
from tests.creators.hostile_corpus import jpeg_bytes, jpeg_with_comment, png_bytes
from tests.media_corpus import build_corpus
from tests.security.bombs import png_chunk

ROOT = Path(__file__).resolve().parents[2]
CAMERA_CORPUS = ROOT.parent / "shared" / "corpus" / "camera-samples"
CAMERA_PHOTOS = sorted([*CAMERA_CORPUS.glob("jpg/*.jpg"), *CAMERA_CORPUS.glob("heic/*")])
needs_camera_corpus = pytest.mark.skipif(not CAMERA_PHOTOS, reason="the shared camera corpus is missing")
HIDDEN = "web-page code"


def _api_upload(client, name: str, content: bytes):
    return client.post(reverse("creators:api-assets"), {"file": SimpleUploadedFile(name, content)})


def _refusal(response) -> str:
    return " ".join(response.json()["error"]["fields"]["file"])


def _with_segment(jpeg: bytes, marker: int, body: bytes) -> bytes:
    return jpeg[:2] + bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


def _png_with(kind: bytes, body: bytes) -> bytes:
    png = png_bytes()
    return png[:33] + png_chunk(kind, body) + png[33:]


# --- Row 7: a truncated JPEG ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_uploading_a_truncated_jpeg_answers_400_saying_it_is_cut_short(client, creator, media_root):
    client.force_login(creator)
    jpeg = jpeg_bytes(size=(640, 480))

    response = _api_upload(client, "cut.jpg", jpeg[: len(jpeg) - 200])

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "the file is cut short" in _refusal(response)
    assert not MediaAsset.objects.exists()


def test_an_oversized_jpeg_is_refused_by_a_fresh_process_whose_pillow_loaded_no_plugin(tmp_path):
    # Pillow's guard trips while the JPEG plugin reads the header, before the other plugins are loaded.
    from tests.creators.hostile_corpus import jpeg_declaring

    path = tmp_path / "huge.jpg"
    path.write_bytes(jpeg_declaring(30000, 30000))
    script = (
        "import sys; from pathlib import Path\n"
        "from creators.ingest.images import probe_image\n"
        "from creators.ingest.limits import MediaLimits, MediaRejected\n"
        "try:\n    probe_image(Path(sys.argv[1]), MediaLimits())\n"
        "except MediaRejected as refusal:\n    print(refusal)\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script, str(path)], cwd=ROOT, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    assert "30000 × 30000 pixels" in result.stdout  # noqa: RUF001


# --- Row 8: a tiny JPEG declaring a huge picture --------------------------------------------------------


@pytest.mark.django_db
def test_uploading_a_tiny_jpeg_that_declares_a_huge_picture_is_refused_as_damaged(client, creator):
    from tests.creators.hostile_corpus import jpeg_declaring

    client.force_login(creator)

    response = _api_upload(client, "claims-big.jpg", jpeg_declaring(9000, 9000))

    assert response.status_code == 400
    assert "holds the data of a far smaller picture" in _refusal(response)


# --- Row 13: markup in text segments --------------------------------------------------------------------

SCRIPT = "<script>alert(document.cookie)</script>"
ONERROR = "<img src=x onerror=alert(document.domain)>"
POLYGLOTS = {
    "jpeg-comment-onerror": jpeg_with_comment(ONERROR.encode()),
    "jpeg-comment-utf16le-script": jpeg_with_comment(SCRIPT.encode("utf-16-le")),
    "jpeg-comment-utf16be-script": jpeg_with_comment(b"\xfe\xff" + SCRIPT.encode("utf-16-be")),
    "jpeg-comment-utf32-script": jpeg_with_comment(SCRIPT.encode("utf-32-le")),
    "jpeg-comment-utf32be-iframe": jpeg_with_comment('<iframe src="//evil">'.encode("utf-32-be")),
    "jpeg-app1-utf16-onerror": _with_segment(jpeg_bytes(), 0xE1, b"x" + ONERROR.encode("utf-16-le")),
    "jpeg-app13-utf32-onerror": _with_segment(jpeg_bytes(), 0xED, ONERROR.encode("utf-32-le")),
    "jpeg-comment-javascript-utf16": jpeg_with_comment("javascript:alert(1)".encode("utf-16-le")),
    "jpeg-comment-svg-onload": jpeg_with_comment(b"<svg/onload=alert(1)>"),
    "png-text-onerror": _png_with(b"tEXt", b"Comment\x00" + ONERROR.encode()),
    "png-text-utf16-script": _png_with(b"tEXt", b"Comment\x00" + SCRIPT.encode("utf-16-le")),
    "png-ztxt-script": _png_with(b"zTXt", b"Comment\x00\x00" + zlib.compress(SCRIPT.encode())),
    "png-itxt-compressed-onerror": _png_with(
        b"iTXt", b"Comment\x00\x01\x00en\x00\x00" + zlib.compress(ONERROR.encode())
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", POLYGLOTS)
def test_uploading_a_photo_with_markup_in_its_text_segments_is_refused(client, creator, media_root, name):
    client.force_login(creator)

    response = _api_upload(client, f"{name}.{'png' if name.startswith('png') else 'jpg'}", POLYGLOTS[name])

    assert response.status_code == 400
    assert HIDDEN in _refusal(response)
    assert not MediaAsset.objects.exists()


@needs_camera_corpus
@pytest.mark.parametrize("photo", CAMERA_PHOTOS, ids=lambda path: path.name)
def test_every_camera_corpus_photo_passes_the_markup_filter_and_the_probe(photo):
    reject_embedded_markup(photo, "image")
    probe_image(photo, MediaLimits())


def test_every_metadata_corpus_file_passes_the_markup_filter(tmp_path):
    for file in build_corpus(tmp_path):
        reject_embedded_markup(file.path, file.kind)
        if file.kind == "image":
            probe_image(file.path, MediaLimits())
