"""What the ingest pipeline accepts, and the one error it raises for everything it refuses."""

from dataclasses import dataclass


class MediaRejected(Exception):
    """The file is not media this site accepts; the message says why, in words a creator understands."""


@dataclass(frozen=True)
class MediaLimits:
    max_image_bytes: int = 200 * 1024 * 1024
    max_video_bytes: int = 20 * 1024 * 1024 * 1024
    # Pillow's decompression-bomb guard is set from this and the decode budget; anything larger is refused
    # before decoding.
    max_image_pixels: int = 250_000_000
    # The memory a picture may take once decoded, every frame and page of it, counted from its headers before
    # a pixel is decoded: a small file can declare a picture of gigabytes.
    decode_budget_bytes: int = 512 * 1024 * 1024
    max_video_pixels: int = 8192 * 4320
    max_video_seconds: int = 4 * 60 * 60


# Container formats identified by their content; the extension and the client's Content-Type are ignored.
IMAGE_FORMATS = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
    "TIFF": "image/tiff",
}
VIDEO_FORMATS = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}

# Signatures shared by the router (sniff.py) and the video prober, so both read ISO media files alike.
# ftyp major brands of still images: a file with one of these is a photo, never a video.
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
AVIF_BRANDS = frozenset({b"avif", b"avis"})
# QuickTime files older than the ftyp box start directly with one of these boxes.
QUICKTIME_FIRST_BOXES = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})


def describe_size(size: int) -> str:
    """A byte count as people read it in refusals: "850 MB", "4.0 GB" (binary units, as file managers show)."""
    if size >= 1024**3:
        return f"{size / 1024**3:,.1f} GB"
    return f"{max(size / 1024**2, 0.1):,.1f} MB" if size < 10 * 1024**2 else f"{size / 1024**2:,.0f} MB"
