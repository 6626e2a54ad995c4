"""Delivery renditions of single files: what is cut, what is kept, and damaged uploads refused cleanly."""

import io

import av
import numpy as np
import pytest
from PIL import Image, ImageCms

from datasets.packaging.renditions import Method, RenditionError, jpeg_without_metadata, photo_rendition
from datasets.packaging.video_renditions import video_rendition
from tests.media_corpus import is_upright, upright_picture


def _jpeg(**options) -> bytes:
    buffer = io.BytesIO()
    upright_picture((96, 64)).save(buffer, "JPEG", quality=90, **options)
    return buffer.getvalue()


def test_only_the_segments_a_decoder_needs_are_kept():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x013B] = "Someone"  # artist
    original = _jpeg(icc_profile=profile, exif=exif.tobytes(), comment=b"shot at home")
    trailer = b"SEFH\x00\x00 phone trailer with a location"

    kept = jpeg_without_metadata(original + trailer)

    assert b"Someone" not in kept and b"shot at home" not in kept and b"trailer" not in kept
    with Image.open(io.BytesIO(kept)) as picture:
        assert picture.info["icc_profile"] == profile
        assert np.array_equal(np.asarray(picture), np.asarray(Image.open(io.BytesIO(original))))


def test_a_jfif_thumbnail_is_dropped():
    # Identifier, version 1.2, no units, density 1:1, then a 16 x 16 RGB thumbnail.
    jfif = b"JFIF\x00\x01\x02\x00\x00\x01\x00\x01" + b"\x10\x10" + bytes(range(256)) * 3
    segment = b"\xff\xe0" + (len(jfif) + 2).to_bytes(2, "big") + jfif
    original = _jpeg()
    start = 2 + 2 + int.from_bytes(original[4:6], "big")  # after Pillow's own JFIF header

    kept = jpeg_without_metadata(original[:2] + segment + original[start:])

    assert kept[4:6] == (16).to_bytes(2, "big")  # a bare JFIF header: 14 bytes and the length
    assert kept[18:20] == b"\x00\x00"
    Image.open(io.BytesIO(kept)).load()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[:-2], "truncated: no end-of-image marker"),
        (lambda data: data[:2] + b"\xff\xe1\xff\xff" + data[2:], "truncated inside a segment"),
        (lambda data: b"GIF89a" + data, "not a JPEG"),
    ],
)
def test_a_damaged_jpeg_is_refused_with_the_reason(damage, message):
    with pytest.raises(RenditionError, match=message):
        jpeg_without_metadata(damage(_jpeg()))


def test_an_undecodable_upload_is_a_rendition_error(tmp_path):
    source = tmp_path / "upload"
    source.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)

    with pytest.raises(RenditionError, match="could not be decoded"):
        photo_rendition(source, tmp_path)


def test_a_cmyk_jpeg_becomes_rgb(tmp_path):
    source = tmp_path / "print.jpg"
    upright_picture((96, 64)).convert("CMYK").save(source, "JPEG", quality=95)

    made = photo_rendition(source, tmp_path)

    assert made.method == Method.CONVERTED
    with Image.open(made.path) as picture:
        assert picture.mode == "RGB"
        assert is_upright(picture)


def test_an_opaque_alpha_channel_is_dropped_for_jpeg(tmp_path):
    source = tmp_path / "opaque.png"
    upright_picture((96, 64)).convert("RGBA").save(source)

    made = photo_rendition(source, tmp_path)

    assert (made.series, made.path.suffix) == ("photos", ".jpg")


def test_a_file_without_video_is_refused(tmp_path):
    source = tmp_path / "sound.mp4"
    with av.open(str(source), "w") as output:
        stream = output.add_stream("aac", rate=44100)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 1024), dtype=np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate = 44100
        output.mux(stream.encode(frame))
        output.mux(stream.encode())

    with pytest.raises(RenditionError, match="no video stream"):
        video_rendition(source, tmp_path)


def test_a_file_that_is_not_a_video_is_refused(tmp_path):
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 64)

    with pytest.raises(RenditionError, match="could not be read"):
        video_rendition(source, tmp_path)


def test_a_camera_mov_with_pcm_sound_keeps_its_picture_and_its_sound_as_aac(tmp_path):
    source = tmp_path / "camera.mov"
    with av.open(str(source), "w", format="mov") as output:
        video = output.add_stream("libx264", rate=12)
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        sound = output.add_stream("pcm_s16le", rate=48000, layout="stereo")
        for _ in range(12):
            output.mux(video.encode(av.VideoFrame.from_image(upright_picture((96, 64)))))
        output.mux(video.encode())
        for start in range(0, 48000, 1024):
            samples = (np.sin(np.arange(start, start + 1024) / 20) * 8000).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(
                np.stack([samples, samples]).reshape(1, -1), format="s16", layout="stereo"
            )
            frame.sample_rate = 48000
            output.mux(sound.encode(frame))
        output.mux(sound.encode())

    made = video_rendition(source, tmp_path)

    assert (made.method, made.path.suffix) == (Method.TRANSCODED, ".mp4")
    with av.open(str(source)) as original, av.open(str(made.path)) as delivered:
        pictures = [bytes(packet) for packet in delivered.demux(video=0) if packet.size]
        assert pictures == [bytes(packet) for packet in original.demux(video=0) if packet.size]  # copied
        assert delivered.streams.audio[0].codec_context.name == "aac"
    with av.open(str(made.path)) as delivered:
        assert sum(frame.samples for frame in delivered.decode(audio=0)) >= 48000  # the whole second


def test_the_pixel_limit_is_the_one_ingest_accepted_photos_under(tmp_path):
    source = tmp_path / "wide.png"
    upright_picture((400, 100)).save(source)
    before = Image.MAX_IMAGE_PIXELS
    try:
        # A limit far under the photo: Pillow's bomb guard refuses what is over twice the limit.
        with pytest.raises(RenditionError, match="could not be decoded"):
            photo_rendition(source, tmp_path, max_pixels=10_000)
        made = photo_rendition(source, tmp_path, max_pixels=250_000_000)
    finally:
        Image.MAX_IMAGE_PIXELS = before

    assert (made.width, made.height) == (400, 100)
