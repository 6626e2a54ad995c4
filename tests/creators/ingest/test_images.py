import datetime
import io
import random
import re
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageDraw, ImageFile, ImageFilter, ImageOps
from PIL.TiffImagePlugin import IFDRational

from core.hashing import sha256_file
from creators.ingest.hashing import hamming, phash
from creators.ingest.images import (
    NOT_ACCEPTED_MESSAGE,
    ImageIngest,
    ingest_image,
    probe_image,
)
from creators.ingest.limits import MediaLimits, MediaRejected
from tests.conftest import AI_MADE, CAMERA_MADE

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "camera-samples"
CORPUS_PHOTOS = sorted([*CORPUS.glob("jpg/*.jpg"), *CORPUS.glob("heic/*")]) if CORPUS.is_dir() else []
needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"the shared test corpus is not at {CORPUS} (see ../shared/corpus/README.md)"
)
LIMITS = MediaLimits()


@pytest.fixture(autouse=True)
def _pillow_guard_restored():
    """Probing sets Pillow's process-wide bomb guard from the limits: tiny test limits must not leak."""
    before = Image.MAX_IMAGE_PIXELS
    yield
    Image.MAX_IMAGE_PIXELS = before


def _photo_like(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """Gradients, hard-edged shapes and fine noise: a picture that compresses and hashes like a photograph."""
    rng = random.Random(seed)
    width, height = size
    small = (max(1, width // 4), max(1, height // 4))
    bands = [
        Image.linear_gradient("L")
        .rotate(rng.uniform(0, 360), resample=Image.Resampling.BILINEAR, fillcolor=rng.randrange(256))
        .resize(small)
        for _ in range(3)
    ]
    picture = Image.merge("RGB", bands)
    draw = ImageDraw.Draw(picture)
    for _ in range(40):
        x, y = rng.randrange(small[0]), rng.randrange(small[1])
        extent = rng.randrange(4, max(5, small[0] // 4))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x, y, x + extent, y + extent), fill=colour)
    picture = picture.resize(size, Image.Resampling.BICUBIC)
    noise = np.random.default_rng(seed).integers(-6, 7, size=(height, width, 1), dtype=np.int16)
    return Image.fromarray(np.clip(np.asarray(picture, dtype=np.int16) + noise, 0, 255).astype(np.uint8))


def _write(path: Path, image: Image.Image, image_format: str, **options) -> Path:
    image.save(path, image_format, **options)
    return path


def _full_decode_phash(path: Path) -> int:
    with Image.open(path) as image:
        return phash(ImageOps.exif_transpose(image))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _assert_no_metadata(path: str) -> None:
    with Image.open(path) as derivative:
        assert derivative.format == "JPEG"
        assert derivative.mode == "RGB"
        assert not derivative.getexif()
        assert not {"exif", "xmp", "icc_profile", "comment", "photoshop"} & set(derivative.info)
        assert all(marker in ("APP0",) for marker, _ in derivative.applist)


# --- The corpus: real cameras and phones ------------------------------------------------------------


@needs_corpus
@pytest.mark.parametrize("photo", CORPUS_PHOTOS, ids=lambda path: path.name)
def test_every_corpus_photo_probes_and_ingests(photo: Path, tmp_path: Path) -> None:
    probe = probe_image(photo, LIMITS)
    result = ingest_image(photo, tmp_path, limits=LIMITS)

    assert isinstance(result, ImageIngest)
    assert (result.format, result.width, result.height) == (probe.format, probe.width, probe.height)
    assert result.sha256 == sha256_file(photo)
    assert hamming(result.phash, _full_decode_phash(photo)) <= 2
    assert result.thumbnail.width <= 320 and result.thumbnail.height <= 320
    assert max(result.preview.width, result.preview.height) <= 640
    _assert_no_metadata(result.thumbnail.path)
    _assert_no_metadata(result.preview.path)


@needs_corpus
@pytest.mark.parametrize(
    ("name", "coarse"), [("jpg/Kodak_CX7530.jpg", (-0.4, 36.1)), ("heic/IMG_5195.HEIC", (39.1, -94.3))]
)
def test_a_photo_with_gps_gives_only_a_coarse_location_and_metadata_free_derivatives(
    name: str, coarse: tuple[float, float], tmp_path: Path
) -> None:
    photo = CORPUS / name
    with Image.open(photo) as original:
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo).get(ExifTags.GPS.GPSLatitude)

    result = ingest_image(photo, tmp_path, limits=LIMITS)

    assert result.coarse_location == coarse
    _assert_no_metadata(result.thumbnail.path)
    _assert_no_metadata(result.preview.path)


@needs_corpus
def test_a_gps_block_without_coordinates_gives_no_location(tmp_path: Path) -> None:
    assert ingest_image(CORPUS / "jpg/Canon_40D.jpg", tmp_path, limits=LIMITS).coarse_location is None


@needs_corpus
def test_camera_exif_and_the_phone_heic_metadata_are_read(tmp_path: Path) -> None:
    canon = ingest_image(CORPUS / "jpg/Canon_40D.jpg", tmp_path, limits=LIMITS)
    iphone = ingest_image(CORPUS / "heic/IMG_5195.HEIC", tmp_path, limits=LIMITS)

    assert (canon.camera.make, canon.camera.model) == ("Canon", "Canon EOS 40D")
    assert canon.camera.captured_at == "2008-05-30T15:56:01"
    assert canon.camera.f_number == 7.1 and canon.camera.iso == 100
    assert canon.color_space == "sRGB IEC61966-2.1"
    assert iphone.format == "HEIF" and iphone.extension == "heic" and iphone.mime == "image/heic"
    assert iphone.camera.captured_at == "2021-04-11T15:47:53-05:00"
    assert iphone.camera.lens and "iPhone 11 Pro Max" in iphone.camera.lens
    assert iphone.color_space == "Display P3"


@needs_corpus
def test_a_real_face_is_counted(tmp_path: Path) -> None:
    # The only clearly frontal face in the corpus: a woman at a desk, 70 x 100 px.
    assert ingest_image(CORPUS / "jpg/Konica_Minolta_DiMAGE_Z3.jpg", tmp_path, limits=LIMITS).faces >= 1


@needs_corpus
@pytest.mark.parametrize("face_share_of_long_side", [0.1, 0.12, 0.14, 0.16])
def test_a_small_face_in_a_large_photo_is_counted(tmp_path: Path, face_share_of_long_side: float) -> None:
    # A group photo or a full-length portrait: the face is a tenth to a sixth of a 12 MP frame's long side.
    with Image.open(CORPUS / "jpg/Konica_Minolta_DiMAGE_Z3.jpg") as source:
        person = ImageOps.exif_transpose(source).convert("RGB")
    face_share_of_person = 0.22  # the face's height over the picture's, as the detector finds it
    height = round(4000 * face_share_of_long_side / face_share_of_person)
    person = person.resize((round(person.width * height / person.height), height), Image.Resampling.BICUBIC)
    scene = Image.effect_noise((4000, 3000), 24).convert("RGB").filter(ImageFilter.GaussianBlur(6))
    scene.paste(person, (1300, 3000 - height))
    path = _write(tmp_path / "scene.jpg", scene, "JPEG", quality=90)

    assert ingest_image(path, tmp_path / "out", limits=LIMITS).faces >= 1


@needs_corpus
def test_xmp_caption_is_read_from_the_corpus(tmp_path: Path) -> None:
    result = ingest_image(CORPUS / "jpg/long_description.jpg", tmp_path, limits=LIMITS)
    assert result.descriptive.caption and result.descriptive.caption.startswith("Operation Mountain Viper")


# --- The reduced decode -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def twelve_megapixel_jpegs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("twelve-mp")
    paths = []
    for seed in range(3):
        exif = Image.Exif()
        if seed == 2:
            exif[ExifTags.Base.Orientation] = 6
        paths.append(
            _write(folder / f"{seed}.jpg", _photo_like((4000, 3000), seed), "JPEG", quality=90, exif=exif)
        )
    return paths


def test_phash_from_the_reduced_decode_matches_a_full_decode_on_12mp_jpegs(
    twelve_megapixel_jpegs: list[Path], tmp_path: Path
) -> None:
    for path in twelve_megapixel_jpegs:
        result = ingest_image(path, tmp_path, limits=LIMITS)
        assert hamming(result.phash, _full_decode_phash(path)) <= 2, path.name


def test_a_12mp_jpeg_is_decoded_at_an_eighth_and_its_preview_is_not_enlarged(
    twelve_megapixel_jpegs: list[Path], tmp_path: Path
) -> None:
    result = ingest_image(twelve_megapixel_jpegs[0], tmp_path, limits=LIMITS)

    assert (result.width, result.height, result.megapixels) == (4000, 3000, 12.0)
    assert (result.preview.width, result.preview.height) == (500, 375)
    assert (result.thumbnail.width, result.thumbnail.height) == (320, 240)
    assert result.quality.resolution_class == "high"


def test_exif_orientation_turns_sizes_and_derivatives_upright(
    twelve_megapixel_jpegs: list[Path], tmp_path: Path
) -> None:
    result = ingest_image(twelve_megapixel_jpegs[2], tmp_path, limits=LIMITS)

    assert result.orientation == 6
    assert (result.width, result.height) == (3000, 4000)
    assert (result.thumbnail.width, result.thumbnail.height) == (240, 320)
    assert probe_image(twelve_megapixel_jpegs[2], LIMITS).width == 3000


# --- Quality signals ----------------------------------------------------------------------------------


def test_a_sharp_picture_scores_higher_than_the_same_picture_blurred(tmp_path: Path) -> None:
    sharp = _photo_like((2000, 1500), seed=7)
    sharp_path = _write(tmp_path / "sharp.jpg", sharp, "JPEG", quality=92)
    blurred_path = _write(
        tmp_path / "blurred.jpg", sharp.filter(ImageFilter.GaussianBlur(6)), "JPEG", quality=92
    )

    sharp_blur = ingest_image(sharp_path, tmp_path / "out", limits=LIMITS).quality.blur
    blurred_blur = ingest_image(blurred_path, tmp_path / "out", limits=LIMITS).quality.blur

    assert sharp_blur > 3 * blurred_blur


@pytest.mark.parametrize("smaller", [(2000, 1500), (3000, 2250)])
def test_blur_is_measured_at_a_fixed_scale_whatever_the_source_resolution(
    smaller: tuple[int, int], tmp_path: Path
) -> None:
    large = _photo_like((4000, 3000), seed=3)
    large_path = _write(tmp_path / "large.jpg", large, "JPEG", quality=92)
    small_path = _write(
        tmp_path / "small.jpg", large.resize(smaller, Image.Resampling.LANCZOS), "JPEG", quality=92
    )

    large_blur = ingest_image(large_path, tmp_path / "out", limits=LIMITS).quality.blur
    small_blur = ingest_image(small_path, tmp_path / "out", limits=LIMITS).quality.blur

    assert 0.75 < large_blur / small_blur < 1.33


@pytest.mark.parametrize(
    ("colour", "bright", "dark"), [("white", 1.0, 0.0), ("black", 0.0, 1.0)], ids=["white", "black"]
)
def test_exposure_flags_clipped_highlights_and_shadows(
    colour: str, bright: float, dark: float, tmp_path: Path
) -> None:
    path = _write(tmp_path / f"{colour}.jpg", Image.new("RGB", (1200, 900), colour), "JPEG", quality=90)

    quality = ingest_image(path, tmp_path / "out", limits=LIMITS).quality

    assert quality.clipped_bright == pytest.approx(bright, abs=0.01)
    assert quality.clipped_dark == pytest.approx(dark, abs=0.01)
    assert quality.mean_luminance == pytest.approx(bright, abs=0.02)


@pytest.mark.parametrize(
    ("size", "resolution_class"),
    [((1600, 1200), "low"), ((2400, 1800), "hd"), ((4000, 3000), "high"), ((6000, 4000), "very_high")],
)
def test_resolution_class_follows_megapixels(
    size: tuple[int, int], resolution_class: str, tmp_path: Path
) -> None:
    path = _write(tmp_path / "flat.jpg", Image.new("RGB", size, "grey"), "JPEG")
    assert ingest_image(path, tmp_path / "out", limits=LIMITS).quality.resolution_class == resolution_class


def test_a_picture_without_faces_counts_none(tmp_path: Path) -> None:
    picture = Image.linear_gradient("L").resize((1600, 1200)).convert("RGB")
    ImageDraw.Draw(picture).rectangle((300, 300, 900, 700), fill=(200, 40, 40))
    path = _write(tmp_path / "no-faces.jpg", picture, "JPEG", quality=90)

    assert ingest_image(path, tmp_path / "out", limits=LIMITS).faces == 0


# --- Metadata -----------------------------------------------------------------------------------------


def test_exif_camera_fields_and_capture_time_with_offset(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Fujifilm"
    exif[ExifTags.Base.Model] = "X-T5"
    exif[ExifTags.Base.Software] = "Capture One 23"
    exif[ExifTags.Base.Artist] = "Grace Hopper"
    camera = exif.get_ifd(ExifTags.IFD.Exif)
    camera[ExifTags.Base.LensModel] = "XF33mmF1.4 R LM WR"
    camera[ExifTags.Base.ExposureTime] = IFDRational(1, 250)
    camera[ExifTags.Base.FNumber] = IFDRational(28, 10)
    camera[ExifTags.Base.ISOSpeedRatings] = 400
    camera[ExifTags.Base.FocalLength] = IFDRational(33, 1)
    camera[ExifTags.Base.DateTimeOriginal] = "2024:05:01 12:30:00"
    camera[ExifTags.Base.OffsetTimeOriginal] = "+02:00"
    path = _write(tmp_path / "camera.jpg", _photo_like((800, 600)), "JPEG", exif=exif)

    result = ingest_image(path, tmp_path / "out", limits=LIMITS)

    assert result.camera.make == "Fujifilm" and result.camera.model == "X-T5"
    assert result.camera.lens == "XF33mmF1.4 R LM WR"
    assert result.camera.exposure_time_s == 0.004
    assert result.camera.f_number == 2.8
    assert result.camera.iso == 400
    assert result.camera.focal_length_mm == 33.0
    assert result.camera.software == "Capture One 23"
    assert result.camera.captured_at == "2024-05-01T12:30:00+02:00"
    assert datetime.datetime.fromisoformat(result.camera.captured_at).utcoffset() == datetime.timedelta(
        hours=2
    )
    assert result.descriptive.creator == "Grace Hopper"


XMP_PACKET = b"""<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    plus:DataMining="http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED">
   <dc:subject><rdf:Bag><rdf:li>beach</rdf:li><rdf:li>sunset</rdf:li></rdf:Bag></dc:subject>
   <dc:description><rdf:Alt>
    <rdf:li xml:lang="de">Strand bei Sonnenuntergang</rdf:li>
    <rdf:li xml:lang="x-default">A beach at sunset</rdf:li>
   </rdf:Alt></dc:description>
   <dc:creator><rdf:Seq><rdf:li>Ada Lovelace</rdf:li></rdf:Seq></dc:creator>
   <dc:rights><rdf:Alt><rdf:li xml:lang="x-default">(c) 2024 Ada Lovelace</rdf:li></rdf:Alt></dc:rights>
   <Iptc4xmpExt:DigitalSourceType
     rdf:resource="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end='w'?>"""


def test_xmp_keywords_caption_rights_data_mining_and_ai_source_type_are_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "xmp.jpg", _photo_like((800, 600)), "JPEG", xmp=XMP_PACKET)

    result = ingest_image(path, tmp_path / "out", limits=LIMITS)

    assert result.descriptive.keywords == ("beach", "sunset")
    assert result.descriptive.caption == "A beach at sunset"
    assert result.descriptive.creator == "Ada Lovelace"
    assert result.descriptive.copyright == "(c) 2024 Ada Lovelace"
    assert result.descriptive.data_mining == "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED"
    assert result.content_credentials.has_manifest is False
    assert result.content_credentials.ai_generated is True
    _assert_no_metadata(result.preview.path)


def test_xmp_with_a_dtd_is_ignored_rather_than_expanded(tmp_path: Path) -> None:
    laughs = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (level, b"&lol%d;" % (level - 1) * 10 if level > 1 else b"&lol;" * 10)
        for level in range(1, 10)
    )
    laughs += b']><x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:subject>&lol9;</dc:subject></x:xmpmeta>'
    path = _write(tmp_path / "laughs.jpg", _photo_like((640, 480)), "JPEG", xmp=laughs)

    assert ingest_image(path, tmp_path / "out", limits=LIMITS).descriptive.keywords == ()


def _iptc_app13(datasets: list[tuple[int, bytes]]) -> bytes:
    iim = b"".join(
        b"\x1c\x02" + bytes([number]) + struct.pack(">H", len(value)) + value for number, value in datasets
    )
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iim)) + iim
    resource += b"\x00" * (len(resource) % 2)
    payload = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def test_iptc_iim_is_read_when_there_is_no_xmp(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    _photo_like((640, 480)).save(buffer, "JPEG")
    jpeg = buffer.getvalue()
    app13 = _iptc_app13([(25, b"harbour"), (25, b"boats"), (80, "Søren".encode()), (120, b"Boats at dawn")])
    path = tmp_path / "iptc.jpg"
    path.write_bytes(jpeg[:2] + app13 + jpeg[2:])

    descriptive = ingest_image(path, tmp_path / "out", limits=LIMITS).descriptive

    assert descriptive.keywords == ("harbour", "boats")
    assert descriptive.creator == "Søren"
    assert descriptive.caption == "Boats at dawn"


# --- Content credentials (C2PA) -------------------------------------------------------------------------


def test_a_c2pa_manifest_declaring_ai_generation_is_summarised(c2pa_signer, tmp_path: Path) -> None:
    plain = _write(tmp_path / "plain.jpg", _photo_like((640, 480)), "JPEG")
    signed = c2pa_signer(plain, tmp_path / "signed.jpg", "image/jpeg", AI_MADE)

    credentials = ingest_image(signed, tmp_path / "out", limits=LIMITS).content_credentials

    assert credentials.has_manifest is True
    assert credentials.ai_generated is True
    assert credentials.claim_generator == "test-generator 1.0"
    assert credentials.validation_state in ("Valid", "Trusted")


def test_a_c2pa_manifest_in_a_png_declaring_a_camera_capture_is_not_ai(c2pa_signer, tmp_path: Path) -> None:
    plain = _write(tmp_path / "plain.png", _photo_like((640, 480)), "PNG")
    signed = c2pa_signer(plain, tmp_path / "signed.png", "image/png", CAMERA_MADE)

    credentials = ingest_image(signed, tmp_path / "out", limits=LIMITS).content_credentials

    assert credentials.has_manifest is True
    assert credentials.ai_generated is False


def test_a_broken_app11_segment_reads_as_no_manifest(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    _photo_like((640, 480)).save(buffer, "JPEG")
    jpeg = buffer.getvalue()
    junk = b"JP\x00\x01\x00\x00\x00\x01" + b"\x00\x00\x00\x20jumbnot really a manifest store"
    path = tmp_path / "broken-jumbf.jpg"
    path.write_bytes(jpeg[:2] + b"\xff\xeb" + struct.pack(">H", len(junk) + 2) + junk + jpeg[2:])

    credentials = ingest_image(path, tmp_path / "out", limits=LIMITS).content_credentials

    assert credentials.has_manifest is False and credentials.ai_generated is False


def test_c2pa_is_not_asked_about_files_that_cannot_carry_a_manifest(monkeypatch, tmp_path: Path) -> None:
    import c2pa

    asked: list[object] = []
    monkeypatch.setattr(c2pa.Reader, "try_create", lambda *args, **kwargs: asked.append(args))
    jpeg = _write(tmp_path / "plain.jpg", _photo_like((640, 480)), "JPEG")
    png = _write(tmp_path / "plain.png", _photo_like((640, 480)), "PNG")

    ingest_image(jpeg, tmp_path / "out", limits=LIMITS)
    ingest_image(png, tmp_path / "out", limits=LIMITS)

    assert asked == []


# --- Formats ------------------------------------------------------------------------------------------


def _rgba_png(path: Path) -> Path:
    picture = _photo_like((900, 600)).convert("RGBA")
    picture.putalpha(Image.linear_gradient("L").resize((900, 600)))
    return _write(path, picture, "PNG")


def _sixteen_bit_grey_png(path: Path) -> Path:
    ramp = np.tile(np.linspace(0, 65535, 1000, dtype=np.uint16), (700, 1))
    return _write(path, Image.fromarray(ramp), "PNG")


@pytest.mark.parametrize(
    ("make", "image_format", "extension"),
    [
        (lambda path: _rgba_png(path), "PNG", "png"),
        (lambda path: _write(path, _photo_like((900, 600)).convert("P"), "PNG"), "PNG", "png"),
        (_sixteen_bit_grey_png, "PNG", "png"),
        (lambda path: _write(path, _photo_like((1200, 800)), "WEBP", quality=85), "WEBP", "webp"),
        (lambda path: _write(path, _photo_like((1200, 800)).convert("CMYK"), "TIFF"), "TIFF", "tif"),
        (lambda path: _write(path, _photo_like((1200, 800)), "TIFF", compression="tiff_lzw"), "TIFF", "tif"),
        (lambda path: _write(path, _photo_like((1200, 800)).convert("CMYK"), "JPEG"), "JPEG", "jpg"),
        (lambda path: _write(path, _photo_like((1200, 800)).convert("L"), "JPEG"), "JPEG", "jpg"),
    ],
    ids=[
        "png-rgba",
        "png-palette",
        "png-16-bit-grey",
        "webp",
        "tiff-cmyk",
        "tiff-lzw",
        "jpeg-cmyk",
        "jpeg-grey",
    ],
)
def test_each_accepted_format_and_mode_ingests_to_rgb_derivatives(
    make, image_format: str, extension: str, tmp_path: Path
) -> None:
    path = make(tmp_path / "upload.bin")

    result = ingest_image(path, tmp_path / "out", limits=LIMITS)

    assert (result.format, result.extension) == (image_format, extension)
    with Image.open(path) as original:
        # Pillow's own 16-bit to 8-bit conversion clips instead of scaling, so it is no reference there.
        if original.mode not in ("I;16", "I"):
            assert hamming(result.phash, _full_decode_phash(path)) <= 2
    _assert_no_metadata(result.thumbnail.path)
    _assert_no_metadata(result.preview.path)


def test_a_multi_picture_jpeg_is_a_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "stereo.jpg"
    _photo_like((800, 600), 1).save(path, "MPO", save_all=True, append_images=[_photo_like((800, 600), 2)])

    assert probe_image(path, LIMITS).format == "JPEG"
    assert ingest_image(path, tmp_path / "out", limits=LIMITS).extension == "jpg"


def test_an_animated_png_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "animated.png"
    Image.new("RGB", (64, 64), "red").save(
        path, save_all=True, append_images=[Image.new("RGB", (64, 64), "blue")]
    )

    with pytest.raises(MediaRejected, match=re.escape("This PNG is animated; upload a still image.")):
        probe_image(path, LIMITS)


# --- Refusals -------------------------------------------------------------------------------------------


def _jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    _photo_like((800, 600)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    _photo_like((800, 600)).save(buffer, "PNG")
    return buffer.getvalue()


def _encoded(image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "green").save(buffer, image_format)
    return buffer.getvalue()


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.jpg", _encoded("JPEG"))
    return buffer.getvalue()


def _huge_png_header() -> bytes:
    """A valid PNG whose IHDR declares 50000 x 50000 grey pixels: 2.5 gigapixels, in a few dozen bytes."""
    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def _cut(content: bytes) -> bytes:
    return content[: len(content) * 2 // 3]


HINT = "upload JPEG, PNG, WebP, HEIC or TIFF."


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param("empty.jpg", lambda: b"", "This file is empty.", id="zero-bytes"),
        pytest.param(
            "cut.jpg",
            lambda: _cut(_jpeg_bytes()),
            "This JPEG is damaged: the file is cut short. Upload the whole file.",
            id="cut-jpeg",
        ),
        pytest.param(
            "cut.png", lambda: _cut(_png_bytes()), "This PNG is truncated or damaged.", id="cut-png"
        ),
        pytest.param("animation.gif", lambda: _encoded("GIF"), f"This file is a GIF; {HINT}", id="gif"),
        pytest.param("scan.bmp", lambda: _encoded("BMP"), f"This file is a BMP; {HINT}", id="bmp"),
        pytest.param(
            "page.jpg", lambda: b"<!DOCTYPE html><html><img src=x onerror=alert(1)></html>", None, id="html"
        ),
        pytest.param(
            "logo.svg",
            lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>',
            None,
            id="svg",
        ),
        pytest.param("photos.zip", _zip_bytes, None, id="zip"),
        pytest.param("doc.pdf", lambda: b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", None, id="pdf"),
    ],
)
def test_probe_refuses_with_a_message_a_creator_understands(
    name: str, content, message: str | None, tmp_path: Path
) -> None:
    path = tmp_path / name
    path.write_bytes(content())

    with pytest.raises(MediaRejected) as refusal:
        probe_image(path, LIMITS)

    assert str(refusal.value) == (message or NOT_ACCEPTED_MESSAGE)


def test_a_decompression_bomb_is_refused_from_its_header_without_decoding(
    monkeypatch, tmp_path: Path
) -> None:
    decoded: list[object] = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda image: decoded.append(image))
    path = tmp_path / "bomb.png"
    path.write_bytes(_huge_png_header())

    with pytest.raises(MediaRejected) as refusal:
        probe_image(path, LIMITS)

    assert str(refusal.value) == (
        "This image is 50000 × 50000 pixels; the most we accept is 250 megapixels."  # noqa: RUF001
    )
    assert decoded == []


@pytest.mark.parametrize("size", [(40, 40), (100, 100)], ids=["past-the-limit", "past-twice-the-limit"])
def test_the_pixel_limit_comes_from_media_limits(size: tuple[int, int], tmp_path: Path) -> None:
    # Pillow only warns between its limit and twice it, and raises beyond: both are refused alike.
    path = _write(tmp_path / "small.png", Image.new("RGB", size, "blue"), "PNG")

    with pytest.raises(
        MediaRejected,
        match=rf"This image is {size[0]} × {size[1]} pixels; the most we accept",  # noqa: RUF001
    ):
        probe_image(path, MediaLimits(max_image_pixels=1000))


def test_the_byte_limit_is_checked_before_anything_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    path.write_bytes(b"\xff\xd8" + b"\x00" * (3 * 1024 * 1024))

    with pytest.raises(MediaRejected, match=re.escape("This image is 3.0 MB; the most we accept is 1.0 MB.")):
        probe_image(path, MediaLimits(max_image_bytes=1024 * 1024))


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 0, 8, 2, 0, 0, 0)) + b"junk",
        b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4,
        b"\xff\xd8\xff\xdb\x00\x43" + b"\x01" * 200 + b"\xff\xd9",
        b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 32,
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
        b"II*\x00\x08\x00\x00\x00" + b"\xff" * 64,
        b"MM\x00*\x00\x00\x00\x08"
        + b"\x00\x01\x01\x00\x00\x04\x00\x00\x00\x01\xff\xff\xff\xff"
        + b"\x00" * 8,
        b"GIF89a/*\x00\x00\x00\x00*/=alert(1);//",
        b"%PDF-1.4\n" + _encoded("JPEG"),
        bytes(random.Random(5).randrange(256) for _ in range(4096)),
    ],
    ids=[
        "png-signature-only",
        "png-zero-size",
        "jpeg-garbage",
        "jpeg-no-frame",
        "webp-garbage",
        "heic-garbage",
        "tiff-garbage",
        "tiff-bad-strip",
        "gif-javascript-polyglot",
        "pdf-with-jpeg-inside",
        "random-bytes",
    ],
)
def test_hostile_bytes_are_refused_never_crash(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "upload.jpg"
    path.write_bytes(content)

    with pytest.raises(MediaRejected):
        probe_image(path, LIMITS)
    with pytest.raises(MediaRejected):
        ingest_image(path, tmp_path / "out", limits=LIMITS)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("image_format", "message"),
    [
        ("WEBP", "This WebP is truncated or damaged."),
        ("TIFF", "This TIFF is damaged: the file is cut short."),
    ],
    ids=["webp", "tiff"],
)
def test_other_truncated_formats_are_refused(image_format: str, message: str, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    _photo_like((800, 600)).save(buffer, image_format)
    path = tmp_path / "cut"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) * 2 // 3])

    with pytest.raises(MediaRejected, match=re.escape(message)):
        probe_image(path, LIMITS)


