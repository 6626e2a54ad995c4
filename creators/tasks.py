"""Creator tasks: thin wrappers that load nothing and call one service; and how tasks that use storage retry."""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from celery import Task, shared_task
from django.conf import settings

from . import services
from .ingest.storage_errors import StorageUnavailable

logger = logging.getLogger(__name__)

# Tasks that read or write storage retry with exponential backoff and full jitter, a bounded number of times:
# through a storage outage, which their services do not count as a failed attempt, and after any other file
# error (a missing original, say), which they do count, so that it ends sooner.
STORAGE_TASK_RETRY = {
    "autoretry_for": (StorageUnavailable, OSError),
    "retry_backoff": settings.STORAGE_RETRY_BACKOFF_SECONDS,
    "retry_backoff_max": settings.STORAGE_RETRY_BACKOFF_MAX_SECONDS,
    "retry_jitter": True,
    "max_retries": settings.STORAGE_RETRY_MAX,
}


@contextmanager
def giving_up_on_storage(task: Task, give_up: Callable[[StorageUnavailable, int], None]) -> Iterator[None]:
    """Let StorageUnavailable through to be retried, but on the last try call `give_up(outage, tries)` instead."""
    try:
        yield
    except StorageUnavailable as outage:
        if task.max_retries is not None and task.request.retries < task.max_retries:
            raise
        tries = task.request.retries + 1
        logger.error("%s gave up after %d tries: %s", task.name, tries, outage)
        give_up(outage, tries)


@shared_task(
    bind=True,
    acks_late=True,
    # A worker killed mid-ingest hands the task back to the broker; ingest is idempotent and the asset's
    # attempt counter rejects a file that keeps killing workers.
    reject_on_worker_lost=True,
    **STORAGE_TASK_RETRY,
)
def asset_ingest(self: Task, asset_id: int) -> None:
    with giving_up_on_storage(
        self, lambda _outage, tries: services.asset_ingest_give_up(asset_id=asset_id, tries=tries)
    ):
        services.asset_ingest(asset_id=asset_id)


@shared_task
def assets_requeue_stalled() -> int:
    return services.assets_requeue_stalled()


@shared_task
def upload_sessions_expire() -> int:
    return services.upload_sessions_expire()
