"""One pass over a still image: probe, metadata, perceptual hash, quality, people and derivatives.

A picture is decoded once, at the scale the people detector needs to find the smallest face it counts (a
JPEG through libjpeg's DCT scaling, `Image.draft`, when that scale allows; see people.search_scale). People
are looked for in that decode; it is then reduced once, and everything else that needs pixels works from the
reduced copy: the perceptual hash, the quality signals and both derivatives. Hashing the file and reading its
C2PA manifest need only the file, so they run beside the decode.
"""

import functools
import io
import math
import mmap
import multiprocessing
import re
import resource
import warnings
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np
import pillow_heif
from PIL import ExifTags, Image, ImageCms, ImageDraw, ImageFont, ImageMode, IptcImagePlugin

from core.hashing import sha256_file
from creators.ingest import jpeg
from creators.ingest.credentials import (
    NO_CREDENTIALS,
    ContentCredentials,
    clean_text,
    is_ai_source_type,
    read_content_credentials,
)
from creators.ingest.hashing import phash
from creators.ingest.limits import IMAGE_FORMATS, MediaLimits, MediaRejected, describe_size
from creators.ingest.people import find_people, search_scale

# Every plugin is loaded once, before any upload is probed. Left to itself Pillow loads most of them only after
# the first few formats failed to read a file, and the lookups below (Image.OPEN) would not find them.
Image.init()
# Only a HEIF's primary picture is ingested: its thumbnails, depth maps and auxiliary images are never read.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

ACCEPTED_FORMATS = list(IMAGE_FORMATS)
FORMAT_NAMES = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "HEIF": "HEIC", "TIFF": "TIFF"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "HEIF": "heic", "TIFF": "tif"}
NOT_ACCEPTED_MESSAGE = (
    "This file is not an image or video we accept (JPEG, PNG, WebP, HEIC, TIFF, MP4, MOV, WebM)."
)
ACCEPTED_IMAGES_HINT = "upload JPEG, PNG, WebP, HEIC or TIFF"

# Image formats people do upload but the site does not take, recognised by their first bytes so the refusal
# can name them. They are never handed to a decoder: only the five accepted parsers read an upload.
REFUSED_SIGNATURES = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"8BPS", "Photoshop (PSD)"),
    (b"SIMPLE  =", "FITS"),
    (b"\x00\x00\x01\x00", "Windows icon (ICO)"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"),
)
REFUSED_ISO_BRANDS = {b"avif": "AVIF", b"avis": "AVIF"}

# Pages and frames counted against the decode budget before the file is refused for holding too many: reading
# each one's header costs time too. Cameras store two or three (MPO previews), document scanners a few more.
MAX_FRAMES = 64
# Formats other than JPEG are decoded in a child process whose address space is capped at what it held before,
# twice the decode budget and this much room (the file a decoder reads whole, the stacks and allocator arenas
# of the threads it starts), and which is stopped after DECODE_SECONDS: a decoder needing more than the budget
# promised fails there, never in the worker.
DECODE_HEADROOM_BYTES = 512 * 1024 * 1024
DECODE_SECONDS = 120

# Every pixel measurement is taken at this size (long side, in pixels) whatever the source resolution, so
# blur and exposure compare across cameras. A 12 MP picture reduced by 8 (500 px) still covers it.
ANALYSIS_LONG_SIDE = 480
THUMBNAIL_LONG_SIDE = 320
PREVIEW_LONG_SIDE = 640
DERIVATIVE_JPEG_QUALITY = 82
WATERMARK_ANGLE_DEGREES = 30
WATERMARK_FILL = (255, 255, 255, 88)
WATERMARK_OUTLINE = (0, 0, 0, 56)

CLIPPED_DARK_MAX = 2  # grey levels at or below this count as crushed shadows
CLIPPED_BRIGHT_MIN = 253  # at or above this, as blown highlights
# Upper bounds in megapixels, exclusive, checked in order.
RESOLUTION_CLASSES = (("low", 2.0), ("hd", 8.0), ("high", 20.0), ("very_high", math.inf))

# A tenth of a degree is about 11 km: the city, never the street or the home.
GPS_DECIMALS = 1
MAX_KEYWORDS = 100
MAX_XMP_BYTES = 1024 * 1024
MAX_TOP_LEVEL_BOXES = 1000  # a real HEIF has a handful (ftyp, meta, mdat, ...)

RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
DC = "{http://purl.org/dc/elements/1.1/}"
PLUS = "{http://ns.useplus.org/ldf/xmp/1.0/}"
IPTC_EXT = "{http://iptc.org/std/Iptc4xmpExt/2008-02-29/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# IPTC-IIM datasets (record 2), read when a file predates XMP.
IIM_KEYWORDS, IIM_CREATOR, IIM_COPYRIGHT, IIM_CAPTION = (2, 25), (2, 80), (2, 116), (2, 120)

# What EXIF orientations 2..8 ask for to show the picture upright.
UPRIGHT_TRANSPOSES = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}
SRGB_PROFILE = ImageCms.createProfile("sRGB")

T = TypeVar("T")


