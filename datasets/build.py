"""The bundle build: a version's items written into shards, then its documents and signed checksums, then sealed.

Every finished file goes to storage at once and is recorded as a BundleFile, so an attempt that dies (a
killed worker, a full disk) leaves the shards it finished behind: the next attempt resumes each shard series
after its last recorded shard. Documents are small and always rewritten.

An attempt holds the version through a lease: a token of its own and the time it last showed progress.
Every progress write is conditional on the token, so an attempt that lost the lease (it stalled so long that
another was started) stops at its next write instead of racing the new one. An attempt that storage fails
gives its lease back at once, and the task tries again after a backoff.

Sellability is checked before anything is written and, under the row locks withdrawals take, once more when
the version is sealed: whatever stopped being sellable meanwhile is dropped, with every shard and document it
reached, and those are written again without it. A withdrawal that commits after the seal finds the version
published, and supersedes it.
"""

import dataclasses
import logging
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, cast

import c2pa
import pyarrow as pa
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, F, Max, Sum
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils import timezone

from core.hashing import sha256_file
from core.storage_errors import is_transient_storage_error, storage_unavailable
from creators.models import MediaAsset
from creators.services import stored_files_delete
from licensing.models import LicenseTermsVersion, Permission, Use

from . import selectors, services
from .deliveries import camera_fields, delivery_for, delivery_rights, digital_source_type
from .models import BundleFile, DatasetVersion, VersionItem
from .packaging.checksums import SIGNATURE_NAME, SUMS_NAME, sums_text
from .packaging.croissant import write_croissant
from .packaging.datasheet import write_datasheet
from .packaging.description import (
    CROISSANT_NAME,
    DATASHEET_NAME,
    SERIES_FILES,
    SHARD_SERIES,
    SHARDS_DIR,
    ConsentCount,
    Counts,
    DatasetDescription,
    Distributions,
    LicenseTier,
    Maintenance,
    PreviousVersion,
    Quality,
    Series,
    shard_prefix,
)
from .packaging.description import BundleFile as DescribedFile
from .packaging.manifest import (
    JSONL_NAME,
    PARQUET_NAME,
    license_terms_item,
    manifest_table,
    sample_json,
    write_manifest,
)
from .packaging.readme import LICENSE_NAME, README_NAME, write_license, write_readme
from .packaging.renditions import RenditionError
from .packaging.tar import ShardInfo, ShardWriter
from .signing_key import content_signer, current_key, signing_key

logger = logging.getLogger(__name__)

# Attempts in a row that finish no shard before the build is failed: a sample that kills the worker every
# time must not keep the version building forever.
MAX_STALLED_ATTEMPTS = 5
# Progress (and the lease) is written at most this often while samples stream into a shard.
PROGRESS_EVERY_SECONDS = 1.0
# Delivery files are recorded this many items at a time, or what was made within this long.
DELIVERY_BATCH = 64
DELIVERY_BATCH_SECONDS = 2.0
STORAGE_PREFIX = "bundles"
# How long a licensee has to delete a withdrawn sample: every tier's terms (licensing/terms/) say 30 days.
LICENSEE_DELETION_DAYS = 30


class LeaseLost(Exception):
    """Another attempt took the build over; this one stops without writing anything more."""


@dataclasses.dataclass
class _Attempt:
    version_id: int
    token: uuid.UUID
    stalled_attempts: int
    directory: Path  # the bundle's local root while this attempt runs
    last_progress: float = 0.0

    def heartbeat(self, *, force: bool = False, **progress: int) -> None:
        """Record progress and renew the lease; LeaseLost if another attempt holds the build now."""
        now = time.monotonic()
        if not force and now - self.last_progress < PROGRESS_EVERY_SECONDS:
            return
        self.last_progress = now
        held = DatasetVersion.objects.filter(pk=self.version_id, build_token=self.token).update(
            progress_at=timezone.now(), **progress
        )
        if not held:
            raise LeaseLost(f"version {self.version_id}: another attempt holds the build")


@dataclasses.dataclass(frozen=True)
class _Item:
    position: int
    key: str
    series: str
    extension: str
    stored: str  # the storage name of its delivery file
    byte_size: int


