"""The video pipeline on small clips made here with PyAV, and on hostile files posing as video."""

import contextlib
import dataclasses
import io
import json
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from creators.ingest.hashing import hamming
from creators.ingest.limits import MediaLimits, MediaRejected
from creators.ingest.video import VideoIngest, ingest_video, probe_video
from tests.conftest import AI_MADE, CAMERA_MADE

LIMITS = MediaLimits()
LOCATION = "+48.8584+002.2945+035.000/"


def _picture(index: int, frames: int, width: int, height: int, *, moving: bool) -> np.ndarray:
    """A smooth textured scene (stable perceptual hashes) with a bright disc crossing it when moving."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    red = 120 + 90 * np.sin(x / width * 5) * np.cos(y / height * 3)
    green = 110 + 80 * np.cos(x / width * 2 + y / height * 4)
    blue = 100 + 70 * np.sin(y / height * 6)
    picture = np.stack([red, green, blue], axis=-1)
    centre_x = width * (0.2 + 0.6 * index / frames) if moving else width * 0.4
    disc = (x - centre_x) ** 2 + (y - height / 2) ** 2 < (height / 6) ** 2
    picture[disc] = (250, 240, 40)
    return picture.astype(np.uint8)


def make_video(
    path: Path,
    *,
    format: str | None = None,
    codec: str = "libx264",
    size: tuple[int, int] = (320, 240),
    fps: int = 24,
    seconds: float = 2,
    moving: bool = True,
    audio: bool = False,
    rotation: int | None = None,
    metadata: dict[str, str] | None = None,
    options: dict[str, str] | None = None,
    crf: int = 23,
) -> Path:
    width, height = size
    frames = round(fps * seconds)
    with av.open(str(path), "w", format=format, options=options or {}) as out:
        out.metadata.update(metadata or {})
        video = out.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.gop_size = fps  # a keyframe every second
        if codec == "libx264":
            video.options = {"preset": "ultrafast", "crf": str(crf)}
        if rotation is not None:
            video.set_display_rotation(rotation)
        sound = _sound_stream(out) if audio else None
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(_picture(index, frames, width, height, moving=moving))
            frame.pts = index
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            _write_tone(out, sound, seconds)
    return path


def _sound_stream(out: av.container.OutputContainer) -> av.AudioStream:
    sound = out.add_stream("aac", rate=48000)
    sound.layout = "stereo"
    return sound


def _write_tone(out: av.container.OutputContainer, sound: av.AudioStream, seconds: float) -> None:
    step = 1024
    for start in range(0, int(48000 * seconds), step):
        wave = (0.2 * np.sin(np.arange(start, start + step) / 20)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(np.stack([wave, wave]), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts = 48000, start
        out.mux(sound.encode(frame))
    out.mux(sound.encode(None))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("clips")
    return {
        "mp4": make_video(base / "moving.mp4"),
        "reencoded": make_video(base / "reencoded.mp4", crf=38),
        "static": make_video(base / "static.mp4", moving=False),
        "audio": make_video(base / "audio.mp4", audio=True),
        "mov": make_video(base / "clip.mov", format="mov"),
        "webm": make_video(base / "clip.webm", format="webm", codec="libvpx-vp9"),
        "rotated": make_video(base / "rotated.mp4", rotation=-90),  # a phone held upright
        "faststart": make_video(base / "faststart.mp4", options={"movflags": "+faststart"}),
        "tagged": make_video(
            base / "tagged.mov",
            format="mov",
            options={"movflags": "use_metadata_tags"},
            metadata={
                "creation_time": "2023-04-05T06:07:08.000000Z",
                "com.apple.quicktime.location.ISO6709": LOCATION,
                "com.apple.quicktime.make": "Apple",
                "com.apple.quicktime.model": "iPhone 15",
            },
        ),
        "long_large": make_video(base / "long.mp4", size=(640, 480), fps=30, seconds=11),
    }


@pytest.fixture(scope="module")
def ingested(clips: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, VideoIngest]:
    """Every clip ingested without a watermark, so the tests can compare derivative pixels with the source."""
    out = tmp_path_factory.mktemp("derivatives")
    return {name: ingest_video(path, out, limits=LIMITS, watermark_text="") for name, path in clips.items()}


# --- Probe: what is accepted --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clip", "container", "mime", "codec"),
    [
        ("mp4", "mp4", "video/mp4", "h264"),
        ("mov", "mov", "video/quicktime", "h264"),
        ("webm", "webm", "video/webm", "vp9"),
    ],
)
def test_probe_accepts_mp4_mov_and_webm(
    clips: dict[str, Path], clip: str, container: str, mime: str, codec: str
):
    probe = probe_video(clips[clip], LIMITS)

    assert (probe.container, probe.mime, probe.extension, probe.codec) == (container, mime, container, codec)
    assert (probe.width, probe.height) == (320, 240)
    assert probe.duration_seconds == pytest.approx(2, abs=0.1)


def test_probe_reports_the_displayed_size_of_a_rotated_video(clips: dict[str, Path]):
    probe = probe_video(clips["rotated"], LIMITS)

    assert (probe.width, probe.height) == (240, 320)


def test_probe_reads_a_live_webm_without_a_duration(tmp_path: Path):
    # What a browser's MediaRecorder writes: no duration and no cues.
    path = make_video(tmp_path / "live.webm", format="webm", codec="libvpx", options={"live": "1"})
    with av.open(str(path)) as container:
        assert container.duration is None

    assert probe_video(path, LIMITS).duration_seconds == pytest.approx(2, abs=0.1)


# --- Probe: what is refused ---------------------------------------------------------------------------------


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (np.random.default_rng(7).bytes(64 * 1024), "not a video"),
        (b"<!DOCTYPE html><html><body><video src=x></video></body></html>", "web page"),
        (_jpeg(), "JPEG image"),
        (b"#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n", "not a video"),
        (
            b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + np.random.default_rng(8).bytes(4096),
            "damaged",
        ),
        (b"\x00\x00\x00\x18ftyp3gp4\x00\x00\x02\x00isomiso2", "3GP"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIF image"),
    ],
    ids=["zero-bytes", "random", "html", "jpeg", "hls-playlist", "ftyp-then-garbage", "3gp", "heic"],
)
def test_probe_refuses_what_is_not_a_video(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "upload.mp4"
    path.write_bytes(content)

    with pytest.raises(MediaRejected, match=message):
        probe_video(path, LIMITS)


def test_probe_refuses_an_mp4_cut_in_half(clips: dict[str, Path], tmp_path: Path):
    # With the index (moov) first, the first half still opens and decodes: only the sizes show the cut.
    data = clips["faststart"].read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")
    path = tmp_path / "half.mp4"
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(MediaRejected, match="This MP4 is truncated or damaged"):
        probe_video(path, LIMITS)


@pytest.mark.parametrize("keep", ["up-to-moov", "part-of-moov"])
def test_probe_refuses_an_mp4_whose_moov_is_cut_off(clips: dict[str, Path], tmp_path: Path, keep: str):
    data = clips["mp4"].read_bytes()
    moov = data.find(b"moov") - 4
    assert moov > data.find(b"mdat")  # written without faststart: the index comes last
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[:moov] if keep == "up-to-moov" else data[: moov + 100])

    with pytest.raises(MediaRejected, match="This MP4 is truncated or damaged"):
        probe_video(path, LIMITS)


def test_probe_refuses_a_truncated_webm(clips: dict[str, Path], tmp_path: Path):
    data = clips["webm"].read_bytes()
    path = tmp_path / "cut.webm"
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(MediaRejected, match="This WebM is truncated or damaged"):
        probe_video(path, LIMITS)


def test_probe_refuses_a_matroska_that_is_not_webm(tmp_path: Path):
    path = make_video(tmp_path / "clip.mkv", format="matroska", seconds=0.5)

    with pytest.raises(MediaRejected, match=r"Matroska \(MKV\) video, not WebM"):
        probe_video(path, LIMITS)


@pytest.mark.parametrize(
    ("format", "codec", "message"),
    [
        ("avi", "mpeg4", "This file is an AVI video; upload MP4, MOV or WebM."),
        ("mpegts", "libx264", "MPEG-TS"),
    ],
)
def test_probe_refuses_other_video_containers(tmp_path: Path, format: str, codec: str, message: str):
    path = make_video(tmp_path / "clip.mp4", format=format, codec=codec, seconds=0.5)

    with pytest.raises(MediaRejected, match=message):
        probe_video(path, LIMITS)


def test_probe_refuses_an_animated_gif(tmp_path: Path):
    path = tmp_path / "clip.mp4"
    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "blue")]
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:])

    with pytest.raises(MediaRejected, match="GIF"):
        probe_video(path, LIMITS)


def test_probe_refuses_an_audio_only_mp4(tmp_path: Path):
    path = tmp_path / "sound.mp4"
    with av.open(str(path), "w", format="mp4") as out:
        _write_tone(out, _sound_stream(out), 1)

    with pytest.raises(MediaRejected, match="no video"):
        probe_video(path, LIMITS)


def test_probe_refuses_a_file_over_the_byte_limit(clips: dict[str, Path]):
    with pytest.raises(MediaRejected, match="the most we accept"):
        probe_video(clips["mp4"], MediaLimits(max_video_bytes=1000))


def test_probe_refuses_a_video_over_the_pixel_limit(clips: dict[str, Path]):
    with pytest.raises(MediaRejected, match="the largest we accept"):
        probe_video(clips["mp4"], MediaLimits(max_video_pixels=320 * 239))


def test_probe_refuses_a_video_over_the_length_limit(clips: dict[str, Path]):
    with pytest.raises(MediaRejected, match="the longest we accept is 0 min 01 s"):
        probe_video(clips["mp4"], MediaLimits(max_video_seconds=1))


# --- Ingest -------------------------------------------------------------------------------------------------


def test_ingest_reads_duration_rate_size_and_codecs(ingested: dict[str, VideoIngest]):
    result = ingested["audio"]

    assert result.duration_seconds == pytest.approx(2, abs=0.1)
    assert result.fps == pytest.approx(24)
    assert (result.width, result.height, result.rotation) == (320, 240, 0)
    assert (result.codec, result.has_audio, result.audio_codec) == ("h264", True, "aac")
    assert result.frame_count == 48
    assert result.bitrate > 0
    assert len(result.sha256) == 64
    assert not ingested["mp4"].has_audio
    assert ingested["mp4"].audio_codec is None


def test_ingest_values_are_json_friendly(ingested: dict[str, VideoIngest]):
    assert json.loads(json.dumps(dataclasses.asdict(ingested["tagged"])))["make"] == "Apple"


def test_ingest_reads_capture_time_make_and_model(ingested: dict[str, VideoIngest]):
    result = ingested["tagged"]

    assert result.capture_time == "2023-04-05T06:07:08+00:00"
    assert (result.make, result.model) == ("Apple", "iPhone 15")
    assert result.encoder is not None and result.encoder.startswith("Lavf")


def test_ingest_applies_rotation(ingested: dict[str, VideoIngest]):
    result = ingested["rotated"]

    assert (result.width, result.height, result.rotation) == (240, 320, 90)
    assert (result.poster.width, result.poster.height) == (240, 320)
    assert (result.preview_clip.width, result.preview_clip.height) == (240, 320)
    with Image.open(result.poster.path) as poster:
        assert poster.size == (240, 320)


def test_rotation_turns_the_pictures_upright(ingested: dict[str, VideoIngest]):
    # The rotated clip holds the same frames as the plain one, to be shown turned a quarter clockwise.
    with (
        Image.open(ingested["mp4"].poster.path) as plain,
        Image.open(ingested["rotated"].poster.path) as rotated,
    ):
        expected = np.asarray(plain.transpose(Image.Transpose.ROTATE_270), dtype=np.float32)
        assert np.abs(np.asarray(rotated, dtype=np.float32) - expected).mean() < 3
    with (
        av.open(ingested["mp4"].preview_clip.path) as plain,
        av.open(ingested["rotated"].preview_clip.path) as rotated,
    ):
        plain_first = next(plain.decode(video=0)).to_ndarray(format="rgb24").astype(np.float32)
        rotated_first = next(rotated.decode(video=0)).to_ndarray(format="rgb24").astype(np.float32)
    assert np.abs(rotated_first - np.rot90(plain_first, k=-1)).mean() < 3


def test_keyframe_hashes_are_one_per_second_and_deterministic(
    clips: dict[str, Path], ingested: dict[str, VideoIngest], tmp_path: Path
):
    again = ingest_video(clips["mp4"], tmp_path, limits=LIMITS)

    assert len(again.keyframe_phashes) == 2
    assert again.keyframe_phashes == ingested["mp4"].keyframe_phashes
    assert all(0 <= value < 1 << 64 for value in again.keyframe_phashes)


def test_keyframe_hashes_of_a_reencoded_copy_are_within_a_few_bits(ingested: dict[str, VideoIngest]):
    original, copy = ingested["mp4"].keyframe_phashes, ingested["reencoded"].keyframe_phashes

    assert len(original) == len(copy)
    assert all(hamming(a, b) <= 3 for a, b in zip(original, copy, strict=True))


def test_keyframe_hashes_tell_different_clips_apart(ingested: dict[str, VideoIngest]):
    moving, still = ingested["mp4"].keyframe_phashes, ingested["static"].keyframe_phashes

    assert all(hamming(a, b) > 10 for a, b in zip(moving, still, strict=True))


def test_motion_of_a_moving_clip_is_clearly_above_a_still_one(ingested: dict[str, VideoIngest]):
    moving, still = ingested["mp4"].motion_score, ingested["static"].motion_score

    assert still < 0.005
    assert moving > 5 * still + 0.005
    assert 0 <= moving <= 1


def test_poster_is_a_jpeg_without_metadata(ingested: dict[str, VideoIngest]):
    poster = ingested["tagged"].poster

    with Image.open(poster.path) as image:
        assert image.format == "JPEG"
        assert not image.getexif()
        assert {"exif", "xmp", "icc_profile"}.isdisjoint(image.info)
    assert b"Exif" not in Path(poster.path).read_bytes()


def test_poster_long_side_is_at_most_640_and_never_upscaled(ingested: dict[str, VideoIngest]):
    assert (ingested["long_large"].poster.width, ingested["long_large"].poster.height) == (640, 480)
    assert (ingested["mp4"].poster.width, ingested["mp4"].poster.height) == (320, 240)


def test_preview_is_small_short_silent_and_slow(ingested: dict[str, VideoIngest]):
    preview = ingested["long_large"].preview_clip

    with av.open(preview.path) as container:
        video = container.streams.video[0]
        assert not container.streams.audio
        assert (video.width, video.height) == (480, 360)
        assert container.duration is not None and container.duration / av.time_base <= 10.01
        assert video.average_rate is not None and video.average_rate <= 15
        assert video.codec_context.name == "h264"
    assert (preview.width, preview.height, preview.mime) == (480, 360, "video/mp4")


def test_preview_of_a_clip_with_sound_has_no_audio(ingested: dict[str, VideoIngest]):
    with av.open(ingested["audio"].preview_clip.path) as container:
        assert not container.streams.audio


def test_preview_carries_none_of_the_upload_metadata(
    clips: dict[str, Path], ingested: dict[str, VideoIngest]
):
    assert LOCATION.encode() in clips["tagged"].read_bytes()  # the upload does carry it
    preview = Path(ingested["tagged"].preview_clip.path)

    with av.open(str(preview)) as container:
        tags = {**container.metadata, **container.streams.video[0].metadata}
    assert not {key for key in tags if "location" in key.lower() or "creation" in key.lower()}
    assert {"make", "model", "encoder", "com.apple.quicktime.make"}.isdisjoint(tags)
    raw = preview.read_bytes()
    assert b"48.8584" not in raw
    assert b"iPhone" not in raw
    assert b"Apple" not in raw


def test_derivatives_have_generated_names_inside_the_given_directory(
    clips: dict[str, Path], ingested: dict[str, VideoIngest]
):
    for result in ingested.values():
        for derivative in (result.poster, result.preview_clip):
            assert Path(derivative.path).stem not in {path.stem for path in clips.values()}
            assert Path(derivative.path).is_file()
            assert derivative.size_bytes == Path(derivative.path).stat().st_size
    directories = {Path(d.path).parent for r in ingested.values() for d in (r.poster, r.preview_clip)}
    assert len(directories) == 1


def test_ingest_of_a_refused_file_raises_and_leaves_nothing(clips: dict[str, Path], tmp_path: Path):
    data = clips["faststart"].read_bytes()
    path = tmp_path / "half.mp4"
    path.write_bytes(data[: len(data) // 2])
    derivatives = tmp_path / "derivatives"
    derivatives.mkdir()

    with pytest.raises(MediaRejected):
        ingest_video(path, derivatives, limits=LIMITS)
    assert not any(derivatives.iterdir())


def test_ingest_of_a_webm_and_a_mov(ingested: dict[str, VideoIngest]):
    assert (ingested["webm"].container, ingested["webm"].codec, ingested["webm"].frame_count) == (
        "webm",
        "vp9",
        None,
    )
    assert ingested["mov"].mime == "video/quicktime"
    for name in ("webm", "mov"):
        assert Path(ingested[name].preview_clip.path).stat().st_size > 0


@pytest.mark.parametrize("clip", ["mp4", "webm", "audio"])
def test_damaged_copies_are_read_or_refused_never_crash(clips: dict[str, Path], tmp_path: Path, clip: str):
    rng = np.random.default_rng(11)
    original = clips[clip].read_bytes()
    for attempt in range(15):
        damaged = bytearray(original)
        for _ in range(rng.integers(1, 40)):
            damaged[rng.integers(0, len(damaged) if attempt % 2 else 700)] = rng.integers(0, 256)
        path = tmp_path / f"damaged{attempt}.bin"
        path.write_bytes(bytes(damaged))
        with contextlib.suppress(MediaRejected):
            ingest_video(path, tmp_path, limits=LIMITS)


def test_the_poster_and_the_preview_carry_the_watermark(clips: dict[str, Path], tmp_path: Path):
    plain = ingest_video(clips["mp4"], tmp_path, limits=LIMITS, watermark_text="")
    marked = ingest_video(clips["mp4"], tmp_path, limits=LIMITS, watermark_text="Datamarket preview")

    with Image.open(plain.poster.path) as clean, Image.open(marked.poster.path) as stamped:
        poster_change = np.abs(np.asarray(stamped, dtype=np.float32) - np.asarray(clean, dtype=np.float32))
    with av.open(plain.preview_clip.path) as clean_clip, av.open(marked.preview_clip.path) as stamped_clip:
        clean_frame = next(clean_clip.decode(video=0)).to_ndarray(format="rgb24").astype(np.float32)
        stamped_frame = next(stamped_clip.decode(video=0)).to_ndarray(format="rgb24").astype(np.float32)

    # The mark covers a good share of the frame, in light diagonal rows.
    assert (poster_change.max(axis=-1) > 20).mean() > 0.05
    assert (np.abs(stamped_frame - clean_frame).max(axis=-1) > 20).mean() > 0.05


# --- Content credentials (C2PA) ------------------------------------------------------------------------------


@pytest.mark.parametrize(("container", "mime"), [("mp4", "video/mp4"), ("mov", "video/quicktime")])
def test_a_c2pa_manifest_in_a_video_declaring_ai_generation_is_read(
    c2pa_signer, tmp_path: Path, container: str, mime: str
) -> None:
    plain = make_video(tmp_path / f"plain.{container}", format=container, seconds=1)
    signed = c2pa_signer(plain, tmp_path / f"signed.{container}", mime, AI_MADE)

    credentials = ingest_video(signed, tmp_path, limits=LIMITS).content_credentials

    assert credentials.has_manifest is True
    assert credentials.ai_generated is True
    assert credentials.claim_generator == "test-generator 1.0"
    assert credentials.validation_state in ("Valid", "Trusted")


def test_a_video_camera_capture_manifest_is_not_ai(c2pa_signer, tmp_path: Path) -> None:
    signed = c2pa_signer(
        make_video(tmp_path / "plain.mp4", seconds=1), tmp_path / "s.mp4", "video/mp4", CAMERA_MADE
    )

    credentials = ingest_video(signed, tmp_path, limits=LIMITS).content_credentials

    assert (credentials.has_manifest, credentials.ai_generated) == (True, False)


def test_a_video_without_a_manifest_has_none(ingested: dict[str, VideoIngest]) -> None:
    for name in ("mp4", "mov", "webm"):
        assert ingested[name].content_credentials.has_manifest is False, name
