"""What making delivery renditions costs against copying the originals into the bundle, as builds once did.

Both passes read the same JPEGs and write one file per photo into the same scratch folder, hashing what
they write (the bundle needs every file's sha256). The copy is the old build's work for a photo: its bytes
as uploaded. The rendition is the delivery's: the metadata segments left out, the picture turned upright
(losslessly where it can), the rights written in XMP and a signed C2PA manifest (`datasets.deliveries`
without the database and storage, which both passes would pay alike).

The photos are those in the folder `BENCH_CAMERA_JPEGS` names (a set of real camera JPEGs), or else 12
generated 12-megapixel phone JPEGs with EXIF, a third of them stored sideways. Best of 5 runs each.

A second result puts that cost where a buyer waits for it, in a whole build: a dataset of those photos (each
sold as COPIES assets, so the documents' fixed cost does not dominate) built making every delivery (after a
warm-up build under other rights), then built again as a version that reuses them (the same rights), so that
its samples are only copied into shards as builds did before renditions.
"""

import hashlib
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.harness import Result, best_rate, sellable_asset
from datasets.packaging.credentials import DIGITAL_CAPTURE, Rights, stamp
from datasets.packaging.renditions import photo_rendition
from datasets.signing_key import content_signer

NAME = "rendition_vs_copy"
TARGET = 0.67
BUILD_NAME = "build_with_renditions_vs_reusing_them"
COPIES = 10
GENERATED_PHOTOS = 12
GENERATED_SIZE = (4032, 3024)  # a phone's 12 MP: whole 16-pixel blocks, so sideways ones turn losslessly
RIGHTS = Rights(
    uses={
        "data_mining": ("allowed", ""),
        "ai_inference": ("allowed", ""),
        "ai_training": ("allowed", ""),
        "ai_generative_training": ("constrained", "No synthetic likeness of the people shown"),
    },
    license_terms=("research/1", "commercial/1"),
    consent_id="6f1c0d3e-8a57-4f0c-9d5e-2b1a7c9e4f10",
    release_ids=("0b9d6c52-1e7f-4a3b-8c2d-5e6f7a8b9c0d",),
    digital_source_type=DIGITAL_CAPTURE,
    web_statement="https://datamarket.example.com/datasets/city-life/",
)


def run() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="bench-renditions-") as scratch:
        work = Path(scratch)
        folder = os.environ.get("BENCH_CAMERA_JPEGS")
        photos = sorted(Path(folder).glob("*.jp*g")) if folder else _camera_jpegs(work / "photos")
        total = sum(photo.stat().st_size for photo in photos)
        output = work / "output"
        output.mkdir()
        signer = content_signer().signer()

        def copy() -> None:
            for index, photo in enumerate(photos):
                _write_hashed(photo.read_bytes(), output / f"copy-{index}.jpg")

        def rendition() -> None:
            for index, photo in enumerate(photos):
                folder = output / f"rendition-{index}"
                folder.mkdir(exist_ok=True)
                made = photo_rendition(photo, folder)
                delivered = folder / f"delivery-stamped.{made.extension}"
                stamp(made, RIGHTS, signer, title=f"{index}.{made.extension}", dest=delivered)
                hashlib.sha256(delivered.read_bytes()).hexdigest()

        copies = best_rate(copy, count=1)
        renditions = best_rate(rendition, count=1)
        build = _build_ratio(photos)
    ratio = renditions / copies
    source = (
        f"{len(photos)} JPEGs from BENCH_CAMERA_JPEGS" if folder else f"{len(photos)} generated 12 MP JPEGs"
    )
    detail = (
        f"{source}, {total / 1e6:.1f} MB: renditions {renditions * len(photos):.0f} photos/s "
        f"({(1 / renditions) * 1000 / len(photos):.2f} ms each), copies {copies * len(photos):.0f} photos/s "
        f"({(1 / copies) * 1000 / len(photos):.2f} ms each)"
    )
    return [Result(NAME, ratio, TARGET, detail), build]


def _build_ratio(photos: list[Path]) -> Result:
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from datasets import build as builds
    from datasets.models import Dataset, DatasetVersion, Offer
    from datasets.services import version_create
    from licensing.models import LicenseTerms

    dataset = Dataset.objects.create(
        slug="renditions", title="Renditions", description="Rendition benchmark."
    )
    Offer.objects.create(dataset=dataset, terms=LicenseTerms.objects.get(slug="research"), price_cents=10_000)
    for photo in photos:
        content = photo.read_bytes()
        original = default_storage.save(f"originals/bench/{photo.name}", ContentFile(content))
        for _ in range(COPIES):
            sellable_asset(
                dataset,
                kind="image",
                mime_type="image/jpeg",
                original=original,
                original_bytes=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
            )

    def built() -> float:
        version = version_create(dataset=dataset, actor=None)
        started = time.perf_counter()
        builds.version_build(version_id=version.pk)
        seconds = time.perf_counter() - started
        version.refresh_from_db()
        assert version.status == DatasetVersion.Status.PUBLISHED, version.failure_reason
        return seconds

    # The first build pays for what a process does once (imports, URL resolver): it warms up. Offering a
    # second tier changes every sample's rights, so the next build makes every delivery again.
    built()
    Offer.objects.create(
        dataset=dataset, terms=LicenseTerms.objects.get(slug="commercial"), price_cents=50_000
    )
    making, reusing = built(), built()
    samples = len(photos) * COPIES
    return Result(
        BUILD_NAME,
        reusing / making,
        None,
        f"{samples} samples: {making:.2f} s making every delivery ({making * 1000 / samples:.2f} ms a sample), "
        f"{reusing:.2f} s reusing them ({reusing * 1000 / samples:.2f} ms a sample)",
    )


def _write_hashed(data: bytes, path: Path) -> str:
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _camera_jpegs(folder: Path) -> list[Path]:
    """Photo-like JPEGs (smooth gradients under sensor noise) at a camera's size and quality, with EXIF."""
    folder.mkdir()
    rng = np.random.default_rng(7)
    width, height = GENERATED_SIZE
    x = np.linspace(0, 1, width, dtype=np.float32)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    photos = []
    for index in range(GENERATED_PHOTOS):
        channels = [x * 200 + y * 40, (1 - x) * 120 + y * 100, x * 0 + y * 180 + 30]
        scene = np.stack(channels, axis=-1)
        pixels = np.clip(scene + rng.normal(0, 6, (height, width, 3)), 0, 255).astype(np.uint8)
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "Canon", "Canon EOS R6"  # make, model
        exif[0x0112] = 6 if index % 3 == 0 else 1  # orientation: a third of them shot in portrait
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=92, exif=exif.tobytes())
        path = folder / f"camera-{index:02d}.jpg"
        path.write_bytes(buffer.getvalue())
        photos.append(path)
    return photos
