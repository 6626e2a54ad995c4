"""Writes on creators and their media: profiles, upload, edits, ingest, deletion."""

import csv
import io
import logging
import re
import shutil
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage, storages
from django.core.files.uploadedfile import UploadedFile
from django.db import OperationalError, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from storages.backends.s3 import S3Storage

from core.storage_errors import is_transient_storage_error, storage_unavailable
from core.transitions import transition

from . import selectors
from .ingest.hashing import phash_to_signed
from .ingest.images import ImageIngest, ingest_image, probe_image
from .ingest.limits import IMAGE_FORMATS, VIDEO_FORMATS, MediaLimits, MediaRejected, describe_size
from .ingest.sniff import reject_embedded_markup, sniff_kind
from .ingest.video import VideoIngest, ingest_video, probe_video
from .models import CreatorProfile, DuplicateFlag, MediaAsset, PerceptualHash, Tag, UploadSession

logger = logging.getLogger(__name__)

MAX_TAGS_PER_ASSET = 30
MAX_INGEST_ATTEMPTS = 3
# An asset not finished this long after its last change lost its task (a worker died, a message vanished).
STALLED_AFTER = timedelta(minutes=15)
# Near duplicates: within this many of 64 bits for a photo; video keyframes must match more tightly.
NEAR_DUPLICATE_MAX_BITS = 7
VIDEO_KEYFRAME_MAX_BITS = 3
# Characters that can disguise a file name (direction overrides, invisible joiners) or break a terminal.
_DISGUISING = re.compile(r"[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


@transaction.atomic
def creator_profile_create(*, user_id: int, display_name: str, country: str = "") -> CreatorProfile:
    """Give an account its creator profile; an account has at most one."""
    if CreatorProfile.objects.filter(user_id=user_id).exists():
        raise ValidationError("This account already has a creator profile.", code="conflict")
    country = country.strip().upper()
    if country and (len(country) != 2 or not country.isalpha()):
        raise ValidationError({"country": "Use a two-letter country code, such as FR or US."})
    return CreatorProfile.objects.create(user_id=user_id, display_name=display_name.strip(), country=country)


def creator_profile_discard(*, user_id: int) -> None:
    """Delete the profile of an account whose sign-up was never confirmed (only then): nobody could use it yet."""
    CreatorProfile.objects.filter(user_id=user_id).delete()


def media_limits() -> MediaLimits:
    return MediaLimits(
        max_image_bytes=settings.MEDIA_MAX_IMAGE_BYTES,
        max_video_bytes=settings.MEDIA_MAX_VIDEO_BYTES,
        max_image_pixels=settings.MEDIA_MAX_IMAGE_PIXELS,
        decode_budget_bytes=settings.MEDIA_IMAGE_DECODE_BUDGET_BYTES,
        max_video_seconds=settings.MEDIA_MAX_VIDEO_SECONDS,
    )


def display_file_name(name: str) -> str:
    """The client's file name made safe to show: no folders, no control or direction-override characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = _DISGUISING.sub("", name).replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".")
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        name = (
            f"{stem[: 190 - len(extension)]}…{dot}{extension[:8]}"
            if dot and len(extension) <= 8
            else name[:200]
        )
    return name or "unnamed"


def normalize_tags(tags: Iterable[str]) -> list[str]:
    """Lower-case, single-spaced, unique tags, in the order given."""
    cleaned: list[str] = []
    for tag in tags:
        tag = " ".join(_DISGUISING.sub("", str(tag)).lower().split())
        if not tag:
            continue
        if len(tag) > 50:
            raise ValidationError({"tags": f"“{tag[:20]}…” is too long: a tag has at most 50 characters."})
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS_PER_ASSET:
        raise ValidationError({"tags": f"At most {MAX_TAGS_PER_ASSET} tags per photo or video."})
    return cleaned


def _set_tags(asset: MediaAsset, names: list[str]) -> None:
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=name) for name in names if name not in existing]
    Tag.objects.bulk_create(missing, ignore_conflicts=True)
    asset.tags.set(Tag.objects.filter(name__in=names))


def _local_copy(upload: UploadedFile, workdir: Path) -> Path:
    """A path on local disk holding the upload (spooled uploads already have one)."""
    temporary_path = getattr(upload, "temporary_file_path", None)
    if temporary_path is not None:
        return Path(temporary_path())
    path = workdir / "upload"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return path


def _validate_media(path: Path, size: int, limits: MediaLimits) -> tuple[str, str, str]:
    """(kind, mime type, extension) of an acceptable file; MediaRejected otherwise."""
    kind = sniff_kind(path)
    max_bytes = limits.max_image_bytes if kind == "image" else limits.max_video_bytes
    if size > max_bytes:
        raise MediaRejected(
            f"This {'photo' if kind == 'image' else 'video'} is {describe_size(size)}; "
            f"the most we accept is {describe_size(max_bytes)}."
        )
    reject_embedded_markup(path, kind)
    if kind == "image":
        image = probe_image(path, limits)
        return kind, image.mime, image.extension
    video = probe_video(path, limits)
    return kind, video.mime, video.extension


def asset_upload(
    *,
    creator: CreatorProfile,
    upload: UploadedFile,
    title: str = "",
    caption: str = "",
    category: str = MediaAsset.Category.OTHER,
    tags: Iterable[str] = (),
) -> MediaAsset:
    """Check an uploaded file by its content, store it privately under a generated name, and queue its ingest.

    A refused file leaves nothing behind: no row and no stored object.
    """
    with tempfile.TemporaryDirectory(prefix="upload-") as workdir:
        return _asset_create_from_file(
            creator=creator,
            path=_local_copy(upload, Path(workdir)),
            original_name=upload.name or "",
            description=AssetDescription(title=title, caption=caption, category=category, tags=tuple(tags)),
        )


@dataclass(frozen=True)
class AssetDescription:
    """What a creator says about a file when sending it."""

    title: str = ""
    caption: str = ""
    category: str = MediaAsset.Category.OTHER
    tags: tuple[str, ...] = ()


def _asset_create_from_file(
    *, creator: CreatorProfile, path: Path, original_name: str, description: AssetDescription
) -> MediaAsset:
    if description.category not in MediaAsset.Category.values:
        raise ValidationError({"category": "Choose one of the listed categories."})
    tag_names = normalize_tags(description.tags)
    original_name = display_file_name(original_name)
    size = path.stat().st_size
    try:
        kind, mime, extension = _validate_media(path, size, media_limits())
    except MediaRejected as refusal:
        raise ValidationError({"file": str(refusal)}, code="invalid") from refusal
    public_id = uuid.uuid4()
    with path.open("rb") as stream:
        stored_name = default_storage.save(
            f"originals/{creator.pk}/{public_id.hex}.{extension}", File(stream)
        )
    try:
        with transaction.atomic():
            asset = MediaAsset.objects.create(
                public_id=public_id,
                creator=creator,
                kind=kind,
                title=description.title.strip() or Path(original_name).stem[:200],
                caption=description.caption.strip(),
                category=description.category,
                original=stored_name,
                original_name=original_name,
                original_bytes=size,
                mime_type=mime,
            )
            _set_tags(asset, tag_names)
            _enqueue_ingest(asset.pk)
    except BaseException:
        default_storage.delete(stored_name)
        raise
    return asset


def _enqueue_ingest(asset_id: int) -> None:
    from .tasks import asset_ingest as asset_ingest_task  # the task module imports these services

    asset_ingest_task.delay_on_commit(asset_id)


@transaction.atomic
def asset_update(
    *,
    asset: MediaAsset,
    title: str | None = None,
    caption: str | None = None,
    category: str | None = None,
    tags: Iterable[str] | None = None,
) -> MediaAsset:
    """Change what the creator says about an asset; fields left as None stay as they are."""
    if category is not None and category not in MediaAsset.Category.values:
        raise ValidationError({"category": "Choose one of the listed categories."})
    tag_names = normalize_tags(tags) if tags is not None else None
    asset = MediaAsset.objects.select_for_update().get(pk=asset.pk)
    changed = []
    for field, value in (("title", title), ("caption", caption), ("category", category)):
        if value is not None:
            setattr(asset, field, value.strip() if isinstance(value, str) else value)
            changed.append(field)
    if changed:
        asset.full_clean(exclude=["original", "original_name", "thumbnail", "preview", "preview_clip"])
        asset.save(update_fields=[*changed, "updated_at"])
    if tag_names is not None:
        _set_tags(asset, tag_names)
    return asset


@transaction.atomic
def assets_bulk_update(
    *,
    creator: CreatorProfile,
    public_ids: list[uuid.UUID],
    category: str | None = None,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    caption: str | None = None,
) -> int:
    """Apply one change to many of the creator's assets at once; returns how many changed."""
    assets = list(selectors.assets_of_creator(creator=creator).filter(public_id__in=public_ids))
    if len(assets) != len(set(public_ids)):
        raise ValidationError({"assets": "Some of the selected items are not yours or no longer exist."})
    adding, removing = normalize_tags(add_tags), set(normalize_tags(remove_tags))
    for asset in assets:
        current = list(asset.tags.values_list("name", flat=True))
        merged = [name for name in current if name not in removing] + [n for n in adding if n not in current]
        asset_update(asset=asset, category=category, caption=caption, tags=merged)
    return len(assets)


def asset_delete(*, asset: MediaAsset) -> None:
    """Delete an asset and, once that commits, its original and derivatives from storage."""
    stored = list(
        {str(f.name) for f in (asset.original, asset.thumbnail, asset.preview, asset.preview_clip) if f}
    )
    with transaction.atomic():
        MediaAsset.objects.filter(pk=asset.pk).delete()
        transaction.on_commit(lambda: stored_files_delete(stored))


def asset_erase(*, asset_id: int) -> None:
    """Erase an asset on request: delete its files once that commits, blank what describes it, keep the row."""
    with transaction.atomic():
        asset = MediaAsset.objects.select_for_update().get(pk=asset_id)
        if asset.erased_at is not None:
            return
        stored = [
            str(f.name) for f in (asset.original, asset.thumbnail, asset.preview, asset.preview_clip) if f
        ]
        for field in ("original", "thumbnail", "preview", "preview_clip"):
            setattr(asset, field, "")
        asset.title = asset.caption = asset.original_name = ""
        asset.metadata = {}
        asset.gps_coarse_lat = asset.gps_coarse_lon = None
        asset.erased_at = timezone.now()
        asset.save()
        asset.tags.clear()
        asset.perceptual_hashes.all().delete()
        transaction.on_commit(lambda: stored_files_delete(stored))


def stored_files_delete(names: list[str]) -> None:
    """Delete files from storage after the change that orphaned them committed; one that cannot be deleted
    is logged as an orphan, since the change it followed cannot be undone."""
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.exception("Could not delete %s from storage; it is now an orphan", name)


# --- Ingest ------------------------------------------------------------------------------------------------


def asset_ingest(*, asset_id: int) -> None:
    """Run the ingest pipeline on one asset; safe to run again after a crash at any point.

    StorageUnavailable if storage failed on the way; the caller retries later.
    """
    asset = _ingest_start(asset_id)
    if asset is None:
        return
    try:
        _ingest_run(asset)
    except Exception as error:
        if not is_transient_storage_error(error):
            raise
        _ingest_attempt_give_back(asset_id)
        raise storage_unavailable(error) from error


@transaction.atomic
def asset_ingest_give_up(*, asset_id: int, tries: int) -> None:
    """Reject an asset whose ingest storage kept failing, unless it finished or was deleted meanwhile."""
    asset = MediaAsset.objects.select_for_update().filter(pk=asset_id).first()
    if asset is None or asset.is_finished:
        return
    _ingest_reject(
        asset_id,
        f"Our file storage was unavailable while we processed this file, {tries} times in a row. Please "
        "upload it again later; if it fails again, contact us.",
    )


def _ingest_run(asset: MediaAsset) -> None:
    with tempfile.TemporaryDirectory(prefix="ingest-") as workdir:
        work = Path(workdir)
        original_name = str(asset.original.name)
        source = work / f"original{Path(original_name).suffix}"
        with default_storage.open(original_name, "rb") as stored, source.open("wb") as local:
            shutil.copyfileobj(stored, local, length=1024 * 1024)
        _progress(asset, 20)
        derivatives_dir = work / "derivatives"
        derivatives_dir.mkdir()
        try:
            if asset.kind == MediaAsset.Kind.IMAGE:
                found = _image_findings(
                    ingest_image(
                        source,
                        derivatives_dir,
                        limits=media_limits(),
                        watermark_text=settings.MEDIA_WATERMARK_TEXT,
                    )
                )
            else:
                found = _video_findings(
                    ingest_video(
                        source,
                        derivatives_dir,
                        limits=media_limits(),
                        watermark_text=settings.MEDIA_WATERMARK_TEXT,
                    )
                )
        except MediaRejected as refusal:
            _ingest_reject(asset.pk, str(refusal))
            return
        _progress(asset, 80)
        stored_names = _store_derivatives(asset, found.derivatives)
    _ingest_finish(asset.pk, found, stored_names)


@dataclass(frozen=True)
class _Findings:
    """What the pipeline found, as MediaAsset field values, the hashes to index, and the files to store."""

    fields: dict[str, Any]
    hashes: list[int]
    near_duplicate_max_bits: int
    derivatives: dict[str, str]  # asset field -> local path


def _image_findings(result: ImageIngest) -> _Findings:
    latitude, longitude = result.coarse_location or (None, None)
    return _Findings(
        fields={
            "sha256": result.sha256,
            "width": result.width,
            "height": result.height,
            "capture_time": _aware(result.camera.captured_at),
            "resolution_class": result.quality.resolution_class,
            "blur_score": result.quality.blur,
            "exposure_mean": result.quality.mean_luminance,
            "face_count": result.faces,
            "person_count": result.people,
            "ai_generated": result.content_credentials.ai_generated,
            "gps_coarse_lat": latitude,
            "gps_coarse_lon": longitude,
            "metadata": {
                "format": result.format,
                "megapixels": result.megapixels,
                "orientation": result.orientation,
                "color_space": result.color_space,
                "camera": asdict(result.camera),
                "description": asdict(result.descriptive),
                "content_credentials": asdict(result.content_credentials),
                "exposure": {
                    "clipped_dark": result.quality.clipped_dark,
                    "clipped_bright": result.quality.clipped_bright,
                },
            },
        },
        hashes=[result.phash],
        near_duplicate_max_bits=NEAR_DUPLICATE_MAX_BITS,
        derivatives={"thumbnail": result.thumbnail.path, "preview": result.preview.path},
    )


def _video_findings(result: VideoIngest) -> _Findings:
    return _Findings(
        fields={
            "sha256": result.sha256,
            "width": result.width,
            "height": result.height,
            "duration_seconds": result.duration_seconds,
            "capture_time": _aware(result.capture_time),
            "resolution_class": video_resolution_class(result.width, result.height),
            "motion_score": result.motion_score,
            "ai_generated": result.content_credentials.ai_generated,
            "metadata": {
                "container": result.container,
                "codec": result.codec,
                "fps": result.fps,
                "bitrate": result.bitrate,
                "has_audio": result.has_audio,
                "audio_codec": result.audio_codec,
                "frame_count": result.frame_count,
                "rotation": result.rotation,
                "encoder": result.encoder,
                "make": result.make,
                "model": result.model,
                "content_credentials": asdict(result.content_credentials),
            },
        },
        hashes=result.keyframe_phashes,
        near_duplicate_max_bits=VIDEO_KEYFRAME_MAX_BITS,
        # The poster frame serves as both the grid thumbnail and the still preview.
        derivatives={"preview": result.poster.path, "preview_clip": result.preview_clip.path},
    )


def video_resolution_class(width: int, height: int) -> str:
    short_side = min(width, height)
    return (
        "low"
        if short_side < 720
        else "hd"
        if short_side < 1080
        else "full_hd"
        if short_side < 2160
        else "uhd"
    )


@transaction.atomic
def _ingest_start(asset_id: int) -> MediaAsset | None:
    asset = MediaAsset.objects.select_for_update().filter(pk=asset_id).first()
    if asset is None or asset.is_finished:
        return None  # deleted meanwhile, or a duplicate delivery of a task that already finished
    if asset.ingest_attempts >= MAX_INGEST_ATTEMPTS:
        _transition(asset, MediaAsset.Status.REJECTED)
        asset.rejection_reason = (
            f"We could not process this file after {MAX_INGEST_ATTEMPTS} attempts. Please upload it again; "
            "if it fails again, contact us."
        )
        asset.save(update_fields=["status", "rejection_reason", "processed_at", "updated_at"])
        return None
    _transition(asset, MediaAsset.Status.PROCESSING)
    asset.ingest_attempts += 1
    asset.ingest_progress = 5
    asset.save(update_fields=["status", "ingest_attempts", "ingest_progress", "updated_at"])
    return asset


def _transition(asset: MediaAsset, target: str) -> None:
    transition(asset, target, subject="This asset")
    if target in (MediaAsset.Status.READY, MediaAsset.Status.REJECTED):
        asset.processed_at = timezone.now()


def _ingest_attempt_give_back(asset_id: int) -> None:
    """Uncount an attempt a storage outage ended: the counter stops files that kill workers, not outages."""
    MediaAsset.objects.filter(pk=asset_id, status=MediaAsset.Status.PROCESSING, ingest_attempts__gt=0).update(
        ingest_attempts=F("ingest_attempts") - 1, updated_at=timezone.now()
    )


def _progress(asset: MediaAsset, percent: int) -> None:
    MediaAsset.objects.filter(pk=asset.pk, status=MediaAsset.Status.PROCESSING).update(
        ingest_progress=percent, updated_at=timezone.now()
    )


def _store_derivatives(asset: MediaAsset, derivatives: dict[str, str]) -> dict[str, str]:
    """Save the derivatives under names fixed per asset, so a retried ingest overwrites instead of piling up."""
    stored = {}
    for field, path in derivatives.items():
        name = f"derivatives/{asset.public_id.hex}/{field}{Path(path).suffix}"
        default_storage.delete(name)
        with open(path, "rb") as stream:
            stored[field] = default_storage.save(name, File(stream))
    stored.setdefault("thumbnail", stored["preview"])
    return stored


@transaction.atomic
def _ingest_reject(asset_id: int, reason: str) -> None:
    asset = MediaAsset.objects.select_for_update().get(pk=asset_id)
    _transition(asset, MediaAsset.Status.REJECTED)
    asset.rejection_reason = reason
    asset.ingest_progress = 100
    asset.save(update_fields=["status", "rejection_reason", "ingest_progress", "processed_at", "updated_at"])


@transaction.atomic
def _ingest_finish(asset_id: int, found: _Findings, stored: dict[str, str]) -> None:
    asset = MediaAsset.objects.select_for_update().filter(pk=asset_id).first()
    if asset is None:  # deleted while it was being processed
        stored_files_delete(list(set(stored.values())))
        return
    for field, value in {**found.fields, **stored}.items():
        setattr(asset, field, value)
    _transition(asset, MediaAsset.Status.READY)
    asset.ingest_progress = 100
    asset.save()
    _index_hashes(asset, found.hashes)
    _flag_duplicates(asset, found.hashes, found.near_duplicate_max_bits)


def _aware(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        return None
    # EXIF times without an offset are the camera's local time; UTC is the least wrong reading.
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


def _index_hashes(asset: MediaAsset, hashes: list[int]) -> None:
    PerceptualHash.objects.filter(asset=asset).delete()
    PerceptualHash.objects.bulk_create(
        PerceptualHash(
            asset=asset, position=position, value=phash_to_signed(value), **selectors.hash_bands(value)
        )
        for position, value in enumerate(hashes)
    )


def _flag_duplicates(asset: MediaAsset, hashes: list[int], max_bits: int) -> None:
    """Flag exact and near duplicates in both directions; across accounts they go to the reviewers."""
    DuplicateFlag.objects.filter(asset=asset).delete()
    found: dict[int, tuple[str, int]] = {}
    for other_id in selectors.exact_duplicate_ids(sha256=asset.sha256, exclude_asset_id=asset.pk):
        found[other_id] = (DuplicateFlag.Kind.EXACT, 0)
    for other_id, distance in selectors.near_duplicate_ids(
        hashes=hashes, max_bits=max_bits, exclude_asset_id=asset.pk
    ).items():
        found.setdefault(other_id, (DuplicateFlag.Kind.NEAR, distance))
    creators = dict(MediaAsset.objects.filter(pk__in=found).values_list("pk", "creator_id"))
    flags = []
    for other_id, (kind, distance) in found.items():
        cross = creators[other_id] != asset.creator_id
        flags += [
            DuplicateFlag(
                asset_id=asset.pk, other_id=other_id, kind=kind, distance=distance, cross_account=cross
            ),
            DuplicateFlag(
                asset_id=other_id, other_id=asset.pk, kind=kind, distance=distance, cross_account=cross
            ),
        ]
    DuplicateFlag.objects.bulk_create(flags, ignore_conflicts=True)


def assets_requeue_stalled(*, stalled_after: timedelta = STALLED_AFTER) -> int:
    """Queue ingest again for assets whose task was lost; the attempt counter stops a file that kills workers."""
    stalled = list(
        MediaAsset.objects.filter(
            status__in=[MediaAsset.Status.UPLOADED, MediaAsset.Status.PROCESSING],
            updated_at__lte=timezone.now() - stalled_after,
        ).values_list("pk", flat=True)
    )
    for asset_id in stalled:
        _enqueue_ingest(asset_id)
    return len(stalled)


# --- Captions and tags from a spreadsheet ------------------------------------------------------------------

CSV_MAX_BYTES = 5 * 1024 * 1024
CSV_MAX_ROWS = 10_000
CSV_COLUMNS = {"id", "file", "title", "caption", "tags", "category"}


def assets_import_metadata_csv(*, creator: CreatorProfile, csv_bytes: bytes) -> int:
    """Set titles, captions, tags and categories from a CSV; all rows apply, or none (the errors say why).

    Rows name their asset by `id` (as shown in the API) or by `file` (the uploaded file's name). `tags`
    holds tags separated by commas or semicolons. Empty cells leave a field as it is.
    """
    rows = _read_metadata_csv(csv_bytes)
    by_id = {str(asset.public_id): asset for asset in selectors.assets_of_creator(creator=creator)}
    by_name: dict[str, list[MediaAsset]] = {}
    for asset in by_id.values():
        by_name.setdefault(asset.original_name, []).append(asset)
    errors: list[str] = []
    changes: list[tuple[MediaAsset, dict[str, Any]]] = []
    for number, row in rows:
        target, problem = _csv_row_asset(row, by_id, by_name)
        if target is None:
            errors.append(f"Row {number}: {problem}")
            continue
        update: dict[str, Any] = {
            key: row[key].strip() for key in ("title", "caption") if row.get(key, "").strip()
        }
        if row.get("category", "").strip():
            category = row["category"].strip().lower()
            if category not in MediaAsset.Category.values:
                errors.append(f"Row {number}: “{row['category']}” is not a category.")
                continue
            update["category"] = category
        if row.get("tags", "").strip():
            try:
                update["tags"] = normalize_tags(re.split(r"[;,]", row["tags"]))
            except ValidationError as error:
                errors.append(f"Row {number}: {' '.join(error.messages)}")
                continue
        changes.append((target, update))
    if errors:
        raise ValidationError({"file": errors[:50]})
    with transaction.atomic():
        for asset, update in changes:
            asset_update(asset=asset, **update)
    return len(changes)


def _read_metadata_csv(csv_bytes: bytes) -> list[tuple[int, dict[str, str]]]:
    if len(csv_bytes) > CSV_MAX_BYTES:
        raise ValidationError(
            {"file": f"The CSV is larger than {CSV_MAX_BYTES // 1024 // 1024} MB; split it."}
        )
    try:
        text = csv_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationError(
            {"file": "Save the CSV as UTF-8 (spreadsheet apps offer it when exporting)."}
        ) from error
    if "\x00" in text:
        raise ValidationError({"file": "This is not a text CSV file."})
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = {name.strip().lower() for name in reader.fieldnames or [] if name}
    if not header & {"id", "file"}:
        raise ValidationError(
            {"file": "The first row must name the columns, with an “id” or a “file” column."}
        )
    unknown = header - CSV_COLUMNS
    if unknown:
        raise ValidationError(
            {
                "file": f"Unknown column(s): {', '.join(sorted(unknown))}. Use: {', '.join(sorted(CSV_COLUMNS))}."
            }
        )
    rows = []
    try:
        for row in reader:
            if reader.line_num > CSV_MAX_ROWS + 1:
                raise ValidationError({"file": f"At most {CSV_MAX_ROWS:,} rows per CSV."})
            cleaned = {(key or "").strip().lower(): (value or "") for key, value in row.items() if key}
            if any(value.strip() for value in cleaned.values()):
                rows.append((reader.line_num, cleaned))
    except csv.Error as error:
        raise ValidationError(
            {"file": f"The CSV is malformed near line {reader.line_num}: {error}."}
        ) from error
    if not rows:
        raise ValidationError({"file": "The CSV has no rows under its header."})
    return rows


def _csv_row_asset(
    row: dict[str, str], by_id: dict[str, MediaAsset], by_name: dict[str, list[MediaAsset]]
) -> tuple[MediaAsset | None, str]:
    """The asset a CSV row names, or None and why not."""
    if row.get("id", "").strip():
        asset = by_id.get(row["id"].strip().lower())
        return (asset, "") if asset else (None, f"no photo or video of yours has the id {row['id'].strip()}.")
    name = row.get("file", "").strip()
    matches = by_name.get(name, [])
    if not matches:
        return None, f"no photo or video of yours is named “{name}”."
    if len(matches) > 1:
        return None, f"{len(matches)} of your files are named “{name}”; use the id column for these."
    return matches[0], ""


# --- Chunked uploads ---------------------------------------------------------------------------------------

MAX_CHUNK_BYTES = 64 * 1024 * 1024
# Direct uploads land under this prefix, outside originals/, until the server has checked them.
DIRECT_UPLOAD_PREFIX = "incoming/"
DIRECT_UPLOAD_SECONDS = 60 * 60
DIRECT_UPLOAD_TYPES = {*IMAGE_FORMATS.values(), "image/heif", *VIDEO_FORMATS.values()}


def _part_path(session: UploadSession) -> Path:
    return Path(settings.UPLOAD_CHUNK_DIR) / f"{session.public_id.hex}.part"


def _object_storage() -> S3Storage | None:
    """The default storage when it is S3 (or S3-compatible), which direct uploads need."""
    storage = storages["default"]
    return storage if isinstance(storage, S3Storage) else None


def direct_uploads_available() -> bool:
    return _object_storage() is not None


@transaction.atomic
def upload_session_start(
    *, creator: CreatorProfile, file_name: str, size: int, direct: bool = False, content_type: str = ""
) -> UploadSession:
    """Open an upload of `size` bytes: sent in chunks to us, or (`direct`) posted straight to object storage."""
    limits = media_limits()
    most = max(limits.max_image_bytes, limits.max_video_bytes)
    if size <= 0:
        raise ValidationError({"size": "The file is empty."})
    if size > most:
        raise ValidationError(
            {"size": f"This file is {describe_size(size)}; the most we accept is {describe_size(most)}."}
        )
    if direct and _object_storage() is None:
        raise ValidationError(
            {"direct": "This site stores files on its own disk: send the file in chunks instead."}
        )
    if direct and content_type not in DIRECT_UPLOAD_TYPES:
        raise ValidationError(
            {"content_type": f"Direct uploads take {', '.join(sorted(DIRECT_UPLOAD_TYPES))}."}
        )
    _upload_quota_check(creator, size)
    session = UploadSession(
        creator=creator,
        file_name=display_file_name(file_name),
        size=size,
        content_type=content_type if direct else "",
        expires_at=timezone.now() + timedelta(hours=settings.UPLOAD_SESSION_HOURS),
    )
    if direct:
        session.direct_key = f"{DIRECT_UPLOAD_PREFIX}{creator.pk}/{session.public_id.hex}"
    session.save()
    if not direct:
        path = _part_path(session)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    return session


def _upload_quota_check(creator: CreatorProfile, size: int) -> None:
    """Refuse an upload past the creator's allowance of open uploads and announced bytes. The creator's row is
    locked first, so uploads started at the same moment are counted one after the other."""
    CreatorProfile.objects.select_for_update().get(pk=creator.pk)
    open_sessions = UploadSession.objects.filter(creator=creator, expires_at__gte=timezone.now())
    count, reserved = open_sessions.aggregate(count=Count("pk"), reserved=Sum("size")).values()
    if count >= settings.UPLOAD_MAX_OPEN_SESSIONS:
        raise ValidationError(
            f"You have {count} uploads under way, the most at once is {settings.UPLOAD_MAX_OPEN_SESSIONS}: "
            "finish or cancel one first.",
            code="conflict",
        )
    allowance = settings.UPLOAD_MAX_RESERVED_BYTES
    if (reserved or 0) + size > allowance:
        raise ValidationError(
            {
                "size": ValidationError(
                    f"Your uploads under way already announce {describe_size(reserved or 0)}; with this "
                    f"{describe_size(size)} file they would pass the {describe_size(allowance)} allowed at "
                    "once. Finish or cancel one first.",
                    code="conflict",
                )
            }
        )


def upload_session_presigned_post(*, session: UploadSession) -> dict[str, Any]:
    """The form a browser posts a direct upload with: S3 accepts only this key, this exact size and type."""
    storage = _object_storage()
    if storage is None or not session.direct_key:
        raise ValidationError("This upload does not go straight to object storage.", code="conflict")
    return storage.connection.meta.client.generate_presigned_post(
        Bucket=storage.bucket_name,
        Key=session.direct_key,
        Fields={"Content-Type": session.content_type},
        Conditions=[
            ["content-length-range", session.size, session.size],
            ["starts-with", "$key", f"{DIRECT_UPLOAD_PREFIX}{session.creator_id}/"],
            {"Content-Type": session.content_type},
        ],
        ExpiresIn=DIRECT_UPLOAD_SECONDS,
    )


@transaction.atomic
def upload_session_append(
    *, session: UploadSession, start: int, length: int, total: int, stream: io.RawIOBase | Any
) -> UploadSession:
    """Write one chunk at `start`, which must be where the file stands; returns the session with its new offset.

    The row lock makes chunks of one session land one at a time. A chunk written to disk whose transaction then
    failed is simply overwritten by the resent chunk, since writing starts at the recorded offset.
    """
    session = _session_locked(session, wait=True)
    if total != session.size:
        raise ValidationError({"range": f"This upload is {session.size} bytes long, not {total}."})
    if start != session.received:
        raise ValidationError(
            {"range": ValidationError(f"Send the bytes from offset {session.received}.", code="conflict")}
        )
    if length <= 0 or length > MAX_CHUNK_BYTES or start + length > session.size:
        raise ValidationError({"range": f"A chunk holds 1 to {MAX_CHUNK_BYTES} bytes within the file."})
    written = 0
    with _part_path(session).open("r+b") as part:
        part.seek(start)
        while written < length:
            piece = stream.read(min(1024 * 1024, length - written))
            if not piece:
                break
            part.write(piece)
            written += len(piece)
        part.truncate()
    if written != length:
        raise ValidationError(
            {"range": f"The chunk ended after {written} of its {length} bytes; send it again."}
        )
    session.received = start + length
    session.save(update_fields=["received"])
    return session


def upload_session_complete(*, session: UploadSession, description: AssetDescription) -> MediaAsset:
    """Turn a fully received upload into an asset, checked like any other; refused, it leaves nothing.

    The session's row stays locked until the asset is recorded and the session gone, so of two requests
    completing one upload (a double click, a retried request) one makes the asset and the other gets a 409.
    """
    refusal: ValidationError | None = None
    with transaction.atomic():
        session = _session_locked(session, wait=False)
        with tempfile.TemporaryDirectory(prefix="upload-") as workdir:
            path = _fetch_direct_upload(session, Path(workdir)) if session.direct_key else _part_path(session)
            arrived = path.stat().st_size
            if arrived != session.size:
                raise ValidationError(
                    {
                        "file": ValidationError(
                            f"Only {arrived} of {session.size} bytes arrived.", code="conflict"
                        )
                    }
                )
            try:
                asset = _asset_create_from_file(
                    creator=session.creator,
                    path=path,
                    original_name=session.file_name,
                    description=description,
                )
            except ValidationError as error:
                if "file" not in getattr(error, "error_dict", {}):
                    raise
                refusal = error  # the file itself is refused: the upload goes with it
        UploadSession.objects.filter(pk=session.pk).delete()
    _session_files_delete(session)
    if refusal is not None:
        raise refusal
    return asset


def _session_locked(session: UploadSession, *, wait: bool) -> UploadSession:
    """The session's row, locked for the current transaction; a 409 when it is gone, or (unless `wait`) when
    another request holds it."""
    try:
        return (
            UploadSession.objects.select_for_update(nowait=not wait)
            .select_related("creator")
            .get(pk=session.pk)
        )
    except UploadSession.DoesNotExist:
        raise ValidationError("This upload was completed or cancelled already.", code="conflict") from None
    except OperationalError:  # the lock is held, and NOWAIT said so
        raise ValidationError("This upload is being completed by another request.", code="conflict") from None


def _fetch_direct_upload(session: UploadSession, workdir: Path) -> Path:
    """A local copy of what the browser posted to object storage, to be checked like any upload.

    Every byte must be read to check the file anyway; the checked file is then stored under originals/ and
    the incoming object removed, so nothing unchecked ever sits where originals live.
    """
    path = workdir / "direct"
    if not default_storage.exists(session.direct_key):
        raise ValidationError(
            {"file": ValidationError("The file has not arrived in storage yet.", code="conflict")}
        )
    with default_storage.open(session.direct_key, "rb") as stored, path.open("wb") as local:
        shutil.copyfileobj(stored, local, length=1024 * 1024)
    return path


def upload_session_abort(*, session: UploadSession) -> None:
    UploadSession.objects.filter(pk=session.pk).delete()
    _session_files_delete(session)


def _session_files_delete(session: UploadSession) -> None:
    if session.direct_key:
        default_storage.delete(session.direct_key)
    else:
        _part_path(session).unlink(missing_ok=True)


def upload_sessions_expire() -> int:
    """Drop chunked uploads left unfinished past their expiry, and part files no session owns."""
    expired = list(UploadSession.objects.filter(expires_at__lt=timezone.now()))
    for session in expired:
        upload_session_abort(session=session)
    folder = Path(settings.UPLOAD_CHUNK_DIR)
    if folder.exists():
        live = {session_id.hex for session_id in UploadSession.objects.values_list("public_id", flat=True)}
        for part in folder.glob("*.part"):
            if part.stem not in live and part.stat().st_mtime < time.time() - 3600:
                part.unlink(missing_ok=True)
    return len(expired)