def version_build(*, version_id: int) -> None:
    """Build (or resume building) the version's bundle and publish it; safe to run again at any point."""
    attempt = _claim(version_id)
    if attempt is None:
        return
    shutil.rmtree(attempt.directory, ignore_errors=True)  # what an attempt that died here left
    try:
        _build(attempt)
    except LeaseLost:
        logger.warning("Build of version %s stopped: another attempt took it over", version_id)
    except Exception as error:
        outage = is_transient_storage_error(error)
        _release(attempt, stalled=not outage)
        if outage:
            raise storage_unavailable(error) from error  # the task retries with backoff and resumes
        if isinstance(error, OSError) and attempt.stalled_attempts < MAX_STALLED_ATTEMPTS:
            raise  # a file or disk error that may pass: retried as well, but counted as a stalled attempt
        logger.exception("Build of version %s failed", version_id)
        _fail(attempt.version_id, _reason(error))
    finally:
        shutil.rmtree(attempt.directory, ignore_errors=True)


def version_build_give_up(*, version_id: int, outage: str, tries: int) -> None:
    """Fail a build that storage kept failing, unless another attempt has taken it up meanwhile."""
    with transaction.atomic():
        version = DatasetVersion.objects.select_for_update().get(pk=version_id)
        if version.status == DatasetVersion.Status.BUILDING and version.build_token is None:
            services.version_fail(
                version=version,
                reason=f"{outage}, {tries} times in a row. Retry the build once storage is back.",
            )


def versions_resume_stalled() -> int:
    """Queue again the builds whose attempt stopped showing progress (its worker died) for a lease's length."""
    lease_start = timezone.now() - timedelta(seconds=settings.DATASET_BUILD_LEASE_SECONDS)
    stalled = list(
        DatasetVersion.objects.filter(
            status=DatasetVersion.Status.BUILDING, progress_at__lt=lease_start
        ).values_list("pk", flat=True)
    )
    for version_id in stalled:
        services.enqueue_build(version_id)
    return len(stalled)


@transaction.atomic
def _claim(version_id: int) -> _Attempt | None:
    """Start or resume the build as a new attempt, unless it is done, or a live attempt holds it."""
    version = DatasetVersion.objects.select_for_update().filter(pk=version_id).first()
    if version is None:
        return None
    if version.status in (DatasetVersion.Status.DRAFT, DatasetVersion.Status.FAILED):
        version = services.version_build_start(version=version)
    elif version.status != DatasetVersion.Status.BUILDING:
        return None  # built already: a message delivered twice
    else:
        lease_start = timezone.now() - timedelta(seconds=settings.DATASET_BUILD_LEASE_SECONDS)
        if version.build_token is not None and version.progress_at and version.progress_at >= lease_start:
            return None
        version.build_attempts += 1
    version.stalled_attempts += 1
    if version.stalled_attempts > MAX_STALLED_ATTEMPTS:
        version.save(update_fields=["build_attempts", "stalled_attempts"])
        services.version_fail(
            version=version,
            reason=f"The build stopped {MAX_STALLED_ATTEMPTS} times in a row without finishing a shard "
            "(a worker killed each time?). Retry it once the cause is fixed.",
        )
        return None
    version.build_token = uuid.uuid4()
    version.progress_at = timezone.now()
    version.save(update_fields=["build_attempts", "stalled_attempts", "build_token", "progress_at"])
    return _Attempt(
        version_id=version.pk,
        token=version.build_token,
        stalled_attempts=version.stalled_attempts,
        directory=Path(settings.DATASET_BUILD_DIR) / str(version.public_id) / version.name,
    )


def _release(attempt: _Attempt, *, stalled: bool) -> None:
    """Give up the lease at once, so a retry of the task can resume without waiting for it to run out.

    An attempt a storage outage ended did not stall: it is uncounted, since MAX_STALLED_ATTEMPTS is there to
    stop a sample that kills workers, and the task bounds its own retries through an outage.
    """
    uncounted = {} if stalled else {"stalled_attempts": Greatest(F("stalled_attempts") - 1, 0)}
    DatasetVersion.objects.filter(pk=attempt.version_id, build_token=attempt.token).update(
        build_token=None, **uncounted
    )


def _fail(version_id: int, reason: str) -> None:
    with transaction.atomic():
        version = DatasetVersion.objects.select_for_update().get(pk=version_id)
        if version.status == DatasetVersion.Status.BUILDING:
            services.version_fail(version=version, reason=reason)


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return f"{type(error).__name__}: {error}"


