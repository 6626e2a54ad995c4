"""One streaming pass over a video: probe, metadata, keyframe hashes, motion, poster, preview.

Only two FFmpeg demuxers ever parse an upload: the container is recognised from its first bytes and then
forced (MP4/QuickTime or Matroska). FFmpeg's own format probing would also hand hostile files to demuxers
such as HLS, whose playlists make it open other files and URLs.

Memory stays flat whatever the file size: the pass reads packets as a stream, seeks to a bounded number of
sample points, and decodes a bounded number of frames (samples, poster, a preview of at most ten seconds).
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Literal

import av
import numpy as np
from av.container import InputContainer
from av.stream import Stream
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image

from core.hashing import sha256_file
from creators.ingest.credentials import ContentCredentials, read_video_content_credentials

from .hashing import phash
from .images import watermark_layer
from .limits import (
    AVIF_BRANDS,
    HEIF_BRANDS,
    QUICKTIME_FIRST_BOXES,
    VIDEO_FORMATS,
    MediaLimits,
    MediaRejected,
    describe_size,
)

ContainerName = Literal["mp4", "mov", "webm"]

ACCEPTED = "upload MP4, MOV or WebM"
HEAD_BYTES = 4096
LABELS: dict[ContainerName, str] = {"mp4": "MP4", "mov": "MOV", "webm": "WebM"}

# ISO base media (ftyp) major brands that are not MP4 or QuickTime video.
REFUSED_BRANDS = {
    **dict.fromkeys(HEIF_BRANDS, "a HEIF image"),
    **dict.fromkeys(AVIF_BRANDS, "an AVIF image"),
    **dict.fromkeys((b"M4A ", b"M4B ", b"M4P "), "an M4A audio file"),
    **dict.fromkeys((b"mjp2", b"mj2s"), "a Motion JPEG 2000 video"),
    b"crx ": "a Canon raw photo",
}
EBML_MAGIC = b"\x1a\x45\xdf\xa3"
EBML_DOCTYPE = 0x4282
MATROSKA_SEGMENT = 0x18538067
# WebM is the Matroska profile limited to these codecs; anything else in a .webm is not WebM.
WEBM_VIDEO_CODECS = {"vp8", "vp9", "av1"}
WEBM_AUDIO_CODECS = {"vorbis", "opus"}
# A walk over top-level boxes stops checking after this many (fragmented files can have thousands).
MAX_TOP_LEVEL_BOXES = 100_000

# Keyframe hashes: at most one per second of video and at most this many, spread evenly.
MAX_KEYFRAME_HASHES = 64
HASH_FRAME_SIDE = 128  # frames are reduced to this square before the 32x32 perceptual hash
MOTION_SIZE = (64, 36)
# Motion compares each sampled keyframe with the frame this long after it: a fixed gap makes clips of any
# frame rate or length comparable, where comparing the (widely spaced) samples would measure scene changes.
MOTION_GAP_SECONDS = 0.25
MAX_FRAMES_TO_GAP = 30
POSTER_AT = 0.1  # fraction of the duration
POSTER_LONG_SIDE = 640
POSTER_QUALITY = 82
# The poster is taken from the first frame at POSTER_AT, decoding forward from the keyframe before it, but a
# file with rare keyframes must not make that decode long.
MAX_FRAMES_TO_POSTER = 300
PREVIEW_SECONDS = 10
PREVIEW_FPS = 15
PREVIEW_MAX_HEIGHT = 360
PREVIEW_MAX_WIDTH = 640
TAG_MAX_CHARS = 200


@dataclass(frozen=True)
class VideoProbe:
    """An accepted video; width and height as displayed (rotation and pixel aspect applied)."""

    container: ContainerName
    mime: str
    extension: str
    width: int
    height: int
    duration_seconds: float
    codec: str


@dataclass(frozen=True)
class VideoDerivative:
    path: str
    mime: str
    width: int
    height: int
    size_bytes: int


@dataclass(frozen=True)
class VideoIngest:
    """What one pass over a video found, and the derivatives it wrote; every value is JSON-friendly."""

    sha256: str
    container: ContainerName
    mime: str
    width: int
    height: int
    rotation: int  # clockwise degrees applied for display: 0, 90, 180 or 270
    duration_seconds: float
    fps: float | None
    codec: str
    bitrate: int
    has_audio: bool
    audio_codec: str | None
    frame_count: int | None
    capture_time: str | None  # ISO-8601
    encoder: str | None
    make: str | None
    model: str | None
    keyframe_phashes: list[int]  # unsigned 64-bit, in time order
    motion_score: float  # 0 (still) .. 1
    content_credentials: ContentCredentials
    poster: VideoDerivative
    preview_clip: VideoDerivative


@dataclass(frozen=True)
class _Opened:
    container: InputContainer
    stream: VideoStream
    probe: VideoProbe
    rotation: int
    size_bytes: int


def probe_video(path: Path, limits: MediaLimits) -> VideoProbe:
    """Decide from the content whether this is an MP4, MOV or WebM video we accept; MediaRejected if not."""
    with _open(path, limits) as opened:
        return opened.probe


def ingest_video(
    path: Path, derivatives_dir: Path, *, limits: MediaLimits, watermark_text: str = "Datamarket preview"
) -> VideoIngest:
    """Probe, read metadata, hash keyframes, score motion, and write a poster JPEG and a preview MP4, both
    watermarked like photo previews.

    The derivatives get generated names inside derivatives_dir; if the video is refused, none is left there.
    """
    sha256 = sha256_file(path)
    written: list[Path] = []
    try:
        with _open(path, limits) as opened:
            probe, container, stream = opened.probe, opened.container, opened.stream
            damaged = _damaged(probe.container)
            with _unreadable_as(damaged):
                hashes, motion = _keyframe_samples(container, stream, probe.duration_seconds, opened.rotation)
                poster_image = _poster_image(container, stream, probe, opened.rotation)
                _seek(container, _start_seconds(stream))
                tags, video_tags = container.metadata, stream.metadata
                audio = [_codec_name(audio_stream) for audio_stream in container.streams.audio]
                fps, frame_count, bitrate = _fps(stream), stream.frames or None, container.bit_rate
            poster_path = derivatives_dir / f"{uuid.uuid4().hex}.jpg"
            written.append(poster_path)
            mark, mask = watermark_layer(poster_image.size, watermark_text)
            Image.composite(mark, poster_image, mask).save(
                poster_path, "JPEG", quality=POSTER_QUALITY, optimize=True
            )
            preview_path = derivatives_dir / f"{uuid.uuid4().hex}.mp4"
            written.append(preview_path)
            preview_size = _write_preview(
                container, stream, probe, opened.rotation, preview_path, watermark_text
            )
            return VideoIngest(
                sha256=sha256,
                container=probe.container,
                mime=probe.mime,
                width=probe.width,
                height=probe.height,
                rotation=opened.rotation,
                duration_seconds=probe.duration_seconds,
                fps=fps,
                codec=probe.codec,
                bitrate=bitrate or round(opened.size_bytes * 8 / probe.duration_seconds),
                has_audio=bool(audio),
                audio_codec=audio[0] if audio else None,
                frame_count=frame_count,
                capture_time=_capture_time(tags, video_tags),
                encoder=_tag(tags, "encoder", "com.apple.quicktime.software") or _tag(video_tags, "encoder"),
                make=_tag(tags, "make", "com.apple.quicktime.make", "com.android.manufacturer"),
                model=_tag(tags, "model", "com.apple.quicktime.model", "com.android.model"),
                keyframe_phashes=hashes,
                motion_score=motion,
                content_credentials=read_video_content_credentials(path, probe.mime),
                poster=VideoDerivative(
                    path=str(poster_path),
                    mime="image/jpeg",
                    width=poster_image.width,
                    height=poster_image.height,
                    size_bytes=poster_path.stat().st_size,
                ),
                preview_clip=VideoDerivative(
                    path=str(preview_path),
                    mime="video/mp4",
                    width=preview_size[0],
                    height=preview_size[1],
                    size_bytes=preview_path.stat().st_size,
                ),
            )
    except BaseException:
        for written_path in written:
            written_path.unlink(missing_ok=True)
        raise


# --- Opening and checking -----------------------------------------------------------------------------------


@contextmanager
def _quiet_ffmpeg() -> Iterator[None]:
    """FFmpeg logs every oddity of a hostile file; our refusal says what matters, so its log is dropped."""
    # The level is process-wide: restored afterwards so a developer's own setting survives our calls.
    previous = av.logging.get_level()
    av.logging.set_level(None)
    try:
        yield
    finally:
        av.logging.set_level(previous)


@contextmanager
def _unreadable_as(message: str) -> Iterator[None]:
    """Turn whatever PyAV raises into one MediaRejected.

    On hostile input PyAV raises FFmpegError subclasses but also ValueError, IndexError, UnicodeDecodeError
    and others; the caller's contract is a single error type with a sentence a creator understands.
    """
    try:
        yield
    except MediaRejected:
        raise
    except Exception as error:
        raise MediaRejected(message) from error


def _damaged(container: ContainerName) -> str:
    return f"This {LABELS[container]} is truncated or damaged: its frames cannot be read."


@contextmanager
def _open(path: Path, limits: MediaLimits) -> Iterator[_Opened]:
    size = path.stat().st_size
    if size == 0:
        raise MediaRejected("This file is empty.")
    if size > limits.max_video_bytes:
        raise MediaRejected(
            f"This video is {describe_size(size)}; the most we accept is {describe_size(limits.max_video_bytes)}."
        )
    with path.open("rb") as raw:
        name = _container_name(raw, size)
    damaged = _damaged(name)
    with _quiet_ffmpeg():
        with _unreadable_as(damaged):
            container = av.open(
                str(path), format="matroska" if name == "webm" else "mov", metadata_errors="replace"
            )
        try:
            with _unreadable_as(damaged):
                stream, probe, rotation = _inspect(container, name, limits)
            yield _Opened(container, stream, probe, rotation, size)
        finally:
            container.close()


def _container_name(raw: BinaryIO, size: int) -> ContainerName:
    """mp4, mov or webm from the file's first bytes and its top-level structure; MediaRejected otherwise."""
    head = raw.read(HEAD_BYTES)
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in REFUSED_BRANDS:
            raise MediaRejected(f"This file is {REFUSED_BRANDS[brand]}; {ACCEPTED}.")
        if brand.startswith((b"3gp", b"3g2")):
            raise MediaRejected(f"This file is a 3GP video; {ACCEPTED}.")
        name: ContainerName = "mov" if brand == b"qt  " else "mp4"
    elif head[4:8] in QUICKTIME_FIRST_BOXES:
        name = "mov"
    elif head.startswith(EBML_MAGIC):
        doctype, segment_end = _ebml_header(head)
        if doctype == "matroska":
            raise MediaRejected(f"This file is a Matroska (MKV) video, not WebM; {ACCEPTED}.")
        if doctype != "webm":
            raise MediaRejected(f"This file is not a video we can read; {ACCEPTED}.")
        if segment_end is not None and segment_end > size:
            raise MediaRejected(_damaged("webm"))
        return "webm"
    else:
        raise MediaRejected(f"This file is {_describe(head)}; {ACCEPTED}.")
    if _isobmff_truncated(raw, size):
        raise MediaRejected(_damaged(name))
    return name