@dataclass(frozen=True)
class ImageProbe:
    """What an accepted image is, read from its content; width and height as displayed (EXIF orientation)."""

    format: str
    mime: str
    extension: str
    width: int
    height: int


@dataclass(frozen=True)
class CameraMetadata:
    make: str | None
    model: str | None
    lens: str | None
    exposure_time_s: float | None
    f_number: float | None
    iso: int | None
    focal_length_mm: float | None
    captured_at: str | None  # ISO-8601, naive when the camera recorded no offset
    software: str | None


@dataclass(frozen=True)
class DescriptiveMetadata:
    """The creator's words and rights statements: from XMP, else IPTC-IIM, else EXIF."""

    keywords: tuple[str, ...]
    caption: str | None
    creator: str | None
    copyright: str | None
    data_mining: str | None  # PLUS, e.g. "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED"
    digital_source_type: str | None  # IPTC, from XMP


@dataclass(frozen=True)
class Quality:
    blur: float  # variance of the Laplacian at ANALYSIS_LONG_SIDE: the lower, the blurrier
    mean_luminance: float  # 0..1
    clipped_dark: float  # fraction of pixels
    clipped_bright: float  # fraction of pixels
    resolution_class: str  # a name from RESOLUTION_CLASSES


@dataclass(frozen=True)
class Derivative:
    path: str
    width: int
    height: int
    byte_size: int


@dataclass(frozen=True)
class ImageIngest:
    """Everything ingest learned about an image; plain values, ready for a JSONField (dataclasses.asdict)."""

    sha256: str
    format: str
    mime: str
    extension: str
    width: int  # full size, as displayed
    height: int
    megapixels: float
    orientation: int  # the EXIF orientation, 1..8
    color_space: str
    camera: CameraMetadata
    descriptive: DescriptiveMetadata
    coarse_location: tuple[float, float] | None  # (latitude, longitude) to GPS_DECIMALS, never the exact spot
    content_credentials: ContentCredentials
    phash: int  # unsigned 64-bit; hashing.phash_to_signed gives a BIGINT column's value
    quality: Quality
    faces: int
    people: int  # bodies, seen from any side
    thumbnail: Derivative
    preview: Derivative


def probe_image(path: Path, limits: MediaLimits) -> ImageProbe:
    """Decide from the content whether the file is a still image we accept; MediaRejected says why not.

    Only headers and the file's structure are read: this runs in the request that uploads the file, where no
    pixel is ever decoded. Damage deeper in the compressed data is found by ingest, which rejects the asset.
    """
    with _open_accepted(path, limits) as (image, probe, _):
        if probe.format == "PNG":
            # Checks every chunk's CRC through to IEND, without inflating the pixels.
            _refuse_if_damaged(image.verify, probe)
    return probe