def _build(attempt: _Attempt) -> None:
    _drop_unsellable(attempt, seal=False)  # nothing already withdrawn is written at all
    _deliver(attempt)
    while True:
        version = DatasetVersion.objects.select_related("dataset").get(pk=attempt.version_id)
        items = _items(version)
        if not items:
            raise ValidationError(
                "Every item of this version stopped being sellable during the build: there is nothing to publish."
            )
        table = _manifest(version, items)
        rows = dict(zip((item.key for item in items), sample_json(table), strict=True))
        for series in SHARD_SERIES:
            _write_series(attempt, version, series, [item for item in items if item.series == series], rows)
        _write_documents(attempt, version, table)
        if not _drop_unsellable(attempt, seal=True):
            return


def _deliver(attempt: _Attempt) -> None:
    """Give every item its delivery file (made, or found from an earlier version), before any shard.

    Items are recorded in batches of up to 64 items or 2 seconds of work, one transaction each (a commit per
    item costs more than making a small photo's file). A failure still commits what its batch made before it;
    an attempt killed outright loses its open batch, whose files the next attempt makes again. A batch
    recorded is progress: like a finished shard, it resets the stalled-attempt count.
    """
    version = DatasetVersion.objects.select_related("dataset").get(pk=attempt.version_id)
    pending = version.items.filter(delivery__isnull=True, asset__isnull=False)
    if not pending.exists():
        return
    if version.files.exists():
        _restart_shards(version)
    license_terms = [license_terms_item(tier.terms.slug, tier.version) for tier in _tiers(version)]
    web_statement = settings.SITE_URL + reverse("datasets:detail", args=[version.dataset.slug])
    signer = content_signer().signer()
    attempt.directory.mkdir(parents=True, exist_ok=True)
    while batch := list(pending.select_related("asset").order_by("position")[:DELIVERY_BATCH]):
        failure: Exception | None = None
        with transaction.atomic():
            deadline = time.monotonic() + DELIVERY_BATCH_SECONDS
            for item in batch:
                try:
                    # A savepoint each: what the batch made before a failure is still committed with it.
                    with transaction.atomic():
                        _deliver_item(item, license_terms, web_statement, signer, attempt.directory)
                except Exception as error:
                    failure = error
                    break
                if time.monotonic() > deadline:
                    break  # the rest stay pending, for the next batch
        if failure is not None:
            raise failure
        made = version.items.filter(delivery__isnull=False).count()
        attempt.heartbeat(force=True, stalled_attempts=0, deliveries_done=made)
    total = version.items.aggregate(total=Sum("byte_size"))["total"] or 0
    DatasetVersion.objects.filter(pk=version.pk).update(total_bytes=total)


def _restart_shards(version: DatasetVersion) -> None:
    """Delete what an attempt from before delivery files wrote: its shards hold the uploads' own bytes.

    A build makes every delivery file before its first shard, so shards beside items without one can only
    come from an attempt begun before renditions existed; no byte of those shards may reach a buyer.
    """
    with transaction.atomic():
        stored = list(version.files.values_list("storage_name", flat=True))
        version.files.all().delete()
        DatasetVersion.objects.filter(pk=version.pk).update(items_done=0, bytes_done=0, shards_done=0)
        transaction.on_commit(lambda: stored_files_delete(stored))
    logger.warning("Version %s: shards written from the uploads' own bytes are written again", version.pk)


def _deliver_item(
    item: VersionItem, license_terms: list[str], web_statement: str, signer: c2pa.Signer, scratch: Path
) -> None:
    if item.asset is None:  # erased since the query ran: the seal drops the item
        return
    rights = delivery_rights(
        uses=item.uses,
        license_terms=license_terms,
        consent_id=str(item.consent_id),
        release_ids=[str(release_id) for release_id in item.release_ids],
        asset=item.asset,
        web_statement=web_statement,
    )
    try:
        delivery = delivery_for(asset=item.asset, key=item.key, rights=rights, signer=signer, scratch=scratch)
    except RenditionError as error:
        raise ValidationError(
            f"Sample {item.key} could not be made into a delivery file: {error}."
        ) from error
    VersionItem.objects.filter(pk=item.pk).update(
        delivery=delivery, series=delivery.series, sha256=delivery.sha256, byte_size=delivery.byte_size
    )


