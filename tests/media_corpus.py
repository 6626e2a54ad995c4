"""A corpus of real photos and videos carrying private metadata everywhere cameras and phones put it.

A delivery rendition must not hand a buyer the contributor's location, devices or identity. `build_corpus`
writes one small file per place such metadata hides (EXIF and its GPS IFD, maker notes, EXIF thumbnails, XMP,
IPTC, JPEG trailers, PNG and WebP chunks, HEIF properties, QuickTime and Matroska tags), each carrying the
planted values below, so a test can put a file through the rendition pipeline and then show with
`exiftool_findings` and `planted_bytes_found` that nothing survived. The ExifTool checks need the
`exiftool` command (Debian package libimage-exiftool-perl).

Every picture is a different colour in each quarter (red top left, yellow top right, grey bottom left, blue
bottom right), so no turn or mirror of it looks the same, and is stored the way a camera stores it, sideways
when its orientation says so: the same files show whether a rendition still displays upright once the
orientation tag has been stripped (`is_upright`).
"""

import io
import json
import shutil
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import av
import numpy as np
import pillow_heif
from av.audio.stream import AudioStream
from av.video.stream import VideoStream
from PIL import ExifTags, Image, ImageDraw
from PIL.PngImagePlugin import PngInfo
from PIL.TiffImagePlugin import IFDRational

pillow_heif.register_heif_opener()

PLANTED_SERIAL = "SN-PLANTED-7731"
PLANTED_LENS_SERIAL = "LENS-PLANTED-4402"
PLANTED_OWNER = "Owner Planted Name"
PLANTED_CITY = "Plantedville-sur-Loire"
PLANTED_SUBLOCATION = "Planted Sublocation 17"
PLANTED_PROVINCE = "Planted Province"
PLANTED_COUNTRY = "Plantedonia"
PLANTED_LATITUDE = 48.858370
PLANTED_LONGITUDE = 2.294481
PLANTED_ALTITUDE = 35.0
# The ISO 6709 form phones write into QuickTime location tags: "+48.8584+002.2945/".
PLANTED_ISO6709 = f"{PLANTED_LATITUDE:+08.4f}{PLANTED_LONGITUDE:+09.4f}/"
# The earlier document an edit history points back to.
PLANTED_DOCUMENT_ID = "xmp.did:planted-ancestor-5512"

# Long and odd enough never to occur by chance in compressed data: finding one in a rendition means it leaked.
PLANTED_STRINGS = tuple(
    text.encode()
    for text in (
        PLANTED_SERIAL,
        PLANTED_LENS_SERIAL,
        PLANTED_OWNER,
        PLANTED_CITY,
        PLANTED_SUBLOCATION,
        PLANTED_PROVINCE,
        PLANTED_COUNTRY,
        PLANTED_ISO6709,
        PLANTED_DOCUMENT_ID,
    )
)

# One colour per quarter, so each of the eight orientations gives a different picture; their grey levels are
# far apart too (about 97, 211, 160 and 38), so the check works on grey and 16-bit files as well.
RED = (230, 40, 40)
YELLOW = (240, 230, 40)
GREY = (160, 160, 160)
BLUE = (20, 20, 180)

# Pillow's ImageOps.exif_transpose turns a stored picture upright with these; a camera stores the upright
# scene through their inverses, so the file only looks right to a reader that honours the orientation.
_STORE_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}

# What `_camera_exif` and `_xmp_packet` plant, in CorpusFile.planted words.
_EXIF_PLANTED = ("exif-gps", "exif-serial", "exif-owner", "makernote")
_XMP_PLANTED = ("xmp-gps", "xmp-serial", "xmp-owner", "xmp-location", "xmp-history")

# TIFF field types used here, with the size of one value.
_ASCII, _SHORT, _LONG, _RATIONAL, _UNDEFINED = 2, 3, 4, 5, 7
_TYPE_SIZE = {_ASCII: 1, _SHORT: 2, _LONG: 4, _RATIONAL: 8, _UNDEFINED: 1}

# The packed ISO 639-2 code "eng" that precedes a QuickTime udta string.
_QUICKTIME_ENGLISH = 0x15C7


@dataclass(frozen=True)
class CorpusFile:
    name: str
    path: Path
    mime: str
    kind: str
    # The EXIF orientation (1..8) a photo is stored with; 1 for everything else.
    orientation: int
    # Clockwise degrees a player turns a video to show it; 0 for everything else.
    rotation: int
    # (width, height) as a viewer shows it, after orientation or rotation.
    upright_size: tuple[int, int]
    planted: tuple[str, ...]


