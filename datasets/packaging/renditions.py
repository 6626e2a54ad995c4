"""Delivery renditions: the file a buyer receives for an upload, never the upload's own bytes.

A rendition keeps what training needs (the pixels, upright, and the colour profile that says what they mean)
and nothing else: no EXIF, XMP, IPTC, maker notes, thumbnails, comments or bytes after the picture, so no
location, serial number, owner name or edit history can reach a buyer. What buyers find useful in that
metadata travels as manifest fields instead, from what ingest already read.

Every photo comes out upright, in one of two file types, so that every sample of a shard series has the same
members: `.jpg` for photos (JPEGs keep their compressed data where a transform is lossless; other formats
are converted at a quality no eye tells apart), `.png` for photos whose alpha channel or 16-bit depth a JPEG
would lose. Videos are in `video_renditions`.

Plain functions over files: no ORM, no Django.
"""

import io
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import turbojpeg
from PIL import Image, ImageCms, ImageOps, JpegImagePlugin

# pillow-heif registers HEIF with Pillow when its module loads; ingest accepted these files through it.
from pillow_heif import register_heif_opener

from datasets.packaging.description import SERIES_FILES, Series

register_heif_opener()

# Conversions to JPEG keep every chroma sample (4:4:4) at a quality where the difference from the source is
# below what the eye sees; sources that are already JPEG keep their own quantization instead.
CONVERTED_JPEG_QUALITY = 95
SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}


class Method(StrEnum):
    """How a delivered file was made from the upload; the manifest's `rendition` column."""

    # The JPEG's compressed data as uploaded, its metadata segments left out.
    JPEG_AS_UPLOADED = "jpeg-as-uploaded"
    # Turned upright on whole JPEG blocks (libjpeg-turbo's lossless transform): no pixel re-encoded.
    JPEG_LOSSLESS_ROTATION = "jpeg-lossless-rotation"
    # Turned upright and encoded again with the upload's own quantization tables and chroma subsampling.
    JPEG_REENCODED = "jpeg-reencoded"
    # Decoded and encoded into the series' type (HEIC, TIFF, WebP, PNG, CMYK JPEG -> JPEG; alpha -> PNG).
    CONVERTED = "converted"
    # Video and audio streams copied into a new container, packet for packet.
    REMUXED = "remuxed"
    # Video or sound decoded and encoded again: the picture turned upright, or either stream in a codec the
    # series' container cannot hold (a camera's PCM sound becomes AAC; its picture is still copied).
    TRANSCODED = "transcoded"


class RenditionError(Exception):
    """The upload cannot be made into a delivery file; the message says why."""


@dataclass(frozen=True)
class Rendition:
    path: Path
    series: Series
    width: int  # of the delivered pixels, upright
    height: int
    method: Method

    @property
    def extension(self) -> str:
        return SERIES_FILES[self.series][0]

    @property
    def media_type(self) -> str:
        return SERIES_FILES[self.series][1]


def photo_rendition(source: Path, directory: Path, *, max_pixels: int | None = None) -> Rendition:
    """The delivery file of a photo ingest accepted, written into `directory`.

    `max_pixels` is the pixel count ingest accepted photos up to: Pillow's own guard (about 179 megapixels)
    would refuse a larger panorama that ingest let in. Like ingest, it sets Pillow's process-wide guard.
    """
    if max_pixels is not None:
        Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with Image.open(source) as image:
            # MPO (a phone's multi-picture JPEG) opens as a JpegImageFile too: its first picture is kept.
            if isinstance(image, JpegImagePlugin.JpegImageFile) and image.mode in ("L", "RGB"):
                return _jpeg_rendition(source, image, directory)
            return _converted(image, directory)
    except RenditionError:
        raise
    except Exception as error:  # whatever a decoder raises on a file it cannot read
        raise RenditionError(f"the photo could not be decoded: {error}") from error


# --- JPEG: the compressed data kept wherever the transform allows -----------------------------------------


# The lossless transform that turns each EXIF orientation upright.
UPRIGHT_OPERATIONS = {
    2: turbojpeg.OP.HFLIP,
    3: turbojpeg.OP.ROT180,
    4: turbojpeg.OP.VFLIP,
    5: turbojpeg.OP.TRANSPOSE,
    6: turbojpeg.OP.ROT90,
    7: turbojpeg.OP.TRANSVERSE,
    8: turbojpeg.OP.ROT270,
}


def _jpeg_rendition(source: Path, image: JpegImagePlugin.JpegImageFile, directory: Path) -> Rendition:
    orientation = _orientation(image)
    data = source.read_bytes()
    width, height = image.size
    method = Method.JPEG_AS_UPLOADED
    if orientation in UPRIGHT_OPERATIONS:
        if orientation >= 5:
            width, height = height, width
        try:
            # `perfect` refuses a picture whose edge blocks are partial: those could only be trimmed.
            data = turbojpeg.transform(data, op=UPRIGHT_OPERATIONS[orientation], perfect=True)
            method = Method.JPEG_LOSSLESS_ROTATION
        except RuntimeError:
            data = _reencoded_upright(image)
            method = Method.JPEG_REENCODED
    path = directory / "delivery.jpg"
    path.write_bytes(jpeg_without_metadata(data))
    return Rendition(path=path, series=Series.PHOTOS, width=width, height=height, method=method)


def _reencoded_upright(image: JpegImagePlugin.JpegImageFile) -> bytes:
    """The picture turned upright and encoded with the upload's quantization tables and subsampling."""
    tables, subsampling = image.quantization, JpegImagePlugin.get_sampling(image)
    upright = ImageOps.exif_transpose(image)
    buffer = io.BytesIO()
    upright.save(
        buffer,
        "JPEG",
        qtables=tables,
        subsampling=subsampling if subsampling >= 0 else 0,
        icc_profile=image.info.get("icc_profile"),
    )
    return buffer.getvalue()


