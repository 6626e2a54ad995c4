"""The site (settings, urls, Celery app, accounts) and the storefront."""

from .celery import app as celery_app

__all__ = ("celery_app",)
