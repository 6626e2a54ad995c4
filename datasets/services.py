"""Every write of datasets: curating, freezing a selection into a version, and moving versions through states."""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.crypto import salted_hmac

from creators.models import MediaAsset
from licensing.models import Consent, LicenseTerms, Release, Use

from .models import Dataset, DatasetVersion, VersionItem
from .selectors import dataset_selection

PSEUDONYM_SALT = "datasets.creator-pseudonym"


def creator_pseudonym(creator_id: int) -> str:
    """A stable id for a creator in every bundle that does not reveal who they are."""
    return salted_hmac(PSEUDONYM_SALT, str(creator_id)).hexdigest()[:16]


def sample_key(asset: MediaAsset) -> str:
    """The asset's key in every version: stable, so a revocation notice names the same sample everywhere."""
    return asset.public_id.hex


def _transition(version: DatasetVersion, target: str) -> str:
    current = version.status
    if target not in DatasetVersion.TRANSITIONS[current]:
        raise ValidationError(
            f"Version {version.number} is {version.get_status_display().lower()}; it cannot become "
            f"{DatasetVersion.Status(target).label.lower()}.",
            code="invalid_transition",
        )
    version.status = target
    return current


def _lock_what_makes_them_sellable(asset_ids: list[int]) -> None:
    """Lock the active consents and approved releases of these assets, in id order, as withdrawals do.

    A withdrawal or revocation that committed before the locks are granted is seen by the next query; one
    that comes later waits for this transaction and is then announced, so the version is superseded.
    """
    list(
        Consent.objects.select_for_update()
        .filter(asset_id__in=asset_ids, status=Consent.Status.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    list(
        Release.objects.select_for_update()
        .filter(assets__in=asset_ids, status=Release.Status.APPROVED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def version_create(
    *, dataset: Dataset, actor: Any, change_note: str = "", supersedes: DatasetVersion | None = None
) -> DatasetVersion:
    """Freeze the dataset's current selection into a new draft version, with what made each item sellable."""
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    _lock_what_makes_them_sellable([asset.pk for asset in dataset_selection(dataset=dataset)])
    # Decided again now that the rows are locked: this is the selection the version keeps.
    assets = dataset_selection(dataset=dataset)
    if not assets:
        raise ValidationError("No sellable photo or video matches this dataset's selection.", code="conflict")
    asset_ids = [asset.pk for asset in assets]
    consents = {
        consent.asset_id: consent
        for consent in Consent.objects.filter(asset_id__in=asset_ids, status=Consent.Status.ACTIVE)
    }
    releases: dict[int, list[str]] = {}
    for asset_id, release_id in (
        Release.objects.filter(assets__in=asset_ids, status=Release.Status.APPROVED)
        .order_by("pk")
        .values_list("assets", "public_id")
    ):
        releases.setdefault(asset_id, []).append(str(release_id))
    number = (dataset.versions.aggregate(latest=Max("number"))["latest"] or 0) + 1
    version = DatasetVersion.objects.create(
        dataset=dataset,
        number=number,
        supersedes=supersedes,
        change_note=change_note.strip(),
        created_by=actor if getattr(actor, "pk", None) else None,
        item_count=len(assets),
        total_bytes=sum(asset.original_bytes for asset in assets),
    )
    VersionItem.objects.bulk_create(
        VersionItem(
            version=version,
            asset=asset,
            key=sample_key(asset),
            position=position,
            sha256=asset.sha256,
            byte_size=asset.original_bytes,
            consent_id=consents[asset.pk].public_id,
            release_ids=releases.get(asset.pk, []),
            uses={
                use: {
                    "permission": consents[asset.pk].permission(use),
                    "constraint": consents[asset.pk].constraint(use),
                }
                for use in Use.values
            },
            creator_pseudonym=creator_pseudonym(asset.creator_id),
        )
        for position, asset in enumerate(assets)
    )
    return version


@transaction.atomic
def version_items_no_longer_sellable(*, version: DatasetVersion) -> list[int]:
    """Positions of the version's items that stopped being sellable since it was frozen, checked under lock.

    The build calls this when it seals the bundle: anything listed must not ship.
    """
    dataset = version.dataset
    items = list(version.items.values_list("position", "asset_id"))
    asset_ids = [asset_id for _, asset_id in items if asset_id is not None]
    _lock_what_makes_them_sellable(asset_ids)
    still_selected = {asset.pk for asset in dataset_selection(dataset=dataset)}
    return [position for position, asset_id in items if asset_id not in still_selected]


@transaction.atomic
def version_build_start(*, version: DatasetVersion) -> DatasetVersion:
    """A draft (or a failed build) starts building; one version of a dataset builds at a time."""
    version = DatasetVersion.objects.select_for_update().get(pk=version.pk)
    _transition(version, DatasetVersion.Status.BUILDING)
    if DatasetVersion.objects.filter(
        dataset_id=version.dataset_id, status=DatasetVersion.Status.BUILDING
    ).exists():
        raise ValidationError(
            "Another version of this dataset is building; wait for it to finish.", code="conflict"
        )
    version.build_attempts += 1
    version.failure_reason = ""
    version.save(update_fields=["status", "build_attempts", "failure_reason"])
    return version


@transaction.atomic
def version_fail(*, version: DatasetVersion, reason: str) -> DatasetVersion:
    version = DatasetVersion.objects.select_for_update().get(pk=version.pk)
    _transition(version, DatasetVersion.Status.FAILED)
    version.failure_reason = reason
    version.ended_at = timezone.now()
    version.save(update_fields=["status", "failure_reason", "ended_at"])
    return version


@transaction.atomic
def dataset_save(
    *, dataset: Dataset | None, values: dict[str, Any], license_terms: Iterable[LicenseTerms], actor: Any
) -> Dataset:
    """Create a dataset or change its description and saved selection; versions already made keep theirs."""
    dataset = dataset or Dataset(created_by=actor if getattr(actor, "pk", None) else None)
    for field, value in values.items():
        setattr(dataset, field, value)
    unknown = set(dataset.required_uses) - set(Use.values)
    if unknown:
        raise ValidationError({"required_uses": f"Unknown uses: {', '.join(sorted(unknown))}."})
    dataset.full_clean(exclude=["created_by"])
    dataset.save()
    dataset.license_terms.set(list(license_terms))
    return dataset