# Marker bytes of a JPEG (ITU T.81 Annex B).
SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
APP0, APP2, APP14, COM = 0xE0, 0xE2, 0xEE, 0xFE
# The application segments a decoder needs, by marker and identifier: the JFIF header (rewritten without
# its optional thumbnail), the ICC colour profile, and Adobe's colour-transform flag.
KEPT_SEGMENTS = {APP0: b"JFIF\x00", APP2: b"ICC_PROFILE\x00", APP14: b"Adobe"}
# A marker inside entropy-coded data: 0xFF followed by anything but stuffing (0x00), a restart (0xD0-0xD7)
# or fill (0xFF). Searched for in C, so a scan is crossed at memory speed.
ENTROPY_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def jpeg_without_metadata(data: bytes) -> bytes:
    """The JPEG with only the segments a decoder needs, and nothing after its end-of-image marker.

    Everything else goes: EXIF (GPS, serial numbers, owner, maker notes, thumbnail), XMP, IPTC, MPF and the
    pictures it points to, comments, and trailers phones append after the picture.
    """
    if data[:2] != b"\xff\xd8":
        raise RenditionError("not a JPEG: no start-of-image marker")
    kept = [b"\xff\xd8"]
    position = 2
    in_scan = False
    while True:
        if in_scan:
            found = ENTROPY_MARKER.search(data, position)
            if found is None:
                raise RenditionError("the JPEG is truncated: no end-of-image marker")
            kept.append(data[position : found.start()])
            position = found.start()
        elif data[position : position + 1] != b"\xff":
            raise RenditionError(f"the JPEG is damaged: no marker at byte {position}")
        while data[position + 1 : position + 2] == b"\xff":  # fill bytes before a marker
            position += 1
        marker = data[position + 1] if position + 1 < len(data) else EOI
        if marker == EOI:
            kept.append(b"\xff\xd9")
            return b"".join(kept)
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        end = position + 2 + length
        if length < 2 or end > len(data):
            raise RenditionError("the JPEG is truncated inside a segment")
        segment = data[position:end]
        if not (APP0 <= marker <= 0xEF or marker == COM):
            kept.append(segment)  # tables, frame and scan headers: the picture itself
        elif marker == APP0 and segment[4:9] == KEPT_SEGMENTS[APP0]:
            kept.append(_bare_jfif(segment))
        elif marker in (APP2, APP14) and segment[4:].startswith(KEPT_SEGMENTS[marker]):
            kept.append(segment)
        position = end
        in_scan = in_scan or marker == SOS


def _bare_jfif(segment: bytes) -> bytes:
    """A JFIF APP0 segment with its version and density, without the thumbnail it may carry."""
    body = segment[4:16] + b"\x00\x00"  # identifier, version, units, densities; thumbnail 0 x 0
    return b"\xff\xe0" + (len(body) + 2).to_bytes(2, "big") + body


# --- Other formats: decoded and encoded into the series' type -----------------------------------------------


def _converted(image: Image.Image, directory: Path) -> Rendition:
    icc_profile = image.info.get("icc_profile")
    # pillow-heif turns a HEIF upright as it decodes (irot, imir) and reports the EXIF orientation as 1.
    upright = ImageOps.exif_transpose(image)
    upright.load()
    if upright.mode in SIXTEEN_BIT_MODES:
        return _png(upright.convert("I;16"), icc_profile, directory)
    if upright.mode in ("I", "F"):
        return _png(_sixteen_bit(upright), icc_profile, directory)
    if _has_transparency(upright):
        mode = "LA" if upright.mode in ("L", "LA") else "RGBA"
        return _png(upright.convert(mode), icc_profile, directory)
    if upright.mode == "CMYK":
        upright, icc_profile = _cmyk_to_srgb(upright, icc_profile), None
    pixels = upright.convert("L" if upright.mode in ("1", "L", "LA") else "RGB")
    path = directory / "delivery.jpg"
    pixels.save(path, "JPEG", quality=CONVERTED_JPEG_QUALITY, subsampling=0, icc_profile=icc_profile)
    return Rendition(
        path=path, series=Series.PHOTOS, width=pixels.width, height=pixels.height, method=Method.CONVERTED
    )


def _png(pixels: Image.Image, icc_profile: bytes | None, directory: Path) -> Rendition:
    path = directory / "delivery.png"
    pixels.save(path, "PNG", icc_profile=icc_profile)
    return Rendition(
        path=path, series=Series.PHOTOS_PNG, width=pixels.width, height=pixels.height, method=Method.CONVERTED
    )


def _has_transparency(image: Image.Image) -> bool:
    """Whether any pixel is less than opaque: an alpha channel that is opaque throughout is dropped."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        lowest, _ = image.convert("RGBA").getchannel("A").getextrema()
        return isinstance(lowest, int | float) and lowest < 255
    return False


def _sixteen_bit(image: Image.Image) -> Image.Image:
    """A 32-bit integer or float image scaled into 16 bits: the deepest grey a PNG carries."""
    values = np.asarray(image, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) * (65535.0 / (high - low)) if high > low else np.zeros_like(values)
    return Image.fromarray(scaled.astype(np.uint16), "I;16")


def _cmyk_to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """CMYK through its own profile where it has one: most training code reads three channels, not four."""
    if icc_profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            converted = ImageCms.profileToProfile(
                image, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError):
            pass
    return image.convert("RGB")


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(0x0112)
    except Exception:  # a broken EXIF block: the picture is taken as stored
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1