def _describe(head: bytes) -> str:
    """What a file we refuse looks like, so the creator learns what they sent."""
    if head[:4] == b"RIFF":
        return {b"AVI ": "an AVI video", b"WEBP": "a WebP image", b"WAVE": "a WAV audio file"}.get(
            head[8:12], "not a video we can read"
        )
    if len(head) > 376 and head[0] == head[188] == head[376] == 0x47:
        return "an MPEG-TS video"
    signatures = [
        (b"\x00\x00\x01\xba", "an MPEG program stream (VOB or MPG) video"),
        (b"FLV", "a Flash (FLV) video"),
        (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "a Windows Media (WMV or ASF) file"),
        (b"GIF8", "a GIF"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"\x89PNG", "a PNG image"),
        (b"ID3", "an MP3 audio file"),
        (b"fLaC", "a FLAC audio file"),
        (b"OggS", "an Ogg file"),
    ]
    for signature, description in signatures:
        if head.startswith(signature):
            return description
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "a web page or XML document"
    return "not a video we can read"


def _isobmff_truncated(raw: BinaryIO, size: int) -> bool:
    """Whether a top-level box claims more bytes than the file has: a cut upload (mdat or moov cut short)."""
    position = 0
    for _ in range(MAX_TOP_LEVEL_BOXES):
        if size - position < 8:
            return False
        raw.seek(position)
        header = raw.read(16)
        box_size = int.from_bytes(header[:4], "big")
        if not header[4:8].isalnum():
            return False  # not a box: bytes some writers append after the last one, left for FFmpeg to judge
        if box_size == 1:
            if len(header) < 16:
                return True
            box_size = int.from_bytes(header[8:16], "big")
        elif box_size == 0:
            return False  # the last box, running to the end of the file
        if box_size < 8:
            return True
        position += box_size
        if position > size:
            return True
    return False


