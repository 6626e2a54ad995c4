"""Licensing tasks: thin wrappers that call one service; the periodic ones are in CELERY_BEAT_SCHEDULE."""

from celery import shared_task

from . import services


@shared_task
def releases_biometric_notify_due() -> int:
    return services.releases_biometric_notify_due()


@shared_task
def releases_biometric_end_due() -> int:
    return services.releases_biometric_end_due()
