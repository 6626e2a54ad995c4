"""Dataset tasks: thin wrappers that take ids and call one service."""

from celery import Task, shared_task

from core.storage_errors import STORAGE_TASK_RETRY, giving_up_on_storage

from . import build, services


@shared_task(
    bind=True,
    acks_late=True,
    # A worker killed mid-build hands the task back: the build resumes after its last finished shard, and
    # the version's stalled-attempt counter fails a build that keeps killing workers.
    reject_on_worker_lost=True,
    **STORAGE_TASK_RETRY,
)
def version_build(self: Task, version_id: int) -> None:
    with giving_up_on_storage(
        self,
        lambda outage, tries: build.version_build_give_up(
            version_id=version_id, outage=str(outage), tries=tries
        ),
    ):
        build.version_build(version_id=version_id)


@shared_task
def versions_resume_stalled() -> int:
    return build.versions_resume_stalled()


@shared_task(
    acks_late=True,
    # Running it twice for one withdrawal changes nothing more (see the service).
    reject_on_worker_lost=True,
    autoretry_for=(OSError,),
    retry_backoff=5,
    max_retries=5,
)
def versions_replace(version_ids: list[int], asset_ids: list[int]) -> int:
    return len(services.versions_replace(version_ids=version_ids, asset_ids=asset_ids))


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OSError,), retry_backoff=5)
def versions_purge_erased(asset_ids: list[int] | None = None) -> int:
    # Safe to run again: a purged sample is marked and never purged twice.
    return services.versions_purge_erased(asset_ids=asset_ids)


@shared_task
def versions_supersede_missed() -> int:
    return services.versions_supersede_missed()