def _ebml_vint(data: bytes, offset: int, *, marker: bool) -> tuple[int, int, bool]:
    """(value, next offset, all value bits set) of the EBML variable-length integer at offset."""
    first = data[offset]
    length = 9 - first.bit_length() if first else 9
    if length > 8 or offset + length > len(data):
        raise MediaRejected(_damaged("webm"))
    value = int.from_bytes(data[offset : offset + length], "big")
    value_bits = 7 * length
    unknown = value & ((1 << value_bits) - 1) == (1 << value_bits) - 1
    if not marker:
        value &= (1 << value_bits) - 1
    return value, offset + length, unknown


def _ebml_header(head: bytes) -> tuple[str | None, int | None]:
    """(DocType, byte offset where the Segment ends, None when its size is unknown) from a Matroska head."""
    header_size, offset, _ = _ebml_vint(head, len(EBML_MAGIC), marker=False)
    header_end = offset + header_size
    if header_end > len(head):
        raise MediaRejected(_damaged("webm"))
    doctype = None
    while offset < header_end:
        element, offset, _ = _ebml_vint(head, offset, marker=True)
        element_size, offset, _ = _ebml_vint(head, offset, marker=False)
        if element == EBML_DOCTYPE:
            doctype = head[offset : offset + element_size].rstrip(b"\x00").decode("ascii", "replace")
        offset += element_size
    if header_end >= len(head):
        return doctype, None
    element, offset, _ = _ebml_vint(head, header_end, marker=True)
    if element != MATROSKA_SEGMENT:
        return doctype, None
    segment_size, offset, unknown = _ebml_vint(head, offset, marker=False)
    return doctype, None if unknown else offset + segment_size


