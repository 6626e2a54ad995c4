"""Every write of datasets: curating, freezing a selection into a version, and moving versions through states."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.crypto import salted_hmac

from core.actor import Actor
from core.transitions import transition
from creators.models import MediaAsset
from creators.services import stored_files_delete
from licensing.audit import audit_event_record
from licensing.locks import lock_sellability
from licensing.models import Consent, LicenseTerms, Release, Use

from .deliveries import deliveries_delete
from .models import BundleFile, Dataset, DatasetVersion, Offer, Revocation, VersionItem
from .packaging.manifest import JSONL_NAME, PARQUET_NAME
from .selectors import dataset_selection, dataset_sellable, shards_holding
from .signals import revocation_recorded, version_published

PSEUDONYM_SALT = "datasets.creator-pseudonym"
# A license is never given away by mistake, nor priced past what a card payment can carry.
MIN_PRICE_CENTS = 100
MAX_PRICE_CENTS = 99_999_999


def creator_pseudonym(creator_id: int) -> str:
    """A stable id for a creator in every bundle that does not reveal who they are."""
    return salted_hmac(PSEUDONYM_SALT, str(creator_id)).hexdigest()[:16]


def sample_key(asset: MediaAsset) -> str:
    """The asset's key in every version: stable, so a revocation notice names the same sample everywhere."""
    return asset.public_id.hex


