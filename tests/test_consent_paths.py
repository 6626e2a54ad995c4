"""Consent holds on every path: random sequences of uploads, consent changes, releases, reviews, erasures, builds,
orders, payments and downloads, with the worker's tasks run at random points between them.

After every step: no fulfilled order is on a version that held an unsellable item when it was paid, no
download link reaches a shard holding a withdrawn or erased sample, a broader consent tells nobody, and
nobody decided on their own work. The races of a withdrawal against a sale are interleaved step by step (an
order made before a withdrawal and paid after it, a build sealed after a withdrawal, a withdrawal while the
replacement is still queued).
"""

import contextlib
import itertools
import tarfile
from collections import Counter

import pytest
from celery import current_app
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from core.outbox.models import QueuedTask
from creators.models import CreatorProfile
from datasets import build, services
from datasets.models import BundleFile, Dataset, DatasetVersion, Offer, Revocation
from datasets.selectors import version_files_servable
from licensing.models import AuditEvent, Consent, LicenseTerms, Permission, Release, Use
from licensing.services import (
    UsePermission,
    assets_erase,
    consent_approve,
    consents_give,
    consents_withdraw,
    release_approve,
    release_revoke,
)
from marketplace.models import LicenseGrant, Order
from marketplace.services import orders
from tests.datasets.conftest import photo_bytes, store_sellable
from tests.examples import examples
from tests.factories import BuyerFactory, CreatorProfileFactory, ReleaseFactory, ReviewerFactory

pytestmark = pytest.mark.django_db

EVERYTHING = {use: UsePermission(Permission.ALLOWED) for use in Use.values}
# From broadest to narrowest: moving down the list narrows, moving up broadens.
SCOPES = [
    EVERYTHING,
    {**EVERYTHING, Use.GENERATIVE_AI_TRAINING: UsePermission(Permission.NOT_ALLOWED)},
    {
        **EVERYTHING,
        Use.GENERATIVE_AI_TRAINING: UsePermission(Permission.NOT_ALLOWED),
        Use.AI_TRAINING: UsePermission(Permission.CONSTRAINED, "Research only."),
    },
]
DECISIONS = ("consent.approved", "consent.rejected", "release.approved", "release.rejected")
index = st.integers(min_value=0, max_value=50)
counter = itertools.count()
# What the runs reached, so a test can show the checks are not vacuous.
reached: Counter[str] = Counter()


def _reached(what: str) -> None:
    reached[what] += 1
    with contextlib.suppress(InvalidArgument):  # outside a Hypothesis run, as in the written-out sequence
        event(what)


def _among(ids: list[int], position: int) -> int:
    return ids[position % len(ids)]


def _shard_keys(shard: BundleFile) -> set[str]:
    with default_storage.open(shard.storage_name, "rb") as stored, tarfile.open(fileobj=stored) as tar:
        return {member.name.split(".", 1)[0] for member in tar.getmembers()}


def _unsellable_keys(version: DatasetVersion) -> set[str]:
    """What no one may be sold or sent any more, judged from the rows alone: samples whose frozen consent was
    withdrawn, whose asset was erased or has no active consent, or that the version's licensees were told
    to delete."""
    active = Consent.objects.filter(status=Consent.Status.ACTIVE).values("asset_id")
    gone = version.items.filter(
        Q(consent_id__in=Consent.objects.filter(status=Consent.Status.WITHDRAWN).values("public_id"))
        | Q(asset__erased_at__isnull=False)
        | Q(asset__isnull=True)
        | ~Q(asset_id__in=active)
    )
    told = {key for keys in version.revocations.values_list("sample_keys", flat=True) for key in keys}
    return set(gone.values_list("key", flat=True)) | told