def ingest_image(
    path: Path,
    derivatives_dir: Path,
    *,
    limits: MediaLimits,
    watermark_text: str = "Datamarket preview",
) -> ImageIngest:
    """Probe, describe, hash and assess an image and write its derivatives, from one decode.

    derivatives_dir is the caller's own scratch directory: nothing else reads it while this runs.
    """
    with ThreadPoolExecutor(max_workers=2) as background:
        with (
            _open_accepted(path, limits) as (image, probe, exif),
            _reduced_decode(
                path, image, probe, max(_people_long_side(probe), ANALYSIS_LONG_SIDE), limits
            ) as decode,
        ):
            # Started once the header is accepted, so that a refusal does not wait for a whole file to be read.
            sha256 = background.submit(sha256_file, path)
            credentials = _start_reading_content_credentials(background, image, path, probe)
            orientation = _orientation(image, exif)
            icc_profile = image.info.get("icc_profile")
            color_space = _color_space(icc_profile, exif, image.mode)
            camera = _camera_metadata(exif)
            descriptive = _descriptive_metadata(image, exif)
            coarse_location = _coarse_location(exif)
            decoded = decode()

        # libheif has already turned a HEIF upright.
        large = _reducible(_upright(decoded, 1 if probe.format == "HEIF" else orientation))
        # People are looked for in the large decode, colours as decoded; everything else works from a reduced
        # copy, as small as a reduced decode would have been.
        people_grey = _resized(np.asarray(large.convert("L")), _people_long_side(probe))
        # Finding people is the slowest step of all: it starts first and runs beside the rest.
        found_people = background.submit(find_people, people_grey)
        upright = large.reduce(max(1, max(large.size) // ANALYSIS_LONG_SIDE))
        rgb = np.asarray(_to_srgb(_flatten(upright), icc_profile))
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        analysis = _resized(grey, ANALYSIS_LONG_SIDE)
        # Hashed before colour management, so that it matches the hash of a plain full decode.
        picture_hash = phash(upright)
        quality = _quality(analysis, probe.width * probe.height)

        # Derivatives are made from bare pixel arrays: none of the source's metadata can travel into them.
        digest = sha256.result()
        derivatives_dir.mkdir(parents=True, exist_ok=True)
        thumbnail = _save_derivative(
            _fit(rgb, THUMBNAIL_LONG_SIDE), derivatives_dir / f"{digest}-thumbnail.jpg"
        )
        preview = _fit(rgb, PREVIEW_LONG_SIDE)
        mark, mark_mask = watermark_layer(preview.size, watermark_text)
        preview_derivative = _save_derivative(
            Image.composite(mark, preview, mark_mask), derivatives_dir / f"{digest}-preview.jpg"
        )
        manifest = credentials.result() if credentials else NO_CREDENTIALS
        people = found_people.result()

    return ImageIngest(
        sha256=digest,
        format=probe.format,
        mime=probe.mime,
        extension=probe.extension,
        width=probe.width,
        height=probe.height,
        megapixels=round(probe.width * probe.height / 1_000_000, 2),
        orientation=orientation,
        color_space=color_space,
        camera=camera,
        descriptive=descriptive,
        coarse_location=coarse_location,
        content_credentials=ContentCredentials(
            has_manifest=manifest.has_manifest,
            claim_generator=manifest.claim_generator,
            validation_state=manifest.validation_state,
            ai_generated=manifest.ai_generated or is_ai_source_type(descriptive.digital_source_type),
        ),
        phash=picture_hash,
        quality=quality,
        faces=len(people.faces),
        people=len(people.bodies),
        thumbnail=thumbnail,
        preview=preview_derivative,
    )


def _people_long_side(probe: ImageProbe) -> int:
    return max(1, round(max(probe.width, probe.height) * search_scale(probe.width, probe.height)))


# --- What the file is, and whether we take it ---------------------------------------------------------


@contextmanager
def _open_accepted(path: Path, limits: MediaLimits) -> Iterator[tuple[Image.Image, ImageProbe, Image.Exif]]:
    """Open the file with the accepted parsers only, and refuse it before any pixel is decoded."""
    size = path.stat().st_size
    if size == 0:
        raise MediaRejected("This file is empty.")
    if size > limits.max_image_bytes:
        most = describe_size(limits.max_image_bytes)
        raise MediaRejected(f"This image is {describe_size(size)}; the most we accept is {most}.")
    # Pillow's decompression-bomb guard is process-wide; it follows the limits (see MediaLimits). A pixel takes
    # a byte at least, so no picture with more pixels than the budget has bytes fits it.
    Image.MAX_IMAGE_PIXELS = min(limits.max_image_pixels, limits.decode_budget_bytes)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; the check below refuses those with their size.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path, formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError as error:
        _refuse_if_too_large(_declared_picture(path), limits)
        raise MediaRejected(_too_many_pixels(None, limits)) from error
    # Unidentified, or a parser tripping over hostile bytes: either way a refusal, never a crash.
    except Exception as error:
        raise MediaRejected(_not_accepted_message(path)) from error
    with image:
        _refuse_if_too_large(image, limits)
        # A multi-picture JPEG (MPO: stereo pairs, camera previews) is a JPEG: its first picture is the photo.
        image_format = "JPEG" if image.format == "MPO" else str(image.format)
        if image_format in ("PNG", "WEBP") and getattr(image, "is_animated", False):
            raise MediaRejected(f"This {FORMAT_NAMES[image_format]} is animated; upload a still image.")
        if image_format == "HEIF" and _box_runs_past_the_end(path):
            raise MediaRejected("This HEIC is truncated or damaged.")
        if _cut_short(image, image_format, path):
            raise MediaRejected(_cut_short_message(FORMAT_NAMES[image_format]))
        coefficients = _jpeg_coefficient_bytes(path) if image_format == "JPEG" else 0
        _refuse_if_over_budget(image, image_format, coefficients, limits)
        exif = _exif_without_decoding(image)
        width, height = image.size
        if image_format != "HEIF" and _orientation(image, exif) in (5, 6, 7, 8):
            width, height = height, width
        probe = ImageProbe(
            format=image_format,
            mime=IMAGE_FORMATS[image_format],
            extension=EXTENSIONS[image_format],
            width=width,
            height=height,
        )
        yield image, probe, exif


def _refuse_if_too_large(picture: Image.Image | None, limits: MediaLimits) -> None:
    """Refuse a picture (one frame) over the pixel limit or the decode budget, from its header."""
    if picture is None:
        return
    if picture.width * picture.height > limits.max_image_pixels:
        raise MediaRejected(_too_many_pixels(picture.size, limits))
    if not picture.width or not picture.height:
        raise MediaRejected(f"This {FORMAT_NAMES.get(str(picture.format), 'image')} is truncated or damaged.")
    _refuse_if_over(_decoded_bytes(picture), limits)


def _decoded_bytes(picture: Image.Image) -> int:
    """The memory Pillow takes for this frame decoded: a byte or more a sample, four for 8-bit multi-band
    pixels (it keeps RGB as RGBX)."""
    try:
        description = ImageMode.getmode(picture.mode)
    except KeyError:  # a mode this Pillow does not describe: counted as the widest there is
        return picture.width * picture.height * 16
    sample_bytes = int(description.typestr[-1])
    bands = len(description.bands)
    pixel_bytes = 4 if bands in (2, 3) and sample_bytes == 1 else bands * sample_bytes
    return picture.width * picture.height * pixel_bytes


def _refuse_if_over(decoded: int, limits: MediaLimits) -> None:
    if decoded > limits.decode_budget_bytes:
        raise MediaRejected(
            f"This picture would take {describe_size(decoded)} to decode; "
            f"the limit is {describe_size(limits.decode_budget_bytes)}."
        )


def _refuse_if_over_budget(image: Image.Image, image_format: str, extra: int, limits: MediaLimits) -> None:
    """Refuse the file when all its frames (pages, MPO pictures, HEIF images) together, decoded, plus `extra`,
    would take more than the budget; only headers are read."""
    total, index = extra, 0
    try:
        while True:
            _refuse_if_too_large(image, limits)
            total += _decoded_bytes(image)
            _refuse_if_over(total, limits)
            try:
                image.seek(index + 1)
            except EOFError:  # Pillow's answer past the last frame: every frame is counted
                return
            index += 1
            if index == MAX_FRAMES:
                raise MediaRejected(
                    f"This {FORMAT_NAMES[image_format]} holds more than {MAX_FRAMES} pictures; upload one photo."
                )
    except MediaRejected:
        raise
    except Exception as error:  # a later frame's header a parser trips over
        raise MediaRejected(f"This {FORMAT_NAMES[image_format]} is truncated or damaged.") from error
    finally:
        if index:
            image.seek(0)


def _jpeg_coefficient_bytes(path: Path) -> int:
    """What libjpeg holds besides the pixels: a progressive JPEG (or one whose components come in separate
    scans) keeps every DCT coefficient of the picture, two bytes each, whatever scale it is decoded at.

    Also refuses a JPEG that ends before its picture does, and one whose compressed data is too small for the
    picture its header declares: every block of coefficients takes a bit at least, and libjpeg fills a
    picture whose data runs out with grey, which would then be taken at its declared size.
    """
    with path.open("rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
        frame = jpeg.first_frame(data)
    if frame is None:
        raise MediaRejected("This JPEG is truncated or damaged.")
    if not frame.complete:
        raise MediaRejected(_cut_short_message("JPEG"))
    if frame.arithmetic:
        # Arithmetic coding can squeeze a picture of any size into a few bytes, so the data cannot vouch for the
        # size; no camera writes it, and no browser shows it.
        raise MediaRejected(
            "This JPEG uses arithmetic coding, which we do not accept; save it as a standard JPEG."
        )
    if frame.scan_bytes * 8 < frame.blocks():
        raise MediaRejected(
            f"This JPEG declares {frame.width} × {frame.height} pixels but holds the data of a far smaller "  # noqa: RUF001
            "picture; the file is damaged."
        )
    if frame.progressive or frame.multiple_scans:
        return frame.blocks() * 64 * 2
    return 0


def _cut_short_message(name: str) -> str:
    return f"This {name} is damaged: the file is cut short. Upload the whole file."


def _cut_short(image: Image.Image, image_format: str, path: Path) -> bool:
    """Whether the file ends before the data its headers point to (a JPEG's end is found with its frame)."""
    size = path.stat().st_size
    if image_format == "WEBP":
        with path.open("rb") as stream:
            return int.from_bytes(stream.read(8)[4:8], "little") + 8 > size
    if image_format == "TIFF":
        tags = getattr(image, "tag_v2", {})
        offsets, counts = tags.get(324) or tags.get(273), tags.get(325) or tags.get(279)
        if offsets is None or counts is None:
            return False
        offsets = offsets if isinstance(offsets, tuple) else (offsets,)
        counts = counts if isinstance(counts, tuple) else (counts,)
        return any(offset + count > size for offset, count in zip(offsets, counts, strict=False))
    return False


def _too_many_pixels(size: tuple[int, int] | None, limits: MediaLimits) -> str:
    most = f"{limits.max_image_pixels / 1_000_000:g} megapixels"
    if size is None:
        return f"This image has more pixels than the {most} we accept."
    return f"This image is {size[0]} × {size[1]} pixels; the most we accept is {most}."  # noqa: RUF001


def _declared_picture(path: Path) -> Image.Image | None:
    """The picture a header declares, read past Pillow's guard to name its size in the refusal; nothing is
    decoded."""
    with path.open("rb") as stream:
        for image_format in _formats_claimed_by(stream.read(16)):
            stream.seek(0)
            try:
                return Image.OPEN[image_format][0](stream, "")
            except Exception:  # noqa: S112 - another parser may still read it
                continue
    return None


def _not_accepted_message(path: Path) -> str:
    with path.open("rb") as stream:
        head = stream.read(16)
    # It starts like a format we take but no parser could read it: most likely an upload cut short.
    if claimed := _formats_claimed_by(head):
        return f"This {FORMAT_NAMES[claimed[0]]} is truncated or damaged."
    for signature, name in REFUSED_SIGNATURES:
        if head.startswith(signature):
            return f"This file is a {name}; {ACCEPTED_IMAGES_HINT}."
    if head[4:8] == b"ftyp" and head[8:12] in REFUSED_ISO_BRANDS:
        return f"This file is an {REFUSED_ISO_BRANDS[head[8:12]]}; {ACCEPTED_IMAGES_HINT}."
    return NOT_ACCEPTED_MESSAGE


def _formats_claimed_by(head: bytes) -> list[str]:
    """The accepted formats whose signature the first bytes carry, by Pillow's own signature checks."""
    claimed = []
    for image_format in ACCEPTED_FORMATS:
        accept = Image.OPEN[image_format][1]
        try:
            if accept is not None and accept(head):
                claimed.append(image_format)
        except Exception:  # noqa: S112 - a signature check that trips says no
            continue
    return claimed


def _box_runs_past_the_end(path: Path) -> bool:
    """Whether a top-level ISO-BMFF box claims more bytes than the file holds.

    libheif decodes a HEIC cut short without complaint, filling the missing tiles with grey.
    """
    file_size = path.stat().st_size
    offset = 0
    with path.open("rb") as stream:
        for _ in range(MAX_TOP_LEVEL_BOXES):
            if offset >= file_size:
                return offset > file_size
            stream.seek(offset)
            header = stream.read(16)
            box_size = int.from_bytes(header[:4], "big")
            if box_size == 1:  # a 64-bit size follows the type
                box_size = int.from_bytes(header[8:16], "big") if len(header) == 16 else 0
            elif box_size == 0 and len(header) >= 8:  # the box runs to the end of the file
                return False
            if len(header) < 8 or box_size < 8:
                return True
            offset += box_size
    return True


def _refuse_if_damaged(decode: Callable[[], T], probe: ImageProbe) -> T:
    try:
        return decode()
    except MemoryError:
        raise
    except Exception as error:  # whatever a decoder raises on bad bytes, the file is unusable
        raise MediaRejected(f"This {FORMAT_NAMES[probe.format]} is truncated or damaged.") from error


def _decode_reduced(image: Image.Image, probe: ImageProbe, long_side: int) -> Image.Image:
    """Decode once, at the smallest size whose long side still covers long_side."""
    width, height = image.size
    if probe.format == "JPEG":
        # libjpeg scales by 1/8, 1/4 or 1/2 as it decodes: the smallest that still covers long_side.
        scale = next((s for s in (8, 4, 2) if max(width, height) // s >= long_side), 1)
        image.draft("RGB", (max(1, width // scale), max(1, height // scale)))
        _refuse_if_damaged(image.load, probe)
        return image
    _refuse_if_damaged(image.load, probe)
    factor = max(1, max(width, height) // long_side)
    # Reduced straight away, so that the full-size decode is dropped before any analysis.
    return _refuse_if_damaged(lambda: _reducible(image).reduce(factor), probe)


@contextmanager
def _reduced_decode(
    path: Path, image: Image.Image, probe: ImageProbe, long_side: int, limits: MediaLimits
) -> Iterator[Callable[[], Image.Image]]:
    """A call that gives the picture decoded once, reduced to cover long_side.

    A JPEG is decoded here, reduced as libjpeg decodes it, within what the budget counted. Any other format is
    decoded whole before it is reduced, in a child process with bounded memory and time started now (before
    the caller starts threads, so that it is forked from a single thread); its refusals come back as
    MediaRejected.
    """
    if probe.format == "JPEG":
        yield lambda: _decode_reduced(image, probe, long_side)
        return
    receiver, sender = multiprocessing.get_context("fork").Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(
        target=_decode_in_child, args=(path, probe, long_side, limits, sender), daemon=True
    )
    child.start()
    sender.close()

    def result() -> Image.Image:
        name = FORMAT_NAMES[probe.format]
        try:
            if not receiver.poll(DECODE_SECONDS):
                raise MediaRejected(f"This {name} takes too long to decode (over {DECODE_SECONDS} seconds).")
            outcome = receiver.recv()
        except EOFError:
            # The child ended without an answer: killed for its memory, or a decoder crashed on the bytes.
            outcome = MediaRejected(_over_memory_message(name, limits))
        if isinstance(outcome, MediaRejected):
            raise outcome
        return outcome

    try:
        yield result
    finally:
        receiver.close()
        child.kill()
        child.join()


def _decode_in_child(
    path: Path, probe: ImageProbe, long_side: int, limits: MediaLimits, sender: Connection
) -> None:
    try:
        _limit_address_space(limits)
        with Image.open(path, formats=[probe.format]) as image:
            outcome: Image.Image | MediaRejected = _decode_reduced(image, probe, long_side)
    except MemoryError:
        outcome = MediaRejected(_over_memory_message(FORMAT_NAMES[probe.format], limits))
    except MediaRejected as refusal:
        outcome = refusal
    except Exception:
        outcome = MediaRejected(f"This {FORMAT_NAMES[probe.format]} is truncated or damaged.")
    sender.send(outcome)
    sender.close()


def _limit_address_space(limits: MediaLimits) -> None:
    """Cap this process's address space at what it holds now plus room for the budgeted decode."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:  # no procfs (not Linux): the child still bounds the decode's time
        return
    held = int(re.search(r"^VmSize:\s+(\d+) kB", status, re.MULTILINE)[1]) * 1024  # type: ignore[index]
    cap = held + 2 * limits.decode_budget_bytes + DECODE_HEADROOM_BYTES
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))


def _over_memory_message(name: str, limits: MediaLimits) -> str:
    return (
        f"This {name} needs more memory to decode than its size promised; "
        f"the limit is {describe_size(limits.decode_budget_bytes)}."
    )


def _reducible(image: Image.Image) -> Image.Image:
    """The image in a mode that reduce() and the colour steps take: L, LA, RGB, RGBA or CMYK."""
    if image.mode in ("P", "PA"):
        return image.convert("RGBA")
    if image.mode == "1":
        return image.convert("L")
    if image.mode in SIXTEEN_BIT_MODES or image.mode in ("I", "F"):
        # Pillow's own conversion clips these at 255 instead of scaling them.
        values = np.asarray(image, dtype=np.float32)
        peak = 65535.0 if image.mode in SIXTEEN_BIT_MODES else max(float(values.max()), 1.0)
        return Image.fromarray(np.clip(values * (255.0 / peak), 0, 255).astype(np.uint8))
    if image.mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return image
    return image.convert("RGB")


# --- Metadata ------------------------------------------------------------------------------------------


def _exif_without_decoding(image: Image.Image) -> Image.Exif:
    """The EXIF read at open; Pillow's getexif() on a PNG decodes the whole image looking for a late one."""
    try:
        if image.format == "PNG":
            exif = Image.Exif()
            if raw := image.info.get("exif"):
                exif.load(raw)
            return exif
        return image.getexif()
    except Exception:  # a broken EXIF block costs its metadata, not the upload
        return Image.Exif()


def _ifd(exif: Image.Exif, ifd: ExifTags.IFD) -> dict[int, Any]:
    try:
        return dict(exif.get_ifd(ifd))
    except Exception:  # a broken sub-IFD costs its metadata, not the upload
        return {}


def _orientation(image: Image.Image, exif: Image.Exif) -> int:
    if image.format == "HEIF":
        value = image.info.get("original_orientation")
    else:
        value = exif.get(ExifTags.Base.Orientation)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _camera_metadata(exif: Image.Exif) -> CameraMetadata:
    # Some writers put Exif-IFD tags in IFD0: the Exif IFD wins where both have one.
    tags = {**dict(exif), **_ifd(exif, ExifTags.IFD.Exif)}
    iso = _positive_number(tags.get(ExifTags.Base.ISOSpeedRatings))
    exposure = _positive_number(tags.get(ExifTags.Base.ExposureTime))
    f_number = _positive_number(tags.get(ExifTags.Base.FNumber))
    focal_length = _positive_number(tags.get(ExifTags.Base.FocalLength))
    return CameraMetadata(
        make=clean_text(tags.get(ExifTags.Base.Make)),
        model=clean_text(tags.get(ExifTags.Base.Model)),
        lens=clean_text(tags.get(ExifTags.Base.LensModel)),
        exposure_time_s=round(exposure, 6) if exposure else None,
        f_number=round(f_number, 2) if f_number else None,
        iso=round(iso) if iso else None,
        focal_length_mm=round(focal_length, 2) if focal_length else None,
        captured_at=_capture_time(
            tags.get(ExifTags.Base.DateTimeOriginal), tags.get(ExifTags.Base.OffsetTimeOriginal)
        ),
        software=clean_text(tags.get(ExifTags.Base.Software)),
    )


def _capture_time(value: object, offset: object) -> str | None:
    text = clean_text(value)
    if text is None:
        return None
    try:
        moment = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:  # blank dates ("0000:00:00 00:00:00") and other junk
        return None
    if (offset_text := clean_text(offset)) and (match := re.fullmatch(r"([+-])(\d\d):(\d\d)", offset_text)):
        delta = timedelta(hours=int(match[2]), minutes=int(match[3]))
        if delta <= timedelta(hours=14):
            moment = moment.replace(tzinfo=timezone(-delta if match[1] == "-" else delta))
    return moment.isoformat()


def _coarse_location(exif: Image.Exif) -> tuple[float, float] | None:
    gps = _ifd(exif, ExifTags.IFD.GPSInfo)
    latitude = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S", 90)
    longitude = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W", 180)
    # 0, 0 is what a camera without a fix writes.
    if latitude is None or longitude is None or (latitude == 0 and longitude == 0):
        return None
    # Adding 0.0 turns a rounded -0.0 into 0.0.
    return round(latitude, GPS_DECIMALS) + 0.0, round(longitude, GPS_DECIMALS) + 0.0


def _degrees(value: object, reference: object, negative_reference: str, most: float) -> float | None:
    """Degrees from EXIF's (degrees, minutes, seconds) rationals, negative to the south or west."""
    parts: tuple[Any, ...] = value if isinstance(value, tuple) else (value,)
    try:
        degrees = sum(float(part) / 60**index for index, part in enumerate(parts[:3]))
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not math.isfinite(degrees) or abs(degrees) > most:
        return None
    reference_text = clean_text(reference)
    return -degrees if reference_text and reference_text.upper().startswith(negative_reference) else degrees


def _color_space(icc_profile: bytes | None, exif: Image.Exif, mode: str) -> str:
    if icc_profile and (description := _icc_description(icc_profile)):
        return description
    if _ifd(exif, ExifTags.IFD.Exif).get(ExifTags.Base.ColorSpace) == 1:
        return "sRGB"
    if clean_text(_ifd(exif, ExifTags.IFD.Interop).get(ExifTags.Base.InteropIndex)) == "R03":
        return "Adobe RGB"
    return mode


@functools.lru_cache(maxsize=32)
def _icc_description(icc_profile: bytes) -> str | None:
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return clean_text(ImageCms.getProfileDescription(profile))
    except Exception:  # an unreadable profile describes nothing
        return None


def _descriptive_metadata(image: Image.Image, exif: Image.Exif) -> DescriptiveMetadata:
    xmp = _xmp_properties(image.info.get("xmp"))
    iim = _iim_datasets(image)
    keywords = _clean_texts(xmp.get(DC + "subject") or iim.get(IIM_KEYWORDS) or [])
    creators = _clean_texts(
        xmp.get(DC + "creator") or iim.get(IIM_CREATOR) or [exif.get(ExifTags.Base.Artist)]
    )
    return DescriptiveMetadata(
        keywords=tuple(dict.fromkeys(keywords))[:MAX_KEYWORDS],
        caption=_first_text(xmp.get(DC + "description"), iim.get(IIM_CAPTION)),
        creator=clean_text(", ".join(creators)),
        copyright=_first_text(
            xmp.get(DC + "rights"), iim.get(IIM_COPYRIGHT), [exif.get(ExifTags.Base.Copyright)]
        ),
        data_mining=_first_text(xmp.get(PLUS + "DataMining")),
        digital_source_type=_first_text(xmp.get(IPTC_EXT + "DigitalSourceType")),
    )


def _xmp_properties(packet: object) -> dict[str, list[str]]:
    """Every XMP property, whether written as an attribute or an element, keyed by "{namespace}name"."""
    if isinstance(packet, str):
        packet = packet.encode()
    if not isinstance(packet, bytes) or not packet or len(packet) > MAX_XMP_BYTES:
        return {}
    # XMP never needs a DTD; without one no entity can expand, which is what makes ElementTree safe here.
    if b"<!doctype" in packet.lower():
        return {}
    try:
        root = ElementTree.fromstring(packet.strip(b"\x00 \t\r\n"))  # noqa: S314 - no DTD, see above
    except (ElementTree.ParseError, ValueError):
        return {}
    properties: dict[str, list[str]] = {}
    for description in root.iter(RDF + "Description"):
        for name, value in description.attrib.items():
            if not name.startswith(RDF):
                properties.setdefault(name, []).append(value)
        for element in description:
            properties.setdefault(element.tag, []).extend(_xmp_values(element))
    return properties


def _xmp_values(element: ElementTree.Element) -> list[str]:
    items = [item for container in element for item in container if item.tag == RDF + "li"]
    if items:
        # The default language of an rdf:Alt comes first.
        items.sort(key=lambda item: item.get(XML_LANG) != "x-default")
        return [item.text or "" for item in items]
    if resource := element.get(RDF + "resource"):
        return [resource]
    return [element.text or ""]


def _iim_datasets(image: Image.Image) -> dict[tuple[int, int], list[bytes]]:
    if image.format not in ("JPEG", "MPO", "TIFF"):
        return {}
    try:
        datasets = IptcImagePlugin.getiptcinfo(image) or {}  # type: ignore[arg-type]
    except Exception:  # a broken IPTC block costs its metadata, not the upload
        return {}
    return {key: value if isinstance(value, list) else [value] for key, value in datasets.items()}


def _first_text(*candidates: list[Any] | None) -> str | None:
    for candidate in candidates:
        if texts := _clean_texts(candidate or []):
            return texts[0]
    return None


def _clean_texts(values: list[Any]) -> list[str]:
    return [text for value in values if (text := clean_text(value))]


def _positive_number(value: object) -> float | None:
    if isinstance(value, tuple):
        value = value[0] if value else None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) and number > 0 else None


# --- Content credentials (C2PA) ------------------------------------------------------------------------


def _start_reading_content_credentials(
    background: ThreadPoolExecutor, image: Image.Image, path: Path, probe: ImageProbe
) -> Future[ContentCredentials] | None:
    if probe.format != "JPEG":
        return background.submit(read_content_credentials, path, probe.mime, scan_first=True)
    # In a JPEG, C2PA always travels in APP11 (JUMBF) segments: without one there is nothing to read.
    if any(marker == "APP11" for marker, _ in getattr(image, "applist", [])):
        return background.submit(read_content_credentials, path, probe.mime, scan_first=False)
    return None


# --- Pixels --------------------------------------------------------------------------------------------


def _upright(image: Image.Image, orientation: int) -> Image.Image:
    transpose = UPRIGHT_TRANSPOSES.get(orientation)
    return image.transpose(transpose) if transpose is not None else image


def _flatten(image: Image.Image) -> Image.Image:
    """Transparent pixels shown over white, as anything without transparency will show them."""
    if image.mode not in ("RGBA", "LA"):
        return image
    background = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """The picture in sRGB through its embedded profile, since no derivative carries a profile."""
    if icc_profile and image.mode in ("RGB", "CMYK", "L"):
        transform = _srgb_transform(icc_profile, image.mode)
        if transform is not None:
            try:
                return transform.apply(image)
            except Exception:  # noqa: S110 - a profile LittleCMS cannot apply leaves the pixels as they are
                pass
    return image if image.mode == "RGB" else image.convert("RGB")


@functools.lru_cache(maxsize=32)
def _srgb_transform(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """None when the profile is sRGB already, or unusable (the pixels are then taken as sRGB)."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if "srgb" in ImageCms.getProfileDescription(source).lower():
            return None
        return ImageCms.buildTransform(source, SRGB_PROFILE, mode, "RGB")
    except Exception:  # a broken profile
        return None


def _resized(grey: np.ndarray, long_side: int) -> np.ndarray:
    """The grey image scaled to this long side (enlarged too: measurements need a fixed scale)."""
    size, scale = _scaled(grey, long_side)
    # Shrinking takes area averaging (bilinear skips pixels, and aliasing would inflate the blur score),
    # except within a few percent of the source size, where both agree and bilinear is four times faster:
    # the usual step from a 12 MP JPEG's 1/8-scale decode (500 px) to ANALYSIS_LONG_SIDE.
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA if scale < 0.9 else cv2.INTER_LINEAR)


def _scaled(pixels: np.ndarray, long_side: int) -> tuple[tuple[int, int], float]:
    height, width = pixels.shape[:2]
    scale = long_side / max(width, height)
    return (max(1, round(width * scale)), max(1, round(height * scale))), scale


def _quality(grey: np.ndarray, pixel_count: int) -> Quality:
    _, deviation = cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_32F))
    histogram = np.bincount(grey.ravel(), minlength=256) / grey.size
    megapixels = pixel_count / 1_000_000
    return Quality(
        blur=round(float(deviation[0, 0]) ** 2, 2),
        mean_luminance=round(float(histogram @ np.arange(256)) / 255, 4),
        clipped_dark=round(float(histogram[: CLIPPED_DARK_MAX + 1].sum()), 4),
        clipped_bright=round(float(histogram[CLIPPED_BRIGHT_MIN:].sum()), 4),
        resolution_class=next(name for name, bound in RESOLUTION_CLASSES if megapixels < bound),
    )


# --- Derivatives ---------------------------------------------------------------------------------------


def _fit(rgb: np.ndarray, long_side: int) -> Image.Image:
    """A new image no longer than long_side; never enlarged."""
    size, scale = _scaled(rgb, long_side)
    if scale >= 1:
        return Image.fromarray(rgb)
    # Derivatives are looked at, not measured: down to half size bilinear looks as good as area averaging,
    # which is eight times slower at a non-integer factor.
    return Image.fromarray(
        cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 0.5 else cv2.INTER_LINEAR)
    )


@functools.lru_cache(maxsize=16)
def watermark_layer(size: tuple[int, int], text: str) -> tuple[Image.Image, Image.Image]:
    """The mark for a preview of this size: the text repeated along staggered diagonal rows, as an RGB layer
    and the mask that lays it over the picture (`Image.composite(mark, picture, mask)`). Video previews use
    it too. An empty text gives an empty mask."""
    width, height = size
    if not text.strip():
        return Image.new("RGB", size), Image.new("L", size)
    font = ImageFont.load_default(size=max(10, max(size) // 22))
    # A square as wide as the diagonal still covers the whole frame once rotated.
    side = math.isqrt(width * width + height * height) + 1
    layer = Image.new("RGBA", (side, side))
    draw = ImageDraw.Draw(layer)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font, stroke_width=1)
    text_width, text_height = math.ceil(right - left), math.ceil(bottom - top)
    step_x, step_y = text_width + 2 * text_height, 3 * text_height
    for row, y in enumerate(range(0, side, step_y)):
        # Staggered rows leave no clean band along which the mark could be cropped away.
        for x in range(-(row % 2) * step_x // 2, side, step_x):
            draw.text(
                (x, y), text, font=font, fill=WATERMARK_FILL, stroke_width=1, stroke_fill=WATERMARK_OUTLINE
            )
    rotated = layer.rotate(WATERMARK_ANGLE_DEGREES, resample=Image.Resampling.BICUBIC)
    left, top = (side - width) // 2, (side - height) // 2
    mark = rotated.crop((left, top, left + width, top + height))
    return mark.convert("RGB"), mark.getchannel("A")


def _save_derivative(image: Image.Image, path: Path) -> Derivative:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=DERIVATIVE_JPEG_QUALITY)
    data = buffer.getvalue()
    # The caller's derivatives directory is private to this ingest and is only read once ingest returns,
    # so the file is written in place: a rename would protect no reader.
    path.write_bytes(data)
    return Derivative(path=str(path), width=image.width, height=image.height, byte_size=len(data))