def upright_picture(size: tuple[int, int]) -> Image.Image:
    """The scene as a viewer should see it: quarters red, yellow (top), grey, blue (bottom), left to right."""
    width, height = size
    picture = Image.new("RGB", size, GREY)
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 0, width // 2 - 1, height // 2 - 1), fill=RED)
    draw.rectangle((width // 2, 0, width - 1, height // 2 - 1), fill=YELLOW)
    draw.rectangle((width // 2, height // 2, width - 1, height - 1), fill=BLUE)
    return picture


def is_upright(picture: Image.Image, tolerance: int = 25) -> bool:
    """Whether `picture` shows the scene upright: each quarter's centre is near its colour in `upright_picture`.

    Single-channel pictures (grey, 16-bit) are compared with the scene's grey levels; 16-bit values are scaled
    to 8 bits first.
    """
    expected = upright_picture(picture.size)
    if picture.mode in ("L", "I", "I;16", "I;16B", "I;16L"):
        samples = np.asarray(picture, dtype=np.float64)
        if picture.mode != "L":
            samples = samples / 257
        expected_samples = np.asarray(expected.convert("L"), dtype=np.float64)
    else:
        samples = np.asarray(picture.convert("RGB"), dtype=np.float64)
        expected_samples = np.asarray(expected, dtype=np.float64)
    width, height = picture.size
    centres = [(width * column // 4, height * row // 4) for column in (1, 3) for row in (1, 3)]
    return all(np.abs(samples[y, x] - expected_samples[y, x]).max() <= tolerance for x, y in centres)


def _stored(picture: Image.Image, orientation: int) -> Image.Image:
    transpose = _STORE_FOR_ORIENTATION[orientation]
    return picture if transpose is None else picture.transpose(transpose)


def _dms(degrees: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    """Degrees, minutes and seconds (to a ten-thousandth) as EXIF GPS rationals."""
    whole = abs(degrees)
    minutes = (whole - int(whole)) * 60
    seconds = (minutes - int(minutes)) * 60
    return (
        IFDRational(int(whole), 1),
        IFDRational(int(minutes), 1),
        IFDRational(round(seconds * 10000), 10000),
    )


def _xmp_coordinate(degrees: float, positive: str, negative: str) -> str:
    """XMP's GPSCoordinate form, degrees and decimal minutes: "48,51.50220N"."""
    whole = abs(degrees)
    return f"{int(whole)},{(whole - int(whole)) * 60:.5f}{positive if degrees >= 0 else negative}"


def _tiff_ifd(endian: str, entries: list[tuple[int, int, bytes]], start: int) -> bytes:
    """An IFD that will sit at offset `start` of its TIFF, values longer than four bytes right after it."""
    entries = sorted(entries)
    data_at = start + 2 + 12 * len(entries) + 4
    table, data = [struct.pack(endian + "H", len(entries))], b""
    for tag, kind, value in entries:
        if len(value) <= 4:
            field = value.ljust(4, b"\0")
        else:
            field = struct.pack(endian + "I", data_at + len(data))
            data += value + b"\0" * (len(value) % 2)
        table.append(struct.pack(endian + "HHI", tag, kind, len(value) // _TYPE_SIZE[kind]) + field)
    return b"".join(table) + struct.pack(endian + "I", 0) + data


def _nikon_maker_note() -> bytes:
    """Nikon's type-3 maker note. It has a TIFF header of its own, so its offsets hold wherever it lands."""
    entries = [
        (0x0001, _UNDEFINED, b"0210"),  # MakerNoteVersion
        (0x0002, _SHORT, struct.pack(">HH", 0, 200)),  # ISO
        (0x001D, _ASCII, PLANTED_SERIAL.encode() + b"\0"),  # SerialNumber
    ]
    return b"Nikon\0\x02\x10\0\0MM\0*" + struct.pack(">I", 8) + _tiff_ifd(">", entries, 8)


def _camera_exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "NIKON CORPORATION"
    exif[ExifTags.Base.Model] = "NIKON Z 6_2"
    exif[ExifTags.Base.Artist] = PLANTED_OWNER
    exif[ExifTags.Base.DateTime] = "2024:05:17 10:20:30"
    shot = exif.get_ifd(ExifTags.IFD.Exif)
    shot[ExifTags.Base.DateTimeOriginal] = "2024:05:17 10:20:30"
    shot[ExifTags.Base.OffsetTimeOriginal] = "+02:00"
    shot[ExifTags.Base.FocalLength] = IFDRational(50, 1)
    shot[ExifTags.Base.ExposureTime] = IFDRational(1, 125)
    shot[ExifTags.Base.FNumber] = IFDRational(28, 10)
    shot[ExifTags.Base.ISOSpeedRatings] = 200
    shot[ExifTags.Base.CameraOwnerName] = PLANTED_OWNER
    shot[ExifTags.Base.BodySerialNumber] = PLANTED_SERIAL
    shot[ExifTags.Base.LensSerialNumber] = PLANTED_LENS_SERIAL
    shot[ExifTags.Base.MakerNote] = _nikon_maker_note()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSVersionID] = b"\x02\x03\x00\x00"
    gps[ExifTags.GPS.GPSLatitudeRef] = "N" if PLANTED_LATITUDE >= 0 else "S"
    gps[ExifTags.GPS.GPSLatitude] = _dms(PLANTED_LATITUDE)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E" if PLANTED_LONGITUDE >= 0 else "W"
    gps[ExifTags.GPS.GPSLongitude] = _dms(PLANTED_LONGITUDE)
    gps[ExifTags.GPS.GPSAltitudeRef] = b"\x00"
    gps[ExifTags.GPS.GPSAltitude] = IFDRational(int(PLANTED_ALTITUDE * 10), 10)
    gps[ExifTags.GPS.GPSTimeStamp] = (IFDRational(8, 1), IFDRational(20, 1), IFDRational(30, 1))
    gps[ExifTags.GPS.GPSDateStamp] = "2024:05:17"
    return exif


def _with_thumbnail(exif: bytes, thumbnail: bytes) -> bytes:
    """EXIF with IFD1 added: the small JPEG preview cameras embed, linked from IFD0's next-IFD pointer.

    Pillow writes IFD0 and its sub-IFDs only, ending IFD0's chain with a zero pointer; IFD1 and the preview
    go after everything else, so no existing offset moves.
    """
    tiff = bytearray(exif.removeprefix(b"Exif\0\0"))
    endian = "<" if tiff[:2] == b"II" else ">"
    (ifd0,) = struct.unpack(endian + "I", tiff[4:8])
    (count,) = struct.unpack(endian + "H", tiff[ifd0 : ifd0 + 2])
    next_pointer = ifd0 + 2 + 12 * count
    start = len(tiff) + len(tiff) % 2

    def ifd1(thumbnail_at: int) -> bytes:
        return _tiff_ifd(
            endian,
            [
                (0x0103, _SHORT, struct.pack(endian + "H", 6)),  # Compression: JPEG
                (0x011A, _RATIONAL, struct.pack(endian + "II", 72, 1)),  # XResolution
                (0x011B, _RATIONAL, struct.pack(endian + "II", 72, 1)),  # YResolution
                (0x0128, _SHORT, struct.pack(endian + "H", 2)),  # ResolutionUnit: inches
                (0x0201, _LONG, struct.pack(endian + "I", thumbnail_at)),  # JPEGInterchangeFormat
                (0x0202, _LONG, struct.pack(endian + "I", len(thumbnail))),  # JPEGInterchangeFormatLength
            ],
            start,
        )

    table = ifd1(start + len(ifd1(0)))
    tiff[next_pointer : next_pointer + 4] = struct.pack(endian + "I", start)
    return b"Exif\0\0" + bytes(tiff).ljust(start, b"\0") + table + thumbnail


def _xmp_packet() -> bytes:
    """An XMP packet as photo software leaves it: GPS, serials, owner, IPTC locations and an edit history."""
    latitude = _xmp_coordinate(PLANTED_LATITUDE, "N", "S")
    longitude = _xmp_coordinate(PLANTED_LONGITUDE, "E", "W")
    place = (
        f"<Iptc4xmpExt:City>{PLANTED_CITY}</Iptc4xmpExt:City>"
        f"<Iptc4xmpExt:Sublocation>{PLANTED_SUBLOCATION}</Iptc4xmpExt:Sublocation>"
        f"<Iptc4xmpExt:ProvinceState>{PLANTED_PROVINCE}</Iptc4xmpExt:ProvinceState>"
        f"<Iptc4xmpExt:CountryName>{PLANTED_COUNTRY}</Iptc4xmpExt:CountryName>"
    )
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:aux="http://ns.adobe.com/exif/1.0/aux/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    exif:GPSLatitude="{latitude}"
    exif:GPSLongitude="{longitude}"
    exif:GPSAltitude="{int(PLANTED_ALTITUDE * 10)}/10"
    aux:SerialNumber="{PLANTED_SERIAL}"
    aux:LensSerialNumber="{PLANTED_LENS_SERIAL}"
    aux:OwnerName="{PLANTED_OWNER}"
    Iptc4xmpCore:Location="{PLANTED_SUBLOCATION}"
    photoshop:City="{PLANTED_CITY}"
    photoshop:State="{PLANTED_PROVINCE}"
    photoshop:Country="{PLANTED_COUNTRY}"
    xmpMM:DocumentID="xmp.did:planted-document-0001"
    xmpMM:InstanceID="xmp.iid:planted-instance-0002">
   <dc:creator><rdf:Seq><rdf:li>{PLANTED_OWNER}</rdf:li></rdf:Seq></dc:creator>
   <Iptc4xmpExt:LocationCreated><rdf:Bag><rdf:li rdf:parseType="Resource">{place}</rdf:li></rdf:Bag>
   </Iptc4xmpExt:LocationCreated>
   <Iptc4xmpExt:LocationShown><rdf:Bag><rdf:li rdf:parseType="Resource">{place}</rdf:li></rdf:Bag>
   </Iptc4xmpExt:LocationShown>
   <xmpMM:History><rdf:Seq><rdf:li rdf:parseType="Resource">
    <stEvt:action>saved</stEvt:action>
    <stEvt:instanceID>{PLANTED_DOCUMENT_ID}</stEvt:instanceID>
    <stEvt:when>2024-05-17T10:25:00+02:00</stEvt:when>
    <stEvt:softwareAgent>Photo Editor 9.1 ({PLANTED_OWNER})</stEvt:softwareAgent>
    <stEvt:changed>/</stEvt:changed>
   </rdf:li></rdf:Seq></xmpMM:History>
   <photoshop:DocumentAncestors><rdf:Bag><rdf:li>{PLANTED_DOCUMENT_ID}</rdf:li></rdf:Bag>
   </photoshop:DocumentAncestors>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>""".encode()


def _iptc_segment() -> bytes:
    """A Photoshop APP13 segment holding IPTC-IIM: by-line, city, sub-location, province and country."""

    def dataset(record: int, number: int, value: bytes) -> bytes:
        return bytes((0x1C, record, number)) + struct.pack(">H", len(value)) + value

    iim = b"".join(
        [
            dataset(1, 90, b"\x1b%G"),  # CodedCharacterSet: UTF-8
            dataset(2, 0, struct.pack(">H", 4)),  # RecordVersion
            dataset(2, 80, PLANTED_OWNER.encode()),  # By-line
            dataset(2, 90, PLANTED_CITY.encode()),  # City
            dataset(2, 92, PLANTED_SUBLOCATION.encode()),  # Sub-location
            dataset(2, 95, PLANTED_PROVINCE.encode()),  # Province-State
            dataset(2, 100, b"PLD"),  # Country-PrimaryLocationCode
            dataset(2, 101, PLANTED_COUNTRY.encode()),  # Country-PrimaryLocationName
        ]
    )
    # An image resource block: signature, ID 0x0404 (IPTC-NAA), an empty even-padded name, size, data.
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\0\0" + struct.pack(">I", len(iim)) + iim
    payload = b"Photoshop 3.0\0" + resource + b"\0" * (len(iim) % 2)
    return b"\xff\xed" + struct.pack(">H", 2 + len(payload)) + payload


def _after_app_segments(jpeg: bytes, segment: bytes) -> bytes:
    """`segment` inserted after SOI and the APPn segments already there, where Photoshop puts APP13."""
    position = 2
    while jpeg[position] == 0xFF and 0xE0 <= jpeg[position + 1] <= 0xEF:
        position += 2 + struct.unpack(">H", jpeg[position + 2 : position + 4])[0]
    return jpeg[:position] + segment + jpeg[position:]


def _samsung_trailer() -> bytes:
    """The trailer Samsung phones append after EOI: data blocks indexed by an SEFH directory, closed by SEFT.

    Each block is 0x0000, its type, its name's length, the name and the data; the directory entries count
    back from the directory to their blocks. ExifTool reads the UTC time and the mobile country code; the last
    block carries the planted strings for a byte search to find.
    """
    blocks = [
        (0x0A01, b"Image_UTC_Data", b"1715934030000"),
        (0x0AA1, b"MCC_Data", b"208"),
        (0x0C61, b"Owner_Info", f"{PLANTED_OWNER};{PLANTED_SERIAL};{PLANTED_ISO6709}".encode()),
    ]
    body, directory = b"", []
    for kind, name, data in blocks:
        block = struct.pack("<HHI", 0, kind, len(name)) + name + data
        directory.append((kind, len(body), len(block)))
        body += block
    sefh = b"SEFH" + struct.pack("<II", 101, len(blocks))
    sefh += b"".join(struct.pack("<HHII", 0, kind, len(body) - at, size) for kind, at, size in directory)
    return body + sefh + struct.pack("<I", len(sefh)) + b"SEFT"


def _image(
    path: Path,
    mime: str,
    planted: tuple[str, ...],
    upright_size: tuple[int, int] = (96, 64),
    orientation: int = 1,
) -> CorpusFile:
    return CorpusFile(path.name, path, mime, "image", orientation, 0, upright_size, planted)


def _camera_jpeg(path: Path, orientation: int, upright_size: tuple[int, int]) -> CorpusFile:
    stored = _stored(upright_picture(upright_size), orientation)
    stored.save(path, "JPEG", quality=90, exif=_camera_exif(orientation).tobytes())
    planted = _EXIF_PLANTED + (("odd-size",) if stored.width % 16 or stored.height % 16 else ())
    return _image(path, "image/jpeg", planted, upright_size, orientation)


def _phone_jpeg(path: Path) -> CorpusFile:
    """A sideways phone photo with metadata in every JPEG place: EXIF with a thumbnail, XMP, IPTC, a trailer."""
    orientation, upright_size = 6, (96, 64)
    stored = _stored(upright_picture(upright_size), orientation)
    thumbnail = io.BytesIO()
    stored.resize((stored.width // 4, stored.height // 4)).save(thumbnail, "JPEG", quality=70)
    exif = _with_thumbnail(_camera_exif(orientation).tobytes(), thumbnail.getvalue())
    photo = io.BytesIO()
    stored.save(photo, "JPEG", quality=90, exif=exif, xmp=_xmp_packet())
    path.write_bytes(_after_app_segments(photo.getvalue(), _iptc_segment()) + _samsung_trailer())
    planted = (*_EXIF_PLANTED, *_XMP_PLANTED, "iptc-location", "iptc-owner", "exif-thumbnail", "trailer")
    return _image(path, "image/jpeg", planted, upright_size, orientation)


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """ISO-BMFF boxes between `start` and `end`: (type, offset of the box, offset past its end)."""
    position = start
    while position + 8 <= end:
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        if size == 1:
            (size,) = struct.unpack(">Q", data[position + 8 : position + 16])
        elif size == 0:
            size = end - position
        yield kind, position, position + size
        position += size


def _child(data: bytes, kind: bytes, start: int, end: int) -> tuple[int, int]:
    for found, box_start, box_end in _boxes(data, start, end):
        if found == kind:
            return box_start, box_end
    raise ValueError(f"no {kind!r} box")


def heif_item_properties(path: Path) -> list[str]:
    """The property boxes of a HEIF file (meta/iprp/ipco), e.g. hvcC, ispe, irot, imir."""
    data = path.read_bytes()
    meta_start, meta_end = _child(data, b"meta", 0, len(data))
    # meta is a full box: four bytes of version and flags before its children.
    iprp_start, iprp_end = _child(data, b"iprp", meta_start + 12, meta_end)
    ipco_start, ipco_end = _child(data, b"ipco", iprp_start + 8, iprp_end)
    return [kind.decode("latin-1") for kind, _, _ in _boxes(data, ipco_start + 8, ipco_end)]


def _heif(path: Path) -> CorpusFile:
    """A phone's HEIC: pixels stored sideways, the turn recorded as an irot item property.

    Given an EXIF orientation, pillow-heif passes it to libheif, which keeps the pixels as they are and
    writes irot/imir properties; checked here because a reader that misses them shows the photo sideways.
    """
    orientation, upright_size = 6, (96, 64)
    _stored(upright_picture(upright_size), orientation).save(
        path, "HEIF", quality=80, exif=_camera_exif(orientation).tobytes(), xmp=_xmp_packet()
    )
    if "irot" not in heif_item_properties(path):
        raise RuntimeError(f"libheif wrote no irot property into {path}")
    planted = (*_EXIF_PLANTED, *_XMP_PLANTED, "irot")
    return _image(path, "image/heic", planted, upright_size, orientation)


def _alpha_png(path: Path) -> CorpusFile:
    picture = upright_picture((96, 64)).convert("RGBA")
    # A translucent bottom-left quarter, so a rendition that drops alpha differs from one that keeps it.
    alpha = Image.new("L", picture.size, 255)
    ImageDraw.Draw(alpha).rectangle((0, 32, 47, 63), fill=96)
    picture.putalpha(alpha)
    text = PngInfo()
    text.add_text("Author", PLANTED_OWNER)
    text.add_itxt("XML:com.adobe.xmp", _xmp_packet().decode())
    picture.save(path, "PNG", exif=_camera_exif(1).tobytes(), pnginfo=text)
    return _image(path, "image/png", (*_EXIF_PLANTED, "png-text-owner", *_XMP_PLANTED, "alpha"))


def _webp(path: Path) -> CorpusFile:
    upright_picture((96, 64)).save(
        path, "WEBP", quality=80, exif=_camera_exif(1).tobytes(), xmp=_xmp_packet()
    )
    return _image(path, "image/webp", (*_EXIF_PLANTED, *_XMP_PLANTED))


def _exif_only(path: Path, mime: str, *, sixteen_bit: bool = False) -> CorpusFile:
    """A PNG or TIFF with camera EXIF, 8-bit RGB or 16-bit grey.

    Pillow's TIFF writer takes the Exif and GPS sub-IFDs only from EXIF it parses itself, not from an Exif
    object built in memory, so it is given bytes.
    """
    picture = upright_picture((96, 64))
    if sixteen_bit:
        picture = Image.fromarray(np.asarray(picture.convert("L"), dtype=np.uint16) * 257)
    picture.save(path, exif=_camera_exif(1).tobytes())
    return _image(path, mime, (*_EXIF_PLANTED, "16-bit") if sixteen_bit else _EXIF_PLANTED)


def _encode_video(
    path: Path,
    *,
    container: str,
    video_codec: str,
    audio_codec: str,
    stored: Image.Image,
    metadata: dict[str, str],
    options: dict[str, str] | None = None,
    rotation: int = 0,
) -> None:
    """One second of `stored` at 12 fps with a second of quiet tone, `metadata` as container tags."""
    with av.open(str(path), "w", format=container, options=options or {}) as output:
        output.metadata.update(metadata)
        video = cast(VideoStream, output.add_stream(video_codec, rate=12))
        video.width, video.height = stored.size
        video.pix_fmt = "yuv420p"
        if rotation:
            # PyAV takes counter-clockwise degrees; players and ExifTool report the clockwise turn.
            video.set_display_rotation(-rotation)
        audio = cast(AudioStream, output.add_stream(audio_codec, rate=48000))
        pixels = np.asarray(stored)
        for _ in range(12):
            for packet in video.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                output.mux(packet)
        for packet in video.encode():
            output.mux(packet)
        samples_per_frame = audio.codec_context.frame_size or 1024
        tone = 0.1 * np.sin(np.arange(48000, dtype=np.float32) * (2 * np.pi * 440 / 48000))
        for start in range(0, 48000 - samples_per_frame + 1, samples_per_frame):
            frame = av.AudioFrame.from_ndarray(
                tone[None, start : start + samples_per_frame].astype(np.float32), format="fltp", layout="mono"
            )
            frame.rate, frame.pts = 48000, start
            for packet in audio.encode(frame):
                output.mux(packet)
        for packet in audio.encode():
            output.mux(packet)


def _add_quicktime_xyz(path: Path) -> None:
    """Add the `©xyz` location string most phones write to moov/udta; FFmpeg writes `loci` and keys instead.

    FFmpeg puts moov after mdat, so growing moov moves no sample and leaves every chunk offset valid.
    """
    data = path.read_bytes()
    moov_start, moov_end = _child(data, b"moov", 0, len(data))
    if _child(data, b"mdat", 0, len(data))[0] > moov_start:
        raise RuntimeError(f"moov precedes mdat in {path}: growing it would break chunk offsets")
    udta_start, udta_end = _child(data, b"udta", moov_start + 8, moov_end)
    text = PLANTED_ISO6709.encode()
    payload = struct.pack(">HH", len(text), _QUICKTIME_ENGLISH) + text
    xyz = struct.pack(">I", 8 + len(payload)) + b"\xa9xyz" + payload

    def grown(box_start: int, box_end: int) -> bytes:
        return struct.pack(">I", box_end - box_start + len(xyz))

    path.write_bytes(
        data[:moov_start]
        + grown(moov_start, moov_end)
        + data[moov_start + 4 : udta_start]
        + grown(udta_start, udta_end)
        + data[udta_start + 4 : udta_end]
        + xyz
        + data[udta_end:]
    )


def _video(
    path: Path, mime: str, upright_size: tuple[int, int], planted: tuple[str, ...], rotation: int = 0
) -> CorpusFile:
    return CorpusFile(path.name, path, mime, "video", 1, rotation, upright_size, planted)


def _videos(directory: Path) -> list[CorpusFile]:
    mdta = {"movflags": "use_metadata_tags"}
    # A phone held upright records landscape frames and a 90-degree display rotation.
    portrait = (96, 160)
    mp4 = directory / "phone-portrait.mp4"
    _encode_video(
        mp4,
        container="mp4",
        video_codec="libx264",
        audio_codec="aac",
        stored=_stored(upright_picture(portrait), 6),
        rotation=90,
        options=mdta,
        metadata={
            "location": PLANTED_ISO6709,
            "com.android.version": "14",
            "com.android.manufacturer": "Google",
            "com.android.model": "Pixel 8 Pro",
            "author": PLANTED_OWNER,
            "comment": f"device {PLANTED_SERIAL}",
        },
    )
    _add_quicktime_xyz(mp4)
    landscape = (160, 96)
    mov = directory / "iphone.mov"
    _encode_video(
        mov,
        container="mov",
        video_codec="libx264",
        audio_codec="aac",
        stored=upright_picture(landscape),
        options=mdta,
        metadata={
            "com.apple.quicktime.location.ISO6709": PLANTED_ISO6709,
            "com.apple.quicktime.location.name": PLANTED_CITY,
            "com.apple.quicktime.make": "Apple",
            "com.apple.quicktime.model": "iPhone 15 Pro",
            "com.apple.quicktime.software": "17.4.1",
            "com.apple.quicktime.creationdate": "2024-05-17T10:20:30+0200",
            "com.apple.quicktime.author": PLANTED_OWNER,
            "com.apple.quicktime.comment": f"device {PLANTED_SERIAL}",
        },
    )
    _add_quicktime_xyz(mov)
    webm = directory / "camera.webm"
    _encode_video(
        webm,
        container="webm",
        video_codec="libvpx-vp9",
        audio_codec="libopus",
        stored=upright_picture(landscape),
        metadata={
            "LOCATION": PLANTED_ISO6709,
            "ARTIST": PLANTED_OWNER,
            "COMMENT": f"device {PLANTED_SERIAL}, {PLANTED_CITY}",
            "ENCODED_BY": f"{PLANTED_OWNER}'s camera",
        },
    )
    quicktime = ("quicktime-location", "mdta-keys", "owner", "serial", "audio")
    return [
        _video(mp4, "video/mp4", portrait, (*quicktime, "3gpp-location", "rotation"), rotation=90),
        _video(mov, "video/quicktime", landscape, (*quicktime, "apple-location")),
        _video(webm, "video/webm", landscape, ("matroska-tags", "owner", "serial", "audio")),
    ]


def build_corpus(directory: Path) -> list[CorpusFile]:
    """Write the corpus into `directory` and describe each file."""
    directory.mkdir(parents=True, exist_ok=True)
    return [
        *(_camera_jpeg(directory / f"orientation-{n}.jpg", n, (96, 64)) for n in range(1, 9)),
        _phone_jpeg(directory / "phone-everything.jpg"),
        # 100 x 70 shown, 70 x 100 stored: no whole number of 16-pixel blocks, so no lossless rotation.
        _camera_jpeg(directory / "odd-size.jpg", 6, (100, 70)),
        _heif(directory / "phone.heic"),
        _alpha_png(directory / "alpha.png"),
        _exif_only(directory / "gray16.png", "image/png", sixteen_bit=True),
        _webp(directory / "photo.webp"),
        _exif_only(directory / "scan.tif", "image/tiff"),
        _exif_only(directory / "scan16.tif", "image/tiff", sixteen_bit=True),
        *_videos(directory),
    ]


# ExifTool's own report, file-system facts, values it computes from others, and ICC colour profiles (whose
# header has a "Copyright" of the profile's maker) say nothing about the contributor.
_IGNORED_GROUPS = {"ExifTool", "File", "Composite", "ICC_Profile"}
_OWNER_TAGS = {
    "ownername",
    "cameraownername",
    "artist",
    "by-line",
    "author",
    "creator",
    "copyright",
    "copyrightnotice",
    "rights",
}
_PLACE_TAGS = {
    "city",
    "state",
    "province-state",
    "country",
    "countrycode",
    "countryname",
    "country-primarylocationcode",
    "country-primarylocationname",
    # Samsung's trailer records the mobile network's country.
    "mccdata",
}
# JSON with both group names, every duplicate, unknown and embedded tag, numbers unformatted.
_EXIFTOOL_OPTIONS = ("-json", "-G0:1", "-a", "-u", "-ee", "-n", "-api", "largefilesupport=1")
_PLANTED_TEXT = tuple(planted.decode() for planted in PLANTED_STRINGS)


def _private_kind(key: str, text: str) -> str | None:
    """Why an ExifTool "family0:family1:Tag" (or "group:Tag") with value `text` is private, or None."""
    groups, _, tag = key.rpartition(":")
    name = tag.lower()
    family0 = groups.split(":")[0]
    if family0 in _IGNORED_GROUPS:
        # A JPEG comment is reported in the File group and may hold anything.
        return "planted" if any(planted in text for planted in _PLANTED_TEXT) else None
    if family0 == "MakerNotes" or name.startswith("makernote"):
        return "makernote"
    if "serial" in name:
        return "serial"
    if name in _OWNER_TAGS or (name.startswith("creator") and name != "creatortool"):
        return "owner"
    # SubjectLocation is a point in the picture's pixels, not a place.
    if name.startswith("gps") or name in _PLACE_TAGS or ("location" in name and name != "subjectlocation"):
        return "location"
    if "thumbnail" in name or name.startswith(("previewimage", "jpgfromraw", "otherimage")):
        return "thumbnail"
    if name.startswith(("history", "documentancestors", "derivedfrom", "ingredients", "pantry")):
        return "history"
    if any(planted in text for planted in _PLANTED_TEXT):
        return "planted"
    return None


def finding_kinds(findings: list[str]) -> set[str]:
    """What sort of private data findings are: location, serial, owner, makernote, thumbnail, history, planted."""
    kinds = set()
    for finding in findings:
        key, _, text = finding.partition("=")
        kind = _private_kind(key, text)
        if kind:
            kinds.add(kind)
    return kinds


def exiftool_reports(paths: list[Path]) -> dict[Path, list[tuple[str, object]]]:
    """Per file, every ("family0:family1:Tag", value) pair ExifTool reads, from one run over all the files.

    A file ExifTool cannot read raises: finding nothing in it would prove nothing.
    """
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        raise RuntimeError("exiftool is not installed (Debian package libimage-exiftool-perl)")
    result = subprocess.run(
        [exiftool, *_EXIFTOOL_OPTIONS, "--", *map(str, paths)],
        capture_output=True,
        check=False,
    )
    # Pairs rather than a dict: with -a the same tag can appear twice in one group.
    reports = json.loads(result.stdout or b"[]", object_pairs_hook=list)
    by_source = {dict(report)["SourceFile"]: report for report in reports}
    pairs = {}
    for path in paths:
        report = by_source.get(str(path))
        if report is None or "ExifTool:Error" in dict(report):
            reason = dict(report or []).get("ExifTool:Error") or result.stderr.decode(errors="replace")
            raise RuntimeError(f"exiftool could not read {path}: {reason}")
        pairs[path] = [(key, value) for key, value in report if key != "SourceFile"]
    return pairs


def exiftool_findings(paths: list[Path]) -> dict[Path, list[str]]:
    """Per file, the private fields ExifTool reads in it, as "group:Tag=value" strings."""
    findings: dict[Path, list[str]] = {}
    for path, report in exiftool_reports(paths).items():
        findings[path] = []
        for key, value in report:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            if _private_kind(key, text):
                findings[path].append(f"{key}={text}")
    return findings


def planted_bytes_found(path: Path) -> list[bytes]:
    """The planted strings present anywhere in the file's bytes, as UTF-8 or UTF-16 (either byte order)."""
    data = path.read_bytes()
    return [
        planted
        for planted in PLANTED_STRINGS
        if any(
            encoded in data
            for encoded in (
                planted,
                planted.decode().encode("utf-16-le"),
                planted.decode().encode("utf-16-be"),
            )
        )
    ]


def noise_video(path: Path, at_least: int) -> Path:
    """An MPEG-4 video of random frames (incompressible, so every frame is large) of at least `at_least` bytes."""
    with av.open(str(path), "w") as output:
        stream = output.add_stream("mpeg4", rate=24)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        stream.codec_context.bit_rate, stream.codec_context.qmax = 400_000_000, 2
        frames = written = 0
        while written < at_least:
            pixels = np.random.default_rng(frames).integers(0, 256, (480, 640, 3), dtype=np.uint8)
            packets = stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24"))
            written += sum(packet.size for packet in packets)
            output.mux(packets)
            frames += 1
        output.mux(stream.encode())
    return path
