"""Invariants 1 and 2 hold after every step of random sequences of uploads, consents, releases and builds.

There is no datasets app yet, so a "build" here is what the bundle builder seals: the set of assets
`sellable_assets` returns for the build's uses at that moment.
"""

from collections import defaultdict
from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from creators.models import MediaAsset
from licensing.models import Consent, LicenseTerms, Permission, Release, Use
from licensing.selectors import sellable_assets
from licensing.services import (
    UsePermission,
    consent_approve,
    consents_give,
    consents_withdraw,
    release_approve,
    release_revoke,
)
from tests.examples import examples
from tests.factories import CreatorFactory, MediaAssetFactory, ReleaseFactory, ReviewerFactory

pytestmark = pytest.mark.django_db

# Any use, and the two uses the permission variants below set apart (allowed, constrained, not allowed).
USE_SETS = [(), (Use.AI_TRAINING,), (Use.GENERATIVE_AI_TRAINING,)]


def _permissions(generative: str, training: str) -> dict[str, UsePermission]:
    chosen = {use: UsePermission(Permission.ALLOWED) for use in Use.values}
    chosen[Use.GENERATIVE_AI_TRAINING] = UsePermission(generative, "Not for faces.")
    chosen[Use.AI_TRAINING] = UsePermission(training, "Research only.")
    return chosen


PERMISSIONS = [
    _permissions(Permission.ALLOWED, Permission.ALLOWED),
    _permissions(Permission.NOT_ALLOWED, Permission.ALLOWED),
    _permissions(Permission.ALLOWED, Permission.CONSTRAINED),
    _permissions(Permission.NOT_ALLOWED, Permission.NOT_ALLOWED),
]


@dataclass
class Rows:
    """The rows invariant 1 is judged on, read once per step."""

    assets: list[MediaAsset]
    active: dict[int, Consent]
    releases: dict[int, list[tuple[str, str]]]

    @classmethod
    def read(cls) -> "Rows":
        releases: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for asset_id, kind, status in Release.assets.through.objects.values_list(
            "mediaasset_id", "release__kind", "release__status"
        ):
            releases[asset_id].append((kind, status))
        return cls(
            assets=list(MediaAsset.objects.all()),
            active={c.asset_id: c for c in Consent.objects.filter(status=Consent.Status.ACTIVE)},
            releases=releases,
        )

    def sellable(self, uses: tuple[str, ...]) -> set[int]:
        """Invariant 1, recomputed in plain Python, independently of sellable_assets."""
        return {asset.pk for asset in self.assets if self._sellable(asset, uses)}

    def _sellable(self, asset: MediaAsset, uses: tuple[str, ...]) -> bool:
        consent = self.active.get(asset.pk)
        if asset.status != MediaAsset.Status.READY or asset.erased_at is not None or consent is None:
            return False
        if any(consent.permission(use) != Permission.ALLOWED for use in uses):
            return False
        covering = self.releases[asset.pk]
        if any(status == Release.Status.REVOKED for _, status in covering):
            return False
        people = consent.identifiable_people
        approved = [kind for kind, status in covering if status == Release.Status.APPROVED]
        # Never a default from the face count: no reviewer's count, no sale.
        if people is None or approved.count(Release.Kind.MODEL) < people:
            return False
        return not consent.property_release_required or Release.Kind.PROPERTY in approved


def actual_sellable(uses: tuple[str, ...]) -> set[int]:
    return set(sellable_assets(uses=uses).values_list("pk", flat=True))


@dataclass(frozen=True)
class StartingAsset:
    face_count: int
    model_releases: int
    status: str
    permissions: dict[str, UsePermission]
    property_required: bool
    people: int | None


starting_asset = st.builds(
    StartingAsset,
    face_count=st.integers(0, 2),
    model_releases=st.integers(0, 2),
    status=st.sampled_from(["ready", "processing"]),
    permissions=st.sampled_from(PERMISSIONS),
    property_required=st.booleans(),
    people=st.sampled_from([None, None, 0, 1, 2]),
)


def _among(ids: list[int], index: int) -> int:
    return ids[index % len(ids)]


# Indexes choose among what exists when the step runs.
index = st.integers(min_value=0, max_value=20)