def _inspect(
    container: InputContainer, name: ContainerName, limits: MediaLimits
) -> tuple[VideoStream, VideoProbe, int]:
    """The video stream, the probe and the clockwise display rotation; decodes the first frame."""
    label = LABELS[name]
    # Cover art in an audio file is a one-picture "video" stream.
    streams = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not streams:
        raise MediaRejected(f"This {label} file has no video, only sound or data; {ACCEPTED}.")
    stream = streams[0]
    codec = _codec_name(stream)
    if codec is None:
        raise MediaRejected(f"This {label} uses a video codec we cannot decode; {ACCEPTED}.")
    context = stream.codec_context
    if name == "webm":
        audio_codecs = {_codec_name(audio) or "unknown" for audio in container.streams.audio}
        if codec not in WEBM_VIDEO_CODECS or not audio_codecs <= WEBM_AUDIO_CODECS:
            raise MediaRejected(
                f"This WebM holds codecs WebM does not allow ({', '.join(sorted({codec} | audio_codecs))}); "
                f"{ACCEPTED}."
            )
    if context.width <= 0 or context.height <= 0:
        raise MediaRejected(_damaged(name))
    if context.width * context.height > limits.max_video_pixels:
        raise MediaRejected(
            f"This video is {context.width}x{context.height} pixels; the largest we accept is "
            f"{limits.max_video_pixels / 1e6:.1f} megapixels."
        )
    context.thread_type = "AUTO"
    first = next(container.decode(stream), None)
    if first is None:
        raise MediaRejected(_damaged(name))
    rotation = round(-first.rotation / 90) % 4 * 90
    width, height = context.width, context.height
    aspect = stream.sample_aspect_ratio
    if aspect and aspect > 0 and aspect != 1:
        width = max(1, round(width * aspect))
    if rotation in (90, 270):
        width, height = height, width
    duration = _duration_seconds(container, stream)
    if duration is None or duration <= 0:
        raise MediaRejected(_damaged(name))
    if duration > limits.max_video_seconds:
        raise MediaRejected(
            f"This video is {_clock(duration)} long; the longest we accept is {_clock(limits.max_video_seconds)}."
        )
    probe = VideoProbe(
        container=name,
        mime=VIDEO_FORMATS[name],
        extension=name,
        width=width,
        height=height,
        duration_seconds=round(duration, 3),
        codec=codec,
    )
    return stream, probe, rotation