@needs_corpus
def test_a_truncated_heic_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.heic"
    path.write_bytes((CORPUS / "heic/IMG_5195.HEIC").read_bytes()[:200_000])

    with pytest.raises(MediaRejected, match=re.escape("This HEIC is truncated or damaged.")):
        probe_image(path, LIMITS)


def test_the_content_decides_not_the_file_name(tmp_path: Path) -> None:
    png_named_txt = _write(tmp_path / "notes.txt", _photo_like((320, 240)), "PNG")
    jpeg_named_png = _write(tmp_path / "picture.png", _photo_like((320, 240)), "JPEG")

    assert probe_image(png_named_txt, LIMITS).format == "PNG"
    assert probe_image(png_named_txt, LIMITS).mime == "image/png"
    assert probe_image(jpeg_named_png, LIMITS).extension == "jpg"


# --- Derivatives ----------------------------------------------------------------------------------------


def test_derivatives_get_generated_names_inside_the_derivatives_dir_only(tmp_path: Path) -> None:
    uploads, derivatives = tmp_path / "uploads", tmp_path / "derivatives"
    uploads.mkdir()
    upload = _write(uploads / "Jane Doe at home.jpg", _photo_like((1600, 1200)), "JPEG")

    result = ingest_image(upload, derivatives, limits=LIMITS)

    written = sorted(path.name for path in derivatives.iterdir())
    assert written == sorted([f"{result.sha256}-preview.jpg", f"{result.sha256}-thumbnail.jpg"])
    assert {Path(result.thumbnail.path).parent, Path(result.preview.path).parent} == {derivatives}
    assert sorted(path.name for path in uploads.iterdir()) == ["Jane Doe at home.jpg"]
    assert result.thumbnail.byte_size == Path(result.thumbnail.path).stat().st_size
    assert result.preview.byte_size == Path(result.preview.path).stat().st_size


