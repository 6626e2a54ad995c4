"""The end of a biometric consent's retention: the creator and the person are told beforehand, then it ends."""

import datetime

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from licensing import services, tasks
from licensing.models import AuditEvent, Release
from licensing.selectors import sellable_assets
from licensing.signals import assets_withdrawn, biometric_retention_ending
from marketplace.celery import app
from tests.factories import ConsentFactory, CreatorFactory, MediaAssetFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


def days_from_today(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


def biometric_release(*, retention_days: int, creator_email: str = "pat@example.com", **fields) -> Release:  # type: ignore[no-untyped-def]
    """An approved model release with a biometric consent kept `retention_days` from today, on one asset
    showing one person, sellable for every use."""
    creator = CreatorFactory(email=creator_email)
    asset = MediaAssetFactory(creator=creator.creator_profile, face_count=1)
    ConsentFactory(asset=asset)
    return ReleaseFactory(
        creator=creator.creator_profile,
        assets=[asset],
        email=fields.pop("email", "maria@example.com"),
        legal_name="Maria Model",
        biometric_consent=True,
        biometric_retention_until=days_from_today(retention_days),
        **fields,
    )


def recorder(signal):  # type: ignore[no-untyped-def]
    received: list[dict] = []

    def record(sender, **kwargs):  # type: ignore[no-untyped-def]
        received.append(kwargs)

    signal.connect(record, weak=False, dispatch_uid=f"test-biometric-{id(received)}")
    return received, lambda: signal.disconnect(dispatch_uid=f"test-biometric-{id(received)}")


@pytest.fixture
def notices():
    received, disconnect = recorder(biometric_retention_ending)
    yield received
    disconnect()


@pytest.fixture
def withdrawals():
    received, disconnect = recorder(assets_withdrawn)
    yield received
    disconnect()


@pytest.fixture
def tasks_run_here():
    """Celery tasks run where they are queued, as a worker would run them: the emails land in mail.outbox."""
    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def actions(release: Release) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="release", object_id=str(release.public_id)).values_list(
            "action", flat=True
        )
    )


# --- The notice ---------------------------------------------------------------------------------------------


def test_the_creator_and_the_person_are_told_by_email_before_the_retention_ends(
    tasks_run_here, django_capture_on_commit_callbacks
):
    release = biometric_release(retention_days=services.BIOMETRIC_NOTICE_DAYS - 1)

    with django_capture_on_commit_callbacks(execute=True):
        told = services.releases_biometric_notify_due()

    assert told == 1
    assert sorted(message.to[0] for message in mail.outbox) == ["maria@example.com", "pat@example.com"]
    until = f"{release.biometric_retention_until.day} {release.biometric_retention_until:%B %Y}"
    assert all(f"ends on {until}" in message.subject for message in mail.outbox)
    to_creator = next(message for message in mail.outbox if message.to == ["pat@example.com"])
    assert "Maria Model" in to_creator.body
    assert f"{settings.SITE_URL}/" in to_creator.body and str(release.public_id) in to_creator.body
    to_person = next(message for message in mail.outbox if message.to == ["maria@example.com"])
    # The person reads neither the creator's address nor a page of the creator's account.
    assert "pat@example.com" not in to_person.body and str(release.public_id) not in to_person.body


def test_the_notice_goes_once(notices, django_capture_on_commit_callbacks):
    release = biometric_release(retention_days=10)

    with django_capture_on_commit_callbacks(execute=True):
        first = services.releases_biometric_notify_due()
        second = services.releases_biometric_notify_due()

    assert (first, second) == (1, 0)
    assert len(notices) == 1 and notices[0]["ended"] is False
    release.refresh_from_db()
    assert release.biometric_notice_sent_at is not None
    assert release.biometric_consent is True
    assert actions(release) == ["release.biometric_notice_sent"]


def test_no_notice_goes_earlier_than_the_notice_period(notices, django_capture_on_commit_callbacks):
    biometric_release(retention_days=services.BIOMETRIC_NOTICE_DAYS + 1)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.releases_biometric_notify_due() == 0

    assert notices == []