def _items(version: DatasetVersion) -> list[_Item]:
    """The items with a delivery file, in order; one whose asset was erased meanwhile is dropped at the seal."""
    return [
        _Item(
            position=position,
            key=key,
            series=series,
            extension=SERIES_FILES[Series(series)][0],
            stored=stored,
            byte_size=byte_size,
        )
        for position, key, series, stored, byte_size in version.items.filter(delivery__isnull=False)
        .order_by("position")
        .values_list("position", "key", "delivery__series", "delivery__storage_name", "byte_size")
    ]


def _write_series(
    attempt: _Attempt, version: DatasetVersion, series: str, items: list[_Item], rows: dict[str, bytes]
) -> None:
    """Write the shards of one series that are not in storage yet, after the last one that is."""
    last = version.files.filter(kind=BundleFile.Kind.SHARD, series=series).order_by("-shard_index").first()
    remaining = [item for item in items if last is None or item.position > (last.last_position or 0)]
    if not remaining:
        return
    directory = attempt.directory / SHARDS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    positions = {item.key: item.position for item in remaining}
    done = list(_done(version))  # items and bytes written, the shard the writer holds included

    def shard_finished(info: ShardInfo) -> None:
        path = f"{SHARDS_DIR}/{info.name}"
        stored = _store(version, path, info.path)
        with transaction.atomic():
            # Called as the next sample arrives, or at the end: `done` counts what this shard holds.
            attempt.heartbeat(force=True, stalled_attempts=0, items_done=done[0], bytes_done=done[1])
            BundleFile.objects.create(
                version=version,
                kind=BundleFile.Kind.SHARD,
                series=series,
                path=path,
                storage_name=stored,
                byte_size=info.size,
                sha256=info.sha256,
                shard_index=info.index,
                last_position=positions[info.last_key],
            )
            DatasetVersion.objects.filter(pk=version.pk).update(
                shards_done=version.files.filter(kind=BundleFile.Kind.SHARD).count()
            )

    with ShardWriter(
        directory,
        shard_prefix(version.name, series),
        mtime=int(version.created_at.timestamp()),
        max_shard_bytes=settings.DATASET_SHARD_BYTES,
        start_index=last.shard_index + 1 if last and last.shard_index is not None else 0,
        on_shard_finished=shard_finished,
    ) as writer:
        for item in remaining:
            # A storage File proxies readinto to the open file: streamed in blocks, never read whole.
            with default_storage.open(item.stored, "rb") as media:
                writer.write(
                    item.key,
                    cast(BinaryIO, media),
                    extension=item.extension,
                    metadata=rows[item.key],
                    size=item.byte_size,
                )
            done[0], done[1] = done[0] + 1, done[1] + item.byte_size
            attempt.heartbeat(items_done=done[0], bytes_done=done[1])


def _done(version: DatasetVersion) -> tuple[int, int]:
    """Items and bytes of media already in finished shards, where progress resumes from."""
    last_positions = {
        series: position
        for series, position in version.files.filter(kind=BundleFile.Kind.SHARD)
        .values("series")
        .annotate(position=Max("last_position"))
        .values_list("series", "position")
    }
    items, total = 0, 0
    for series, position, byte_size in version.items.values_list("delivery__series", "position", "byte_size"):
        last_position = last_positions.get(series)
        if last_position is not None and position <= last_position:
            items, total = items + 1, total + byte_size
    return items, total


def _store(version: DatasetVersion, path: str, local: Path) -> str:
    """Put a finished local file into storage under the version's folder; return its storage name.

    On S3 the upload is a multipart one for anything over the transfer threshold (boto3's managed
    transfer, through django-storages). A file an earlier attempt stored without recording it is replaced.
    """
    name = f"{STORAGE_PREFIX}/{version.public_id}/{path}"
    default_storage.delete(name)
    with _LocalFile(local) as content:
        stored = default_storage.save(name, content)
    local.unlink(missing_ok=True)
    return stored


class _LocalFile(File):
    """A file on local disk that FileSystemStorage may move into place instead of copying."""

    def __init__(self, path: Path) -> None:
        super().__init__(path.open("rb"), name=path.name)
        self._path = path

    def temporary_file_path(self) -> str:
        return str(self._path)


