"""The transactional outbox: a task asked for with delay_on_commit is kept until the broker has it."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from core.outbox import services
from core.outbox.models import QueuedTask
from creators.tasks import upload_sessions_expire
from marketplace.celery import app as celery_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    """Every publish fails as it does when Redis refuses the connection."""

    def refused(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(upload_sessions_expire, "apply_async", refused)
    monkeypatch.setattr(celery_app, "send_task", refused)


@pytest.fixture
def published(monkeypatch):
    """The tasks the relay hands to the broker, by name."""
    names: list[str] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, **kwargs: names.append(name))
    return names


def test_a_task_is_recorded_in_the_callers_transaction(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        upload_sessions_expire.delay_on_commit()

    (queued,) = QueuedTask.objects.all()
    assert queued.task_name == "creators.tasks.upload_sessions_expire"
    assert len(callbacks) == 1


def test_a_task_published_after_the_commit_leaves_no_row(django_capture_on_commit_callbacks):
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            upload_sessions_expire.delay_on_commit()
    finally:
        celery_app.conf.task_always_eager = False

    assert not QueuedTask.objects.exists()


def test_a_rolled_back_transaction_queues_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        upload_sessions_expire.delay_on_commit()
        transaction.set_rollback(True)

    assert not QueuedTask.objects.exists()
    assert callbacks == []


def test_with_the_broker_down_the_commit_stands_and_the_task_stays_queued(
    broker_down, django_capture_on_commit_callbacks, caplog
):
    with django_capture_on_commit_callbacks(execute=True):
        upload_sessions_expire.delay_on_commit()

    assert QueuedTask.objects.count() == 1
    assert "stays queued for the relay" in caplog.text


def test_the_relay_publishes_what_waited_long_enough_in_the_order_asked(published):
    first, second = (_queued(seconds_ago=seconds) for seconds in (120, 60))
    fresh = _queued(seconds_ago=0)

    assert services.queued_tasks_relay() == 2

    assert published == [first.task_name, second.task_name]
    assert list(QueuedTask.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_the_relay_keeps_everything_while_the_broker_is_down(broker_down, caplog):
    _queued(seconds_ago=60)

    assert services.queued_tasks_relay() == 0

    assert QueuedTask.objects.count() == 1
    assert "the relay resumes on its next run" in caplog.text


def _queued(*, seconds_ago: int) -> QueuedTask:
    queued = QueuedTask.objects.create(task_name=f"creators.tasks.task_{seconds_ago}")
    QueuedTask.objects.filter(pk=queued.pk).update(queued_at=timezone.now() - timedelta(seconds=seconds_ago))
    return queued
