"""Near-duplicate search over 50,000 stored perceptual hashes: the band index against a full scan.

Both sides answer the same question from the same PerceptualHash table: which assets have a hash within
NEAR_DUPLICATE_MAX_BITS of the query. The scan reads every stored hash and compares it in Python; the index
probes the four 16-bit band columns (creators.selectors.near_duplicate_ids). Queries are planted: each has
one to three stored hashes 0..7 bits away, so recall is measured against known answers as well as the scan.
"""

import random
import time

from django.db import transaction

from bench.harness import Result
from creators.ingest.hashing import hamming, phash_from_signed, phash_to_signed
from creators.models import CreatorProfile, MediaAsset, PerceptualHash
from creators.selectors import hash_bands, near_duplicate_ids
from creators.services import NEAR_DUPLICATE_MAX_BITS
from marketplace.models import User

STORED = 50_000
QUERIES = 200


def _near(value: int, bits: int, rng: random.Random) -> int:
    for bit in rng.sample(range(64), bits):
        value ^= 1 << bit
    return value


@transaction.atomic
def _fill(rng: random.Random) -> tuple[list[int], dict[int, set[int]]]:
    """Store STORED random hashes, some of them planted near each query; returns the queries and answers."""
    user = User.objects.create_user(email="bench-dup@example.com", password=None, role=User.Role.CREATOR)
    creator = CreatorProfile.objects.create(user=user, display_name="bench")
    assets = MediaAsset.objects.bulk_create(
        MediaAsset(
            creator=creator,
            kind="image",
            original=f"b/{i}",
            original_name="b",
            original_bytes=1,
            mime_type="x",
        )
        for i in range(STORED)
    )
    values = [rng.getrandbits(64) for _ in range(STORED)]
    queries = [rng.getrandbits(64) for _ in range(QUERIES)]
    planted: dict[int, set[int]] = {}
    slots = iter(rng.sample(range(STORED), QUERIES * 3))
    for index, query in enumerate(queries):
        planted[index] = set()
        for _ in range(rng.randint(1, 3)):
            slot = next(slots)
            values[slot] = _near(query, rng.randint(0, NEAR_DUPLICATE_MAX_BITS), rng)
            planted[index].add(assets[slot].pk)
    PerceptualHash.objects.bulk_create(
        (
            PerceptualHash(asset=asset, value=phash_to_signed(value), **hash_bands(value))
            for asset, value in zip(assets, values, strict=True)
        ),
        batch_size=5000,
    )
    return queries, planted


def _scan(query: int) -> dict[int, int]:
    found: dict[int, int] = {}
    for asset_id, stored in PerceptualHash.objects.values_list("asset_id", "value").iterator(
        chunk_size=10_000
    ):
        distance = hamming(query, phash_from_signed(stored))
        if distance <= NEAR_DUPLICATE_MAX_BITS and distance < found.get(asset_id, 65):
            found[asset_id] = distance
    return found


def run() -> list[Result]:
    rng = random.Random(2026)
    queries, planted = _fill(rng)
    scan_queries = queries[:20]  # the scan is slow; twenty queries give its rate

    started = time.perf_counter()
    scanned = [_scan(query) for query in scan_queries]
    scan_rate = len(scan_queries) / (time.perf_counter() - started)

    started = time.perf_counter()
    indexed = [near_duplicate_ids(hashes=[query], max_bits=NEAR_DUPLICATE_MAX_BITS) for query in queries]
    index_rate = len(queries) / (time.perf_counter() - started)

    missed_against_scan = sum(scanned[i] != indexed[i] for i in range(len(scan_queries)))
    planted_total = sum(len(answers) for answers in planted.values())
    planted_found = sum(len(planted[i] & indexed[i].keys()) for i in range(len(queries)))
    recall = planted_found / planted_total
    return [
        Result(
            name="near_duplicate_index_vs_full_scan",
            ratio=index_rate / scan_rate,
            target=30.0,
            detail=(
                f"{index_rate:,.0f} indexed searches/s vs {scan_rate:,.1f} full scans/s over {STORED:,} hashes; "
                f"recall {recall:.0%} of {planted_total} planted near duplicates (0-{NEAR_DUPLICATE_MAX_BITS} bits), "
                f"{missed_against_scan} of {len(scan_queries)} answers differing from the scan's"
            ),
        ),
        Result(
            name="near_duplicate_index_recall", ratio=recall, target=1.0, detail="planted neighbours found"
        ),
    ]
