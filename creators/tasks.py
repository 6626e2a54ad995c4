"""Creator tasks: thin wrappers that load nothing and call one service."""

from celery import shared_task

from . import services


@shared_task(
    acks_late=True,
    # A worker killed mid-ingest hands the task back to the broker; ingest is idempotent and the asset's
    # attempt counter rejects a file that keeps killing workers.
    reject_on_worker_lost=True,
    autoretry_for=(OSError,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def asset_ingest(asset_id: int) -> None:
    services.asset_ingest(asset_id=asset_id)


@shared_task
def assets_requeue_stalled() -> int:
    return services.assets_requeue_stalled()


@shared_task
def upload_sessions_expire() -> int:
    return services.upload_sessions_expire()
