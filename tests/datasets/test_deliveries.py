"""What a buyer receives, read with the buyer's own tools: a bundle built from every accepted media type.

The uploads come from `tests.media_corpus`: JPEGs in all eight orientations and a phone JPEG carrying GPS,
serial numbers and owner names in EXIF, XMP, IPTC, maker notes, a thumbnail and a trailer; a phone HEIC
turned by an `irot` box; PNG with alpha; 16-bit PNG and TIFF; WebP; 8-bit TIFF; a portrait phone MP4, a MOV
with a QuickTime location, and a WebM with Matroska tags. The bundle is built once for the module, by the
real build, and everything below reads the files a buyer downloads.
"""

import json
import shutil
import subprocess
import tarfile
from collections import Counter, defaultdict
from pathlib import Path

import av
import pyarrow.parquet as pq
import pytest
import webdataset as wds
from django.db import transaction
from PIL import Image

from datasets import build, services
from datasets.models import DatasetVersion, Delivery
from datasets.packaging.credentials import read_manifest
from datasets.packaging.description import SERIES_FILES
from licensing.models import Consent
from tests.datasets.conftest import offer_dataset, store_sellable
from tests.datasets.packaging.test_readme import _run, _snippet
from tests.datasets.test_build import _download
from tests.media_corpus import (
    CorpusFile,
    build_corpus,
    exiftool_findings,
    is_upright,
    planted_bytes_found,
)

pytestmark = [
    # The module's bundle is built in the test database (and rolled back); the tests read its files.
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is missing"),
]

GENERATIVE_CONSTRAINT = "No synthetic likeness of the people shown"
# The extension every sample of a series holds, and the media type its files are.
SERIES_MEMBERS = {str(series): extension for series, (extension, _) in SERIES_FILES.items()}


class Bundle:
    """A built bundle on disk, as its buyer downloaded it, and what each sample was made from."""

    def __init__(self, root: Path, sources: dict[str, CorpusFile], version_id: int) -> None:
        self.root = root
        self.sources = sources  # sample key -> the upload it was made from
        self.version_id = version_id
        self.rows = {row["key"]: row for row in pq.read_table(root / "manifest.parquet").to_pylist()}
        self.media: dict[str, Path] = {}  # sample key -> its media file, extracted from its shard
        self.series: dict[str, set[str]] = defaultdict(set)  # shard series -> the member extensions
        extracted = root.parent / "extracted"
        for shard in sorted((root / "shards").glob("*.tar")):
            series = shard.name.removeprefix(f"{root.name}-").rsplit("-", 1)[0]
            with tarfile.open(shard) as tar:
                for member in tar.getmembers():
                    key, extension = member.name.split(".", 1)
                    self.series[series].add(extension)
                    if extension != "json":
                        target = extracted / member.name
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(tar.extractfile(member).read())
                        self.media[key] = target

    def key_of(self, corpus_name: str) -> str:
        return next(key for key, source in self.sources.items() if source.name == corpus_name)


@pytest.fixture(scope="module")
def bundle(django_db_setup, django_db_blocker, tmp_path_factory) -> Bundle:
    """Every corpus file sold in one dataset, built and downloaded; the database rolled back afterwards."""
    work = tmp_path_factory.mktemp("every-type")
    corpus = build_corpus(work / "uploads")
    with django_db_blocker.unblock(), transaction.atomic():
        sources = {}
        for source in corpus:
            asset = store_sellable(
                source.path.read_bytes(),
                kind=source.kind,
                mime=source.mime,
                suffix=source.path.suffix.lstrip("."),
            )
            sources[asset.public_id.hex] = source
        constrained = next(key for key, source in sources.items() if source.name == "orientation-6.jpg")
        Consent.objects.filter(asset__public_id=constrained).update(
            ai_generative_training="constrained", ai_generative_training_constraint=GENERATIVE_CONSTRAINT
        )
        version = services.version_create(dataset=offer_dataset(), actor=None)
        build.version_build(version_id=version.pk)
        version.refresh_from_db()
        assert version.status == DatasetVersion.Status.PUBLISHED, version.failure_reason
        root = _download(version, work / "download")
        deliveries = Delivery.objects.count()
        transaction.set_rollback(True)
    assert deliveries == len(corpus)
    return Bundle(root, sources, version.pk)


def test_no_delivered_file_holds_a_location_serial_number_or_owner(bundle):
    assert set(bundle.media) == set(bundle.sources)
    # The uploads did: the checks below would have found what they planted.
    uploads = [source.path for source in bundle.sources.values()]
    assert all(exiftool_findings(uploads).values())

    assert {path.name: found for path, found in exiftool_findings(list(bundle.media.values())).items()} == {
        path.name: [] for path in bundle.media.values()
    }
    assert {key: planted_bytes_found(path) for key, path in bundle.media.items()} == {
        key: [] for key in bundle.media
    }


