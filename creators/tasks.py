"""Creator tasks: thin wrappers that load nothing and call one service."""

import logging

from celery import Task, shared_task

from core.storage_errors import STORAGE_TASK_RETRY, giving_up_on_storage

from . import services

logger = logging.getLogger(__name__)


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