def _clock(seconds: float) -> str:
    minutes = round(seconds) // 60
    return (
        f"{minutes // 60} h {minutes % 60:02d} min"
        if minutes >= 60
        else f"{minutes} min {round(seconds) % 60:02d} s"
    )


def _duration_seconds(container: InputContainer, stream: VideoStream) -> float | None:
    if container.duration:
        return container.duration / av.time_base
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    # Live recordings (a browser's MediaRecorder, for one) write WebM with no duration at all: read the
    # packets' timestamps to the end, which reads the file but decodes nothing.
    end = None
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base:
            packet_end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            end = packet_end if end is None else max(end, packet_end)
    return None if end is None else end - _start_seconds(stream)


# --- Reading ------------------------------------------------------------------------------------------------


def _start_seconds(stream: VideoStream) -> float:
    return float(stream.start_time * stream.time_base) if stream.start_time and stream.time_base else 0.0


def _seek(container: InputContainer, seconds: float) -> None:
    """Go to the keyframe at or before `seconds` (FFmpeg seeks on the default stream: the video)."""
    container.seek(int(seconds * av.time_base), backward=True)


def _oriented(image: Image.Image, rotation: int) -> Image.Image:
    transpose = {
        90: Image.Transpose.ROTATE_270,
        180: Image.Transpose.ROTATE_180,
        270: Image.Transpose.ROTATE_90,
    }
    return image.transpose(transpose[rotation]) if rotation else image


def _stored_size(display: tuple[int, int], rotation: int) -> tuple[int, int]:
    """The frame size to scale to before rotating so the result has the display size."""
    return (display[1], display[0]) if rotation in (90, 270) else display


def _keyframe_samples(
    container: InputContainer, stream: VideoStream, duration: float, rotation: int
) -> tuple[list[int], float]:
    """Perceptual hashes of keyframes spread over the video, and the mean motion at those points.

    Each sample seeks to the keyframe at or before an evenly spaced time, so a long video is never decoded
    in full; two times landing on the same keyframe give one hash.
    """
    count = max(1, min(MAX_KEYFRAME_HASHES, int(duration)))
    start = _start_seconds(stream)
    hashes: list[int] = []
    differences: list[float] = []
    seen: set[float | None] = set()
    for index in range(count):
        _seek(container, start + duration * (index + 0.5) / count)
        frames = container.decode(stream)
        keyframe = next(frames, None)
        if keyframe is None or (keyframe.time is not None and keyframe.time in seen):
            continue
        seen.add(keyframe.time)
        side = HASH_FRAME_SIDE
        small = keyframe.reformat(width=side, height=side, format="rgb24", interpolation="AREA").to_image()
        hashes.append(phash(_oriented(small, rotation)))
        later = _frame_after(frames, (keyframe.time or 0.0) + MOTION_GAP_SECONDS, MAX_FRAMES_TO_GAP)
        if later is not None:
            differences.append(float(np.mean(np.abs(_grey(keyframe) - _grey(later)))) / 255)
    return hashes, round(float(np.mean(differences)), 4) if differences else 0.0


def _frame_after(frames: Iterator[VideoFrame], seconds: float, limit: int) -> VideoFrame | None:
    """The first frame at or after `seconds` among the next `limit` frames, else None."""
    for _, frame in zip(range(limit), frames, strict=False):
        if frame.time is not None and frame.time >= seconds:
            return frame
    return None


def _grey(frame: VideoFrame) -> np.ndarray:
    width, height = MOTION_SIZE
    return frame.reformat(width=width, height=height, format="gray").to_ndarray().astype(np.int16)


def _poster_image(
    container: InputContainer, stream: VideoStream, probe: VideoProbe, rotation: int
) -> Image.Image:
    """The frame about POSTER_AT into the video, displayed upright, long side at most POSTER_LONG_SIDE."""
    target = _start_seconds(stream) + probe.duration_seconds * POSTER_AT
    _seek(container, target)
    chosen = None
    for _, frame in zip(range(MAX_FRAMES_TO_POSTER), container.decode(stream), strict=False):
        chosen = frame
        if frame.time is None or frame.time >= target:
            break
    if chosen is None:
        raise MediaRejected(_damaged(probe.container))
    scale = min(1.0, POSTER_LONG_SIDE / max(probe.width, probe.height))
    display = (max(1, round(probe.width * scale)), max(1, round(probe.height * scale)))
    width, height = _stored_size(display, rotation)
    image = chosen.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_image()
    return _oriented(image, rotation)


