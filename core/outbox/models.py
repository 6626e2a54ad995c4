from django.db import models


class QueuedTask(models.Model):
    """A task asked for by a committed transaction and not yet handed to the broker."""

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    queued_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.task_name} queued at {self.queued_at:%Y-%m-%d %H:%M:%S}"