@transaction.atomic
def version_create(
    *, dataset: Dataset, actor: Actor | None, change_note: str = "", supersedes: DatasetVersion | None = None
) -> DatasetVersion:
    """Freeze the dataset's current selection into a new draft version, with what made each item sellable."""
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    lock_sellability([asset.pk for asset in dataset_selection(dataset=dataset)])
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
        created_by_id=actor.pk if actor else None,
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

    The build calls this when it seals the bundle: anything listed must not ship. An item stays sellable
    while the consent it was frozen with was not withdrawn (a narrower or broader consent that replaced it
    carries on) and the asset is sellable for the dataset's uses and tiers; later changes to the curation
    filters do not take items out of a version.
    """
    items = version.items.all()
    lock_sellability(
        [asset_id for asset_id in items.values_list("asset_id", flat=True) if asset_id is not None]
    )
    return _no_longer_sellable(version, items, "position")


def _no_longer_sellable(version: DatasetVersion, items: QuerySet[VersionItem], field: str) -> list[Any]:
    """`field` of each of these items that the version may no longer hold or sell: its frozen consent was
    withdrawn, or its asset is no longer sellable for the dataset's uses and tiers, under the terms texts
    the version was sealed with (the newest while it is still being built)."""
    rows = list(items.values_list(field, "asset_id", "consent_id"))
    sellable = set(
        dataset_sellable(dataset=version.dataset, as_of=version.sealed_at)
        .filter(pk__in=[asset_id for _, asset_id, _ in rows if asset_id is not None])
        .values_list("pk", flat=True)
    )
    withdrawn = set(
        Consent.objects.filter(
            public_id__in=[consent_id for _, _, consent_id in rows], status=Consent.Status.WITHDRAWN
        ).values_list("public_id", flat=True)
    )
    return [
        value for value, asset_id, consent_id in rows if asset_id not in sellable or consent_id in withdrawn
    ]


@transaction.atomic
def version_build_start(*, version: DatasetVersion) -> DatasetVersion:
    """A draft (or a failed build) starts building; one version of a dataset builds at a time."""
    version = DatasetVersion.objects.select_for_update().get(pk=version.pk)
    transition(version, subject=f"Version {version.number}", target=DatasetVersion.Status.BUILDING)
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


def versions_on_sale_refresh(*, datasets: QuerySet[Dataset]) -> int:
    """Record each dataset's newest published version as the one on sale (none when nothing is published),
    in one UPDATE; the number of datasets.

    Every service that publishes, supersedes or withdraws a version calls this in its transaction; the
    catalog reads the dataset's row alone.
    """
    newest = DatasetVersion.objects.filter(
        dataset=OuterRef("pk"), status=DatasetVersion.Status.PUBLISHED
    ).order_by("-number")
    return datasets.update(
        version_on_sale=Subquery(newest.values("pk")[:1]),
        on_sale_since=Subquery(newest.values("published_at")[:1]),
    )


def _version_on_sale_refresh(version: DatasetVersion) -> None:
    versions_on_sale_refresh(datasets=Dataset.objects.filter(pk=version.dataset_id))


@transaction.atomic
def version_publish(*, version: DatasetVersion) -> DatasetVersion:
    """The built bundle is sealed and goes on sale; the build calls this under the sellability locks."""
    version = DatasetVersion.objects.select_for_update().get(pk=version.pk)
    transition(version, subject=f"Version {version.number}", target=DatasetVersion.Status.PUBLISHED)
    version.sealed_at = version.published_at = timezone.now()
    version.build_token = None
    version.items_done, version.bytes_done = version.item_count, version.total_bytes
    version.save(
        update_fields=["status", "sealed_at", "published_at", "build_token", "items_done", "bytes_done"]
    )
    # One version of a dataset is on sale: the ones before it are replaced (their licensees keep them).
    for earlier in DatasetVersion.objects.select_for_update().filter(
        dataset_id=version.dataset_id, status=DatasetVersion.Status.PUBLISHED, number__lt=version.number
    ):
        transition(earlier, subject=f"Version {earlier.number}", target=DatasetVersion.Status.SUPERSEDED)
        earlier.ended_at = version.published_at
        earlier.end_reason = f"Replaced by version {version.number}."
        earlier.save(update_fields=["status", "ended_at", "end_reason"])
    _version_on_sale_refresh(version)
    transaction.on_commit(lambda: version_published.send(sender=DatasetVersion, version_id=version.pk))
    return version


@transaction.atomic
def version_fail(*, version: DatasetVersion, reason: str) -> DatasetVersion:
    version = DatasetVersion.objects.select_for_update().get(pk=version.pk)
    transition(version, subject=f"Version {version.number}", target=DatasetVersion.Status.FAILED)
    version.failure_reason = reason
    version.ended_at = timezone.now()
    version.build_token = None
    version.save(update_fields=["status", "failure_reason", "ended_at", "build_token"])
    return version


@transaction.atomic
def dataset_save(
    *, dataset: Dataset | None, values: dict[str, Any], offers: Mapping[LicenseTerms, int], actor: Actor
) -> Dataset:
    """Create a dataset or change its description, saved selection and priced tiers (`offers`: terms -> cents).

    Versions already made keep their items; the prices are what the next sale charges.
    """
    dataset = dataset or Dataset(created_by_id=actor.pk if actor else None)
    for field, value in values.items():
        setattr(dataset, field, value)
    unknown = set(dataset.required_uses) - set(Use.values)
    if unknown:
        raise ValidationError({"required_uses": f"Unknown uses: {', '.join(sorted(unknown))}."})
    for terms, price_cents in offers.items():
        if not isinstance(price_cents, int) or not MIN_PRICE_CENTS <= price_cents <= MAX_PRICE_CENTS:
            raise ValidationError(
                {
                    "offers": f"The price of {terms.name} must be between {MIN_PRICE_CENTS / 100:.2f} and "
                    f"{MAX_PRICE_CENTS / 100:.2f}."
                }
            )
    if dataset.is_public and not offers:
        raise ValidationError({"offers": "A public dataset must be offered under at least one license tier."})
    dataset.full_clean(exclude=["created_by"])
    dataset.save()
    dataset.offers.exclude(terms__in=list(offers)).delete()
    for terms, price_cents in offers.items():
        Offer.objects.update_or_create(dataset=dataset, terms=terms, defaults={"price_cents": price_cents})
    return dataset


@transaction.atomic
def dataset_set_public(*, dataset: Dataset, public: bool) -> Dataset:
    """Show the dataset in the catalog (it needs a published version and a priced tier), or hide it."""
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    if public:
        if not dataset.versions.filter(status=DatasetVersion.Status.PUBLISHED).exists():
            raise ValidationError(
                "Build and publish a version before making the dataset public.", code="conflict"
            )
        if not dataset.offers.exists():
            raise ValidationError("Set a price for at least one license tier first.", code="conflict")
    dataset.is_public = public
    dataset.save(update_fields=["is_public", "updated_at"])
    return dataset


def enqueue_build(version_id: int) -> None:
    from .tasks import version_build  # the task module imports these services

    version_build.delay_on_commit(version_id)


@transaction.atomic
def version_build_request(
    *, dataset: Dataset, actor: Actor | None, change_note: str = "", supersedes: DatasetVersion | None = None
) -> DatasetVersion:
    """Freeze the selection into a new version and queue its bundle build."""
    if not dataset.offers.exists():
        raise ValidationError(
            "Set a price for at least one license tier first: a version is built for the tiers it is sold under.",
            code="conflict",
        )
    version = version_create(dataset=dataset, actor=actor, change_note=change_note, supersedes=supersedes)
    actor_id = actor.pk if actor else None
    own = version.items.filter(asset__creator__user_id=actor_id).count() if actor_id is not None else 0
    if own:
        # Separation of duties: whoever puts a version on sale has no work of their own in it.
        raise PermissionDenied(
            f"This version would hold {own} of your own asset{'s' if own != 1 else ''}: another reviewer has "
            "to build it."
        )
    enqueue_build(version.pk)
    return version


@transaction.atomic
def version_build_retry(*, version: DatasetVersion) -> DatasetVersion:
    """Queue a failed build again; it resumes after the last shard it finished."""
    version = DatasetVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != DatasetVersion.Status.FAILED:
        raise ValidationError(
            f"Version {version.number} is {version.get_status_display().lower()}; only a failed build is "
            "retried.",
            code="invalid_transition",
        )
    version.stalled_attempts = 0
    version.save(update_fields=["stalled_attempts"])
    enqueue_build(version.pk)
    return version


@transaction.atomic
def version_withdraw(*, version: DatasetVersion, reason: str) -> DatasetVersion:
    """Take a published version off sale whole; its buyers are told (a reason is required)."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the version is withdrawn: its buyers are told."})
    version = DatasetVersion.objects.select_for_update().get(pk=version.pk)
    transition(version, subject=f"Version {version.number}", target=DatasetVersion.Status.WITHDRAWN)
    version.ended_at = timezone.now()
    version.end_reason = reason
    version.save(update_fields=["status", "ended_at", "end_reason"])
    _version_on_sale_refresh(version)
    return version