@pytest.mark.parametrize("status", ["submitted", "rejected", "revoked"])
def test_a_release_not_approved_gets_no_notice(notices, django_capture_on_commit_callbacks, status):
    biometric_release(retention_days=5, status=status)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.releases_biometric_notify_due() == 0

    assert notices == []


def test_a_release_without_the_persons_email_tells_the_creator_alone(
    tasks_run_here, django_capture_on_commit_callbacks
):
    biometric_release(retention_days=5, email="")

    with django_capture_on_commit_callbacks(execute=True):
        services.releases_biometric_notify_due()

    assert [message.to for message in mail.outbox] == [["pat@example.com"]]


# --- The end ------------------------------------------------------------------------------------------------


def test_at_the_end_the_consent_ends_is_audited_and_the_asset_leaves_face_recognition(
    withdrawals, django_capture_on_commit_callbacks
):
    release = biometric_release(retention_days=5)
    (asset,) = release.assets.all()
    services.releases_biometric_notify_due()
    assert sellable_assets(face_recognition=True).filter(pk=asset.pk).exists()
    Release.objects.filter(pk=release.pk).update(biometric_retention_until=days_from_today(-1))

    with django_capture_on_commit_callbacks(execute=True):
        ended = services.releases_biometric_end_due()

    assert ended == 1
    release.refresh_from_db()
    assert release.biometric_consent is False
    assert release.biometric_ended_at is not None
    assert release.biometric_retention_until == days_from_today(-1)
    (event,) = AuditEvent.objects.filter(action="release.biometric_ended")
    assert event.object_id == str(release.public_id)
    assert event.before["biometric_consent"] is True
    assert (event.after["biometric_consent"], event.after["assets"]) == (False, [asset.pk])
    assert [(w["asset_ids"], w["reason"]) for w in withdrawals] == [
        ([asset.pk], services.BIOMETRIC_ENDED_REASON)
    ]
    # Out of face recognition, still sold for everything else the release and consent allow.
    assert not sellable_assets(face_recognition=True).filter(pk=asset.pk).exists()
    assert sellable_assets().filter(pk=asset.pk).exists()


def test_nothing_ends_on_the_last_day_of_the_retention(withdrawals, django_capture_on_commit_callbacks):
    release = biometric_release(retention_days=0)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.releases_biometric_end_due() == 0

    release.refresh_from_db()
    assert release.biometric_consent is True and release.biometric_ended_at is None
    assert withdrawals == []


def test_an_end_nobody_was_told_of_beforehand_is_told_when_it_happens(
    notices, django_capture_on_commit_callbacks
):
    release = biometric_release(retention_days=-3)

    with django_capture_on_commit_callbacks(execute=True):
        services.releases_biometric_end_due()
        services.releases_biometric_notify_due()

    assert [notice["ended"] for notice in notices] == [True]
    assert actions(release) == ["release.biometric_notice_sent", "release.biometric_ended"]


def test_the_tasks_can_run_again_and_change_nothing_more(
    notices, withdrawals, django_capture_on_commit_callbacks
):
    soon = biometric_release(retention_days=3)
    over = biometric_release(retention_days=-1, creator_email="sam@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        runs = [(tasks.releases_biometric_notify_due(), tasks.releases_biometric_end_due()) for _ in range(3)]

    assert runs == [(1, 1), (0, 0), (0, 0)]
    assert len(notices) == 2 and len(withdrawals) == 1
    assert actions(soon) == ["release.biometric_notice_sent"]
    assert actions(over) == ["release.biometric_notice_sent", "release.biometric_ended"]


def test_the_tasks_run_every_day():
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    for task in (tasks.releases_biometric_notify_due, tasks.releases_biometric_end_due):
        assert task.name in app.tasks
        assert schedule[task.name] == 24 * 60 * 60


def test_the_creator_sees_when_the_consent_ended(client):
    release = biometric_release(retention_days=-1)
    services.releases_biometric_end_due()
    client.force_login(release.creator.user)

    page = client.get(reverse("licensing:release-detail", args=[release.public_id])).content.decode()

    assert "Ended on" in page