def _tiers(version: DatasetVersion) -> list[LicenseTermsVersion]:
    """The terms versions the version is licensed under: each offered tier's newest, cheapest tier first."""
    terms_ids = list(
        version.dataset.offers.order_by("price_cents", "terms__position").values_list("terms_id", flat=True)
    )
    if not terms_ids:
        raise ValidationError("The dataset is offered under no license tier: price at least one first.")
    newest: dict[int, LicenseTermsVersion] = {}
    for terms_version in LicenseTermsVersion.objects.filter(terms_id__in=terms_ids).select_related("terms"):
        if terms_version.version > getattr(newest.get(terms_version.terms_id), "version", 0):
            newest[terms_version.terms_id] = terms_version
    return [newest[terms_id] for terms_id in terms_ids]


def _with_metadata_read(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row with what the manifest takes from the asset's metadata in place of the metadata itself, which
    can be kilobytes a sample: a manifest of many samples never holds all of it at once."""
    metadata = row["asset__metadata"]
    return {name: value for name, value in row.items() if name != "asset__metadata"} | {
        "camera": camera_fields(row["asset__kind"], metadata),
        "digital_source_type": digital_source_type(
            metadata=metadata, ai_generated=row["asset__ai_generated"]
        ),
    }


def _manifest(version: DatasetVersion, items: list[_Item]) -> pa.Table:
    """The manifest's rows for these items, in their order: what each sample's `<key>.json` carries."""
    by_position = {
        row["position"]: _with_metadata_read(row)
        for row in version.items.filter(position__in=[item.position for item in items]).values(
            "position", "key", "sha256", "byte_size", "uses", "consent_id", "release_ids", "creator_pseudonym",
            "asset_id", "asset__kind", "asset__mime_type", "asset__duration_seconds", "asset__capture_time",
            "asset__caption", "asset__blur_score", "asset__exposure_mean", "asset__resolution_class",
            "asset__motion_score", "asset__face_count", "asset__metadata", "asset__ai_generated",
            "asset__gps_coarse_lat", "asset__gps_coarse_lon", "delivery__series", "delivery__width",
            "delivery__height", "delivery__method", "delivery__content_credentials",
        ).iterator(chunk_size=2000)
    }  # fmt: skip
    rows = [by_position[item.position] for item in items]
    tags: dict[int, list[str]] = {}
    for asset_id, tag in MediaAsset.tags.through.objects.filter(
        mediaasset_id__in=[row["asset_id"] for row in rows]
    ).values_list("mediaasset_id", "tag__name"):
        tags.setdefault(asset_id, []).append(tag)
    tiers = [license_terms_item(tier.terms.slug, tier.version) for tier in _tiers(version)]
    granted = (Permission.ALLOWED, Permission.CONSTRAINED)
    return manifest_table(
        {
            "key": [row["key"] for row in rows],
            "sha256": [row["sha256"] for row in rows],
            "bytes": [row["byte_size"] for row in rows],
            "media_type": [SERIES_FILES[Series(row["delivery__series"])][1] for row in rows],
            "rendition": [row["delivery__method"] for row in rows],
            "source_media_type": [row["asset__mime_type"] for row in rows],
            "content_credentials": [row["delivery__content_credentials"] for row in rows],
            "digital_source_type": [row["digital_source_type"] for row in rows],
            "width": [row["delivery__width"] for row in rows],
            "height": [row["delivery__height"] for row in rows],
            "duration": [row["asset__duration_seconds"] for row in rows],
            "capture_time": [row["asset__capture_time"] for row in rows],
            "tags": [sorted(tags.get(row["asset_id"], [])) for row in rows],
            "caption": [row["asset__caption"] or None for row in rows],
            "license_terms": [tiers] * len(rows),
            "consent_uses": [
                [use for use in Use.values if row["uses"][use]["permission"] in granted] for row in rows
            ],
            "consent_constraints": [
                [
                    {"use": use, "text": row["uses"][use]["constraint"]}
                    for use in Use.values
                    if row["uses"][use]["permission"] == Permission.CONSTRAINED
                ]
                for row in rows
            ],
            "consent_id": [str(row["consent_id"]) for row in rows],
            "release_ids": [row["release_ids"] for row in rows],
            "creator_id": [row["creator_pseudonym"] for row in rows],
            "camera": [row["camera"] for row in rows],
            "place": [
                {"latitude": row["asset__gps_coarse_lat"], "longitude": row["asset__gps_coarse_lon"]}
                if row["asset__gps_coarse_lat"] is not None and row["asset__gps_coarse_lon"] is not None
                else None
                for row in rows
            ],
            "blur": [row["asset__blur_score"] for row in rows],
            "exposure": [row["asset__exposure_mean"] for row in rows],
            "resolution_class": [row["asset__resolution_class"] or None for row in rows],
            "motion": [row["asset__motion_score"] for row in rows],
            "face_count": [row["asset__face_count"] for row in rows],
        }
    )


def _write_documents(attempt: _Attempt, version: DatasetVersion, table: pa.Table) -> None:
    """Write the manifests, the documents and the signed checksums, store them, and record them together."""
    root = attempt.directory
    root.mkdir(parents=True, exist_ok=True)
    shards = list(version.files.filter(kind=BundleFile.Kind.SHARD).order_by("series", "shard_index"))
    manifests = [_described(root, path) for path in write_manifest(root, table)]
    description = _description(version, [_shard_described(shard) for shard in shards], manifests, table)
    written = [
        write_readme(description, root / README_NAME),
        write_datasheet(description, root / DATASHEET_NAME),
        write_croissant(description, root / CROISSANT_NAME),
        write_license(description, root / LICENSE_NAME),
    ]
    digests = {shard.path: shard.sha256 for shard in shards}
    digests |= {described.name: described.sha256 for described in manifests}
    digests |= {path.name: sha256_file(path) for path in written}
    sums = sums_text(digests)
    (root / SUMS_NAME).write_bytes(sums)
    (root / SIGNATURE_NAME).write_bytes(signing_key().sign(sums))
    documents = [root / name for name in (PARQUET_NAME, JSONL_NAME)] + written
    documents += [root / SUMS_NAME, root / SIGNATURE_NAME]
    records = []
    for path in documents:
        size, digest = path.stat().st_size, digests.get(path.name) or sha256_file(path)
        records.append((path.name, _store(version, path.name, path), size, digest))
    with transaction.atomic():
        attempt.heartbeat(force=True)
        version.files.filter(kind=BundleFile.Kind.DOCUMENT).delete()
        BundleFile.objects.bulk_create(
            BundleFile(
                version=version,
                kind=BundleFile.Kind.DOCUMENT,
                path=name,
                storage_name=stored,
                byte_size=size,
                sha256=digest,
            )
            for name, stored, size, digest in records
        )


def _described(root: Path, path: Path) -> DescribedFile:
    return DescribedFile(
        name=path.relative_to(root).as_posix(), size=path.stat().st_size, sha256=sha256_file(path)
    )


def _shard_described(shard: BundleFile) -> DescribedFile:
    return DescribedFile(name=shard.path, size=shard.byte_size, sha256=shard.sha256)


def _drop_unsellable(attempt: _Attempt, *, seal: bool) -> bool:
    """Drop the items that are no longer sellable, with the shards and documents they reached; True if any.

    With `seal`, a version found clean is published in the same transaction, so a withdrawal either
    committed before (and is dropped here) or waits for the locks and finds the version published.
    """
    with transaction.atomic():
        version = (
            DatasetVersion.objects.select_for_update().select_related("dataset").get(pk=attempt.version_id)
        )
        if version.build_token != attempt.token:
            raise LeaseLost(f"version {version.pk}: another attempt holds the build")
        positions = services.version_items_no_longer_sellable(version=version)
        gone = list(version.items.filter(position__in=positions).values_list("position", "delivery__series"))
        if not gone:
            if seal:
                services.version_publish(version=version)
            return False
        stale = version.files.filter(kind=BundleFile.Kind.DOCUMENT)
        for series in SHARD_SERIES:
            first = min((position for position, item_series in gone if item_series == series), default=None)
            if first is not None:
                stale |= version.files.filter(
                    kind=BundleFile.Kind.SHARD, series=series, last_position__gte=first
                )
        stored = list(stale.values_list("storage_name", flat=True))
        stale.delete()
        # A deleted asset's item has lost its delivery, and with it the series it was written in: every shard
        # is written again, which is rare and always right.
        if any(series is None for _, series in gone):
            stored += list(version.files.values_list("storage_name", flat=True))
            version.files.all().delete()
        version.items.filter(position__in=[position for position, _ in gone]).delete()
        remaining = version.items.aggregate(count=Count("pk"), total=Sum("byte_size"))
        items_done, bytes_done = _done(version)
        DatasetVersion.objects.filter(pk=version.pk).update(
            item_count=remaining["count"],
            total_bytes=remaining["total"] or 0,
            items_done=items_done,
            bytes_done=bytes_done,
            shards_done=version.files.filter(kind=BundleFile.Kind.SHARD).count(),
        )
        transaction.on_commit(lambda: stored_files_delete(stored))
        logger.info("Version %s: %d item(s) stopped being sellable during the build", version.pk, len(gone))
        return True


def _source_types(table: pa.Table) -> dict[str, int]:
    """Samples per IPTC digital source type term, counted from the manifest's digital_source_type column."""
    terms = Counter(uri.rsplit("/", 1)[-1] for uri in table.column("digital_source_type").to_pylist())
    return dict(terms.most_common())


def _description(
    version: DatasetVersion, shards: list[DescribedFile], manifests: list[DescribedFile], table: pa.Table
) -> DatasetDescription:
    """What the bundle's documents say, from the version's own items and the dataset's curation."""
    dataset, site = version.dataset, settings.SITE_URL
    stats = selectors.version_statistics(version=version)
    previous = version.supersedes
    return DatasetDescription(
        slug=dataset.slug,
        title=dataset.title,
        description=dataset.description,
        version=version.number,
        created=timezone.localdate(version.created_at),
        published=timezone.localdate(),
        publisher_name=settings.SITE_NAME,
        publisher_url=site,
        # The address of this key in particular, which still serves it after the site moves to a new one.
        public_key_url=site + reverse("signing-key-by-id", args=[current_key().key_id]),
        page_url=site + reverse("datasets:detail", args=[dataset.slug]),
        licenses=tuple(_license_tier(terms_version) for terms_version in _tiers(version)),
        category=MediaAsset.Category(dataset.category).label if dataset.category else "Mixed",
        intended_uses=tuple(line.strip() for line in dataset.intended_uses.splitlines() if line.strip()),
        curation_filters=tuple(selectors.dataset_filters_in_words(dataset=dataset)),
        capture_start=stats.capture_start,
        capture_end=stats.capture_end,
        counts=Counts(
            samples=stats.samples,
            images=stats.photos,
            videos=stats.videos,
            creators=stats.creators,
            total_bytes=stats.total_bytes,
        ),
        distributions=Distributions(
            categories=stats.categories,
            resolution_classes=stats.resolution_classes,
            durations=stats.durations,
            capture_years=stats.capture_years,
            creator_countries=stats.creator_countries,
            source_types=_source_types(table),
        ),
        consent={
            use: ConsentCount(allowed=allowed, constrained=constrained)
            for use, (allowed, constrained) in stats.consent.items()
        },
        self_identification=stats.self_identification,
        quality=Quality(
            blur_percentiles=stats.blur_percentiles,
            exposure_percentiles=stats.exposure_percentiles,
            face_counts=stats.face_counts,
        ),
        shards=tuple(shards),
        manifests=tuple(manifests),
        maintenance=Maintenance(
            contact=settings.DATASET_CONTACT_EMAIL,
            revocation_feed_url=f"{site}/api/v1/revocations/",
            deletion_days=LICENSEE_DELETION_DAYS,
        ),
        previous=PreviousVersion(
            version=previous.number,
            url=site + reverse("datasets:detail", args=[dataset.slug]) + f"#v{previous.number}",
            removed_samples=previous.items.exclude(key__in=version.items.values("key")).count(),
            reason=version.change_note or "A new version of the curated selection.",
        )
        if previous is not None
        else None,
    )


def _license_tier(terms_version: LicenseTermsVersion) -> LicenseTier:
    terms = terms_version.terms
    return LicenseTier(
        slug=terms.slug,
        name=terms.name,
        version=terms_version.version,
        text=terms_version.text,
        url=settings.SITE_URL + reverse("licensing:terms", args=[terms.slug, terms_version.version]),
        uses=tuple(terms.uses),
        commercial=terms.commercial,
        likeness_generation=terms.likeness_generation,
    )
