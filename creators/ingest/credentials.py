"""Content credentials (C2PA) an upload carries, photo or video: whether it has a manifest, who made it, whether
it validates, and whether any manifest in it declares the media AI-made.

Reading never reaches the network, and c2pa is asked only when the file holds a manifest store at all: a
JUMBF box anywhere in a photo, or the C2PA `uuid` box at the top level of an MP4 or QuickTime file (found
by walking the top-level box headers, so a video of gigabytes costs a few reads).
"""

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import c2pa

# Capped so that a hostile metadata block cannot fill the database.
MAX_TEXT_CHARS = 2000
SCAN_CHUNK_BYTES = 1024 * 1024
MAX_TOP_LEVEL_BOXES = 1000  # a real MP4 has a handful (ftyp, moov, mdat, ...)
# The extended type of the `uuid` box C2PA embeds in ISO base media files (C2PA 2.x, "Embedding in BMFF").
C2PA_BMFF_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
# IPTC digital source types saying a trained model made the picture, or part of it.
AI_SOURCE_TYPES = {"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia"}


@dataclass(frozen=True)
class ContentCredentials:
    has_manifest: bool
    claim_generator: str | None
    validation_state: str | None  # c2pa's verdict on the manifest: Invalid, Valid or Trusted
    ai_generated: bool  # declared by a C2PA action or by the XMP digital source type


NO_CREDENTIALS = ContentCredentials(
    has_manifest=False, claim_generator=None, validation_state=None, ai_generated=False
)


def clean_text(value: object) -> str | None:
    """A metadata value as text: decoded, without NUL bytes, trimmed and capped; None when empty."""
    if isinstance(value, bytes):
        try:
            text = value.decode()
        except UnicodeDecodeError:  # IPTC-IIM and old EXIF are often Latin-1
            text = value.decode("latin-1")
    elif isinstance(value, str):
        text = value
    else:
        return None
    return text.replace("\x00", "").strip()[:MAX_TEXT_CHARS] or None


def is_ai_source_type(value: object) -> bool:
    return isinstance(value, str) and value.rstrip("/").rsplit("/", 1)[-1] in AI_SOURCE_TYPES


def read_content_credentials(path: Path, mime: str, *, scan_first: bool) -> ContentCredentials:
    """A summary of the file's C2PA manifest store; whatever c2pa cannot read counts as no manifest."""
    # An embedded manifest store is a JUMBF box in every container: without that box type, c2pa is not asked.
    if scan_first and not _file_contains(path, b"jumb"):
        return NO_CREDENTIALS
    return _read(path, mime)


def read_video_content_credentials(path: Path, mime: str) -> ContentCredentials:
    """The same for an MP4 or QuickTime video; WebM (Matroska) has no C2PA binding, so none is read."""
    if mime not in ("video/mp4", "video/quicktime") or not _bmff_has_c2pa_box(path):
        return NO_CREDENTIALS
    return _read(path, mime)


@functools.cache
def _c2pa_context() -> c2pa.Context:
    # Reading must never reach the network: no remote manifest, no OCSP request.
    return c2pa.Context.from_dict({"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}})


def _read(path: Path, mime: str) -> ContentCredentials:
    try:
        with path.open("rb") as stream:
            reader = c2pa.Reader.try_create(mime, stream, context=_c2pa_context())
            if reader is None:
                return NO_CREDENTIALS
            with reader:
                store = json.loads(reader.json())
                validation_state = reader.get_validation_state()
        return _summarise_manifest_store(store, validation_state)
    except Exception:  # c2pa errors, and manifest stores too odd to summarise
        return NO_CREDENTIALS


def _file_contains(path: Path, needle: bytes) -> bool:
    overlap = b""
    with path.open("rb") as stream:
        while chunk := stream.read(SCAN_CHUNK_BYTES):
            if needle in chunk or needle in overlap + chunk[: len(needle) - 1]:
                return True
            overlap = chunk[-(len(needle) - 1) :]
    return False


def _bmff_has_c2pa_box(path: Path) -> bool:
    """Whether a top-level box of the ISO base media file is C2PA's `uuid` box; False for a file too odd to walk."""
    size = path.stat().st_size
    with path.open("rb") as stream:
        position = 0
        for _ in range(MAX_TOP_LEVEL_BOXES):
            if position + 8 > size:
                return False
            stream.seek(position)
            header = stream.read(32)
            length, kind = int.from_bytes(header[:4], "big"), header[4:8]
            offset = 8
            if length == 1:  # a 64-bit size follows the type
                length, offset = int.from_bytes(header[8:16], "big"), 16
            elif length == 0:  # the box runs to the end of the file
                length = size - position
            if length < offset:
                return False
            if kind == b"uuid" and header[offset : offset + 16] == C2PA_BMFF_UUID:
                return True
            position += length
    return False


def _summarise_manifest_store(store: dict[str, Any], validation_state: str | None) -> ContentCredentials:
    manifests = store.get("manifests")
    if not isinstance(manifests, dict) or not manifests:
        return NO_CREDENTIALS
    active = manifests.get(store.get("active_manifest")) or {}
    return ContentCredentials(
        has_manifest=True,
        claim_generator=_claim_generator(active),
        validation_state=clean_text(validation_state),
        # Any manifest counts: an AI-made ingredient stays AI-made in whatever was composed from it.
        ai_generated=any(_declares_ai(manifest) for manifest in manifests.values()),
    )


def _claim_generator(manifest: dict[str, Any]) -> str | None:
    if isinstance(generator := manifest.get("claim_generator"), str):
        return clean_text(generator)
    info = manifest.get("claim_generator_info")
    if isinstance(info, list) and info and isinstance(info[0], dict):
        return clean_text(" ".join(str(info[0][key]) for key in ("name", "version") if info[0].get(key)))
    return None


def _declares_ai(manifest: object) -> bool:
    assertions = manifest.get("assertions") if isinstance(manifest, dict) else None
    for assertion in assertions if isinstance(assertions, list) else []:
        if not isinstance(assertion, dict) or not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        data = assertion.get("data")
        actions = data.get("actions") if isinstance(data, dict) else None
        for action in actions if isinstance(actions, list) else []:
            if isinstance(action, dict) and is_ai_source_type(action.get("digitalSourceType")):
                return True
    return False