def test_every_shard_series_holds_one_media_type(bundle):
    assert dict(bundle.series) == {
        series: {extension, "json"} for series, extension in SERIES_MEMBERS.items()
    }
    expected = {
        "orientation-1.jpg": ("photos", "jpeg-as-uploaded", "image/jpeg"),
        "orientation-6.jpg": ("photos", "jpeg-lossless-rotation", "image/jpeg"),
        "odd-size.jpg": ("photos", "jpeg-reencoded", "image/jpeg"),
        "phone.heic": ("photos", "converted", "image/heic"),
        "photo.webp": ("photos", "converted", "image/webp"),
        "scan.tif": ("photos", "converted", "image/tiff"),
        "alpha.png": ("photos-png", "converted", "image/png"),
        "gray16.png": ("photos-png", "converted", "image/png"),
        "scan16.tif": ("photos-png", "converted", "image/tiff"),
        "phone-portrait.mp4": ("videos", "transcoded", "video/mp4"),
        "iphone.mov": ("videos", "remuxed", "video/quicktime"),
        "camera.webm": ("videos-webm", "remuxed", "video/webm"),
    }
    for name, (series, rendition, source_type) in expected.items():
        row = bundle.rows[bundle.key_of(name)]
        assert bundle.media[row["key"]].suffix == f".{SERIES_MEMBERS[series]}", name
        assert (row["rendition"], row["source_media_type"]) == (rendition, source_type), name


def test_every_photo_is_upright_and_the_size_its_json_says(bundle):
    for key, source in bundle.sources.items():
        row = bundle.rows[key]
        if source.kind == "image":
            with Image.open(bundle.media[key]) as picture:
                picture.load()
                assert picture.getexif().get(0x0112, 1) == 1, source.name
        else:
            with av.open(str(bundle.media[key])) as container:
                frame = next(container.decode(video=0))
                assert frame.rotation == 0, source.name  # no display matrix left for a reader to ignore
                picture = frame.to_image()
        assert picture.size == (row["width"], row["height"]) == source.upright_size, source.name
        assert is_upright(picture), source.name


def test_webdataset_decodes_every_photo_to_a_pil_image(bundle):
    shards = sorted(str(path) for path in (bundle.root / "shards").glob("*photos*.tar"))
    samples = list(wds.WebDataset(shards, shardshuffle=False).decode("pil"))

    photos = [key for key, source in bundle.sources.items() if source.kind == "image"]
    assert sorted(sample["__key__"] for sample in samples) == sorted(photos)
    for sample in samples:
        picture = sample.get("jpg", sample.get("png"))
        assert isinstance(picture, Image.Image)
        assert picture.size == (sample["json"]["width"], sample["json"]["height"])


def test_every_delivered_photo_and_mp4_carries_its_rights_signed(bundle):
    for key, path in bundle.media.items():
        row = bundle.rows[key]
        if row["media_type"] == "video/webm":
            assert row["content_credentials"] == "none: C2PA has no WebM binding"
            continue
        assert row["content_credentials"] == "c2pa"
        manifest, state = read_manifest(path, row["media_type"])
        assert state == "Valid", bundle.sources[key].name
        assertions = {assertion["label"]: assertion["data"] for assertion in manifest["assertions"]}
        uses = {entry.removeprefix("cawg."): value for entry, value in assertions["cawg.training-mining"]["entries"].items()}  # fmt: skip
        assert {use for use, value in uses.items() if value["use"] != "notAllowed"} == set(
            row["consent_uses"]
        )
        rights = assertions["datamarket.rights"]
        assert rights["consent_id"] == row["consent_id"]
        assert rights["release_ids"] == row["release_ids"]
        assert rights["license_terms"] == row["license_terms"]
        actions = assertions["c2pa.actions.v2"]["actions"]
        assert actions[0] == {"action": "c2pa.created", "digitalSourceType": row["digital_source_type"]}

    constrained = assertions_of(bundle, "orientation-6.jpg")["cawg.training-mining"]["entries"]
    assert constrained["cawg.ai_generative_training"] == {
        "use": "constrained",
        "constraint_info": GENERATIVE_CONSTRAINT,
    }
    assert constrained["cawg.ai_training"] == {"use": "allowed"}


def assertions_of(bundle: Bundle, corpus_name: str) -> dict[str, dict]:
    key = bundle.key_of(corpus_name)
    manifest, _ = read_manifest(bundle.media[key], bundle.rows[key]["media_type"])
    return {assertion["label"]: assertion["data"] for assertion in manifest["assertions"]}