class Marketplace(RuleBasedStateMachine):
    """One creator's assets, consents and releases, driven through the services by the creator and a reviewer.

    Each run is one transaction, rolled back at its end, so runs never see each other's rows.
    """

    def __init__(self) -> None:
        super().__init__()
        self._transaction = transaction.atomic()
        self._transaction.__enter__()
        self.creator = CreatorFactory()
        self.profile = self.creator.creator_profile
        self.reviewer = ReviewerFactory()
        self.terms = list(LicenseTerms.objects.all())
        self.assets: list[int] = []
        self.releases: list[int] = []
        # Invariant 2's memory: consents withdrawn and assets under a revoked release, as each step committed.
        self.withdrawn_consents: dict[int, set[int]] = defaultdict(set)
        self.revoked_assets: set[int] = set()
        self.checks = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._transaction.__exit__(None, None, None)

    def _note_withdrawals(self) -> None:
        for consent_id, asset_id in Consent.objects.filter(status=Consent.Status.WITHDRAWN).values_list(
            "pk", "asset_id"
        ):
            self.withdrawn_consents[asset_id].add(consent_id)

    def _pending(self, model: type[Consent] | type[Release], status: str) -> list[int]:
        return list(model.objects.filter(status=status).order_by("pk").values_list("pk", flat=True))

    @initialize(starting=st.lists(starting_asset, min_size=1, max_size=3))
    def consented_assets(self, starting: list[StartingAsset]) -> None:
        """Every run starts from assets whose consent is approved, varied in each clause of invariant 1."""
        for start in starting:
            self.upload(face_count=start.face_count, status=start.status)
            for _ in range(start.model_releases):
                self.release_submit(index=len(self.assets) - 1, kind="model")
                release_approve(release=Release.objects.get(pk=self.releases[-1]), reviewer=self.reviewer)
            self.consent_give(
                index=len(self.assets) - 1,
                permissions=start.permissions,
                property_required=start.property_required,
            )
            self.consent_approve(index=0, people=start.people)

    @rule(face_count=st.integers(0, 2), status=st.sampled_from(["ready", "processing"]))
    def upload(self, face_count: int, status: str) -> None:
        self.assets.append(MediaAssetFactory(creator=self.profile, face_count=face_count, status=status).pk)

    @precondition(lambda self: self.assets)
    @rule(index=index)
    def ingest_finishes(self, index: int) -> None:
        MediaAsset.objects.filter(pk=_among(self.assets, index), status=MediaAsset.Status.PROCESSING).update(
            status=MediaAsset.Status.READY
        )

    @precondition(lambda self: self.assets)
    @rule(
        index=index,
        permissions=st.sampled_from(PERMISSIONS),
        property_required=st.booleans(),
    )
    def consent_give(self, index: int, permissions: dict, property_required: bool) -> None:
        consents_give(
            creator=self.profile,
            asset_ids=[_among(self.assets, index)],
            permissions=permissions,
            terms=self.terms,
            property_release_required=property_required,
            actor=self.creator,
        )
        self._note_withdrawals()

    @precondition(lambda self: Consent.objects.filter(status=Consent.Status.PENDING).exists())
    @rule(index=index, people=st.sampled_from([None, 0, 0, 1, 2]))
    def consent_approve(self, index: int, people: int | None) -> None:
        pending = _among(self._pending(Consent, Consent.Status.PENDING), index)
        try:
            consent_approve(
                consent=Consent.objects.get(pk=pending),
                reviewer=self.reviewer,
                identifiable_people=people,
                people_note="Checked by hand.",
            )
        except ValidationError as error:
            assert people is None and "identifiable_people" in error.message_dict
        self._note_withdrawals()

    @precondition(lambda self: self.assets)
    @rule(index=index)
    def consent_withdraw(self, index: int) -> None:
        consents_withdraw(asset_ids=[_among(self.assets, index)], actor=self.creator)
        self._note_withdrawals()

    @precondition(lambda self: self.assets)
    @rule(index=index, kind=st.sampled_from(["model", "model", "property"]))
    def release_submit(self, index: int, kind: str) -> None:
        # Signed and submitted: the signing itself is the services tests' concern.
        asset = _among(self.assets, index)
        self.releases.append(
            ReleaseFactory(creator=self.profile, kind=kind, status="submitted", assets=[asset]).pk
        )

    @precondition(lambda self: Release.objects.filter(status=Release.Status.SUBMITTED).exists())
    @rule(index=index)
    def release_approve(self, index: int) -> None:
        submitted = _among(self._pending(Release, Release.Status.SUBMITTED), index)
        release_approve(release=Release.objects.get(pk=submitted), reviewer=self.reviewer)

    @precondition(lambda self: self.releases)
    @rule(index=index)
    def release_revoke(self, index: int) -> None:
        revoking = Release.objects.get(pk=_among(self.releases, index))
        try:
            release_revoke(release=revoking, actor=self.creator, reason="The person withdrew.")
        except ValidationError as error:
            assert error.code == "invalid_transition"
        self.revoked_assets |= set(revoking.assets.values_list("pk", flat=True))

    @rule(uses=st.sampled_from(USE_SETS))
    def build(self, uses: tuple[str, ...]) -> None:
        """Invariant 2: nothing withdrawn or revoked before a build is in it."""
        built = actual_sellable(uses)
        event("a build with assets" if built else "an empty build")
        assert not built & self.revoked_assets, "an asset under a revoked release was built"
        consent_of = dict(
            Consent.objects.filter(status=Consent.Status.ACTIVE, asset__in=built).values_list(
                "asset_id", "pk"
            )
        )
        for asset in built:
            if self.withdrawn_consents[asset]:
                event("a build with an asset consented to again after a withdrawal")
            # Only a consent given after the withdrawal, and approved, can bring an asset back.
            assert consent_of[asset] > max(self.withdrawn_consents[asset], default=0), (
                f"asset {asset} was built under a withdrawn consent"
            )

    @invariant()
    def sellable_is_what_invariant_1_says(self) -> None:
        # Any use after every step, and one particular use in turn: every use after every step is much slower.
        self.checks += 1
        rows = Rows.read()
        for uses in [(), USE_SETS[1 + self.checks % (len(USE_SETS) - 1)]]:
            assert actual_sellable(uses) == rows.sellable(uses), f"sellable for {uses or 'any use'}"


def test_sellability_and_withdrawal_hold_after_every_step(db):
    run_state_machine_as_test(
        Marketplace,
        settings=settings(
            max_examples=examples(60),
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_the_independent_check_tells_sellable_from_unsellable(db):
    """The property above is not vacuous: the plain-Python rule finds both kinds of asset."""
    machine = Marketplace()
    try:
        machine.consented_assets(
            starting=[
                StartingAsset(1, 1, "ready", PERMISSIONS[0], False, 1),
                StartingAsset(0, 0, "processing", PERMISSIONS[0], False, 0),
            ]
        )
        machine.upload(face_count=1, status="ready")
        machine.consent_give(index=2, permissions=PERMISSIONS[0], property_required=False)
        # A reviewer who does not say how many people it shows approves nothing.
        machine.consent_approve(index=0, people=None)

        assert Rows.read().sellable(()) == {machine.assets[0]}
        assert actual_sellable(()) == {machine.assets[0]}
    finally:
        machine.teardown()
