"""Which prober a file goes to, decided from its first bytes; never from its name or a client's Content-Type.

This only routes: images.probe_image and video.probe_video give the verdict. Files of a kind we do not
accept are named in the refusal, so a creator learns what they sent.
"""

import mmap
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from . import jpeg
from .jpeg import Buffer
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
MARKUP_MARKERS = ("<script", "<html", "<iframe", "<body", "<svg", "javascript:", "<!doctype html")
# Browsers read a page in UTF-16 or UTF-32 as readily as in UTF-8, so the markers are looked for in each. Only
# the exact byte forms count (the zeros between the letters too), so noise cannot mimic them more easily.
WIDE_ENCODINGS = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
MARKER_BYTES = tuple(
    marker.encode(encoding) for marker in MARKUP_MARKERS for encoding in ("ascii", *WIDE_ENCODINGS)
)
# An event-handler attribute in a tag (`<img src=x onerror=...>`) runs script without any marker above. The tag
# must be printable text up to the attribute, which random bytes practically never are.
EVENT_HANDLER = re.compile(
    r"<[a-z][a-z0-9:-]*\s[\t\n\r\x20-\x3b=?-~]{0,1000}?[\s/\"']on[a-z]+\s*=", re.IGNORECASE
)
EVENT_HANDLER_BYTES = re.compile(EVENT_HANDLER.pattern.encode(), re.IGNORECASE)
SCAN_CHUNK = 4 * 1024 * 1024
# Videos are scanned at both ends only: polyglot payloads sit where parsers look first or last.
VIDEO_SCAN_ENDS = 2 * 1024 * 1024
MARKER_OVERLAP = (
    2048  # longer than any marker or event-handler tag, so one split across two reads is still seen
)
# Text chunks a PNG may compress; read inflated, but never past this, so a chunk cannot become a bomb here.
PNG_COMPRESSED_TEXT = frozenset({b"zTXt", b"iTXt"})
PNG_TEXT = frozenset({b"tEXt", b"eXIf", *PNG_COMPRESSED_TEXT})
MAX_INFLATED_TEXT = 1024 * 1024

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class _Stretch:
    """Bytes to look through; `text` where a format keeps words (comments, metadata), which may be in any of
    the wide encodings and are also read for event handlers written in them."""

    data: bytes
    text: bool = False


def _in_chunks(data: Buffer, start: int = 0, end: int | None = None) -> Iterator[_Stretch]:
    """`data[start:end]`, a chunk at a time, each overlapping the previous one's end."""
    end = len(data) if end is None else end
    position = start
    while position < end:
        yield _Stretch(data[max(start, position - MARKER_OVERLAP) : min(end, position + SCAN_CHUNK)])
        position += SCAN_CHUNK


def _jpeg_outside_compressed_data(data: Buffer) -> Iterator[_Stretch]:
    """A JPEG's segments (metadata, comments, tables), the bytes between them and whatever follows its end,
    without the compressed image data: those bytes are noise in which four letters like "<svg" turn up by
    chance in a few percent of large photos. A file cut short is scanned whole."""
    for part in jpeg.parts(data):
        if part.kind == "segment":
            is_text = part.marker == jpeg.COMMENT or 0xE0 <= (part.marker or 0) <= 0xEF
            yield _Stretch(data[part.start : part.end], text=is_text)
        elif part.kind in ("junk", "after"):
            yield from _in_chunks(data, part.start, part.end)
        elif part.kind == "cut":
            yield from _in_chunks(data)


def _png_outside_image_data(data: Buffer) -> Iterator[_Stretch]:
    """A PNG's chunks but the compressed pixels (IDAT), and whatever follows its end (IEND)."""
    position = len(PNG_SIGNATURE)
    while position + 8 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        chunk_type = data[position + 4 : position + 8]
        chunk_end = position + 12 + length
        if chunk_type in PNG_TEXT:
            yield _Stretch(data[position:chunk_end], text=True)
            if chunk_type in PNG_COMPRESSED_TEXT:
                yield _Stretch(_inflated_text(chunk_type, data[position + 8 : chunk_end - 4]), text=True)
        elif chunk_type != b"IDAT":
            yield from _in_chunks(data, position, min(chunk_end, len(data)))
        position = chunk_end
        if chunk_type == b"IEND":
            yield from _in_chunks(data, position)
            return
    yield from _in_chunks(data)


def _inflated_text(chunk_type: bytes, body: bytes) -> bytes:
    """The text of a zTXt or a compressed iTXt chunk, at most MAX_INFLATED_TEXT bytes of it."""
    keyword_end = body.find(b"\x00")
    if keyword_end == -1:
        return b""
    if chunk_type == b"zTXt":
        compressed = body[keyword_end + 2 :]
    else:
        # iTXt: keyword, NUL, compression flag, method, language tag, NUL, translated keyword, NUL, text.
        if body[keyword_end + 1 : keyword_end + 2] != b"\x01":
            return b""
        language_end = body.find(b"\x00", keyword_end + 3)
        translated_end = body.find(b"\x00", language_end + 1) if language_end != -1 else -1
        if translated_end == -1:
            return b""
        compressed = body[translated_end + 1 :]
    try:
        return zlib.decompressobj().decompress(compressed, MAX_INFLATED_TEXT)
    except zlib.error:
        return b""


def _stretches(path: Path, kind: str) -> Iterator[_Stretch]:
    size = path.stat().st_size
    if size == 0:
        return
    with path.open("rb") as stream:
        if kind == "video" and size > 2 * VIDEO_SCAN_ENDS:
            yield _Stretch(stream.read(VIDEO_SCAN_ENDS))
            stream.seek(size - VIDEO_SCAN_ENDS)
            yield _Stretch(stream.read(VIDEO_SCAN_ENDS))
            return
        # Mapped, not read: a photo may be hundreds of megabytes, and the walks below touch little of it.
        with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if data[:3] == b"\xff\xd8\xff":
                yield from _jpeg_outside_compressed_data(data)
            elif data[: len(PNG_SIGNATURE)] == PNG_SIGNATURE:
                yield from _png_outside_image_data(data)
            else:
                yield from _in_chunks(data)


def _holds_markup(stretch: _Stretch) -> bool:
    lowered = stretch.data.lower()
    if any(marker in lowered for marker in MARKER_BYTES) or EVENT_HANDLER_BYTES.search(stretch.data):
        return True
    if not stretch.text:
        return False
    # Wide text may start at any byte: each alignment is read as a string, where only code units that are
    # ASCII characters can spell a tag.
    return any(
        EVENT_HANDLER.search(stretch.data[offset:].decode(encoding, errors="ignore"))
        for encoding in WIDE_ENCODINGS
        for offset in range(2 if "16" in encoding else 4)
    )


def reject_embedded_markup(path: Path, kind: str) -> None:
    if any(_holds_markup(stretch) for stretch in _stretches(path, kind)):
        raise MediaRejected(
            "This file hides web-page code (HTML or script) inside the media; upload the plain photo or video."
        )
