"""The base class of every Celery task of the site (marketplace/celery.py names it)."""

from typing import Any

from celery.contrib.django.task import DjangoTask


class OutboxTask(DjangoTask):
    def delay_on_commit(self, *args: Any, **kwargs: Any) -> None:
        """Record the task in the current transaction; it is published after the commit, or by the relay."""
        from .services import queued_task_record  # the models load after the Celery app is made

        queued_task_record(task=self, args=args, kwargs=kwargs)
