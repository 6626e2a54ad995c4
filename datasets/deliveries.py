"""Deliveries: the file a buyer receives for an asset under a set of rights, made once and reused.

The build asks for one per item of the version it builds. A delivery already made for the same asset and
the same rights (uses, consent, releases, license terms, the page stating them) is reused as it is; any
change makes a new one, since the rights are written into the file and signed.
"""

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import c2pa
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from core.hashing import sha256_file
from creators.models import MediaAsset
from creators.services import stored_files_delete

from .models import Delivery
from .packaging.credentials import DIGITAL_CAPTURE, IPTC_SOURCE_TYPES, Rights, stamp
from .packaging.renditions import photo_rendition
from .packaging.video_renditions import video_rendition

# Part of every rights digest: a change to how renditions are made gives every asset a new delivery.
RENDITION_FORMAT = 1
STORAGE_PREFIX = "deliveries"
AI_SOURCE_TYPE = IPTC_SOURCE_TYPES + "trainedAlgorithmicMedia"


def delivery_rights(
    *, uses: dict[str, dict[str, str]], license_terms: list[str], consent_id: str, release_ids: list[str],
    asset: MediaAsset, web_statement: str,
) -> Rights:  # fmt: skip
    """The rights a version's item is sold under, as its delivered file states them."""
    return Rights(
        uses={
            use: (value["permission"], value.get("constraint") or "") for use, value in sorted(uses.items())
        },
        license_terms=tuple(license_terms),
        consent_id=consent_id,
        release_ids=tuple(sorted(release_ids)),
        digital_source_type=digital_source_type(metadata=asset.metadata, ai_generated=asset.ai_generated),
        web_statement=web_statement,
    )


def digital_source_type(*, metadata: dict[str, Any] | None, ai_generated: bool) -> str:
    """What the upload says made it (its XMP or C2PA), else a camera capture: the IPTC term's URI."""
    declared = ((metadata or {}).get("description") or {}).get("digital_source_type")
    if isinstance(declared, str) and declared.strip():
        return IPTC_SOURCE_TYPES + declared.strip().rsplit("/", 1)[-1]
    return AI_SOURCE_TYPE if ai_generated else DIGITAL_CAPTURE


def camera_fields(kind: str, metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    """The manifest's `camera` of an asset, from what ingest read; None when it recorded no camera."""
    metadata = metadata or {}
    camera = metadata.get("camera") or {} if kind == MediaAsset.Kind.IMAGE else metadata
    fields = {
        "make": camera.get("make"),
        "model": camera.get("model"),
        "lens": camera.get("lens"),
        "focal_length_mm": camera.get("focal_length_mm"),
        "exposure_time_s": camera.get("exposure_time_s"),
        "f_number": camera.get("f_number"),
        "iso": camera.get("iso"),
    }
    return fields if any(value is not None for value in fields.values()) else None


def rights_digest(rights: Rights) -> str:
    document = {
        "format": RENDITION_FORMAT,
        "uses": rights.uses,
        "license_terms": rights.license_terms,
        "consent_id": rights.consent_id,
        "release_ids": rights.release_ids,
        "digital_source_type": rights.digital_source_type,
        "web_statement": rights.web_statement,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def delivery_for(
    *, asset: MediaAsset, key: str, rights: Rights, signer: c2pa.Signer, scratch: Path
) -> Delivery:
    """The asset's delivery under these rights: the one made before, or a new one made, stored and recorded.

    RenditionError when the original cannot be made into a delivery file.
    """
    digest = rights_digest(rights)
    existing = Delivery.objects.filter(asset=asset, rights_digest=digest).first()
    if existing is not None:
        return existing
    with tempfile.TemporaryDirectory(dir=scratch, prefix="delivery-") as workdir:
        work = Path(workdir)
        source = work / "original"
        with default_storage.open(str(asset.original.name), "rb") as stored, source.open("wb") as local:
            shutil.copyfileobj(stored, local, length=1024 * 1024)
        if asset.kind == MediaAsset.Kind.IMAGE:
            rendition = photo_rendition(source, work, max_pixels=settings.MEDIA_MAX_IMAGE_PIXELS)
        else:
            rendition = video_rendition(source, work)
        stamped = work / f"stamped.{rendition.extension}"
        credentials = stamp(rendition, rights, signer, title=f"{key}.{rendition.extension}", dest=stamped)
        name = f"{STORAGE_PREFIX}/{asset.public_id.hex}/{digest}.{rendition.extension}"
        default_storage.delete(name)  # what an attempt that died before recording it left
        with stamped.open("rb") as stream:
            stored_name = default_storage.save(name, File(stream, name=stamped.name))
        fields = {
            "storage_name": stored_name,
            "series": rendition.series.value,
            "sha256": sha256_file(stamped),
            "byte_size": stamped.stat().st_size,
            "width": rendition.width,
            "height": rendition.height,
            "method": rendition.method.value,
            "content_credentials": credentials.value,
        }
    try:
        with transaction.atomic():
            return Delivery.objects.create(asset=asset, rights_digest=digest, **fields)
    except IntegrityError:
        # Another build made the same delivery meanwhile: theirs is recorded, this copy is not needed.
        delivery = Delivery.objects.get(asset=asset, rights_digest=digest)
        if delivery.storage_name != stored_name:
            default_storage.delete(stored_name)
        return delivery


def deliveries_delete(*, asset_ids: list[int]) -> int:
    """Delete the delivery files of assets that stopped being sellable; returns how many.

    Each was made under a consent and releases that no longer hold, so no later version can use it (a new
    consent or release has a new id, hence new rights), and an erased asset must leave no stored byte. The
    published shards keep their own copies. Files go once the rows' deletion commits.
    """
    with transaction.atomic():
        doomed = list(Delivery.objects.filter(asset_id__in=asset_ids).values_list("pk", "storage_name"))
        Delivery.objects.filter(pk__in=[pk for pk, _ in doomed]).delete()
        names = [name for _, name in doomed]
        transaction.on_commit(lambda: stored_files_delete(names))
    return len(doomed)
