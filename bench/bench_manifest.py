"""What writing a manifest costs: ours (Arrow arrays built column by column, JSON made from them with orjson)
against the obvious way (a dict per row, `json.dumps` line by line, `pa.Table.from_pylist`), for 100,000
synthetic samples.

Both start from the same columns, write the same two files (manifest.parquet with zstd and manifest.jsonl)
into the same directory, and are timed best of five, alternating.
"""

import datetime as dt
import json
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.harness import Result
from datasets.packaging.manifest import JSONL_NAME, PARQUET_NAME, SCHEMA, manifest_table, write_manifest

SAMPLES = 100_000
REPEATS = 5
WORDS = [
    "street",
    "portrait",
    "night",
    "market",
    "food",
    "architecture",
    "window",
    "light",
    "shadow",
    "rain",
    "city",
    "river",
    "bridge",
    "hands",
    "fabric",
    "studio",
    "coffee",
    "bread",
    "bicycle",
    "train",
    "station",
    "smile",
    "crowd",
    "garden",
]
USES = ["data_mining", "ai_inference", "ai_training", "ai_generative_training"]


def run() -> list[Result]:
    columns = synthetic_columns(SAMPLES)
    with tempfile.TemporaryDirectory(prefix="bench-manifest-") as scratch:
        directory = Path(scratch)

        def ours() -> None:
            write_manifest(directory, manifest_table(columns))

        def baseline() -> None:
            _write_row_by_row(directory, columns)

        ours_seconds, baseline_seconds = _best_seconds_interleaved([ours, baseline], REPEATS)
        ours()
        parquet_mb = (directory / PARQUET_NAME).stat().st_size / 1e6
        jsonl_mb = (directory / JSONL_NAME).stat().st_size / 1e6
    return [
        Result(
            name="manifest_vs_row_by_row",
            ratio=baseline_seconds / ours_seconds,
            target=3.0,
            detail=f"{ours_seconds * 1000:.0f} vs {baseline_seconds * 1000:.0f} ms for {SAMPLES:,} samples "
            f"({len(SCHEMA)} columns; manifest.parquet {parquet_mb:.1f} MB, manifest.jsonl {jsonl_mb:.1f} MB)",
        )
    ]


def synthetic_columns(count: int) -> dict[str, list[object]]:
    """`count` plausible manifest rows, column by column: a tenth videos, some values missing."""
    rng = random.Random(11)
    video = [rng.random() < 0.1 for _ in range(count)]
    start = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    return {
        "key": [f"{index:07d}-{rng.getrandbits(32):08x}" for index in range(count)],
        "sha256": [f"{rng.getrandbits(256):064x}" for _ in range(count)],
        "bytes": [rng.randrange(500_000, 400_000_000 if is_video else 8_000_000) for is_video in video],
        "media_type": ["video/mp4" if is_video else "image/jpeg" for is_video in video],
        "width": [rng.choice((1920, 3840, 4000, 6000)) for _ in range(count)],
        "height": [rng.choice((1080, 2160, 3000, 4000)) for _ in range(count)],
        "duration": [round(rng.uniform(2, 120), 3) if is_video else None for is_video in video],
        "capture_time": [
            start + dt.timedelta(seconds=rng.randrange(100_000_000)) if rng.random() < 0.9 else None
            for _ in range(count)
        ],
        "tags": [rng.sample(WORDS, rng.randrange(2, 8)) for _ in range(count)],
        "caption": [
            " ".join(rng.choices(WORDS, k=rng.randrange(6, 24))).capitalize() + '. "Café" at dusk.'
            if rng.random() < 0.8
            else None
            for _ in range(count)
        ],
        "license_terms": [["research/3", "commercial/3"]] * count,
        "consent_uses": [USES[: rng.randrange(2, 5)] for _ in range(count)],
        "consent_constraints": [
            [{"use": "ai_generative_training", "text": "No likeness of the people shown"}]
            if rng.random() < 0.1
            else []
            for _ in range(count)
        ],
        "release_ids": [
            [f"{rng.getrandbits(128):032x}" for _ in range(rng.randrange(0, 3))] for _ in range(count)
        ],
        "creator_id": [f"c-{rng.randrange(2000):05d}" for _ in range(count)],
        "blur": [round(rng.uniform(10, 3000), 2) for _ in range(count)],
        "exposure": [round(rng.uniform(20, 230), 2) for _ in range(count)],
        "resolution_class": [rng.choice(("hd", "4k", "12mp", "24mp")) for _ in range(count)],
        "motion": [round(rng.random(), 4) if is_video else None for is_video in video],
        "face_count": [rng.randrange(0, 4) for _ in range(count)],
    }


def _write_row_by_row(directory: Path, columns: dict[str, list[object]]) -> None:
    names = list(columns)
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    with (directory / JSONL_NAME).open("w", encoding="utf-8") as stream:
        for row in rows:
            stream.write(json.dumps(row, default=_iso_time) + "\n")
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), directory / PARQUET_NAME, compression="zstd")


def _iso_time(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"{value!r} is not JSON serialisable")


def _best_seconds_interleaved(passes: list[Callable[[], None]], repeats: int) -> list[float]:
    best = [float("inf")] * len(passes)
    for _ in range(repeats):
        for index, one_pass in enumerate(passes):
            started = time.perf_counter()
            one_pass()
            best[index] = min(best[index], time.perf_counter() - started)
    return best
