from celery import shared_task

from .services import queued_tasks_relay


@shared_task
def outbox_relay() -> int:
    """Publish the tasks the broker could not take when they were queued (celery beat runs this)."""
    return queued_tasks_relay()