@transaction.atomic
def versions_take_off_sale(
    *, asset_ids: list[int], reason: str, withdrawn_at: datetime
) -> list[DatasetVersion]:
    """Act on a withdrawal inside its own transaction; returns the versions taken off sale.

    Each published or superseded version holding an asset that is no longer sellable for it (a narrowed
    consent may still allow what another dataset needs) records what its licensees must delete; a published
    one is superseded at once, so no order can be made or fulfilled on it after the withdrawal commits. The
    replacement builds and the deletion of delivery files follow through the outbox. Safe to run twice for
    the same withdrawal: a sample is revoked once per version.
    """
    affected = (
        DatasetVersion.objects.filter(
            items__asset_id__in=asset_ids,
            status__in=[DatasetVersion.Status.PUBLISHED, DatasetVersion.Status.SUPERSEDED],
        )
        .distinct()
        .order_by("pk")
    )
    taken_off = []
    for version_id in affected.values_list("pk", flat=True):
        version = _version_supersede(version_id, asset_ids, reason, withdrawn_at)
        if version is not None:
            taken_off.append(version)
    from .tasks import versions_replace  # the task module imports these services

    versions_replace.delay_on_commit([version.pk for version in taken_off], asset_ids)
    return taken_off


def _version_supersede(
    version_id: int, asset_ids: list[int], reason: str, withdrawn_at: datetime
) -> DatasetVersion | None:
    version = DatasetVersion.objects.select_for_update().select_related("dataset").get(pk=version_id)
    revoked = {key for keys in version.revocations.values_list("sample_keys", flat=True) for key in keys}
    # Only samples its licensees were not told about yet: the same withdrawal seen twice (the announcement
    # and the periodic check) is recorded once.
    keys = sorted(
        set(_no_longer_sellable(version, version.items.filter(asset_id__in=asset_ids), "key")) - revoked
    )
    if not keys:
        return None
    revocation = Revocation.objects.create(
        version=version,
        sample_keys=keys,
        reason=reason or "Consent withdrawn.",
        withdrawn_at=withdrawn_at,
        # Superseded already: its licensees delete these samples too, and keep the version that replaced it.
        replacement=getattr(version, "superseded_by", None),
    )
    transaction.on_commit(lambda: revocation_recorded.send(sender=Revocation, revocation_id=revocation.pk))
    if version.status != DatasetVersion.Status.PUBLISHED:
        return None
    transition(version, subject=f"Version {version.number}", target=DatasetVersion.Status.SUPERSEDED)
    version.ended_at = timezone.now()
    version.end_reason = f"Consent was withdrawn for {len(keys)} sample{'s' if len(keys) != 1 else ''}."
    version.save(update_fields=["status", "ended_at", "end_reason"])
    _version_on_sale_refresh(version)
    return version


def versions_replace(*, version_ids: list[int], asset_ids: list[int]) -> list[DatasetVersion]:
    """After a withdrawal: have a version built without the withdrawn samples for each version it took off
    sale, and delete the assets' delivery files. Returns the replacements. Safe to run twice."""
    replacements = []
    for version_id in version_ids:
        with transaction.atomic():
            version = DatasetVersion.objects.select_for_update().get(pk=version_id)
            replacement = getattr(version, "superseded_by", None) or _replacement_request(version)
            if replacement is not None:
                version.revocations.filter(replacement__isnull=True).update(replacement=replacement)
                replacements.append(replacement)
    deliveries_delete(asset_ids=asset_ids)
    return replacements


