"""Markup hidden in a photo is refused; the same letters in its compressed pixels, where they occur by chance
in a few percent of large photos, are not."""

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from creators.ingest.limits import MediaRejected
from creators.ingest.sniff import reject_embedded_markup

SCRIPT = b"<script>alert(document.cookie)</script>"


def _noise_jpeg() -> bytes:
    pixels = np.random.default_rng(7).integers(0, 256, size=(96, 128, 3), dtype=np.uint8)
    output = io.BytesIO()
    Image.fromarray(pixels).save(output, format="JPEG", quality=95)
    return output.getvalue()


def _with_letters_in_the_scan(jpeg: bytes, letters: bytes) -> bytes:
    """The JPEG with `letters` written over the middle of its compressed data (which holds no 0xFF there)."""
    start_of_scan = jpeg.index(b"\xff\xda")
    scan_data = start_of_scan + 2 + int.from_bytes(jpeg[start_of_scan + 2 : start_of_scan + 4], "big")
    middle = (scan_data + len(jpeg) - 2) // 2
    data = bytearray(jpeg)
    data[middle : middle + len(letters)] = letters
    assert b"\xff" not in data[middle - 1 : middle + len(letters) + 1]
    return bytes(data)


def _with_comment(jpeg: bytes, comment: bytes) -> bytes:
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + jpeg[2:]


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunk(kind, body) for kind, body in [(b"IHDR", header), *chunks])


def _checked(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "upload"
    path.write_bytes(content)
    reject_embedded_markup(path, "image")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(_with_letters_in_the_scan(_noise_jpeg(), b"<SvG"), id="jpeg-pixels"),
        pytest.param(
            _noise_jpeg() + _with_letters_in_the_scan(_noise_jpeg(), b"<svg"), id="jpeg-second-picture"
        ),
        pytest.param(
            _png([(b"IDAT", b"<svg" + zlib.compress(b"\x00\x00")), (b"IEND", b"")]), id="png-pixels"
        ),
    ],
)
def test_markup_letters_in_compressed_pixels_are_chance(tmp_path, content):
    _checked(tmp_path, content)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(_with_comment(_noise_jpeg(), SCRIPT), id="jpeg-comment"),
        pytest.param(_noise_jpeg() + SCRIPT, id="jpeg-appended"),
        pytest.param(_noise_jpeg() + _with_comment(_noise_jpeg(), SCRIPT), id="jpeg-second-picture-comment"),
        pytest.param(_png([(b"tEXt", b"Comment\x00" + SCRIPT), (b"IEND", b"")]), id="png-text"),
        pytest.param(_png([(b"IEND", b"")]) + SCRIPT, id="png-appended"),
        pytest.param(b"\xff\xd8\xff\xe0\x00\x10" + SCRIPT, id="jpeg-broken-structure"),
    ],
)
def test_markup_outside_the_pixels_is_refused(tmp_path, content):
    with pytest.raises(MediaRejected, match="web-page code"):
        _checked(tmp_path, content)
