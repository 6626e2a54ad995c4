"""Decompression bombs, made in code: small files whose headers declare pictures of gigabytes.

Each is a small picture written by Pillow whose header is then patched to declare a huge size, except the flat
PNG, a genuinely large picture that compresses to almost nothing (and fits the decode budget).
"""

import io
import struct
import zlib
from dataclasses import dataclass

import pillow_heif
from PIL import Image

from tests.creators.hostile_corpus import jpeg_declaring, png_declaring

BUDGET_REFUSAL = "to decode; the limit is 512 MB"


@dataclass(frozen=True)
class Bomb:
    name: str
    content: bytes
    # What the upload's refusal must say, or None for a file the upload accepts and ingest then decides on.
    refused_saying: str | None


def _saved(picture: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, image_format, **options)
    return buffer.getvalue()


def webp_declaring(width: int, height: int) -> bytes:
    """A lossy WebP whose VP8 frame header declares width x height (14 bits each)."""
    data = bytearray(_saved(Image.new("RGB", (64, 64), (90, 140, 200)), "WEBP", quality=50))
    assert data[12:16] == b"VP8 ", "Pillow wrote an extended WebP; the patch expects the simple format"
    data[26:30] = struct.pack("<HH", width, height)
    return bytes(data)


def tiff_declaring(mode: str, width: int, height: int) -> bytes:
    """A deflate TIFF of a 64 x 64 picture whose ImageWidth, ImageLength and RowsPerStrip declare the size."""
    data = bytearray(_saved(Image.new(mode, (64, 64), 7), "TIFF", compression="tiff_adobe_deflate"))
    endian = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack(endian + "I", data[4:8])
    (count,) = struct.unpack(endian + "H", data[ifd : ifd + 2])
    values = {256: width, 257: height, 278: height}
    for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
        tag, kind = struct.unpack(endian + "HH", data[entry : entry + 4])
        if tag in values:
            packed = struct.pack(endian + ("H" if kind == 3 else "I"), values[tag])
            data[entry + 8 : entry + 8 + len(packed)] = packed
    return bytes(data)


def heic_declaring(width: int, height: int) -> bytes:
    """A HEIC whose image spatial extents (ispe) declare the size."""
    picture = Image.new("RGB", (64, 64), (200, 60, 60))
    buffer = io.BytesIO()
    pillow_heif.from_pillow(picture).save(buffer, quality=50)
    data = bytearray(buffer.getvalue())
    position = data.find(b"ispe")
    while position != -1:
        data[position + 8 : position + 16] = struct.pack(">II", width, height)
        position = data.find(b"ispe", position + 4)
    return bytes(data)


def progressive_jpeg_declaring(width: int, height: int) -> bytes:
    data = bytearray(_saved(Image.new("RGB", (64, 48), (30, 160, 60)), "JPEG", progressive=True))
    frame = data.find(b"\xff\xc2")
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def gif_with_frames(frames: int) -> bytes:
    pictures = [Image.new("P", (64, 64), index % 256) for index in range(frames)]
    return _saved(pictures[0], "GIF", save_all=True, append_images=pictures[1:])


def flat_png(width: int, height: int) -> bytes:
    """A genuinely width x height grey PNG: one colour, so it compresses about a thousandfold."""
    return _saved(Image.new("L", (width, height), 128), "PNG", compress_level=9)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def build() -> list[Bomb]:
    return [
        Bomb("webp-15800x15800.webp", webp_declaring(15800, 15800), BUDGET_REFUSAL),
        Bomb("png-15000x15000-rgb.png", png_declaring(15000, 15000), BUDGET_REFUSAL),
        Bomb("tiff-15800x15800-rgb8.tif", tiff_declaring("RGB", 15800, 15800), BUDGET_REFUSAL),
        # 499 MB of 16-bit samples fits the budget: ingest decodes it apart and finds the data missing.
        Bomb("tiff-15800x15800-grey16.tif", tiff_declaring("I;16", 15800, 15800), None),
        Bomb("heic-15800x15800.heic", heic_declaring(15800, 15800), BUDGET_REFUSAL),
        Bomb("gif-2000-frames.gif", gif_with_frames(2000), "GIF"),
        Bomb("jpeg-progressive-15000x15000.jpg", progressive_jpeg_declaring(15000, 15000), BUDGET_REFUSAL),
        Bomb("jpeg-baseline-15000x15000.jpg", jpeg_declaring(15000, 15000), BUDGET_REFUSAL),
        # Within the budget, but far more pixels than the data holds: libjpeg would fill them with grey.
        Bomb("jpeg-progressive-10000x10000.jpg", progressive_jpeg_declaring(10000, 10000), "far smaller"),
        Bomb("jpeg-baseline-10000x10000.jpg", jpeg_declaring(10000, 10000), "far smaller"),
        Bomb("jpeg-65000x65000.jpg", jpeg_declaring(65000, 65000), "pixels"),
        Bomb("png-flat-2000x2000-grey.png", flat_png(2000, 2000), None),
    ]