def _decoded(container: InputContainer, stream: VideoStream, damaged: str) -> Iterator[VideoFrame]:
    """The stream's frames; a decode error becomes MediaRejected, while the caller's own errors stay theirs."""
    frames = container.decode(stream)
    while True:
        with _unreadable_as(damaged):
            frame = next(frames, None)
        if frame is None:
            return
        yield frame


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def _write_preview(
    container: InputContainer,
    stream: VideoStream,
    probe: VideoProbe,
    rotation: int,
    path: Path,
    watermark_text: str,
) -> tuple[int, int]:
    """A silent H.264 MP4 of the first seconds, small and slow enough to stream, carrying no metadata.

    The output container is created fresh and only the video is copied across, so nothing of the upload's
    metadata (capture time, location, make and model) can reach it. Returns its (width, height).
    """
    scale = min(1.0, PREVIEW_MAX_HEIGHT / probe.height, PREVIEW_MAX_WIDTH / probe.width)
    display = (_even(probe.width * scale), _even(probe.height * scale))
    stored = _stored_size(display, rotation)
    encoder: Literal["libx264", "mpeg4"] = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    mark_image, mask_image = watermark_layer(display, watermark_text)
    mark = np.asarray(mark_image, dtype=np.float32)
    opacity = np.asarray(mask_image, dtype=np.float32)[..., None] / 255
    # bitexact keeps FFmpeg from writing its own version tag into the file.
    with av.open(
        str(path), "w", format="mp4", container_options={"movflags": "+faststart", "fflags": "+bitexact"}
    ) as out:
        video = out.add_stream(encoder, rate=PREVIEW_FPS)
        video.width, video.height = display
        video.pix_fmt = "yuv420p"
        if encoder == "libx264":
            video.options = {"preset": "veryfast", "crf": "28"}
        else:
            video.bit_rate = 600_000
        start = _start_seconds(stream)
        last_index = -1
        for frame in _decoded(container, stream, _damaged(probe.container)):
            # Dropping frames to the preview's rate: keep one per output tick.
            index = round(((frame.time if frame.time is not None else start) - start) * PREVIEW_FPS)
            if index >= PREVIEW_SECONDS * PREVIEW_FPS:
                break
            if index <= last_index:
                continue
            last_index = index
            pixels = frame.reformat(
                width=stored[0], height=stored[1], format="rgb24", interpolation="AREA"
            ).to_ndarray()
            if rotation:
                pixels = np.rot90(pixels, k=-rotation // 90)
            marked = pixels * (1 - opacity) + mark * opacity
            small = VideoFrame.from_ndarray(np.ascontiguousarray(marked, dtype=np.uint8), format="rgb24")
            small.pts, small.time_base = index, Fraction(1, PREVIEW_FPS)
            out.mux(video.encode(small))
        out.mux(video.encode(None))
    return display


# --- Metadata -----------------------------------------------------------------------------------------------


def _fps(stream: VideoStream) -> float | None:
    rate = stream.average_rate or stream.guessed_rate
    return round(float(rate), 3) if rate else None


def _codec_name(stream: Stream) -> str | None:
    """The codec's name, or None when this FFmpeg has no decoder for it."""
    context = stream.codec_context
    return context.name if context is not None else None


def _tag(metadata: dict[str, str], *keys: str) -> str | None:
    """The first present tag of `keys`, matched without case (Matroska tags are upper case), shortened."""
    lowered = {key.lower(): value for key, value in metadata.items()}
    for key in keys:
        value = lowered.get(key, "").strip()
        if value:
            return value[:TAG_MAX_CHARS]
    return None


def _capture_time(tags: dict[str, str], video_tags: dict[str, str]) -> str | None:
    raw = _tag(tags, "creation_time", "com.apple.quicktime.creationdate") or _tag(video_tags, "creation_time")
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    # Cameras whose clock was never set write the epoch.
    return None if parsed.year <= 1970 else parsed.isoformat()
