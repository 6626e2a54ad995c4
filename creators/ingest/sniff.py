"""Which prober a file goes to, decided from its first bytes; never from its name or a client's Content-Type.

This only routes: images.probe_image and video.probe_video give the verdict. Files of a kind we do not
accept are named in the refusal, so a creator learns what they sent.
"""

import mmap
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from .limits import AVIF_BRANDS, HEIF_BRANDS, QUICKTIME_FIRST_BOXES, MediaRejected

HEAD_BYTES = 64

ACCEPTED = "JPEG, PNG, WebP, HEIC or TIFF photos, and MP4, MOV or WebM videos"
# Kinds we refuse, recognised so the message can say what the file is.
KNOWN_REFUSED = [
    (b"GIF87a", "a GIF"),
    (b"GIF89a", "a GIF"),
    (b"BM", "a BMP image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a zip archive"),
    (b"PK\x05\x06", "a zip archive"),
    (b"SIMPLE  =", "a FITS file"),
    (b"8BPS", "a Photoshop document"),
    (b"\x00\x00\x01\x00", "an icon file"),
    (b"7z\xbc\xaf", "a 7-zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"ID3", "an audio file"),
    (b"fLaC", "an audio file"),
    (b"OggS", "an Ogg file"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a program"),
]


def sniff_kind(path: Path) -> Literal["image", "video"]:
    """'image' or 'video' by the file's signature; anything else is refused with what it looks like."""
    with path.open("rb") as stream:
        head = stream.read(HEAD_BYTES)
    if not head:
        raise MediaRejected("This file is empty.")
    if head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*")):
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        raise MediaRejected(f"This file is an AVI video; we accept {ACCEPTED}.")
    if head[4:8] == b"ftyp":
        # Still-image brands go to the image prober; every other ftyp brand is treated as video.
        return "image" if head[8:12] in HEIF_BRANDS | AVIF_BRANDS else "video"
    if head[4:8] in QUICKTIME_FIRST_BOXES:
        return "video"  # QuickTime files without an ftyp box
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video"  # Matroska; the video prober accepts only its WebM profile
    for signature, description in KNOWN_REFUSED:
        if head.startswith(signature):
            raise MediaRejected(f"This file is {description}; we accept {ACCEPTED}.")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<", b"<?xml")):
        raise MediaRejected(f"This file is a web page or SVG/XML document; we accept {ACCEPTED}.")
    raise MediaRejected(f"This file is not a photo or video we accept; we accept {ACCEPTED}.")


# Markup that has no business inside a photo or video: a file carrying it is a polyglot, made to be taken for
# a web page by some browser or tool, and is refused even when it also decodes as media.
MARKUP_MARKERS = (b"<script", b"<html", b"<iframe", b"<body", b"<svg", b"javascript:", b"<!doctype html")
SCAN_CHUNK = 4 * 1024 * 1024
# Videos are scanned at both ends only: polyglot payloads sit where parsers look first or last.
VIDEO_SCAN_ENDS = 2 * 1024 * 1024
MARKER_OVERLAP = 32  # longer than any marker, so one split across two reads is still seen

JPEG_START_OF_SCAN = 0xDA
JPEG_END_OF_IMAGE = 0xD9
# Markers that stand alone, without a length: TEM, the restart markers and SOI.
JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8), 0xD8})
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
Buffer = bytes | mmap.mmap


def _in_chunks(data: Buffer, start: int = 0) -> Iterator[bytes]:
    """`data` from `start`, a chunk at a time, each overlapping the previous one's end."""
    position = start
    while position < len(data):
        yield data[max(start, position - MARKER_OVERLAP) : position + SCAN_CHUNK]
        position += SCAN_CHUNK


def _jpeg_outside_compressed_data(data: Buffer) -> Iterator[bytes]:
    """A JPEG's segments (metadata, comments, tables) and whatever follows its end, without the compressed
    image data: those bytes are noise in which four letters like "<svg" turn up by chance in a few percent
    of large photos. A file that breaks the structure is scanned whole."""
    position = 2  # after SOI
    while position + 2 <= len(data):
        if data[position] != 0xFF:
            break  # not a marker where one must be: not a JPEG this walk understands
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1  # fill byte
            continue
        if marker == JPEG_END_OF_IMAGE:
            if data[position + 2 : position + 5] == b"\xff\xd8\xff":
                # Another image follows, as cameras store previews and depth maps (CIPA's Multi-Picture Format).
                position += 4
                continue
            yield from _in_chunks(data, position)  # anything else appended after the image
            return
        if marker in JPEG_STANDALONE:
            position += 2
            continue
        if position + 4 > len(data):
            break
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        segment_end = position + 2 + length
        yield data[position:segment_end]
        position = segment_end
        if marker == JPEG_START_OF_SCAN:
            position = _jpeg_scan_data_end(data, position)
    yield from _in_chunks(data)


def _jpeg_scan_data_end(data: Buffer, position: int) -> int:
    """Where a scan's compressed data ends: the first marker that is neither a stuffed 0xFF nor a restart."""
    while (position := data.find(b"\xff", position)) != -1 and position + 1 < len(data):
        following = data[position + 1]
        if following != 0x00 and not 0xD0 <= following <= 0xD7 and following != 0xFF:
            return position
        position += 1
    return len(data)


def _png_outside_image_data(data: Buffer) -> Iterator[bytes]:
    """A PNG's chunks but the compressed pixels (IDAT), and whatever follows its end (IEND)."""
    position = len(PNG_SIGNATURE)
    while position + 8 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        chunk_type = data[position + 4 : position + 8]
        chunk_end = position + 12 + length
        if chunk_type != b"IDAT":
            yield from _in_chunks(data[position:chunk_end])
        position = chunk_end
        if chunk_type == b"IEND":
            yield from _in_chunks(data, position)
            return
    yield from _in_chunks(data)


def _chunks(path: Path, kind: str) -> Iterator[bytes]:
    size = path.stat().st_size
    if size == 0:
        return
    with path.open("rb") as stream:
        if kind == "video" and size > 2 * VIDEO_SCAN_ENDS:
            yield stream.read(VIDEO_SCAN_ENDS)
            stream.seek(size - VIDEO_SCAN_ENDS)
            yield stream.read(VIDEO_SCAN_ENDS)
            return
        # Mapped, not read: a photo may be hundreds of megabytes, and the walks below touch little of it.
        with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if data[:3] == b"\xff\xd8\xff":
                yield from _jpeg_outside_compressed_data(data)
            elif data[: len(PNG_SIGNATURE)] == PNG_SIGNATURE:
                yield from _png_outside_image_data(data)
            else:
                yield from _in_chunks(data)


def reject_embedded_markup(path: Path, kind: str) -> None:
    for chunk in _chunks(path, kind):
        lowered = chunk.lower()
        if any(marker in lowered for marker in MARKUP_MARKERS):
            raise MediaRejected(
                "This file hides web-page code (HTML or script) inside the media; upload the plain photo or video."
            )
