"""Which prober a file goes to, decided from its first bytes; never from its name or a client's Content-Type.

This only routes: images.probe_image and video.probe_video give the verdict. Files of a kind we do not
accept are named in the refusal, so a creator learns what they sent.
"""

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


def _chunks(path: Path, kind: str) -> Iterator[bytes]:
    size = path.stat().st_size
    with path.open("rb") as stream:
        if kind == "video" and size > 2 * VIDEO_SCAN_ENDS:
            yield stream.read(VIDEO_SCAN_ENDS)
            stream.seek(size - VIDEO_SCAN_ENDS)
            yield stream.read(VIDEO_SCAN_ENDS)
            return
        overlap = b""
        while chunk := stream.read(SCAN_CHUNK):
            # Carry the end of the previous chunk over so a marker split across two reads is still seen.
            yield overlap + chunk
            overlap = chunk[-32:]


def reject_embedded_markup(path: Path, kind: str) -> None:
    for chunk in _chunks(path, kind):
        lowered = chunk.lower()
        if any(marker in lowered for marker in MARKUP_MARKERS):
            raise MediaRejected(
                "This file hides web-page code (HTML or script) inside the media; upload the plain photo or video."
            )