# Where a file's picture data starts: the last JPEG scan, the PNG's pixel chunk, the MP4's media data.
PICTURE_DATA = {".jpg": b"\xff\xda", ".png": b"IDAT", ".mp4": b"mdat"}


@pytest.mark.parametrize("name", ["orientation-3.jpg", "alpha.png", "iphone.mov"])
def test_one_changed_byte_breaks_the_c2pa_hash_binding(bundle, tmp_path, name):
    key = bundle.key_of(name)
    data = bytearray(bundle.media[key].read_bytes())
    data[data.rfind(PICTURE_DATA[bundle.media[key].suffix]) + 24] ^= 0x01
    changed = tmp_path / bundle.media[key].name
    changed.write_bytes(bytes(data))

    _, state = read_manifest(changed, bundle.rows[key]["media_type"])

    assert state == "Invalid"


def test_the_xmp_data_mining_value_matches_the_permissions(bundle):
    constrained = exiftool_xmp(bundle.media[bundle.key_of("orientation-6.jpg")])
    allowed = exiftool_xmp(bundle.media[bundle.key_of("alpha.png")])

    assert constrained["DataMining"] == "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-SEECONSTRAINT"
    assert GENERATIVE_CONSTRAINT in constrained["OtherConstraints"]
    assert allowed["DataMining"] == "http://ns.useplus.org/ldf/vocab/DMI-ALLOWED"


def exiftool_xmp(path: Path) -> dict[str, str]:
    output = subprocess.run(
        ["exiftool", "-j", "-XMP:all", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(output)[0]


@pytest.mark.parametrize(
    "marker", ["import webdataset", "manifest = pq.read_table", "import mlcroissant", "import c2pa"]
)
def test_the_readme_snippets_run_as_written(bundle, marker):
    readme = (bundle.root / "README.md").read_text()

    result = _run(_snippet(readme, marker), bundle.root)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_croissant_record_sets_reach_every_delivered_file(bundle):
    mlc = pytest.importorskip("mlcroissant")
    dataset = mlc.Dataset(jsonld=bundle.root / "croissant.json")
    seen = {}

    for series in SERIES_MEMBERS:
        for record in dataset.records(series):
            seen[record[f"{series}/key"].decode()] = record[f"{series}/content"]

    assert dataset.metadata.ctx.issues.errors == set()
    assert set(seen) == set(bundle.sources)
    for key, content in seen.items():
        if bundle.sources[key].kind == "image":
            assert content.size == (bundle.rows[key]["width"], bundle.rows[key]["height"])
        else:
            assert content == bundle.media[key].read_bytes()


def test_the_readme_webdataset_snippet_reads_every_sample(bundle):
    readme = (bundle.root / "README.md").read_text()

    result = _run(_snippet(readme, "import webdataset"), bundle.root)

    assert sorted(line.split()[0] for line in result.stdout.splitlines()) == sorted(bundle.sources)


def test_the_readme_c2pa_snippet_prints_the_rights(bundle):
    readme = (bundle.root / "README.md").read_text()

    printed = _run(_snippet(readme, "import c2pa"), bundle.root).stdout.splitlines()

    assert printed[0].endswith(".jpg Valid")
    assert printed[1].startswith("cawg.training-mining {'entries': ")
    assert printed[2].startswith("datamarket.rights {'consent_id': ")


def test_hugging_face_datasets_loads_every_series_with_no_missing_image(bundle, buyer_python):
    readme = (bundle.root / "README.md").read_text()
    check = """
for name, series in (("photos", photos), ("photos_png", photos_png)):
    member = "jpg" if name == "photos" else "png"
    missing = [row["__key__"] for row in series if row[member] is None]
    print(name, len(series), "missing", missing)
for name, series, member in (("videos", videos, "mp4"), ("videos_webm", videos_webm, "webm")):
    print(name, len(series), "empty", [row["__key__"] for row in series if not row[member]["bytes"]])
"""

    result = _run(_snippet(readme, "load_dataset") + "\n" + check, bundle.root, python=buyer_python)

    assert result.returncode == 0, result.stderr
    series_of_type = {media_type: series for series, (_, media_type) in SERIES_FILES.items()}
    counts = Counter(series_of_type[row["media_type"]] for row in bundle.rows.values())
    assert result.stdout.splitlines()[-4:] == [
        f"photos {counts['photos']} missing []",
        f"photos_png {counts['photos-png']} missing []",
        f"videos {counts['videos']} empty []",
        f"videos_webm {counts['videos-webm']} empty []",
    ]
