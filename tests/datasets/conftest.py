"""Sellable assets whose originals really are in storage, and a dataset offered under a priced tier."""

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from creators.models import MediaAsset
from datasets import build, services
from datasets.models import Dataset, DatasetVersion, Offer
from licensing.models import LicenseTerms
from tests.creators.ingest.test_video import make_video
from tests.factories import ConsentFactory, MediaAssetFactory


def photo_bytes(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    image = Image.new("RGB", size, ((seed * 53) % 256, (seed * 97) % 256, (seed * 31) % 256))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def store_sellable(
    content: bytes,
    *,
    kind: str = "image",
    mime: str = "image/jpeg",
    suffix: str = "",
    consented: bool = True,
    **fields,
) -> MediaAsset:
    """An asset with `content` as its stored original and (unless not `consented`) an active consent allowing
    every use."""
    suffix = suffix or ("mp4" if kind == "video" else "jpg")
    name = default_storage.save(
        f"originals/test/{hashlib.sha256(content).hexdigest()[:16]}.{suffix}", ContentFile(content)
    )
    asset = MediaAssetFactory(
        kind=kind,
        mime_type=mime,
        original=name,
        original_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        **fields,
    )
    if consented:
        ConsentFactory(asset=asset)
    return asset


@pytest.fixture
def sellable_photo(db) -> Callable[..., MediaAsset]:
    counter = iter(range(10_000))

    def make(size: tuple[int, int] = (64, 48), **fields) -> MediaAsset:
        return store_sellable(photo_bytes(next(counter), size), **fields)

    return make


@pytest.fixture
def sellable_video(db, tmp_path: Path) -> Callable[..., MediaAsset]:
    counter = iter(range(10_000))

    def make(seconds: float = 0.5, **fields) -> MediaAsset:
        path = make_video(tmp_path / f"clip-{next(counter)}.mp4", size=(64, 48), seconds=seconds)
        return store_sellable(
            path.read_bytes(),
            kind="video",
            mime="video/mp4",
            width=64,
            height=48,
            duration_seconds=seconds,
            **fields,
        )

    return make


def offer_dataset(slug: str = "city-life", **fields) -> Dataset:
    """A dataset offered under the research and the commercial terms."""
    dataset = Dataset.objects.create(
        slug=slug, title="City life", description="Photos and clips of city life.", **fields
    )
    Offer.objects.create(dataset=dataset, terms=LicenseTerms.objects.get(slug="research"), price_cents=25_000)
    Offer.objects.create(
        dataset=dataset, terms=LicenseTerms.objects.get(slug="commercial"), price_cents=90_000
    )
    return dataset


@pytest.fixture
def offered_dataset(db) -> Callable[..., Dataset]:
    return offer_dataset


# The version a buyer following the README gets today; the snippet must work with it.
HF_DATASETS_VERSION = "5.2.0"


@pytest.fixture(scope="session")
def buyer_python() -> str:
    """A Python with Hugging Face `datasets` (and Pillow, as the README's `datasets[vision]` brings), in a
    virtualenv of its own.

    It cannot live beside the project: its import name is this project's `datasets` app. A buyer's machine
    has the one and not the other, and so does this environment. Installing it takes most of a minute, so it
    is made once per machine, under the user's cache folder, named for what it holds (the requirement and the
    Python it runs on): a new requirement makes a new one.
    """
    requirement = f"datasets[vision]=={HF_DATASETS_VERSION}"
    key = hashlib.sha256(f"{requirement} {sys.version}".encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "datamarket-tests"
    venv = cache / f"buyer-venv-{key}"
    python = venv / "bin" / "python"
    if (venv / "complete").exists():
        return str(python)
    cache.mkdir(parents=True, exist_ok=True)
    # Made aside and renamed into place whole, so a run that stops halfway, or two runs at once, never leave
    # a half-installed environment under the name.
    scratch = Path(tempfile.mkdtemp(prefix="buyer-venv-", dir=cache))
    subprocess.run([sys.executable, "-m", "venv", str(scratch)], check=True)
    installed = subprocess.run(
        [str(scratch / "bin" / "python"), "-m", "pip", "install", "--quiet", requirement],
        capture_output=True,
        text=True,
        check=False,
    )
    if installed.returncode != 0:
        shutil.rmtree(scratch, ignore_errors=True)
        pytest.skip(f"Hugging Face datasets could not be installed: {installed.stderr.strip()[-300:]}")
    (scratch / "complete").touch()
    try:
        scratch.rename(venv)
    except OSError:  # another run put one in place meanwhile: use it
        shutil.rmtree(scratch, ignore_errors=True)
    return str(python)


def publish_first_version(dataset: Dataset) -> DatasetVersion:
    """Freeze the dataset's selection, build the bundle in process, and put the dataset in the catalog."""
    version = services.version_create(dataset=dataset, actor=None)
    build.version_build(version_id=version.pk)
    version.refresh_from_db()
    assert version.status == DatasetVersion.Status.PUBLISHED, version.failure_reason
    Dataset.objects.filter(pk=dataset.pk).update(is_public=True)
    dataset.refresh_from_db()
    return version
