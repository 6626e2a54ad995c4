"""Writers racing on PostgreSQL, in real concurrent transactions: whoever commits first, the outcome is safe."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection

from licensing.audit import audit_event_record
from licensing.models import AuditEvent, Consent, Release
from licensing.selectors import sellable_assets
from licensing.services import consent_approve, consents_withdraw, release_approve, release_revoke
from tests.factories import ConsentFactory, CreatorFactory, MediaAssetFactory, ReleaseFactory, ReviewerFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks and concurrent writers need PostgreSQL"
    ),
]

ROUNDS = 20


def race(*actions: Callable[[], Any]) -> list[Any]:
    """Run the actions in threads released together; each returns its result or the exception it raised."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[Any] = [None] * len(actions)

    def run(index: int, action: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = action()
        except Exception as error:  # the test judges what each writer ran into
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a racing transaction never finished"
    return outcomes


def _lost_to_the_other(outcome: Any) -> bool:
    return isinstance(outcome, ValidationError) and outcome.code == "invalid_transition"


def test_consent_approval_racing_withdrawal_always_ends_withdrawn():
    creator, reviewer = CreatorFactory(), ReviewerFactory()
    for _ in range(ROUNDS):
        consent = ConsentFactory(asset=MediaAssetFactory(creator=creator.creator_profile), status="pending")

        approved, withdrawn = race(
            lambda consent=consent: consent_approve(
                consent=consent, reviewer=reviewer, identifiable_people=0
            ),
            lambda consent=consent: consents_withdraw(asset_ids=[consent.asset_id], actor=creator),
        )

        assert withdrawn == 1
        assert isinstance(approved, Consent) or _lost_to_the_other(approved), approved
        consent.refresh_from_db()
        assert consent.status == Consent.Status.WITHDRAWN
        assert not sellable_assets().filter(pk=consent.asset_id).exists()


def test_release_approval_racing_revocation_always_ends_revoked():
    creator, reviewer = CreatorFactory(), ReviewerFactory()
    profile = creator.creator_profile
    for _ in range(ROUNDS):
        asset = MediaAssetFactory(creator=profile, face_count=1)
        ConsentFactory(asset=asset, status="active")
        release = ReleaseFactory(creator=profile, status="submitted", assets=[asset])

        approved, revoked = race(
            lambda release=release: release_approve(release=release, reviewer=reviewer),
            lambda release=release: release_revoke(
                release=release, actor=creator, reason="The model withdrew."
            ),
        )

        assert isinstance(revoked, Release), revoked
        assert isinstance(approved, Release) or _lost_to_the_other(approved), approved
        release.refresh_from_db()
        assert release.status == Release.Status.REVOKED
        assert not sellable_assets().filter(pk=asset.pk).exists()


def test_concurrent_audit_entries_keep_the_chain_intact():
    for round_number in range(ROUNDS):
        outcomes = race(
            *(
                lambda writer=f"{round_number}-{writer}": audit_event_record(
                    actor=None, action="test.raced", object_type="round", object_id=writer
                )
                for writer in range(2)
            )
        )
        assert all(isinstance(outcome, AuditEvent) for outcome in outcomes), outcomes

    sequences = list(AuditEvent.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, 2 * ROUNDS + 1))
    call_command("audit_verify")
