"""Recording queued tasks and handing them to the broker."""

import functools
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from celery import Task, current_app
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnreachable

from .models import QueuedTask

logger = logging.getLogger(__name__)

# The relay leaves younger rows to the request that wrote them, which publishes them right after its commit:
# a row the relay took as well would run twice.
RELAY_GRACE = timedelta(seconds=10)
RELAY_BATCH = 500
# One reconnection (a pooled connection may have broken while the broker was away) and no waiting beyond it:
# a request must not hang on the broker, and the relay tries again on its next run.
PUBLISH_ONCE: dict[str, Any] = {"retry": True, "retry_policy": {"max_retries": 1, "interval_start": 0}}


def queued_task_record(*, task: Task, args: Sequence[Any], kwargs: dict[str, Any]) -> QueuedTask:
    """Write the task beside the caller's changes; after the commit, try to publish it at once."""
    queued = QueuedTask.objects.create(task_name=task.name, args=list(args), kwargs=kwargs)
    transaction.on_commit(functools.partial(_publish_and_forget, task, queued))
    return queued


def _publish_and_forget(task: Task, queued: QueuedTask) -> None:
    # apply_async, unlike send_task, runs the task in-process where tasks are set to run eagerly (tests).
    try:
        task.apply_async(args=queued.args, kwargs=queued.kwargs, **PUBLISH_ONCE)
    except _broker_errors() as error:
        logger.warning("Broker unreachable; %s stays queued for the relay: %s", queued, error)
        return
    QueuedTask.objects.filter(pk=queued.pk).delete()


def _broker_errors() -> tuple[type[BaseException], ...]:
    """kombu's wrapper, and the transport's own errors, which a connection that broke may raise unwrapped."""
    with current_app.connection_for_write() as connection:
        return (BrokerUnreachable, *connection.connection_errors, *connection.channel_errors)


def queued_tasks_relay() -> int:
    """Publish the tasks whose first try failed, oldest first; stops at the first failure. Returns how many."""
    published: list[int] = []
    with transaction.atomic():
        due = (
            QueuedTask.objects.select_for_update(skip_locked=True)
            .filter(queued_at__lte=timezone.now() - RELAY_GRACE)
            .order_by("pk")[:RELAY_BATCH]
        )
        for queued in due:
            # By name: a task renamed since it was queued is refused by the worker, not stuck here for good.
            try:
                current_app.send_task(
                    queued.task_name, args=queued.args, kwargs=queued.kwargs, **PUBLISH_ONCE
                )
            except _broker_errors() as error:
                logger.warning("Broker unreachable; the relay resumes on its next run: %s", error)
                break
            published.append(queued.pk)
        QueuedTask.objects.filter(pk__in=published).delete()
    if published:
        logger.info("Relayed %d queued task(s) to the broker", len(published))
    return len(published)