class ConsentPaths(RuleBasedStateMachine):
    """Two creators (one of them also a reviewer), an independent reviewer, a buyer, and one dataset."""

    def __init__(self) -> None:
        super().__init__()
        # Each run is one transaction, rolled back at its end; what the outbox queued stays in it for the
        # worker step to run.
        self._transaction = transaction.atomic()
        self._transaction.__enter__()
        self.reviewer = ReviewerFactory()
        # A reviewer with work of their own: every decision they try on it must be refused.
        self.reviewing_creator = ReviewerFactory()
        self.profiles = [CreatorProfileFactory(), CreatorProfileFactory(user=self.reviewing_creator)]
        self.buyer = BuyerFactory()
        self.dataset = Dataset.objects.create(
            slug=f"paths-{next(counter)}", title="Paths", description="Every path of consent.", is_public=True
        )
        Offer.objects.create(
            dataset=self.dataset, terms=LicenseTerms.objects.get(slug="research"), price_cents=10_000
        )
        self.assets: list[int] = []
        self.owner_of: dict[int, CreatorProfile] = {}
        self.pending_orders: list[int] = []

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._transaction.__exit__(None, None, None)

    # --- creators ---------------------------------------------------------------------------------------

    @rule(owner=st.integers(0, 1), scope=st.integers(0, len(SCOPES) - 1))
    def upload_and_consent(self, owner: int, scope: int) -> None:
        profile = self.profiles[owner]
        asset = store_sellable(photo_bytes(next(counter)), creator=profile, consented=False)
        self.assets.append(asset.pk)
        self.owner_of[asset.pk] = profile
        consents_give(
            creator=profile,
            asset_ids=[asset.pk],
            permissions=SCOPES[scope],
            terms=LicenseTerms.objects.all(),
            actor=profile.user,
        )

    @precondition(lambda self: self.assets)
    @rule(position=index, scope=st.integers(0, len(SCOPES) - 1))
    def consent_change(self, position: int, scope: int) -> None:
        asset_id = _among(self.assets, position)
        active = Consent.objects.filter(asset_id=asset_id, status=Consent.Status.ACTIVE).first()
        broadening = active is not None and SCOPES.index(self._scope_of(active)) >= scope
        revocations = Revocation.objects.count()
        profile = self.owner_of[asset_id]
        try:
            consents_give(
                creator=profile,
                asset_ids=[asset_id],
                permissions=SCOPES[scope],
                terms=LicenseTerms.objects.all(),
                actor=profile.user,
            )
        except ValidationError:
            return  # erased since: nothing to consent to
        if broadening:
            assert Revocation.objects.count() == revocations, "a broader or equal consent sent a notice"
            _reached("a broader or equal consent")

    @staticmethod
    def _scope_of(consent: Consent) -> dict[str, UsePermission]:
        given = {use: UsePermission(consent.permission(use), consent.constraint(use)) for use in Use.values}
        return next(scope for scope in SCOPES if scope == given)

    @precondition(lambda self: self.assets)
    @rule(position=index)
    def withdraw(self, position: int) -> None:
        asset_id = _among(self.assets, position)
        consents_withdraw(asset_ids=[asset_id], actor=self.owner_of[asset_id].user)

    @precondition(lambda self: self.assets)
    @rule(position=index)
    def erase(self, position: int) -> None:
        asset_id = _among(self.assets, position)
        assets_erase(asset_ids=[asset_id], actor=self.owner_of[asset_id].user)

    @precondition(lambda self: self.assets)
    @rule(position=index)
    def release_signed(self, position: int) -> None:
        asset_id = _among(self.assets, position)
        ReleaseFactory(creator=self.owner_of[asset_id], status="submitted", assets=[asset_id])

    @precondition(lambda self: Release.objects.filter(status=Release.Status.APPROVED).exists())
    @rule(position=index)
    def release_revoked(self, position: int) -> None:
        approved = list(
            Release.objects.filter(status=Release.Status.APPROVED).order_by("pk").values_list("pk", flat=True)
        )
        release = Release.objects.select_related("creator__user").get(pk=_among(approved, position))
        release_revoke(release=release, actor=release.creator.user, reason="The person withdrew.")

    # --- reviewers ----------------------------------------------------------------------------------------

    @precondition(lambda self: Consent.objects.filter(status=Consent.Status.PENDING).exists())
    @rule(position=index, people=st.sampled_from([None, 0, 1]), by_owner=st.booleans())
    def consent_review(self, position: int, people: int | None, by_owner: bool) -> None:
        pending = list(
            Consent.objects.filter(status=Consent.Status.PENDING).order_by("pk").values_list("pk", flat=True)
        )
        consent = Consent.objects.select_related("asset__creator").get(pk=_among(pending, position))
        reviewer = self.reviewing_creator if by_owner else self.reviewer
        try:
            consent_approve(
                consent=consent, reviewer=reviewer, identifiable_people=people, people_note="Seen."
            )
        except PermissionDenied:
            assert consent.asset.creator.user_id == reviewer.pk
            _reached("a reviewer refused a decision on their own work")
        except ValidationError as error:
            assert people is None and "identifiable_people" in error.message_dict

    @precondition(lambda self: Release.objects.filter(status=Release.Status.SUBMITTED).exists())
    @rule(position=index, by_owner=st.booleans())
    def release_review(self, position: int, by_owner: bool) -> None:
        submitted = list(
            Release.objects.filter(status=Release.Status.SUBMITTED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        release = Release.objects.select_related("creator").get(pk=_among(submitted, position))
        reviewer = self.reviewing_creator if by_owner else self.reviewer
        try:
            release_approve(release=release, reviewer=reviewer)
        except PermissionDenied:
            assert release.creator.user_id == reviewer.pk

    @rule()
    def build(self) -> None:
        try:
            version = services.version_build_request(dataset=self.dataset, actor=self.reviewer)
        except ValidationError:
            return  # nothing sellable, or a version already building
        build.version_build(version_id=version.pk)

    @rule()
    def worker_runs_what_was_queued(self) -> None:
        """The tasks the outbox holds (replacement builds, purges, notices), run as a worker would."""
        for queued in QueuedTask.objects.order_by("pk"):
            QueuedTask.objects.filter(pk=queued.pk).delete()
            current_app.tasks[queued.task_name].apply(args=queued.args, kwargs=queued.kwargs, throw=True)
        for version in DatasetVersion.objects.filter(status=DatasetVersion.Status.DRAFT):
            build.version_build(version_id=version.pk)

    # --- the buyer -----------------------------------------------------------------------------------------

    @precondition(lambda self: Dataset.objects.filter(version_on_sale__isnull=False).exists())
    @rule()
    def order(self) -> None:
        self.dataset.refresh_from_db()
        with contextlib.suppress(ValidationError):  # off sale between the precondition and now
            self.pending_orders.append(
                orders.order_create(buyer=self.buyer, dataset=self.dataset, terms_slug="research").pk
            )

    @precondition(lambda self: self.pending_orders)
    @rule(position=index)
    def pay(self, position: int) -> None:
        order = Order.objects.get(pk=self.pending_orders.pop(position % len(self.pending_orders)))
        unsellable = _unsellable_keys(order.version)
        on_sale = order.version.status == DatasetVersion.Status.PUBLISHED
        try:
            orders.order_pay_test(order=order, buyer=self.buyer)
        except orders.SaleWithdrawn:
            assert unsellable or not on_sale, "a sale was refused that could have been made"
            _reached("a payment after a withdrawal, refused")
            return
        assert on_sale and not unsellable, "an order was fulfilled on a version holding an unsellable item"
        _reached("a sale")

    @invariant()
    def no_link_reaches_a_withdrawn_or_erased_sample(self) -> None:
        for grant in LicenseGrant.objects.filter(status=LicenseGrant.Status.ACTIVE).select_related("version"):
            withheld = _unsellable_keys(grant.version)
            if not withheld:
                continue
            served = version_files_servable(version=grant.version).filter(kind=BundleFile.Kind.SHARD)
            for shard in served:
                assert not _shard_keys(shard) & withheld, f"{shard.path} holds a withdrawn or erased sample"
            if served.count() < grant.version.files.filter(kind=BundleFile.Kind.SHARD).count():
                _reached("a license on a version with withdrawn samples, some shards withheld")

    @invariant()
    def nobody_decided_on_their_own_work(self) -> None:
        for decision in AuditEvent.objects.filter(action__in=DECISIONS, actor=self.reviewing_creator):
            if decision.object_type == "consent":
                owner = Consent.objects.get(public_id=decision.object_id).asset.creator.user_id
            else:
                owner = Release.objects.get(public_id=decision.object_id).creator.user_id
            assert owner != self.reviewing_creator.pk, (
                f"{decision.action} by the creator of {decision.object_id}"
            )


def test_consent_holds_on_every_path(media_root):
    run_state_machine_as_test(
        ConsentPaths,
        settings=settings(
            max_examples=examples(25),
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )


def test_the_checks_above_reach_what_they_check(media_root):
    """One sequence, written out: a sale, a payment refused after a withdrawal, a withheld shard, a broader
    consent, and refused self-decisions all happen, so the random runs' checks are not vacuous."""
    reached.clear()
    machine = ConsentPaths()
    try:
        for owner in (0, 0, 1):
            machine.upload_and_consent(owner=owner, scope=1)
        machine.consent_review(position=2, people=0, by_owner=True)  # their own: refused
        for _ in range(3):
            machine.consent_review(position=0, people=0, by_owner=False)
        machine.build()
        machine.order()
        machine.order()
        machine.pay(position=0)
        machine.consent_change(position=0, scope=0)  # broader: waits for review, tells nobody
        machine.withdraw(position=1)
        machine.pay(position=0)
        machine.no_link_reaches_a_withdrawn_or_erased_sample()
        machine.nobody_decided_on_their_own_work()
        machine.erase(position=2)
        machine.worker_runs_what_was_queued()
        machine.no_link_reaches_a_withdrawn_or_erased_sample()
    finally:
        machine.teardown()

    assert reached["a sale"] == 1
    assert reached["a payment after a withdrawal, refused"] == 1
    assert reached["a broader or equal consent"] == 1
    assert reached["a reviewer refused a decision on their own work"] == 1
    assert reached["a license on a version with withdrawn samples, some shards withheld"] >= 1
    assert AuditEvent.objects.filter(action="consent.approved").count() == 0  # rolled back with the run
