"""The Celery app: configured from Django settings (CELERY_*), tasks found in each app's tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

# Every task's delay_on_commit goes through the transactional outbox (core/outbox), so a task asked for
# while the broker is down is kept and runs when it is back.
app = Celery("marketplace", task_cls="core.outbox.task:OutboxTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
