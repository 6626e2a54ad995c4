"""The private-metadata corpus is what it claims: ExifTool reads every planted field, pictures show upright.

Rendition tests trust these files to carry location, serials and owner names, and their checks to find them;
a corpus that quietly lost its metadata, or a checker that flags everything, would make those tests pass or
fail for nothing.
"""

from pathlib import Path

import av
import pytest
from PIL import Image, ImageCms, ImageOps

from tests.media_corpus import (
    PLANTED_LATITUDE,
    PLANTED_LONGITUDE,
    PLANTED_STRINGS,
    CorpusFile,
    build_corpus,
    exiftool_findings,
    exiftool_reports,
    finding_kinds,
    heif_item_properties,
    is_upright,
    planted_bytes_found,
)

SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[CorpusFile]:
    return build_corpus(tmp_path_factory.mktemp("media-corpus"))


@pytest.fixture(scope="module")
def findings(corpus: list[CorpusFile]) -> dict[Path, list[str]]:
    return exiftool_findings([file.path for file in corpus])


def the(corpus: list[CorpusFile], name: str) -> CorpusFile:
    return next(file for file in corpus if file.name == name)


def exiftool_values(findings: list[str], tag: str) -> list[str]:
    return [
        finding.partition("=")[2] for finding in findings if finding.partition("=")[0].endswith(f":{tag}")
    ]


def test_every_file_carries_a_location_and_a_serial_or_owner(corpus, findings):
    for file in corpus:
        kinds = finding_kinds(findings[file.path])
        assert "location" in kinds, (file.name, findings[file.path])
        assert kinds & {"serial", "owner"}, (file.name, findings[file.path])


def test_every_file_holds_planted_strings_in_its_bytes(corpus):
    for file in corpus:
        assert planted_bytes_found(file.path), file.name


def test_the_photos_carry_the_planted_gps_position(corpus, findings):
    for file in corpus:
        if file.kind == "image":
            latitudes = exiftool_values(findings[file.path], "GPSLatitude")
            longitudes = exiftool_values(findings[file.path], "GPSLongitude")
            assert any(abs(float(value) - PLANTED_LATITUDE) < 1e-5 for value in latitudes), file.name
            assert any(abs(float(value) - PLANTED_LONGITUDE) < 1e-5 for value in longitudes), file.name


def test_the_phone_jpeg_carries_every_jpeg_hiding_place(corpus, findings):
    found = findings[the(corpus, "phone-everything.jpg").path]
    assert {"history", "makernote", "thumbnail"} <= finding_kinds(found)
    keys = {finding.partition("=")[0] for finding in found}
    assert {
        "IPTC:City",
        "IPTC:Sub-location",
        "IPTC:Province-State",
        "IPTC:Country-PrimaryLocationName",
        "IPTC:By-line",
        "XMP:XMP-aux:SerialNumber",
        "XMP:XMP-iptcExt:LocationCreatedCity",
        "XMP:XMP-photoshop:DocumentAncestors",
        "EXIF:IFD1:ThumbnailImage",
        "MakerNotes:Nikon:SerialNumber",
    } <= keys
    assert set(PLANTED_STRINGS) <= set(planted_bytes_found(the(corpus, "phone-everything.jpg").path))


def test_the_phone_jpeg_has_its_trailer_after_the_end_of_image(corpus):
    data = the(corpus, "phone-everything.jpg").path.read_bytes()
    trailer = data[data.rindex(b"\xff\xd9") + 2 :]
    assert trailer.endswith(b"SEFT")
    assert PLANTED_STRINGS[0] in trailer


@pytest.mark.parametrize(
    "name", [*(f"orientation-{n}.jpg" for n in range(1, 9)), "phone-everything.jpg", "odd-size.jpg"]
)
def test_an_oriented_jpeg_shows_upright_only_once_its_orientation_is_applied(corpus, name):
    file = the(corpus, name)
    with Image.open(file.path) as photo:
        assert photo.getexif()[0x0112] == file.orientation
        shown = ImageOps.exif_transpose(photo)
        assert shown.size == file.upright_size
        assert is_upright(shown)
        assert is_upright(photo) == (file.orientation == 1)


def test_the_odd_size_jpeg_cannot_be_rotated_losslessly(corpus):
    with Image.open(the(corpus, "odd-size.jpg").path) as photo:
        assert photo.size == (70, 100)
        assert photo.width % 16 and photo.height % 16


def test_the_heif_is_stored_sideways_with_an_irot_property_and_opens_upright(corpus):
    file = the(corpus, "phone.heic")
    assert "irot" in heif_item_properties(file.path)
    with Image.open(file.path) as photo:
        assert photo.format == "HEIF"
        assert photo.size == file.upright_size
        assert is_upright(photo)


@pytest.mark.parametrize("name", ["alpha.png", "gray16.png", "photo.webp", "scan.tif", "scan16.tif"])
def test_an_unrotated_photo_is_stored_upright(corpus, name):
    file = the(corpus, name)
    with Image.open(file.path) as photo:
        assert photo.size == file.upright_size
        assert is_upright(photo)
        assert ("alpha" in file.planted) == (photo.mode == "RGBA")
        assert ("16-bit" in file.planted) == (photo.mode == "I;16")


def test_the_mp4_reports_a_90_degree_rotation(corpus):
    file = the(corpus, "phone-portrait.mp4")
    assert ("Composite:Rotation", 90) in exiftool_reports([file.path])[file.path]
    with av.open(str(file.path)) as video:
        frame = next(video.decode(video=0))
    # PyAV reports the turn counter-clockwise.
    assert frame.rotation == -90
    shown = frame.to_image().rotate(frame.rotation, expand=True)
    assert shown.size == file.upright_size
    assert is_upright(shown)


def test_the_mov_reports_a_quicktime_location(corpus, findings):
    found = findings[the(corpus, "iphone.mov").path]
    assert exiftool_values(found, "GPSCoordinates")
    assert "QuickTime:Keys:GPSCoordinates=48.8584 2.2945" in found
    assert "QuickTime:UserData:GPSCoordinates=48.8584 2.2945" in found


def test_the_webm_carries_matroska_tags(corpus, findings):
    keys = {finding.partition("=")[0] for finding in findings[the(corpus, "camera.webm").path]}
    assert {"Matroska:Location", "Matroska:Artist", "Matroska:Comment"} <= keys


# The colour profile's header names its maker, creator and copyright: none of it is the contributor's.
@pytest.mark.parametrize("save", [{}, {"icc_profile": SRGB_PROFILE}], ids=["plain", "with-icc-profile"])
def test_a_plain_photo_has_no_findings(tmp_path, save):
    path = tmp_path / "plain.jpg"
    Image.new("RGB", (64, 48), (90, 140, 200)).save(path, "JPEG", quality=85, **save)
    assert exiftool_findings([path]) == {path: []}
    assert planted_bytes_found(path) == []