def test_the_preview_carries_a_visible_watermark(tmp_path: Path) -> None:
    path = _write(tmp_path / "flat.jpg", Image.new("RGB", (1280, 960), (90, 90, 90)), "JPEG", quality=95)

    result = ingest_image(path, tmp_path / "out", limits=LIMITS)

    with Image.open(result.preview.path) as preview, Image.open(result.thumbnail.path) as thumbnail:
        marked = np.asarray(preview.convert("L"), dtype=np.int16)
        plain = np.asarray(thumbnail.convert("L"), dtype=np.int16)
    assert (preview.width, preview.height) == (640, 480)
    # Marks all over the frame, so no crop of a quarter of it escapes them.
    for quarter in (marked[:240, :320], marked[:240, 320:], marked[240:, :320], marked[240:, 320:]):
        assert np.count_nonzero(np.abs(quarter - 90) > 20) > 500
    assert np.count_nonzero(np.abs(plain - 90) > 20) == 0


def test_ingest_results_are_json_friendly(tmp_path: Path) -> None:
    import dataclasses
    import json

    path = _write(tmp_path / "photo.jpg", _photo_like((800, 600)), "JPEG", xmp=XMP_PACKET)
    as_json = json.loads(json.dumps(dataclasses.asdict(ingest_image(path, tmp_path / "out", limits=LIMITS))))

    assert as_json["descriptive"]["keywords"] == ["beach", "sunset"]
    assert isinstance(as_json["quality"]["blur"], float)