def _replacement_request(version: DatasetVersion) -> DatasetVersion | None:
    """Have a version without the withdrawn samples built: the one already under way, or a new one."""
    dataset = Dataset.objects.select_for_update().get(pk=version.dataset_id)
    under_way = dataset.versions.filter(
        status__in=[DatasetVersion.Status.DRAFT, DatasetVersion.Status.BUILDING], supersedes__isnull=True
    ).first()
    if under_way is not None:
        # Its build drops the withdrawn samples when it seals; it becomes the replacement.
        under_way.supersedes = version
        under_way.save(update_fields=["supersedes"])
        return under_way
    try:
        return version_build_request(
            dataset=dataset,
            actor=None,
            change_note=f"Replaces version {version.number}: {version.end_reason}",
            supersedes=version,
        )
    except ValidationError:
        # Nothing sellable is left in the selection: there is no version to offer, and the notice stands.
        return None


PURGED_DOCUMENTS = (PARQUET_NAME, JSONL_NAME)


def versions_purge_erased(*, asset_ids: list[int] | None = None) -> int:
    """Erasure (GDPR Art. 17) reaches the bundles: every shard of any version that held an erased asset, and
    the manifests that describe it, are deleted from storage, and the audit log records when. Runs after
    each erasure and periodically for anything left (all erased assets when `asset_ids` is None). Returns
    how many versions were purged. A version still building drops the sample when it seals instead.
    """
    erased = VersionItem.objects.filter(
        asset__erased_at__isnull=False,
        purged_at__isnull=True,
        version__status__in=[
            DatasetVersion.Status.PUBLISHED,
            DatasetVersion.Status.SUPERSEDED,
            DatasetVersion.Status.WITHDRAWN,
            DatasetVersion.Status.FAILED,
        ],
    )
    if asset_ids is not None:
        erased = erased.filter(asset_id__in=asset_ids)
    version_ids = sorted(set(erased.values_list("version_id", flat=True)))
    for version_id in version_ids:
        _version_purge(version_id, erased)
    deliveries_delete(
        asset_ids=asset_ids
        if asset_ids is not None
        else list(MediaAsset.objects.filter(erased_at__isnull=False).values_list("pk", flat=True))
    )
    return len(version_ids)


@transaction.atomic
def _version_purge(version_id: int, erased: QuerySet[VersionItem]) -> None:
    version = DatasetVersion.objects.select_for_update().get(pk=version_id)
    keys = sorted(erased.filter(version=version).values_list("key", flat=True))
    if not keys:
        return
    doomed = version.files.filter(
        Q(pk__in=shards_holding(version=version, keys=keys))
        | Q(kind=BundleFile.Kind.DOCUMENT, path__in=PURGED_DOCUMENTS)
    )
    paths = sorted(doomed.values_list("path", flat=True))
    stored = list(doomed.values_list("storage_name", flat=True))
    doomed.delete()
    erased.filter(version=version).update(purged_at=timezone.now())
    audit_event_record(
        actor=None,
        action="version.erased_samples_purged",
        object_type="dataset_version",
        object_id=version.public_id,
        after={"samples": keys, "files_deleted": paths},
    )
    transaction.on_commit(lambda: stored_files_delete(stored))


def versions_supersede_missed() -> int:
    """Take off sale the published versions holding an item that is plainly no longer sellable (its consent
    withdrawn, no active consent left, the asset erased), in case a withdrawal reached this table by a path
    that did not announce it. Returns how many versions."""
    active = Consent.objects.filter(asset_id=OuterRef("asset_id"), status=Consent.Status.ACTIVE)
    missed = (
        VersionItem.objects.filter(version__status=DatasetVersion.Status.PUBLISHED, asset__isnull=False)
        .filter(
            Q(consent_id__in=Consent.objects.filter(status=Consent.Status.WITHDRAWN).values("public_id"))
            | ~Exists(active)
            | Q(asset__erased_at__isnull=False)
        )
        .values_list("asset_id", flat=True)
        .distinct()
    )
    asset_ids = sorted(missed)
    if not asset_ids:
        return 0
    return len(
        versions_take_off_sale(
            asset_ids=asset_ids,
            reason="Consent for these samples is no longer active.",
            withdrawn_at=timezone.now(),
        )
    )
