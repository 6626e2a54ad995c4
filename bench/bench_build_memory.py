"""Whether a bundle build's memory grows with the bundle: a 4 GB bundle against a 1 GB one.

The requirement: "building 1 GB and 4 GB bundles differs by under 50 MB of peak RSS". Both versions hold
videos of 200 MB (one MPEG-4 video of random frames that every asset's original points at: the build makes
each asset's delivery file from it, remuxed packet by packet, and streams that into a shard like any
other), 5 of them and 20; each version is built by the real build service in a fresh process, so its
peak RSS is its own. The ratio reported is the small build's peak over the large one's (1.0: no growth).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection

from bench.harness import Result, sellable_asset
from core.hashing import sha256_file

NAME = "build_peak_rss_4gb_vs_1gb"
VIDEO_BYTES = 200 * 1024**2
SMALL_VIDEOS, LARGE_VIDEOS = 5, 20
# Both bundles' delivery files in storage, their shards once in the build folder and once in storage (the
# same disk here: a move), plus slack.
MIN_FREE_BYTES = 14 * 1000**3
PROJECT = Path(__file__).resolve().parent.parent

# The child reports its own peak from VmHWM (ru_maxrss carries the parent's across exec).
CHILD = """
import json, re, sys, time
import django
django.setup()
from datasets.build import version_build
from datasets.models import DatasetVersion
started = time.perf_counter()
if sys.argv[1]:
    version_build(version_id=int(sys.argv[1]))
    version = DatasetVersion.objects.get(pk=int(sys.argv[1]))
    assert version.status == "published", version.failure_reason
    built = version.total_bytes
else:
    built = 0
status = open("/proc/self/status").read()
print(json.dumps({
    "seconds": time.perf_counter() - started,
    "bytes": built,
    "peak_rss_mb": int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) / 1024,
}))
"""


def _database_url() -> str:
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    user = params.get("USER") or ""
    return (
        f"postgres://{user}@{params.get('HOST') or '127.0.0.1'}:{params.get('PORT') or 5432}/{params['NAME']}"
    )


def _child(version_id: int | None) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(version_id or "")],
        cwd=PROJECT,
        env={**os.environ, "DATABASE_URL": _database_url()},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the build process failed:\n{completed.stderr[-3000:]}")
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _version(slug: str, videos: int, original: str, digest: str, size: int) -> int:
    from datasets.models import Dataset, Offer
    from datasets.services import version_create
    from licensing.models import LicenseTerms

    # Each dataset selects its own videos by category (an empty selection would take every sellable asset).
    category = "street" if videos == SMALL_VIDEOS else "travel"
    dataset = Dataset.objects.create(
        slug=slug, title=slug, description="Memory benchmark.", categories=[category]
    )
    Offer.objects.create(dataset=dataset, terms=LicenseTerms.objects.get(slug="research"), price_cents=10_000)
    for _ in range(videos):
        asset = sellable_asset(
            dataset,
            kind="video",
            mime_type="video/mp4",
            original=original,
            original_bytes=size,
            sha256=digest,
            width=640,
            height=480,
            duration_seconds=60.0,
            category=category,
        )
        asset.creator.country = "PT"
        asset.creator.save(update_fields=["country"])
    return version_create(dataset=dataset, actor=None).pk


def run() -> list[Result]:
    free = shutil.disk_usage(settings.VAR_DIR).free
    if free < MIN_FREE_BYTES:
        return [
            Result(NAME, 0.0, None, f"skipped: {free / 1e9:.1f} GB free, {MIN_FREE_BYTES / 1e9:.0f} needed")
        ]
    from tests.media_corpus import noise_video

    path = Path(settings.MEDIA_ROOT) / "originals" / "bench" / "video.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    noise_video(path, VIDEO_BYTES)
    digest = sha256_file(path)
    original = default_storage.generate_filename("originals/bench/video.mp4")
    small = _version("memory-1gb", SMALL_VIDEOS, original, digest, path.stat().st_size)
    large = _version("memory-4gb", LARGE_VIDEOS, original, digest, path.stat().st_size)
    idle, small_run, large_run = _child(None), _child(small), _child(large)
    growth = large_run["peak_rss_mb"] - small_run["peak_rss_mb"]
    detail = (
        f"peak RSS {small_run['peak_rss_mb']:.0f} MB building {small_run['bytes'] / 1e9:.1f} GB "
        f"({small_run['seconds']:.1f} s), {large_run['peak_rss_mb']:.0f} MB building "
        f"{large_run['bytes'] / 1e9:.1f} GB ({large_run['seconds']:.1f} s): {growth:+.0f} MB "
        f"(limit +50 MB); Django alone {idle['peak_rss_mb']:.0f} MB"
    )
    return [
        Result(NAME, small_run["peak_rss_mb"] / large_run["peak_rss_mb"], None, detail),
        Result("build_peak_rss_growth_under_50mb", 1.0 if growth < 50 else 0.0, 1.0, detail),
    ]
